import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const loadError = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return null;
};

describe('SCIM_API_TOKENS and SCIM_GROUP_DELETE', () => {
  it('when SCIM_API_TOKENS is set, then its name:token pairs are read like SYNC_API_TOKENS, and a delete policy defaults to refuse', () => {
    const config = loadConfig({ SCIM_API_TOKENS: 'okta-scim:scim-token-0000000001, entra-scim:scim-token-0000000002' });
    expect(config.scimApiTokens).toEqual([
      { name: 'okta-scim', token: 'scim-token-0000000001' },
      { name: 'entra-scim', token: 'scim-token-0000000002' },
    ]);
    expect(config.scimGroupDelete).toBe('refuse');
    expect(loadConfig({ SCIM_GROUP_DELETE: 'empty' }).scimGroupDelete).toBe('empty');
  });

  it('when a SCIM token is short, malformed, listed twice or named otherwise in another list, then the start stops with one line naming SCIM_API_TOKENS and never the token', () => {
    const short = loadError({ SCIM_API_TOKENS: 'okta:short' });
    expect(short).toMatch(/^SCIM_API_TOKENS/);
    expect(short).not.toContain('short');
    expect(loadError({ SCIM_API_TOKENS: 'no-colon-token-000000' })).toMatch(/^SCIM_API_TOKENS: expected name:token pairs/);
    expect(loadError({ SCIM_API_TOKENS: 'a:scim-token-0000000001,b:scim-token-0000000001' })).toBe('SCIM_API_TOKENS: the same token is listed twice');
    const renamed = loadError({ SYNC_API_TOKENS: 'okta:shared-token-00000001', SCIM_API_TOKENS: 'other:shared-token-00000001' });
    expect(renamed).toMatch(/^SCIM_API_TOKENS: a token is also in SYNC_API_TOKENS under another name/);
    expect(renamed).not.toContain('shared-token');
    expect(loadError({ SYNC_API_TOKENS: 'okta:shared-token-00000001', SCIM_API_TOKENS: 'okta:shared-token-00000001' })).toBeNull();
    expect(loadError({ SCIM_GROUP_DELETE: 'purge' })).toMatch(/^SCIM_GROUP_DELETE/);
  });
});
