import { describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig, parseDuration, secretValues } from '../src/config.js';

const real = {
  CXONE_BASE_URL: 'https://acme.api.nicecxone.com',
  CXONE_CLIENT_ID: 'client',
  CXONE_CLIENT_SECRET: 'super-secret-value',
  SYNC_API_TOKENS: 'okta:okta-token-1234567,entra:entra-token-456789',
};

function failure(env: Record<string, string>): string {
  let caught: unknown;
  try {
    loadConfig(env);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  return (caught as Error).message;
}

describe('loadConfig', () => {
  it('when nothing is set, then the defaults of docs/configuration.md apply and the simulator is used', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      logLevel: 'info',
      cxoneScimPath: '/scim/v2',
      cxoneScope: '',
      cxoneTokenAuth: 'basic',
      writeMode: 'put',
      syncApiTokens: [],
      maxGroupDepth: 3,
      maxMembers: 100_000,
      groupCacheMembers: 200_000,
      dataDir: './data',
      webhookUrls: [],
      webhookAllowPrivate: false,
      webhookRetrySchedule: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000],
      entitlementMap: {},
    });
    expect(config.cxoneBaseUrl).toBeUndefined();
  });

  it('when a real upstream is configured, then values are parsed and the result is frozen', () => {
    const config = loadConfig({ ...real, PORT: '9000', CXONE_TOKEN_AUTH: 'post', MAX_GROUP_DEPTH: '4', WEBHOOK_ALLOW_PRIVATE: 'true', ENTITLEMENT_MAP: '{"g1":["agent"]}' });
    expect(config.port).toBe(9000);
    expect(config.cxoneBaseUrl).toBe('https://acme.api.nicecxone.com');
    expect(config.syncApiTokens).toEqual([
      { name: 'okta', token: 'okta-token-1234567' },
      { name: 'entra', token: 'entra-token-456789' },
    ]);
    expect(config.entitlementMap).toEqual({ g1: ['agent'] });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.syncApiTokens[0])).toBe(true);
  });

  it.each([
    [{ PORT: 'eighty' }, /^PORT: must be an integer; got "eighty"$/],
    [{ PORT: '70000' }, /^PORT: must be <= 65535/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
    [{ CXONE_TOKEN_AUTH: 'jwt' }, /^CXONE_TOKEN_AUTH: /],
    [{ CXONE_BASE_URL: 'ftp://x' }, /^CXONE_BASE_URL: must be an http/],
    [{ CXONE_BASE_URL: 'not a url' }, /^CXONE_BASE_URL: is not a URL/],
    [{ MAX_GROUP_DEPTH: '0' }, /^MAX_GROUP_DEPTH: must be >= 1/],
    [{ MAX_MEMBERS: '1.5' }, /^MAX_MEMBERS: must be an integer/],
    [{ WEBHOOK_ALLOW_PRIVATE: 'yes' }, /^WEBHOOK_ALLOW_PRIVATE: must be true or false/],
    [{ WEBHOOK_RETRY_SCHEDULE: '5s,soon' }, /^WEBHOOK_RETRY_SCHEDULE: "soon" is not a duration/],
    [{ ENTITLEMENT_MAP: '{nope' }, /^ENTITLEMENT_MAP: is not valid JSON/],
    [{ ENTITLEMENT_MAP: '{"g":"agent"}' }, /^ENTITLEMENT_MAP: must be array \(at \/g\)/],
    [{ WEBHOOK_URLS: 'https://idp.example.com/hook' }, /^WEBHOOK_SECRET: required/],
    [{ WRITE_MODE: 'merge' }, /^WRITE_MODE: /],
    [{ PATCH_MAX_OPERATIONS: '0' }, /^PATCH_MAX_OPERATIONS: must be >= 1/],
    [{ GROUP_CACHE_MEMBERS: '-1' }, /^GROUP_CACHE_MEMBERS: must be >= 0/],
  ])('when %o, then the start stops with one line naming the variable', (env, message) => {
    const text = failure(env as Record<string, string>);
    expect(text).toMatch(message);
    expect(text).not.toContain('\n');
  });

  it.each(['CXONE_CLIENT_ID', 'CXONE_CLIENT_SECRET', 'SYNC_API_TOKENS'])('when CXONE_BASE_URL is set without %s, then it refuses to start', (name) => {
    const env: Record<string, string> = { ...real };
    delete env[name];
    expect(failure(env)).toMatch(new RegExp(`^${name}: required when CXONE_BASE_URL is set`));
  });

  it('when a secret is malformed, then the message does not echo it', () => {
    const text = failure({ SYNC_API_TOKENS: 'okta:short' });
    expect(text).toMatch(/^SYNC_API_TOKENS: /);
    expect(text).not.toContain('short');
    expect(failure({ SYNC_API_TOKENS: 'no-colon-secret-token' })).not.toContain('no-colon-secret-token');
    expect(failure({ WEBHOOK_SECRET: 'tiny-secret' })).not.toContain('tiny-secret');
  });

  it('when a token is listed twice, then it refuses to start', () => {
    expect(failure({ SYNC_API_TOKENS: 'a:token-one-1234567,b:token-one-1234567' })).toMatch(/listed twice/);
  });

  it.each(['SYNC_API_TOKENS', 'ADMIN_API_TOKENS'])('when a token in %s is shorter than 16 characters, then the start stops naming the variable, without echoing the token', (name) => {
    const text = failure({ [name]: 'okta:fifteen-chars-1' }); // 15 characters after the name
    expect(text).toMatch(new RegExp(`^${name}: .*16`));
    expect(text).not.toContain('fifteen-chars');
    expect(() => loadConfig({ [name]: 'okta:sixteen-chars-0001' })).not.toThrow();
  });

  it('when ADMIN_API_TOKENS is set, then it is parsed like SYNC_API_TOKENS, is secret, and satisfies the token requirement of a real upstream', () => {
    const { SYNC_API_TOKENS: _, ...withoutSync } = real;
    const config = loadConfig({ ...withoutSync, ADMIN_API_TOKENS: 'ops:ops-admin-token-000001' });
    expect(config.adminApiTokens).toEqual([{ name: 'ops', token: 'ops-admin-token-000001' }]);
    expect(config.syncApiTokens).toEqual([]);
    expect(describeConfig().find((row) => row.env === 'ADMIN_API_TOKENS')).toMatchObject({ secret: true });
    expect(secretValues(config)).toContain('ops-admin-token-000001');
  });

  it('when a name or a token is in both SYNC_API_TOKENS and ADMIN_API_TOKENS, then it refuses to start', () => {
    expect(failure({ SYNC_API_TOKENS: 'ops:sync-token-00000001', ADMIN_API_TOKENS: 'ops:admin-token-0000001' })).toMatch(/^ADMIN_API_TOKENS: .*name "ops".*SYNC_API_TOKENS/);
    const both = failure({ SYNC_API_TOKENS: 'okta:shared-token-000001', ADMIN_API_TOKENS: 'ops:shared-token-000001' });
    expect(both).toMatch(/^ADMIN_API_TOKENS: .*token.*SYNC_API_TOKENS/);
    expect(both).not.toContain('shared-token');
  });

  it.each([
    ['false', false],
    ['true', true],
    ['2', 2],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['127.0.0.1, 10.0.0.0/8,::1', '127.0.0.1,10.0.0.0/8,::1'],
  ])('when TRUST_PROXY is %s, then it becomes Fastify trustProxy %j', (raw, expected) => {
    expect(loadConfig({ TRUST_PROXY: raw }).trustProxy).toEqual(expected);
  });

  it.each([
    [{ TRUST_PROXY: 'sometimes' }, /^TRUST_PROXY: /],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /^TRUST_PROXY: /],
    [{ AUTH_FAILURE_LIMIT: '-1' }, /^AUTH_FAILURE_LIMIT: must be >= 0/],
    [{ READINESS_CACHE_MS: '-5' }, /^READINESS_CACHE_MS: must be >= 0/],
  ])('when %o, then the start stops naming the variable', (env, message) => {
    expect(failure(env as Record<string, string>)).toMatch(message);
  });

  it('when nothing is set, then failed authentication is limited to 20 a minute, no proxy is trusted, and /readyz caches 5 s', () => {
    expect(loadConfig({})).toMatchObject({ authFailureLimit: 20, trustProxy: false, readinessCacheMs: 5000, adminApiTokens: [] });
  });

  it('when durations use every unit, then they become milliseconds', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('5')).toBeUndefined();
  });

  it('when described, then every variable has a name and a meaning', () => {
    const rows = describeConfig();
    expect(rows.map((r) => r.env)).toContain('SYNC_API_TOKENS');
    expect(rows.every((r) => r.env && r.description)).toBe(true);
  });
});

