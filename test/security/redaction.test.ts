/**
 * Redaction of upstream error text, against a hostile loopback upstream: its token
 * endpoint and its SCIM API echo every secret the service holds (the client secret, the
 * Basic credential and `id:secret`, the access token it issued, the API tokens, the
 * webhook secret) plus bearer- and JWT-shaped credentials it made up, in every field of
 * its error bodies (SCIM `detail`, `scimType`, `message`; OAuth `error`,
 * `error_description`; plain text), as they are, URL- and form-encoded, surrounded by
 * and split across white space, and past the first 300 characters. Nothing of them may
 * reach /readyz (public), a 502 body, an audit record, a webhook body or a log line.
 *
 * The service is composed as src/main.ts composes it (test/helpers/full-app.ts does the
 * same around the simulator): the real SCIM adapter, the SQLite store, the outbox
 * dispatcher delivering to a static WEBHOOK_URLS receiver on loopback.
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPrometheusMetrics } from '../../src/adapters/metrics/prometheus-metrics.js';
import { openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { createWebhookTargetPolicy } from '../../src/adapters/webhooks/ssrf-guard.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { composeService } from '../../src/composition/service.js';
import { createUpstreamDirectory } from '../../src/composition/upstream.js';
import { startLoopback, type RecordedRequest } from '../adapters/scim/loopback.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

const CLIENT_ID = 'hostile-client';
// White space, '+', '/', '&', '=', ':' and '%': the URL- and form-encoded forms differ from the raw one.
const CLIENT_SECRET = 'Cs3cr3t+Q9v/odd&chars=and spaces:100%-7f1c';
const SYNC_TOKEN = 'okta-5b7e19c2d4a6f8e0b1c3';
const ADMIN_TOKEN = 'ops-e3a0d874c6b2f1a9e5d7';
const WEBHOOK_SECRET = `whsec_${Buffer.from('k9Jq2mWv7Rt4Xz8Lp3Nb6Hc1Fd5Gs0Ya').toString('base64')}`;
const ACCESS_TOKEN = 'at.Zp4Kx8Qm2Wn6Rv0Ty3Ub7Ic5Od9Ej1';
/** Credentials the upstream makes up: the service never held them, but they look like credentials. */
const MADE_UP_BEARER = 'mub-f7G2h8J3k9L4m0N5p1Q6';
const MADE_UP_JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJxN3ZrMnBYOSJ9.Tq8Wm3Zr6Yv1Xs4Un7Ko0Lp2Jh5Gd9F';
const GROUP = 'hostile-group';
const form = (value: string) => new URLSearchParams([['v', value]]).toString().slice(2);
const BASIC = Buffer.from(`${form(CLIENT_ID)}:${form(CLIENT_SECRET)}`).toString('base64');
const BASIC_RAW = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64');

/** The values the upstream echoes: every secret the service holds, and (`received`) the Authorization header it was sent. */
const OWN = [CLIENT_SECRET, `${CLIENT_ID}:${CLIENT_SECRET}`, BASIC, BASIC_RAW, SYNC_TOKEN, ADMIN_TOKEN, WEBHOOK_SECRET, WEBHOOK_SECRET.slice('whsec_'.length), ACCESS_TOKEN, 'received'];
/** Credentials the service never held, found by their shape: echoed whole (a split one has no shape left). */
const MADE_UP = [`Bearer ${MADE_UP_BEARER}`, `token=${MADE_UP_JWT}`, MADE_UP_JWT];

/** How a value is echoed: as is, encoded, surrounded by white space, split by white space. */
const FORMS: readonly ((value: string) => string)[] = [
  (value) => `refused: ${value}`,
  (value) => `refused: ${encodeURIComponent(value)}`,
  (value) => `refused: ${form(value)}`,
  (value) => `refused:\n\t  ${value}  \r\n(see above)`,
  (value) => `refused: ${value.slice(0, Math.floor(value.length / 2))}\n  ${value.slice(Math.floor(value.length / 2))}`,
];

/** The value at character 290: a 300-character excerpt taken before redaction cuts it in two. */
const pastTheCut = (value: string) => `${'x'.repeat(290)}${value}`;

