/**
 * The defaults of NICE CXone's SCIM API: its paths, the scopes its token is asked with (none) and
 * how the client authenticates. Declared once, here: the SCIM adapter falls back on them and
 * the configuration (src/config.ts) shows them as its defaults. This module imports
 * nothing, so that reading the configuration loads no HTTP client.
 */
export const CXONE_DEFAULTS = {
  scimPath: '/scim/v2',
  tokenPath: '/oauth/token',
  /** NICE documents no OAuth scopes for these APIs: none is requested unless configured. */
  scope: '',
  tokenAuth: 'basic',
} as const;
