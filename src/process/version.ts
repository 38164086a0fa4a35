/** The version of this release, from package.json (two levels above this file, in src/ and in dist/). */
import { readFileSync } from 'node:fs';

export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** What the service calls itself in outbound requests (webhook deliveries). */
export const USER_AGENT = `cxone-scim-sync/${VERSION}`;