// The SCIM modes come first: by the token modes the service has obtained the access token the upstream then echoes.
type Mode = 'token-json' | 'token-text' | 'token-cut' | 'scim-json' | 'scim-message' | 'scim-text' | 'scim-cut' | 'scim-type-cut';
const MODES: readonly Mode[] = ['scim-json', 'scim-message', 'scim-text', 'token-json', 'token-text'];
const CUT_MODES: readonly Mode[] = ['scim-cut', 'scim-type-cut', 'token-cut'];

async function hostileUpstream() {
  let mode: Mode = 'scim-json';
  let echo = (_received: string) => '';
  const send = (res: ServerResponse, status: number, body: string, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };
  const upstream = await startLoopback((req: RecordedRequest, res) => {
    const text = echo(String(req.headers.authorization ?? ''));
    // In the token modes the SCIM API refuses the token, so that the service asks for a new one.
    if (mode.startsWith('token-') && req.path !== '/oauth/token') return send(res, 401, '');
    if (req.path === '/oauth/token') {
      if (mode === 'token-json') return send(res, 400, JSON.stringify({ error: text, error_description: text }));
      if (mode === 'token-text') return send(res, 401, text, 'text/plain');
      if (mode === 'token-cut') return send(res, 400, JSON.stringify({ error: text, error_description: text }));
      return send(res, 200, JSON.stringify({ access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 3600 }));
    }
    if (mode === 'scim-json' || mode === 'scim-cut') return send(res, 400, JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', scimType: text, detail: text }));
    if (mode === 'scim-type-cut') return send(res, 400, JSON.stringify({ scimType: text.replace(/^x{240}/, ''), detail: text.replace(/^x{100}/, '') }));
    if (mode === 'scim-message') return send(res, 403, JSON.stringify({ message: text, error: text, error_description: text }));
    return send(res, 400, `<html><body>${text}</body></html>`, 'text/html');
  });
  onTestFinished(() => upstream.close());
  return {
    upstream,
    /** What the next answers echo: `value` in the given form (`received`: the Authorization header of the request). */
    set(next: Mode, value: string, shape: (value: string) => string) {
      mode = next;
      echo = (received) => shape(value === 'received' ? received : value);
    },
  };
}

type Round = [Mode, string, (value: string) => string];

/**
 * The service composed as main.ts composes it, against the hostile upstream; runs the
 * rounds (each: GET /readyz, then a sync) and returns every answer, audit record, webhook
 * body and log line, after a first round that lets it obtain the access token.
 */
async function runRounds(rounds: readonly Round[]): Promise<{ sources: [string, string][]; answers: [string, string][] }> {
  const { upstream, set } = await hostileUpstream();
  const receiver = await startWebhookReceiver(200);
  const config = loadConfig({
    // Set, not auto: these rounds are about what the upstream echoes, and it answers every probe with an error.
    MEMBERSHIP_BACKEND: 'scim-groups',
    CXONE_BASE_URL: upstream.url,
    CXONE_CLIENT_ID: CLIENT_ID,
    CXONE_CLIENT_SECRET: CLIENT_SECRET,
    SYNC_API_TOKENS: `okta:${SYNC_TOKEN}`,
    ADMIN_API_TOKENS: `ops:${ADMIN_TOKEN}`,
    WEBHOOK_URLS: receiver.url,
    WEBHOOK_SECRET,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    READINESS_CACHE_MS: '0',
    DATA_DIR: tempDir('cxone-redaction-'),
    LOG_LEVEL: 'trace',
    // Every round fails the same group on purpose: each must reach the upstream, not its quarantine.
    QUARANTINE_AFTER: '0',
  });
  const logLines: string[] = [];
  const logger = createLogger(config.logLevel, { write: (line: string) => void logLines.push(line) });
  const store = openSqliteStore({ dataDir: config.dataDir, staticSubscribers: config.webhookUrls });
  const metrics = createPrometheusMetrics();
  const directory = createUpstreamDirectory(config, { baseUrl: upstream.url, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }, metrics.upstream);
  const policy = createWebhookTargetPolicy({ allowPrivate: true });
  const { app, dispatcher } = await composeService({ config, store, directory, metrics, policy, logger });
  onTestFinished(async () => {
    await app.close();
    await dispatcher.stop();
    store.close();
    await directory.close();
  });

  const answers: [string, string][] = [];
  const all: Round[] = [['scim-json', 'received', FORMS[0] as (value: string) => string], ...rounds];
  for (const [mode, value, shape] of all) {
    set(mode, value, shape);
    const what = `${mode} echoing ${value === 'received' ? 'the Authorization header' : 'a secret'} as ${shape(value).slice(0, 12)}`;
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode, `${what}: /readyz`).toBe(503);
    answers.push([`${what}: GET /readyz`, ready.body]);
    const synced = await app.inject({ method: 'POST', url: `/groups/${GROUP}/sync`, headers: { authorization: `Bearer ${SYNC_TOKEN}`, 'content-type': 'application/json' }, payload: '{"members":[]}' });
    expect(synced.statusCode, `${what}: sync`).toBe(502);
    answers.push([`${what}: POST /groups/{id}/sync`, synced.body]);
  }
  // The upstream really was sent what it echoes: the access token (and, when it issued one, the Basic credential).
  expect(upstream.requests.some((r) => r.headers.authorization === `Basic ${BASIC}`)).toBe(true);
  expect(upstream.requests.some((r) => r.headers.authorization === `Bearer ${ACCESS_TOKEN}`)).toBe(true);

  while ((await dispatcher.runOnce()) > 0);
  expect(receiver.received.length).toBeGreaterThanOrEqual(all.length);
  const records = (await store.listRecords({ limit: 500 })).items;
  expect(records).toHaveLength(all.length);
  const sources: [string, string][] = [
    ...answers,
    ...records.map((r) => [`audit record ${r.status}`, JSON.stringify(r)] as [string, string]),
    ...receiver.received.map((r, i) => [`webhook ${i}`, r.body] as [string, string]),
    ...logLines.map((line, i) => [`log line ${i}`, line] as [string, string]),
  ];
  return { sources, answers };
}

