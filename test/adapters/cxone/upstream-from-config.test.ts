/**
 * The upstream directory built from the configuration (src/sync-service.ts) for each
 * CXONE_AUTH, against loopback stand-ins for CXone's sign-in and API: the exact requests
 * sent, the start-up check of discovery, and no secret in what comes back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createPrometheusMetrics } from '../../../src/adapters/metrics/prometheus-metrics.js';
import { loadConfig } from '../../../src/config.js';
import type { RequestContext } from '../../../src/core/ports.js';
import { checkUpstreamAtStart, createUpstreamDirectory, type UpstreamDirectory } from '../../../src/composition/upstream.js';
import { scanForSecrets } from '../../helpers/secret-scan.js';
import { spawnService } from '../../helpers/service-process.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { sendJson, startLoopback } from '../scim/loopback.js';
import { ACCESS_KEY, API_PREFIX, CLIENT, jwt, startFakeCxoneAuth, TENANT, type FakeCxoneAuth } from './fake-cxone-auth.js';

const ctx = (): RequestContext => ({ stats: { upstreamRequests: 0 } });
const TOKENS = { SYNC_API_TOKENS: 'okta:okta-token-1234567890' };
const APP = { CXONE_CLIENT_ID: CLIENT.id, CXONE_CLIENT_SECRET: CLIENT.secret };
const KEY = { CXONE_ACCESS_KEY_ID: ACCESS_KEY.id, CXONE_ACCESS_KEY_SECRET: ACCESS_KEY.secret };

function quietLog() {
  const lines: { level: string; details: object; message: string }[] = [];
  return {
    lines,
    info: (details: object, message: string) => void lines.push({ level: 'info', details, message }),
    warn: (details: object, message: string) => void lines.push({ level: 'warn', details, message }),
  };
}

describe('the upstream directory for each CXONE_AUTH', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
  });

  async function fakeCxone(prepare: (fake: FakeCxoneAuth) => void = () => {}) {
    const fake = await startFakeCxoneAuth();
    cleanups.push(() => fake.close());
    fake.api = (req, res) => sendJson(res, 200, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'], seenAuthorization: req.headers.authorization });
    prepare(fake);
    return fake;
  }

  function directoryFor(env: Record<string, string>): UpstreamDirectory {
    const directory = createUpstreamDirectory(loadConfig({ ...env, ...TOKENS }), {});
    cleanups.push(() => directory.close());
    return directory;
  }

  it('when CXONE_AUTH=password with only the issuer, then SCIM requests go to the discovered API origin with the password grant\'s token', async () => {
    const fake = await fakeCxone();
    const directory = directoryFor({ CXONE_AUTH: 'password', CXONE_ISSUER: fake.issuer, ...APP, ...KEY });
    await directory.ping(ctx());
    expect(fake.requests.map((req) => `${req.method} ${req.url}`)).toEqual([
      'GET /.well-known/openid-configuration',
      'POST /auth/token',
      `GET /.well-known/cxone-configuration?tenantId=${TENANT}`,
      `GET ${API_PREFIX}/scim/v2/ServiceProviderConfig`,
    ]);
    expect(Object.fromEntries(new URLSearchParams(fake.requestsTo('password')[0]?.body))).toEqual({ grant_type: 'password', username: ACCESS_KEY.id, password: ACCESS_KEY.secret });
    expect(fake.requests.at(-1)?.headers.authorization).toMatch(/^Bearer at-1-/);
    expect(await directory.apiBaseUrl()).toBe(`${fake.issuer}${API_PREFIX}`);
  });

  it('when the admin API is called on the same connection, then it shares the sign-in (one token for SCIM and admin), goes below CXONE_ADMIN_API_PATH, and is counted by resource in the metrics', async () => {
    const fake = await fakeCxone();
    fake.api = (req, res) => sendJson(res, 200, req.path.endsWith('/agents') ? { totalRecords: 1, agents: [{ agentId: 41, userID: 'u-41', isActive: true }] } : {});
    const metrics = createPrometheusMetrics({ defaultMetrics: false });
    const directory = createUpstreamDirectory(loadConfig({ CXONE_AUTH: 'password', CXONE_ISSUER: fake.issuer, CXONE_ADMIN_API_PATH: '/inContactAPI/services/v34.0', ...APP, ...KEY, ...TOKENS }), {}, metrics.upstream);
    cleanups.push(() => directory.close());
    await directory.ping(ctx());
    const page = await directory.adminApi.listAgents({ top: 10, fields: ['agentId', 'userID', 'isActive'] }, ctx());
    expect(page.agents).toEqual([{ agentId: 41, userId: 'u-41', isActive: true }]);
    expect(fake.requests.at(-1)?.url).toBe(`${API_PREFIX}/inContactAPI/services/v34.0/agents?top=10&fields=agentId,userID,isActive`);
    expect(fake.requestsTo('password')).toHaveLength(1);
    expect(new Set(fake.requests.filter((req) => req.path.startsWith(API_PREFIX)).map((req) => req.headers.authorization))).toEqual(new Set(['Bearer at-1-xxxxxxxxxxxx']));
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/scim_upstream_requests_total\{method="GET",resource="agents",status="200"\} 1/);
    expect(text).toMatch(/scim_upstream_requests_total\{method="GET",resource="discovery",status="200"\} 2/);
    expect(text).toMatch(/scim_upstream_requests_total\{method="POST",resource="oauth",status="200"\} 1/);
  });

  it('when CXONE_AUTH=access_key with CXONE_BASE_URL, then the access key goes as JSON to CXONE_TOKEN_URL and SCIM to CXONE_BASE_URL, nothing discovered', async () => {
    const fake = await fakeCxone();
    const directory = directoryFor({ CXONE_AUTH: 'access_key', CXONE_TOKEN_URL: `${fake.issuer}/authentication/v1/token/access-key`, CXONE_BASE_URL: `${fake.issuer}${API_PREFIX}`, ...KEY });
    await directory.ping(ctx());
    expect(fake.requests.map((req) => `${req.method} ${req.path}`)).toEqual(['POST /authentication/v1/token/access-key', `GET ${API_PREFIX}/scim/v2/ServiceProviderConfig`]);
    expect(JSON.parse(fake.requests[0]?.body ?? '')).toEqual({ accessKeyId: ACCESS_KEY.id, accessKeySecret: ACCESS_KEY.secret });
  });

  it('when CXONE_AUTH=client_credentials (the default), then the token comes from ${CXONE_BASE_URL}/oauth/token with HTTP Basic and no scope, and SCIM is below CXONE_BASE_URL, as before', async () => {
    const upstream = await startLoopback((req, res) => {
      if (req.path === '/oauth/token') return sendJson(res, 200, { access_token: 'cc-token-xxxxxxxx', token_type: 'Bearer', expires_in: 3600 });
      return sendJson(res, 200, {});
    });
    cleanups.push(() => upstream.close());
    const directory = directoryFor({ CXONE_BASE_URL: upstream.url, ...APP });
    await directory.ping(ctx());
    expect(upstream.requests.map((req) => `${req.method} ${req.path}`)).toEqual(['POST /oauth/token', 'GET /scim/v2/ServiceProviderConfig']);
    expect(Object.fromEntries(new URLSearchParams(upstream.requests[0]?.body))).toEqual({ grant_type: 'client_credentials' });
    expect(upstream.requests[0]?.headers.authorization).toMatch(/^Basic /);
    expect(upstream.requests[1]?.headers.authorization).toBe('Bearer cc-token-xxxxxxxx');
    expect(await checkUpstreamAtStart(loadConfig({ CXONE_BASE_URL: upstream.url, ...APP, ...TOKENS }), directory, quietLog())).toBeUndefined();
    expect(upstream.requests).toHaveLength(2);
  });

  it('when discovery cannot find the tenant at start, then the start-up check returns the one line to stop with; when the tenant is only unreachable, it warns and lets the service start', async () => {
    const fake = await fakeCxone();
    const env = { CXONE_AUTH: 'access_key', CXONE_TOKEN_URL: `${fake.issuer}/authentication/v1/token/access-key`, CXONE_ISSUER: fake.issuer, ...KEY, ...TOKENS };
    const config = loadConfig(env);
    const noTenant = await checkUpstreamAtStart(config, directoryFor(env), quietLog());
    expect(noTenant).toMatch(/^CXONE_BASE_URL: required with CXONE_AUTH=access_key here: the token answer names no tenant/);

    fake.accessKeyExtra = { tenantId: TENANT };
    fake.answer('cxone', (_req, res) => sendJson(res, 503, {}, { 'retry-after': '30' }), 1);
    const log = quietLog();
    const directory = directoryFor(env);
    expect(await checkUpstreamAtStart(config, directory, log)).toBeUndefined();
    expect(log.lines.map((line) => `${line.level} ${line.message}`)).toEqual(['warn CXone API discovery failed at start; the first request tries again']);
    await directory.ping(ctx());
    expect(await directory.apiBaseUrl()).toBe(`${fake.issuer}${API_PREFIX}`);
  });

  it('when no tenant is configured (the embedded simulator runs), then the start-up check sends nothing, whatever CXONE_AUTH says', async () => {
    const simulator = await startLoopback((_req, res) => sendJson(res, 500, {}));
    cleanups.push(() => simulator.close());
    const config = loadConfig({ CXONE_AUTH: 'password' });
    const directory = createUpstreamDirectory(config, { baseUrl: simulator.url, clientId: 'sim', clientSecret: 'sim-secret-value', simulator: true });
    cleanups.push(() => directory.close());
    const log = quietLog();
    expect(await checkUpstreamAtStart(config, directory, log)).toBeUndefined();
    expect(simulator.requests).toEqual([]);
    expect(log.lines).toEqual([]);
  });

  it('when the tenant\'s API echoes every secret of a password sign-in in its errors, then the error holds none of them', async () => {
    const idToken = jwt({ tenantId: TENANT, sub: 'svc' });
    const fake = await fakeCxone((f) => (f.idTokenClaims = { tenantId: TENANT, sub: 'svc' }));
    let echo = '';
    fake.api = (req, res) => {
      const basic = String(fake.requestsTo('password')[0]?.headers.authorization ?? '');
      echo = [ACCESS_KEY.secret, CLIENT.secret, basic, String(req.headers.authorization), idToken, encodeURIComponent(ACCESS_KEY.secret)].join(' ; ');
      sendJson(res, 400, { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', detail: `refused ${echo}`, scimType: 'invalidValue' });
    };
    const directory = directoryFor({ CXONE_AUTH: 'password', CXONE_ISSUER: fake.issuer, ...APP, ...KEY });
    const error = (await directory.ping(ctx()).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    const texts = [error.message, JSON.stringify(error), String((error as { detail?: string }).detail)];
    const basic = String(fake.requestsTo('password')[0]?.headers.authorization).replace(/^Basic /, '');
    const secrets = new Map([
      ['access key secret', ACCESS_KEY.secret],
      ['client secret', CLIENT.secret],
      ['basic credential', basic],
      ['access token', 'at-1-xxxxxxxxxxxx'],
      ['id_token', idToken],
    ]);
    expect(echo).toContain(ACCESS_KEY.secret);
    expect(scanForSecrets(secrets, texts.map((text, i) => [`text ${i}`, text] as const))).toEqual([]);
  });

  it('when the service starts with CXONE_AUTH=access_key and no tenant can be found, then it exits 78 with one line naming CXONE_BASE_URL and never listens', async () => {
    const fake = await fakeCxone();
    const child = spawnService({ CXONE_AUTH: 'access_key', CXONE_TOKEN_URL: `${fake.issuer}/authentication/v1/token/access-key`, CXONE_ISSUER: fake.issuer, ...KEY, ...TOKENS, DATA_DIR: tempDir() });
    let stderr = '';
    let stdout = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(code).toBe(78);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^cxone-scim-sync: configuration error: CXONE_BASE_URL: required with CXONE_AUTH=access_key here/)]);
    expect(stdout).not.toContain('listening');
    expect(`${stderr}${stdout}`).not.toContain(ACCESS_KEY.secret);
    expect(fake.requestsTo('access-key')).toHaveLength(1);
  });
});