describe('GROUP_QUEUE_MAX', () => {
  it('when unset, then 50 syncs of a group may wait; a number is taken; below 0 stops the start naming the variable', () => {
    expect(loadConfig({}).groupQueueMax).toBe(50);
    expect(loadConfig({ GROUP_QUEUE_MAX: '0' }).groupQueueMax).toBe(0);
    expect(loadConfig({ GROUP_QUEUE_MAX: '200' }).groupQueueMax).toBe(200);
    expect(() => loadConfig({ GROUP_QUEUE_MAX: '-1' })).toThrow(/^GROUP_QUEUE_MAX: must be >= 0/);
    expect(() => loadConfig({ GROUP_QUEUE_MAX: 'many' })).toThrow(/^GROUP_QUEUE_MAX: /);
  });
});

describe('secret values', () => {
  it('when settings are marked secret in the schema, then secretValues lists their values (each API token, not its name), and nothing else', () => {
    const config = loadConfig({
      CXONE_BASE_URL: 'https://tenant.example.com',
      CXONE_CLIENT_ID: 'client-id-not-secret',
      CXONE_CLIENT_SECRET: 'client-secret-value-1',
      SYNC_API_TOKENS: 'okta:okta-token-value-0001,entra:entra-token-value-002',
      WEBHOOK_URLS: 'https://hooks.example.com/x',
      WEBHOOK_SECRET: 'webhook-secret-value-0003',
    });
    const values = secretValues(config);
    expect(values).toEqual(expect.arrayContaining(['client-secret-value-1', 'okta-token-value-0001', 'entra-token-value-002', 'webhook-secret-value-0003']));
    expect(values).not.toEqual(expect.arrayContaining(['okta']));
    expect(values).not.toContain('entra');
    expect(values).not.toContain('client-id-not-secret');
    expect(values).not.toContain('https://tenant.example.com');
  });
});

