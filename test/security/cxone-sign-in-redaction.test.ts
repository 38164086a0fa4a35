/**
 * The service composed as main.ts composes it, signing in with CXONE_AUTH=password (and
 * access_key) against a loopback CXone whose token endpoint, discovery and API echo every
 * secret of the sign-in in their errors: the access key secret, the client secret and its
 * Basic credential, the access token and the id_token. None of them may reach /readyz, a
 * sync answer, an audit record or a log line.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPrometheusMetrics } from '../../src/adapters/metrics/prometheus-metrics.js';
import { openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { createWebhookTargetPolicy } from '../../src/adapters/webhooks/ssrf-guard.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { composeService } from '../../src/composition/service.js';
import { createUpstreamDirectory } from '../../src/composition/upstream.js';
import { ACCESS_KEY, CLIENT, jwt, startFakeCxoneAuth, TENANT, type FakeCxoneAuth } from '../adapters/cxone/fake-cxone-auth.js';
import { sendJson } from '../adapters/scim/loopback.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { tempDir } from '../helpers/temp-dir.js';

const SYNC_TOKEN = 'okta-7c1e0a9b3d5f2e4a6c8b';
const ACCESS_TOKEN = 'at-SignIn-Zp4Kx8Qm2Wn6Rv0Ty3Ub';
const ID_CLAIMS = { tenantId: TENANT, sub: 'user:svc', name: 'Sync Service' };
const ID_TOKEN = jwt(ID_CLAIMS);
const form = (value: string) => new URLSearchParams([['v', value]]).toString().slice(2);
const BASIC = Buffer.from(`${form(CLIENT.id)}:${form(CLIENT.secret)}`).toString('base64');

/** Every secret of the access key sign-in, in the forms an upstream would echo. */
const KEY_ECHO = [ACCESS_KEY.secret, encodeURIComponent(ACCESS_KEY.secret), JSON.stringify({ accessKeySecret: ACCESS_KEY.secret }), ACCESS_TOKEN, ID_TOKEN].join(' | ');
/** …and of the password sign-in, which also holds the application's credentials. */
const ECHO = [KEY_ECHO, CLIENT.secret, `Basic ${BASIC}`, BASIC, `${CLIENT.id}:${CLIENT.secret}`].join(' | ');

async function service(env: Record<string, string>, fake: FakeCxoneAuth) {
  // MEMBERSHIP_BACKEND set, not auto: the fake tenant answers every API request with an error that echoes secrets.
  const config = loadConfig({ MEMBERSHIP_BACKEND: 'scim-groups', ...env, SYNC_API_TOKENS: `okta:${SYNC_TOKEN}`, READINESS_CACHE_MS: '0', DATA_DIR: tempDir('cxone-sign-in-redaction-'), LOG_LEVEL: 'trace' });
  const logLines: string[] = [];
  const logger = createLogger(config.logLevel, { write: (line: string) => void logLines.push(line) });
  const store = openSqliteStore({ dataDir: config.dataDir, staticSubscribers: [] });
  const metrics = createPrometheusMetrics({ defaultMetrics: false });
  const directory = createUpstreamDirectory(config, {}, metrics.upstream);
  const { app, dispatcher } = await composeService({ config, store, directory, metrics, policy: createWebhookTargetPolicy({ allowPrivate: true }), logger });
  onTestFinished(async () => {
    await app.close();
    await dispatcher.stop();
    store.close();
    await directory.close();
    await fake.close();
  });
  const answers: [string, string][] = [];
  const round = async (what: string) => {
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    answers.push([`${what}: GET /readyz`, ready.body]);
    const synced = await app.inject({ method: 'POST', url: '/groups/g-1/sync', headers: { authorization: `Bearer ${SYNC_TOKEN}`, 'content-type': 'application/json' }, payload: '{"members":[]}' });
    answers.push([`${what}: POST /groups/{id}/sync`, synced.body]);
    return synced;
  };
  const sources = async (): Promise<[string, string][]> => [
    ...answers,
    ...(await store.listRecords({ limit: 100 })).items.map((r) => [`audit record ${r.status}`, JSON.stringify(r)] as [string, string]),
    ...logLines.map((line, i) => [`log line ${i}`, line] as [string, string]),
  ];
  return { round, sources, logLines };
}

