import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { seedIds, type SimulatorRequest, type SimulatorResponse } from '../../src/simulator/simulator.js';
import { bearer, buildTestApp, TOKENS } from '../helpers/build-test-app.js';
import { buildSimulatorApp, type SimulatorApp } from '../helpers/simulator-app.js';

const { users, groups } = seedIds;
const CLIENT_ID = 'sync';
const CLIENT_SECRET = 'sync-secret-value'; // the client buildSimulatorApp registers
const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** A pino destination that keeps every line. */
function captureLog(level: Parameters<typeof createLogger>[0] = 'trace') {
  const lines: string[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(line) });
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

function sync(s: { app: SimulatorApp['app'] }, groupId: string, members: { value: string; type: 'User' | 'Group' }[], headers: Record<string, string> = bearer()) {
  return s.app.inject({ method: 'POST', url: `/groups/${groupId}/sync`, headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify({ members }) });
}

describe('logging: no secret ever reaches the log', () => {
  it('when every path that touches a secret runs, then no client secret, access token, API token or webhook secret appears in the log or in an answer', async () => {
    const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
    const wrongToken = `wrong-${randomBytes(12).toString('hex')}`;
    const { logger, lines } = captureLog('trace');
    const s = await buildSimulatorApp({ env: { WEBHOOK_SECRET: webhookSecret, LOG_LEVEL: 'trace' }, logger });

    // The simulator sees every access token the adapter presents and every Basic credential.
    const seen = new Set<string>();
    let mode: 'normal' | 'token-500' | 'token-401' | 'scim-401-echo' = 'normal';
    s.simulator.onRequest((req: SimulatorRequest): SimulatorResponse | undefined => {
      const authorization = String(req.headers.authorization ?? '');
      if (authorization) seen.add(authorization.replace(/^(Bearer|Basic) +/i, ''));
      const isToken = req.path === '/oauth/token';
      // Hostile upstreams echo the credentials they were sent; none of it may leak.
      if (isToken && mode === 'token-500') return { status: 500, body: `internal error while checking ${authorization} (${CLIENT_SECRET})` };
      if (isToken && mode === 'token-401') return { status: 401, headers: { 'www-authenticate': 'Basic' }, body: { error: 'invalid_client', error_description: `client ${CLIENT_ID} with secret ${CLIENT_SECRET} is unknown; you sent ${authorization}` } };
      if (!isToken && mode === 'scim-401-echo') return { status: 401, body: { schemas: [SCIM_ERROR], status: '401', detail: `token ${authorization} is not valid` } };
      return undefined;
    });

    const answers: string[] = [];
    const run = async (label: string, status: number, request: Promise<{ statusCode: number; body: string }>) => {
      const res = await request;
      answers.push(res.body);
      expect(res.statusCode, `${label}`).toBe(status);
    };

    await run('first sync: token fetch', 200, sync(s, groups.contactCenterAgents, [{ value: users.aliceSmith, type: 'User' }]));
    s.simulator.revokeTokens();
    await run('revoked token: 401, refresh, retry', 200, sync(s, groups.contactCenterAgents, [{ value: users.davidKim, type: 'User' }]));
    await run('wrong inbound bearer token', 401, sync(s, groups.contactCenterAgents, [], { authorization: `Bearer ${wrongToken}` }));
    await run('inbound Basic credentials instead of a bearer token', 401, sync(s, groups.contactCenterAgents, [], { authorization: `Basic ${Buffer.from(`okta:${TOKENS.okta}`).toString('base64')}` }));

    mode = 'scim-401-echo';
    await run('SCIM refuses the token twice and echoes it', 502, sync(s, groups.contactCenterAgents, [{ value: users.aliceSmith, type: 'User' }]));

    mode = 'token-401';
    s.simulator.revokeTokens();
    await run('token endpoint refuses the client after a 401 from SCIM', 502, sync(s, groups.contactCenterAgents, [{ value: users.aliceSmith, type: 'User' }]));
    await run('readiness while the token endpoint refuses the client', 503, s.app.inject('/readyz'));

    mode = 'token-500';
    await run('token endpoint error', 502, sync(s, groups.contactCenterAgents, [{ value: users.aliceSmith, type: 'User' }]));
    await run('readiness while the token endpoint fails', 503, s.app.inject('/readyz'));

    const secrets = new Set([CLIENT_SECRET, webhookSecret, TOKENS.okta, TOKENS.entra, wrongToken, ...seen]);
    expect(seen.size).toBeGreaterThanOrEqual(3); // the Basic credential and at least two access tokens
    const log = lines.join('');
    expect(lines.length).toBeGreaterThan(10);
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThanOrEqual(8);
      expect(log, 'the log').not.toContain(secret);
      for (const answer of answers) expect(answer, 'an answer').not.toContain(secret);
    }
    // The log did describe those failures, just without the secrets.
    expect(log).toContain('invalid_client');
    expect(log).toContain('"status":401');
  });

  it('when objects holding secrets are logged, then redact replaces them at every known path', () => {
    const { logger, lines } = captureLog('info');
    const config = loadConfig({
      CXONE_BASE_URL: 'https://acme.api.nicecxone.com',
      CXONE_CLIENT_ID: 'client',
      CXONE_CLIENT_SECRET: 'config-client-secret-1',
      SYNC_API_TOKENS: 'okta:config-api-token-1',
      ADMIN_API_TOKENS: 'ops:config-admin-token-0001',
      WEBHOOK_SECRET: 'whsec_config-webhook-secret-1',
    });
    logger.info({ config }, 'configuration');
    logger.info({ req: { headers: { authorization: 'Bearer header-token-1', 'proxy-authorization': 'Basic proxy-cred-1' } } }, 'request');
    logger.info({ headers: { authorization: 'Bearer header-token-2' } }, 'upstream request');
    logger.info({ subscription: { id: 's1', url: 'https://example.com/hook', secret: 'whsec_subscription-secret-1' } }, 'subscription created');
    logger.info({ token: 'bare-token-1', access_token: 'bare-token-2', clientSecret: 'bare-secret-1', client_secret: 'bare-secret-2', webhookSecret: 'bare-secret-3' }, 'flat');
    logger.info({ oauth: { accessToken: 'nested-token-1', client_secret: 'nested-secret-1', authorization: 'Basic nested-cred-1' } }, 'nested');
    logger.info({ delivery: { id: 'd1', subscription: { url: 'https://example.com/hook', secret: 'whsec_deep-secret-1' } } }, 'deeper');
    const log = lines.join('');
    for (const secret of ['config-client-secret-1', 'config-api-token-1', 'config-admin-token-0001', 'whsec_config-webhook-secret-1', 'header-token-1', 'proxy-cred-1', 'header-token-2', 'whsec_subscription-secret-1', 'bare-token-1', 'bare-token-2', 'bare-secret-1', 'bare-secret-2', 'bare-secret-3', 'nested-token-1', 'nested-secret-1', 'nested-cred-1', 'whsec_deep-secret-1']) {
      expect(log).not.toContain(secret);
    }
    expect(log).toContain('[redacted]');
    expect(log).toContain('https://acme.api.nicecxone.com');
  });
});