/** Each secret whole (white space between its characters ignored), and any 12-character piece of it; the composite forms (their client id part is no secret) whole. */
function leaks(sources: readonly [string, string][]): string[] {
  const secrets = new Map<string, string>([
    ['CXONE_CLIENT_SECRET', CLIENT_SECRET],
    ['SYNC_API_TOKENS token', SYNC_TOKEN],
    ['ADMIN_API_TOKENS token', ADMIN_TOKEN],
    ['WEBHOOK_SECRET', WEBHOOK_SECRET],
    ['WEBHOOK_SECRET key', WEBHOOK_SECRET.slice('whsec_'.length)],
    ['access token', ACCESS_TOKEN],
    ['made-up bearer token', MADE_UP_BEARER],
    ['made-up JWT', MADE_UP_JWT],
  ]);
  const composites = new Map<string, string>([
    ['client id:secret', `${CLIENT_ID}:${CLIENT_SECRET}`],
    ['Basic credential', BASIC],
    ['Basic credential (not form-encoded)', BASIC_RAW],
  ]);
  const hits = [...scanForSecrets(secrets, sources, { ignoreWhitespace: true, fragments: 12 }), ...scanForSecrets(composites, sources, { ignoreWhitespace: true })];
  return hits.map((h) => `${h.secret} in ${h.where}: …${h.excerpt}…`);
}

describe('redaction of upstream error text', () => {
  it.each(MODES)(
    'when the upstream echoes every secret (%s), as is, encoded, in and split by white space, then none of it reaches /readyz, a 502 body, an audit record, a webhook or a log line',
    async (mode) => {
      const rounds: Round[] = [
        ...OWN.flatMap((value) => FORMS.map((shape): Round => [mode, value, shape])),
        ...MADE_UP.flatMap((value) => FORMS.slice(0, 4).map((shape): Round => [mode, value, shape])),
      ];
      const { sources, answers } = await runRounds(rounds);
      expect(leaks(sources)).toEqual([]);
      // The answers still say what went wrong, with the secrets blanked out.
      const last = answers.at(-1)?.[1] ?? '';
      expect(JSON.parse(last)).toMatchObject({ error: 'upstream_error', upstreamStatus: expect.any(Number) });
      expect(last).toContain('[redacted]');
    },
  );

  it('when the upstream puts a secret past the first 300 (or, in scimType, 60) characters, where an excerpt would cut it in two, then no piece of it gets through', async () => {
    const rounds = CUT_MODES.flatMap((mode) => [...OWN, ...MADE_UP].map((value): Round => [mode, value, pastTheCut]));
    const { sources } = await runRounds(rounds);
    expect(leaks(sources)).toEqual([]);
  });
});
