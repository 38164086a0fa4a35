/**
 * Security (issue 5, suite 4), against the service composed as main.ts composes it
 * (test/helpers/full-app.ts: SQLite store, real SCIM adapter over loopback, SSRF policy):
 *
 * - every route but the public ones (health, metrics, docs) answers 401 without a token,
 *   with a wrong one and with malformed credentials, and does nothing: no upstream
 *   request, no audit record, no subscription created or deleted, no Idempotency-Key used;
 * - the name of the token is the actor of the audit record and of the request log;
 * - X-Request-Id values that could inject headers or forge log lines (CR/LF, spaces,
 *   control characters, non-ASCII, over-long) are replaced by a generated id, never echoed
 *   and never logged raw;
 * - webhook URLs aimed at loopback, private, link-local or metadata addresses are refused
 *   (light coverage; test/adapters/webhooks/ssrf-guard.test.ts is thorough), and a name
 *   that later resolves to loopback (DNS rebinding) is refused when delivering.
 *
 * The secret scan over a whole fault-injection run (logs, answers, audit records, webhook
 * bodies) lives in test/fault/fault-injection.test.ts, step 6; this file scans its own run.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { ResolvedAddress } from '../../src/adapters/webhooks/ssrf-guard.js';
import type { AuditRecord } from '../../src/core/audit.js';
import { buildFullApp, type FullApp } from '../helpers/full-app.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

const CLIENT_ID = 'security-suite';
const CLIENT_SECRET = 'security-suite-client-secret-71c2';
const TOKENS = { okta: 'okta-security-token-5f0e2a9d', entra: 'entra-security-token-c81b7d44' };
const GROUP = '00000000-0000-4000-9000-00000000000a';
const USER = '00000000-0000-4000-8000-00000000000a';
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const PUBLIC = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);

/** Host names the SSRF policy resolves, under the test's control (no DNS). */
function fakeDns(): { resolve: (host: string) => Promise<ResolvedAddress[]>; names: Map<string, ResolvedAddress[]> } {
  const names = new Map<string, ResolvedAddress[]>();
  return {
    names,
    resolve: async (host) => {
      const found = names.get(host);
      if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return found;
    },
  };
}

async function securityApp(env: Record<string, string> = {}, resolve?: (host: string) => Promise<ResolvedAddress[]>): Promise<FullApp> {
  const full = await buildFullApp({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    env: { SYNC_API_TOKENS: `okta:${TOKENS.okta},entra:${TOKENS.entra}`, LOG_LEVEL: 'debug', ...env },
    simulator: { seed: 'empty' },
    resolve,
    dispatch: false,
  });
  full.simulator.store.createUser({ id: USER, userName: 'security.user@example.com', active: true });
  full.simulator.store.createGroup({ id: GROUP, displayName: 'Security group', members: [] });
  return full;
}

function sync(full: FullApp, headers: Record<string, string>, members: string[] = [USER], query = '') {
  return full.app.inject({ method: 'POST', url: `/groups/${GROUP}/sync${query}`, headers: { 'content-type': 'application/json', ...headers }, payload: JSON.stringify({ members: members.map((value) => ({ value, type: 'User' })) }) });
}

/** Every route the app serves, with its methods, read from Fastify's route tree. */
function servedRoutes(full: FullApp): { path: string; methods: string[] }[] {
  const routes: { path: string; methods: string[] }[] = [];
  const stack: string[] = [];
  for (const line of full.app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] as string).length / 4;
    const path = `${depth === 0 ? '' : stack[depth - 1]}${match[2] as string}`;
    stack[depth] = path;
    stack.length = depth + 1;
    if (match[3]) routes.push({ path, methods: match[3].split(', ') });
  }
  return routes;
}

