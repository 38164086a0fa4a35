/** CXONE_AUTH and its settings: what each sign-in needs, when a tenant counts as configured, and the rules every URL follows. */
import { describe, expect, it } from 'vitest';
import { ConfigError, cxoneIssuer, describeConfig, loadConfig, secretValues, upstreamConfigured, upstreamConfiguredBy } from '../src/config.js';
import { CXONE_DEFAULT_ISSUER } from '../src/adapters/cxone/index.js';
import { serveHelp } from '../src/cli/commands/serve.js';
import { createLogger } from '../src/adapters/logging/logger.js';

const TOKENS = { SYNC_API_TOKENS: 'okta:okta-token-1234567890' };
const APP = { CXONE_CLIENT_ID: 'sync-app', CXONE_CLIENT_SECRET: 'app-secret-value-1' };
const KEY = { CXONE_ACCESS_KEY_ID: 'AKID-0001', CXONE_ACCESS_KEY_SECRET: 'access-key-secret-value-1' };

function failure(env: Record<string, string>): string {
  let caught: unknown;
  try {
    loadConfig(env);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const message = (caught as Error).message;
  expect(message).not.toContain('\n');
  return message;
}

describe('CXone sign-in configuration', () => {
  it('when nothing is set, then CXONE_AUTH is client_credentials, no scope is requested, CXONE_ISSUER stays unset with NICE\'s issuer as its default, the admin API is v31.0, and the embedded simulator runs', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ cxoneAuth: 'client_credentials', cxoneScope: '', cxoneAdminApiPath: '/incontactapi/services/v31.0' });
    expect(config.cxoneIssuer).toBeUndefined();
    expect(cxoneIssuer(config)).toBe('https://cxone.niceincontact.com');
    expect(CXONE_DEFAULT_ISSUER).toBe(cxoneIssuer(config));
    expect(upstreamConfigured(config)).toBe(false);
    expect(describeConfig().find((row) => row.env === 'CXONE_ISSUER')).toMatchObject({ default: '"https://cxone.niceincontact.com"', secret: false });
    expect(describeConfig().find((row) => row.env === 'CXONE_SCOPE')).toMatchObject({ default: '""' });
  });

  it.each([
    ['CXONE_BASE_URL', 'cxoneBaseUrl'],
    ['CXONE_TOKEN_URL', 'cxoneTokenUrl'],
    ['CXONE_ISSUER', 'cxoneIssuer'],
    ['CXONE_CLIENT_ID', 'cxoneClientId'],
    ['CXONE_ACCESS_KEY_ID', 'cxoneAccessKeyId'],
  ] as const)('when %s alone is set, then a tenant is configured by it and the simulator does not run', (name, key) => {
    const config = { ...loadConfig({}), [key]: 'https://set.example' };
    expect(upstreamConfigured(config)).toBe(true);
    expect(upstreamConfiguredBy(config)).toBe(name);
    // At start the same rule holds: the setting is named in what the tenant then lacks.
    expect(failure({ [name]: 'https://cxone-test.example' })).toMatch(new RegExp(`: required when ${name} is set`));
  });

  it('when CXONE_ISSUER is set to its own default, then it still counts as set; CXONE_AUTH or CXONE_SCOPE alone configure no tenant', () => {
    expect(failure({ CXONE_ISSUER: 'https://cxone.niceincontact.com' })).toMatch(/^CXONE_BASE_URL: required when CXONE_ISSUER is set \(CXONE_AUTH=client_credentials needs /);
    expect(upstreamConfigured(loadConfig({ CXONE_AUTH: 'password', CXONE_SCOPE: 'openid' }))).toBe(false);
  });

  it.each([
    ['client_credentials', { CXONE_TOKEN_URL: 'https://auth.example.com/token' }, /^CXONE_BASE_URL: required when CXONE_TOKEN_URL is set \(CXONE_AUTH=client_credentials needs CXONE_BASE_URL, CXONE_CLIENT_ID, CXONE_CLIENT_SECRET; also missing: CXONE_CLIENT_ID, CXONE_CLIENT_SECRET\)$/],
    ['client_credentials', { CXONE_BASE_URL: 'https://acme.api.nicecxone.com', CXONE_CLIENT_ID: 'x' }, /^CXONE_CLIENT_SECRET: required when CXONE_BASE_URL is set/],
    ['password', { CXONE_AUTH: 'password', ...APP }, /^CXONE_ACCESS_KEY_ID: required when CXONE_CLIENT_ID is set \(CXONE_AUTH=password needs CXONE_CLIENT_ID, CXONE_CLIENT_SECRET, CXONE_ACCESS_KEY_ID, CXONE_ACCESS_KEY_SECRET; also missing: CXONE_ACCESS_KEY_SECRET\)$/],
    ['password', { CXONE_AUTH: 'password', ...KEY }, /^CXONE_CLIENT_ID: required when CXONE_ACCESS_KEY_ID is set .*also missing: CXONE_CLIENT_SECRET/],
    ['password', { CXONE_AUTH: 'password', CXONE_ISSUER: 'https://cxone.niceincontact.com' }, /^CXONE_CLIENT_ID: required when CXONE_ISSUER is set/],
    ['access_key', { CXONE_AUTH: 'access_key', ...KEY }, /^CXONE_TOKEN_URL: required when CXONE_ACCESS_KEY_ID is set \(CXONE_AUTH=access_key needs CXONE_ACCESS_KEY_ID, CXONE_ACCESS_KEY_SECRET, CXONE_TOKEN_URL\)$/],
    ['access_key', { CXONE_AUTH: 'access_key', CXONE_TOKEN_URL: 'https://na1.nice-incontact.com/authentication/v1/token/access-key', CXONE_ACCESS_KEY_ID: 'AKID' }, /^CXONE_ACCESS_KEY_SECRET: required when CXONE_TOKEN_URL is set/],
  ])('when CXONE_AUTH=%s misses a setting (%o), then the start stops with one line naming it', (_mode, env, message) => {
    expect(failure({ ...env, ...TOKENS } as Record<string, string>)).toMatch(message);
  });

  it.each([
    [{ CXONE_AUTH: 'password', ...APP, ...KEY, CXONE_ISSUER: 'https://cxone.niceincontact.com' }],
    [{ CXONE_AUTH: 'password', ...APP, ...KEY, CXONE_TOKEN_URL: 'https://cxone.niceincontact.com/auth/token', CXONE_BASE_URL: 'https://api-na1.niceincontact.com' }],
    [{ CXONE_AUTH: 'access_key', ...KEY, CXONE_TOKEN_URL: 'https://na1.nice-incontact.com/authentication/v1/token/access-key' }],
    [{ CXONE_AUTH: 'access_key', ...KEY, CXONE_TOKEN_URL: 'https://na1.nice-incontact.com/authentication/v1/token/access-key', CXONE_BASE_URL: 'https://api-na1.niceincontact.com' }],
  ])('when a mode has what it needs (%o), then it starts, under NODE_ENV=production too', (env) => {
    const config = loadConfig({ ...env, ...TOKENS, NODE_ENV: 'production' } as Record<string, string>);
    expect(config.cxoneAuth).toBe(env.CXONE_AUTH);
  });

  it.each([
    ['CXONE_ACCESS_KEY_ID', { CXONE_BASE_URL: 'https://acme.api.nicecxone.com', ...APP, CXONE_ACCESS_KEY_ID: 'AKID' }, 'password or access_key'],
    ['CXONE_ACCESS_KEY_SECRET', { CXONE_BASE_URL: 'https://acme.api.nicecxone.com', ...APP, CXONE_ACCESS_KEY_SECRET: 'secret-value-000' }, 'password or access_key'],
    ['CXONE_CLIENT_ID', { CXONE_AUTH: 'access_key', ...KEY, CXONE_TOKEN_URL: 'https://na1.nice-incontact.com/t', CXONE_CLIENT_ID: 'app' }, 'password or client_credentials'],
  ])('when %s is set but the mode does not use it, then the start stops rather than ignore a credential', (name, env, modes) => {
    const message = failure({ ...env, ...TOKENS } as Record<string, string>);
    expect(message).toMatch(new RegExp(`^${name}: not used with CXONE_AUTH=\\w+; set CXONE_AUTH to ${modes}, or unset it$`));
    expect(message).not.toContain('secret-value-000');
  });

  it('when an upstream is configured by any setting, then SYNC_API_TOKENS is required, named with that setting', () => {
    expect(failure({ CXONE_AUTH: 'password', CXONE_ISSUER: 'https://cxone.niceincontact.com', ...APP, ...KEY })).toMatch(/^SYNC_API_TOKENS: required when CXONE_ISSUER is set/);
  });

  it('when CXONE_AUTH is not one of the three, then the start stops naming it', () => {
    expect(failure({ CXONE_AUTH: 'oauth' })).toMatch(/^CXONE_AUTH: /);
    expect(failure({ CXONE_ADMIN_API_PATH: 'incontactapi' })).toMatch(/^CXONE_ADMIN_API_PATH: /);
    expect(loadConfig({ CXONE_ADMIN_API_PATH: '/inContactAPI/services/v34.0' }).cxoneAdminApiPath).toBe('/inContactAPI/services/v34.0');
  });

  it('when CXONE_ISSUER is plain http to a host that is not loopback, then the start is refused unless CXONE_ALLOW_INSECURE_HTTP=true; loopback is fine', () => {
    const env = { CXONE_AUTH: 'password', ...APP, ...KEY, ...TOKENS };
    expect(failure({ ...env, CXONE_ISSUER: 'http://cxone.niceincontact.com' })).toMatch(/^CXONE_ISSUER: http:\/\/cxone\.niceincontact\.com is plain http and not loopback: .*CXONE_ALLOW_INSECURE_HTTP=true/);
    expect(loadConfig({ ...env, CXONE_ISSUER: 'http://cxone.niceincontact.com', CXONE_ALLOW_INSECURE_HTTP: 'true' }).cxoneIssuer).toBe('http://cxone.niceincontact.com');
    expect(loadConfig({ ...env, CXONE_ISSUER: 'http://127.0.0.1:9000/' }).cxoneIssuer).toBe('http://127.0.0.1:9000');
    expect(failure({ CXONE_ISSUER: 'ftp://x' })).toMatch(/^CXONE_ISSUER: must be an http/);
  });

  it('when SIMULATOR=embedded and any tenant setting are both set, then the start is refused naming it', () => {
    expect(failure({ SIMULATOR: 'embedded', CXONE_ISSUER: 'https://cxone.niceincontact.com' })).toMatch(/^SIMULATOR: embedded runs the embedded simulator, which CXONE_ISSUER replaces/);
    expect(failure({ SIMULATOR: 'embedded', CXONE_ACCESS_KEY_ID: 'AKID' })).toMatch(/^SIMULATOR: .*CXONE_ACCESS_KEY_ID replaces/);
  });

  it('when NODE_ENV=production and no tenant setting is set, then the start is refused naming all five and SIMULATOR=embedded', () => {
    expect(failure({ NODE_ENV: 'production', CXONE_AUTH: 'password' })).toMatch(/^CXONE_BASE_URL: required when NODE_ENV=production \(without it, CXONE_TOKEN_URL, CXONE_ISSUER, CXONE_CLIENT_ID or CXONE_ACCESS_KEY_ID .*SIMULATOR=embedded/);
  });

  it('when CXONE_ACCESS_KEY_SECRET is set, then it is a secret: listed for the redactor, marked in --help, never echoed, and redacted where the configuration is logged', () => {
    const config = loadConfig({ CXONE_AUTH: 'password', CXONE_ISSUER: 'https://cxone.niceincontact.com', ...APP, ...KEY, ...TOKENS });
    expect(secretValues(config)).toEqual(expect.arrayContaining(['access-key-secret-value-1', 'app-secret-value-1']));
    expect(secretValues(config)).not.toContain('AKID-0001');
    expect(describeConfig().find((row) => row.env === 'CXONE_ACCESS_KEY_SECRET')).toMatchObject({ secret: true });
    const lines: string[] = [];
    createLogger('info', { write: (line: string) => void lines.push(line) }).info({ config }, 'configuration');
    expect(lines.join('')).not.toContain('access-key-secret-value-1');
    expect(lines.join('')).toContain('AKID-0001');
  });
});

describe('serve --help', () => {
  it('when asked, then it lists the sign-in settings with their defaults and says which settings keep the simulator off', () => {
    const help = serveHelp();
    for (const name of ['CXONE_AUTH', 'CXONE_ISSUER', 'CXONE_ACCESS_KEY_ID', 'CXONE_ACCESS_KEY_SECRET', 'CXONE_ADMIN_API_PATH']) expect(help).toContain(`  ${name}`);
    expect(help).toContain('(default "https://cxone.niceincontact.com")');
    expect(help).toContain('(default "client_credentials")');
    expect(help).toMatch(/none of CXONE_BASE_URL, CXONE_TOKEN_URL,\s+CXONE_ISSUER, CXONE_CLIENT_ID, CXONE_ACCESS_KEY_ID set\) it syncs against an embedded/);
  });
});