describe('logging: what each line says', () => {
  it('when a request completes, then one JSON line has its request id, route, status and latency, and the id is echoed', async () => {
    const { logger, records } = captureLog('info');
    const { app, directory } = await buildTestApp({ logger });
    directory.addGroup('g1');
    const res = await app.inject({ method: 'POST', url: '/groups/g1/sync', headers: { ...bearer(), 'content-type': 'application/json', 'x-request-id': 'req-log-1' }, payload: '{"members":[]}' });
    expect(res.headers['x-request-id']).toBe('req-log-1');
    const requestLines = records().filter((r) => r.msg === 'request completed');
    expect(requestLines).toHaveLength(1);
    expect(requestLines[0]).toMatchObject({ level: 30, requestId: 'req-log-1', method: 'POST', route: '/groups/:groupId/sync', status: 200, actor: 'okta', latencyMs: expect.any(Number), service: 'cxone-scim-sync' });

    const generated = await app.inject('/openapi.json');
    expect(records().find((r) => r.msg === 'request completed' && r.route === '/openapi.json')?.requestId).toBe(generated.headers['x-request-id']);
  });

  it('when syncs end, then one structured line each has syncId, groupId, actor, status, counts, upstreamRequests and latencyMs, failures too', async () => {
    const { logger, records } = captureLog('info');
    const s = await buildSimulatorApp({ logger });
    const applied = await sync(s, groups.contactCenterAgents, [{ value: users.aliceSmith, type: 'User' }]);
    const refused = await sync(s, groups.contactCenterAgents, [{ value: 'u-404', type: 'User' }], { ...bearer(TOKENS.entra), 'x-request-id': 'req-422' });
    expect(refused.statusCode).toBe(422);

    const syncLines = records().filter((r) => r.msg === 'sync finished' || r.msg === 'sync failed');
    expect(syncLines).toHaveLength(2);
    expect(syncLines[0]).toMatchObject({ msg: 'sync finished', syncId: applied.json().syncId, requestId: applied.headers['x-request-id'], groupId: groups.contactCenterAgents, actor: 'okta', status: 'applied', added: 1, removed: 0, upstreamRequests: 3, latencyMs: expect.any(Number) });
    expect(syncLines[1]).toMatchObject({ msg: 'sync failed', syncId: refused.json().syncId, requestId: 'req-422', groupId: groups.contactCenterAgents, actor: 'entra', status: 'validation_failed', added: 0, removed: 0, upstreamRequests: 2, latencyMs: expect.any(Number), errorCodes: ['user_not_found'] });
  });

  it('when LOG_LEVEL is warn, then request and sync lines are not written', async () => {
    const { logger, lines } = captureLog(loadConfig({ LOG_LEVEL: 'warn' }).logLevel);
    const { app, directory } = await buildTestApp({ logger });
    directory.addGroup('g1');
    expect((await app.inject({ method: 'POST', url: '/groups/g1/sync', headers: { ...bearer(), 'content-type': 'application/json' }, payload: '{"members":[]}' })).statusCode).toBe(200);
    expect(lines).toEqual([]);
  });
});