describe('security: authentication on every route', () => {
  it('when a route other than health, metrics and docs is called without a valid bearer token, then it answers 401 and does nothing', async () => {
    // Well over AUTH_FAILURE_LIMIT refusals come from one address here: the limit (test/http/auth-failures.test.ts) is off, so each is a 401.
    const full = await securityApp({ AUTH_FAILURE_LIMIT: '0' });
    const created = await full.app.inject({ method: 'POST', url: '/subscriptions', headers: { authorization: `Bearer ${TOKENS.okta}` }, payload: { url: 'https://hooks.example.com/cxone', events: ['group.sync.completed'] } });
    expect(created.statusCode).toBe(201);
    const subscription = created.json() as { id: string; secret: string };
    const synced = await sync(full, { authorization: `Bearer ${TOKENS.okta}` });
    expect(synced.statusCode).toBe(200);
    const syncId = (synced.json() as { syncId: string }).syncId;

    const routes = servedRoutes(full);
    const guarded = routes.filter((r) => !PUBLIC.has(r.path) && !r.path.startsWith('/docs'));
    const mutating = guarded.flatMap((r) => r.methods.filter((m) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(m)).map((m) => `${m} ${r.path}`));
    // The routes the issue names must be among those found, so that an empty list cannot pass.
    expect(mutating).toEqual(expect.arrayContaining(['POST /groups/:groupId/sync', 'POST /subscriptions', 'DELETE /subscriptions/:id']));

    const wrong = 'wrong-token-3e9d1c07b5';
    const credentials: [string, Record<string, string>][] = [
      ['no Authorization header', {}],
      ['a wrong bearer token', { authorization: `Bearer ${wrong}` }],
      ['the right token as Basic credentials', { authorization: `Basic ${Buffer.from(`okta:${TOKENS.okta}`).toString('base64')}` }],
      ['the right token with a suffix', { authorization: `Bearer ${TOKENS.okta}x` }],
      ['a prefix of the right token', { authorization: `Bearer ${TOKENS.okta.slice(0, -1)}` }],
      ['the right token in upper case', { authorization: `Bearer ${TOKENS.okta.toUpperCase()}` }],
      ['the right token and a second word', { authorization: `Bearer ${TOKENS.okta} ${TOKENS.entra}` }],
      ['an empty bearer token', { authorization: 'Bearer ' }],
      ['the right token as a cookie', { cookie: `token=${TOKENS.okta}` }],
    ];
    const params: Record<string, string> = { groupId: GROUP, id: subscription.id, syncId };
    const bodies: Record<string, unknown> = { '/groups/:groupId/sync': { members: [{ value: USER, type: 'User' }] }, '/subscriptions': { url: 'https://hooks.example.com/other', events: ['group.sync.failed'] } };
    const upstreamBefore = full.simulator.stats.total;
    const recordsBefore = (await full.store.verifyChain()).records;
    const answers: string[] = [];
    let checked = 0;
    for (const route of guarded) {
      for (const method of route.methods) {
        for (const [what, headers] of credentials) {
          const url = route.path.replace(/:(\w+)/g, (_, name: string) => params[name] ?? 'x') + (what === 'no Authorization header' ? `?access_token=${TOKENS.okta}` : '');
          const body = method === 'POST' ? bodies[route.path] : undefined;
          const res = await full.app.inject({ method: method as 'GET', url, headers: { ...headers, 'idempotency-key': 'security-key-1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, payload: body === undefined ? undefined : JSON.stringify(body) });
          expect(res.statusCode, `${method} ${route.path} with ${what}`).toBe(401);
          // A HEAD answer has no body; under /scim/v2 the answer is a SCIM error (RFC 7644 §3.12).
          const answered = method === 'HEAD' ? {} : (res.json() as { error?: string; schemas?: string[]; status?: string });
          const error = method === 'HEAD' ? 'unauthorized' : route.path.startsWith('/scim/v2') && answered.schemas?.[0] === 'urn:ietf:params:scim:api:messages:2.0:Error' && answered.status === '401' ? 'unauthorized' : answered.error;
          expect(error).toBe('unauthorized');
          expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer realm=/);
          answers.push(`${JSON.stringify(res.headers)}\n${res.body}`);
          checked++;
        }
      }
    }
    expect(full.simulator.stats.total, 'upstream requests').toBe(upstreamBefore);
    expect((await full.store.verifyChain()).records, 'audit records').toBe(recordsBefore);
    expect((await full.store.listSubscriptions()).map((s) => s.id)).toEqual([subscription.id]);
    // The Idempotency-Key sent with every refused request was never claimed: a real request with it runs.
    // Emptying the group is a mass removal: said explicitly.
    const keyed = await sync(full, { authorization: `Bearer ${TOKENS.okta}`, 'idempotency-key': 'security-key-1' }, [], '?allowMassRemoval=true');
    expect(keyed.statusCode).toBe(200);
    expect(keyed.headers['idempotent-replayed']).toBeUndefined();

    const secrets = new Map([
      ['okta token', TOKENS.okta],
      ['entra token', TOKENS.entra],
      ['wrong token', wrong],
      ['client secret', CLIENT_SECRET],
      ['subscription secret', subscription.secret],
    ]);
    const hits = scanForSecrets(secrets, [...answers.map((a, i) => [`refusal ${i}`, a] as const), ...full.logLines.map((l, i) => [`log line ${i}`, l] as const)]);
    expect(hits).toEqual([]);
    expect(checked).toBeGreaterThanOrEqual(credentials.length * mutating.length);
  });

  it('when two tokens of different names sync, then each audit record and request log line names its token, never the token itself', async () => {
    const full = await securityApp();
    const byOkta = await sync(full, { authorization: `Bearer ${TOKENS.okta}`, 'x-request-id': 'actor-okta' });
    const byEntra = await sync(full, { authorization: `Bearer ${TOKENS.entra}`, 'x-request-id': 'actor-entra' }, [], '?allowMassRemoval=true');
    expect([byOkta.statusCode, byEntra.statusCode]).toEqual([200, 200]);
    for (const [res, actor] of [
      [byOkta, 'okta'],
      [byEntra, 'entra'],
    ] as const) {
      // Each caller reads its own record (another's answers 404: test/http/ownership.test.ts).
      const record = (await full.app.inject({ url: `/syncs/${(res.json() as { syncId: string }).syncId}`, headers: { authorization: `Bearer ${TOKENS[actor]}` } })).json() as AuditRecord;
      expect(record.actor).toBe(actor);
      expect(JSON.stringify(record)).not.toContain(TOKENS[actor]);
    }
    const requestLines = full.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request completed' && String(l.requestId).startsWith('actor-'));
    expect(requestLines.map((l) => [l.requestId, l.actor])).toEqual([
      ['actor-okta', 'okta'],
      ['actor-entra', 'entra'],
    ]);
  });
});

describe('security: X-Request-Id', () => {
  const hostile: [string, string][] = [
    ['CR LF and a header', 'inj1\r\nSet-Cookie: session=inj1'],
    ['a bare LF and a forged log line', 'inj2\n{"level":60,"msg":"forged inj2"}'],
    ['spaces', 'inj3 with spaces'],
    ['a tab', 'inj4\tx'],
    ['a NUL', 'inj5\u0000x'],
    ['non-ASCII', 'inj6-café-ünïcødé'],
    ['a quote and a brace', 'inj7"}'],
    ['markup', 'inj8<script>alert(1)</script>'],
    ['129 characters', `inj9${'a'.repeat(125)}`],
    ['an empty value', ''],
  ];

  it('when X-Request-Id holds CR/LF, spaces, control or non-ASCII characters, or is over-long, then a generated id replaces it in the answer, the log and the audit record', async () => {
    const full = await securityApp();
    const ids: string[] = [];
    for (const [what, value] of hostile) {
      const res = await sync(full, { authorization: `Bearer ${TOKENS.okta}`, 'x-request-id': value });
      expect(res.statusCode, `${what}`).toBe(200);
      const echoed = String(res.headers['x-request-id']);
      expect(echoed, `${what}`).toMatch(UUID_V7);
      ids.push(echoed);
      const record = (await full.app.inject({ url: `/syncs/${(res.json() as { syncId: string }).syncId}`, headers: { authorization: `Bearer ${TOKENS.okta}` } })).json() as AuditRecord;
      expect(record.requestId, `${what}`).toBe(echoed);
      expect(Object.keys(res.headers)).not.toContain('set-cookie');
    }
    expect(new Set(ids).size).toBe(hostile.length);
    const log = full.logLines.join('');
    for (const [what, value] of hostile.filter(([, v]) => v !== '')) {
      expect(log, `${what} in the log`).not.toContain(value);
      expect(log, `${what} in the log, JSON-escaped`).not.toContain(JSON.stringify(value).slice(1, -1));
    }
    for (let n = 1; n <= 9; n++) expect(log, `marker inj${n}`).not.toContain(`inj${n}`);
    expect(log).not.toContain('forged');
    // A well-formed id is kept, as a control.
    const kept = await sync(full, { authorization: `Bearer ${TOKENS.okta}`, 'x-request-id': 'idp-req_2026.11:28@okta' });
    expect(kept.headers['x-request-id']).toBe('idp-req_2026.11:28@okta');
  });

  it('when the raw request carries a bare CR, raw UTF-8 or a folded header, then the HTTP server refuses or replaces it, and nothing is echoed', async () => {
    const full = await securityApp();
    const address = await full.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(address);
    const raw = (headerBytes: Buffer) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1');
        const chunks: Buffer[] = [];
        const body = Buffer.from(JSON.stringify({ members: [] }));
        socket.on('connect', () => {
          socket.write(Buffer.concat([Buffer.from(`POST /groups/${GROUP}/sync HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKENS.okta}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n`), headerBytes, Buffer.from('\r\n'), body]));
        });
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
        socket.on('error', reject);
      });
    const cases: [string, Buffer, RegExp][] = [
      ['a bare CR', Buffer.from('X-Request-Id: rawinj1\rSet-Cookie: rawinj1\r\n'), /^HTTP\/1\.1 400 /],
      ['raw UTF-8 bytes', Buffer.concat([Buffer.from('X-Request-Id: rawinj2-'), Buffer.from('café', 'utf8'), Buffer.from('\r\n')]), /^HTTP\/1\.1 200 /],
      ['an obsolete line fold', Buffer.from('X-Request-Id: rawinj3\r\n Set-Cookie: rawinj3\r\n'), /^HTTP\/1\.1 (200|400) /],
    ];
    for (const [what, bytes, status] of cases) {
      const answer = await raw(bytes);
      expect(answer, `${what}`).toMatch(status);
      const [head] = answer.split('\r\n\r\n');
      expect(head, `${what}`).not.toMatch(/rawinj|set-cookie/i);
      const echoed = /\r\nx-request-id: ([^\r]*)/i.exec(head ?? '')?.[1] ?? 'none (refused by the HTTP parser)';
      expect(echoed, `${what}`).toMatch(/^none|^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(full.logLines.join('')).not.toContain('rawinj');
  });
});

describe('security: webhook targets (SSRF)', () => {
  it('when a subscription URL aims at loopback, private, link-local or metadata addresses, or carries credentials, then 422 invalid_webhook_url and nothing is stored', async () => {
    const dns = fakeDns();
    dns.names.set('internal.example.test', [{ address: '10.20.30.40', family: 4 }]);
    dns.names.set('mixed.example.test', [{ address: '93.184.216.34', family: 4 }, { address: '169.254.169.254', family: 4 }]);
    dns.names.set('hooks.example.test', [{ address: '93.184.216.34', family: 4 }]);
    const full = await securityApp({}, dns.resolve);
    const refused = [
      'http://127.0.0.1:8080/hook',
      'http://localhost/hook',
      'http://sub.localhost/hook',
      'http://[::1]/hook',
      'http://0.0.0.0/hook',
      'http://2130706433/hook', // 127.0.0.1 written as one number
      'http://0x7f.1/hook', // 127.0.0.1 in hex shorthand
      'http://10.1.2.3/hook',
      'http://172.16.5.4/hook',
      'http://192.168.1.1/hook',
      'http://100.64.0.1/hook',
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[::ffff:a9fe:a9fe]/hook', // 169.254.169.254, IPv4-mapped in hex
      'http://[64:ff9b::a00:1]/hook', // 10.0.0.1 through NAT64
      'http://internal.example.test/hook', // resolves to a private address
      'http://mixed.example.test/hook', // one of its addresses is the metadata service
      'https://user:pass@hooks.example.test/hook',
      'ftp://hooks.example.test/hook',
      'file:///etc/passwd',
      'gopher://127.0.0.1:6379/_FLUSHALL',
    ];
    for (const url of refused) {
      const res = await full.app.inject({ method: 'POST', url: '/subscriptions', headers: { authorization: `Bearer ${TOKENS.okta}` }, payload: { url, events: ['group.sync.completed'] } });
      expect(res.statusCode, `${url}`).toBe(422);
      expect(res.json(), `${url}`).toMatchObject({ error: 'invalid_webhook_url' });
      expect(res.body).not.toContain('whsec_');
    }
    expect(await full.store.listSubscriptions()).toEqual([]);
    const accepted = await full.app.inject({ method: 'POST', url: '/subscriptions', headers: { authorization: `Bearer ${TOKENS.okta}` }, payload: { url: 'https://hooks.example.test/cxone', events: ['group.sync.completed'] } });
    expect(accepted.statusCode).toBe(201);
  });

  it('when a subscribed name resolves to loopback only at delivery time (DNS rebinding), then the delivery is refused and the receiver gets nothing', async () => {
    const receiver = await startWebhookReceiver(200);
    const port = new URL(receiver.url).port;
    const dns = fakeDns();
    dns.names.set('rebind.example.test', [{ address: '93.184.216.34', family: 4 }]);
    const full = await securityApp({}, dns.resolve);
    const created = await full.app.inject({ method: 'POST', url: '/subscriptions', headers: { authorization: `Bearer ${TOKENS.okta}` }, payload: { url: `http://rebind.example.test:${port}/hooks`, events: ['group.sync.completed'] } });
    expect(created.statusCode).toBe(201);
    const { id } = created.json() as { id: string };

    dns.names.set('rebind.example.test', [{ address: '127.0.0.1', family: 4 }]);
    expect((await sync(full, { authorization: `Bearer ${TOKENS.okta}` })).statusCode).toBe(200);
    expect(await full.dispatcher.runOnce()).toBe(1);

    expect(receiver.received).toEqual([]);
    const deliveries = (await full.app.inject({ url: `/subscriptions/${id}/deliveries`, headers: { authorization: `Bearer ${TOKENS.okta}` } })).json() as { items: { attempts: { statusCode: number | null; error: string | null }[] }[] };
    // The subscriber learns that the target is refused, not what the name resolved to (no DNS oracle).
    expect(deliveries.items[0]?.attempts[0]).toMatchObject({ statusCode: null, error: expect.stringMatching(/refused target: rebind\.example\.test is not an allowed target/) });
    expect(JSON.stringify(deliveries.items)).not.toContain('127.0.0.1');
  });
});