describe('STORE and DATABASE_URL', () => {
  const url = 'postgres://sync:S3cret-db-pass@127.0.0.1:5432/cxone';

  it('when nothing is set, then the store is SQLite under DATA_DIR, as before', () => {
    const config = loadConfig({});
    expect(config.store).toBe('sqlite');
    expect(config.databaseUrl).toBeUndefined();
  });

  it('when STORE=postgres and DATABASE_URL are set, then the service runs on PostgreSQL', () => {
    expect(loadConfig({ STORE: 'postgres', DATABASE_URL: url })).toMatchObject({ store: 'postgres', databaseUrl: url });
  });

  it('when STORE=postgres has no DATABASE_URL, or DATABASE_URL is not a postgres:// URL, then the start stops with one line naming the variable and not the password', () => {
    expect(() => loadConfig({ STORE: 'postgres' })).toThrow(/^DATABASE_URL: required when STORE=postgres/);
    expect(() => loadConfig({ STORE: 'mysql' })).toThrow(/^STORE: /);
    let message = '';
    try {
      loadConfig({ STORE: 'postgres', DATABASE_URL: 'mysql://sync:S3cret-db-pass@127.0.0.1/cxone' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^DATABASE_URL: /);
    expect(message).not.toContain('S3cret-db-pass');
  });

  it('when DATABASE_URL is set with STORE=sqlite, then the start stops rather than ignore it', () => {
    expect(() => loadConfig({ DATABASE_URL: url })).toThrow(/^DATABASE_URL: not used with STORE=sqlite/);
  });

  it('when DATABASE_URL holds a password, then it is a secret: the URL and the password alone are redacted', () => {
    const secrets = secretValues(loadConfig({ STORE: 'postgres', DATABASE_URL: url }));
    expect(secrets).toContain(url);
    expect(secrets).toContain('S3cret-db-pass');
    expect(describeConfig().find((s) => s.env === 'DATABASE_URL')?.secret).toBe(true);
  });
});