/** `application`: the service holds the application's credentials too (CXONE_AUTH=password). */
function leaks(sources: readonly [string, string][], application: boolean): string[] {
  const secrets = new Map([
    ['CXONE_ACCESS_KEY_SECRET', ACCESS_KEY.secret],
    ['access token', ACCESS_TOKEN],
    ['id_token', ID_TOKEN],
    ['SYNC_API_TOKENS token', SYNC_TOKEN],
    ...(application ? [['CXONE_CLIENT_SECRET', CLIENT.secret] as const] : []),
  ]);
  const composites = new Map(
    application
      ? [
          ['Basic credential', BASIC],
          ['client id:secret', `${CLIENT.id}:${CLIENT.secret}`],
        ]
      : [],
  );
  return [...scanForSecrets(secrets, sources, { ignoreWhitespace: true, fragments: 12 }), ...scanForSecrets(composites, sources, { ignoreWhitespace: true })].map((h) => `${h.secret} in ${h.where}: …${h.excerpt}…`);
}

describe('redaction of the CXone sign-in secrets', () => {
  it('when a password sign-in succeeds and the tenant\'s API, then its discovery, then its token endpoint echo every secret, then none reaches /readyz, a sync answer, an audit record or a log line', async () => {
    const fake = await startFakeCxoneAuth();
    fake.accessToken = () => ACCESS_TOKEN;
    fake.idTokenClaims = ID_CLAIMS;
    fake.api = (_req, res) => sendJson(res, 400, { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', scimType: 'invalidValue', detail: `refused ${ECHO}` });
    const { round, sources } = await service({ CXONE_AUTH: 'password', CXONE_ISSUER: fake.issuer, CXONE_CLIENT_ID: CLIENT.id, CXONE_CLIENT_SECRET: CLIENT.secret, CXONE_ACCESS_KEY_ID: ACCESS_KEY.id, CXONE_ACCESS_KEY_SECRET: ACCESS_KEY.secret }, fake);
    expect((await round('API echoes')).statusCode).toBe(502);
    // The sign-in really sent what is echoed, and the API was reached with the token.
    expect(fake.requestsTo('password')[0]?.headers.authorization).toBe(`Basic ${BASIC}`);
    expect(fake.requests.some((req) => req.headers.authorization === `Bearer ${ACCESS_TOKEN}`)).toBe(true);

    // The token is refused: a new sign-in is made, and its endpoint echoes everything too.
    fake.api = (_req, res) => sendJson(res, 401, {});
    fake.answer('password', (_req, res) => sendJson(res, 400, { error: `invalid_grant ${ECHO}`, error_description: `bad: ${ECHO}` }));
    const refused = await round('token endpoint echoes');
    expect(refused.statusCode).toBe(502);
    expect(refused.body).toContain('invalid_grant');
    expect(refused.body).toContain('[redacted]');
    expect(leaks(await sources(), true)).toEqual([]);
  });

  it('when an access-key sign-in must discover the API and discovery echoes every secret, then none reaches an answer, an audit record or a log line', async () => {
    const fake = await startFakeCxoneAuth();
    fake.accessToken = () => ACCESS_TOKEN;
    fake.accessKeyExtra = { tenantId: TENANT, id_token: ID_TOKEN };
    fake.answer('cxone', (_req, res) => sendJson(res, 400, { message: `unknown tenant; you sent ${KEY_ECHO}` }));
    const { round, sources } = await service({ CXONE_AUTH: 'access_key', CXONE_TOKEN_URL: `${fake.issuer}/authentication/v1/token/access-key`, CXONE_ISSUER: fake.issuer, CXONE_ACCESS_KEY_ID: ACCESS_KEY.id, CXONE_ACCESS_KEY_SECRET: ACCESS_KEY.secret }, fake);
    const synced = await round('discovery echoes');
    expect(synced.statusCode).toBe(502);
    expect(synced.body).toContain('cxone-configuration answered 400');
    expect(JSON.parse(fake.requestsTo('access-key')[0]?.body ?? '{}')).toEqual({ accessKeyId: ACCESS_KEY.id, accessKeySecret: ACCESS_KEY.secret });
    expect(leaks(await sources(), false)).toEqual([]);
  });
});
