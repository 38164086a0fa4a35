/**
 * Fault injection (issue 5, suite 1): the whole service in-process — the real SCIM adapter
 * over loopback to the simulator, the SQLite store in a temp DATA_DIR as audit trail,
 * subscriptions and outbox, the outbox dispatcher delivering to loopback receivers —
 * driven by 10 concurrent callers sending 520 syncs over 20 groups while the upstream
 * answers 10 % of requests 429, 5 % 503, drops 2 % of connections and adds 0–15 ms of
 * latency to each, and the webhook receiver fails 10 % of first deliveries.
 *
 * At the end: every request got a definitive answer naming its own audit record's syncId;
 * each group upstream holds the desired set of the last request that got 200 (by syncId, a
 * UUIDv7 taken in per-group lock order); every applied 200 is one write that happened
 * upstream (the group's version counts them) and no write happened without one (only a
 * 504 may have written: its answer came too late); one audit record per request, whose
 * chain verifies; every event was delivered at least once; and no secret appears in any
 * log line, answer, audit record or webhook body of the whole run (this is the issue's
 * secret scan "across the whole fault-injection run"). Violations are collected, written
 * with the figures to a results file (test/helpers/reliability-results.ts) and printed,
 * then the test fails listing them all.
 *
 * Time. The adapter's waits (Retry-After, backoff, the adaptive limiter's pauses and its
 * token bucket) go through its Clock. The upstream sends a realistic `Retry-After: 1`, so
 * the adapter gets a clock that runs SCALE (200) times faster than the wall clock
 * (monotonic and now scaled, sleep divided), consistent in itself: to the adapter the
 * upstream looks like a slow tenant with 0–3 s latency, its 30 s retry budget lasts 150 ms
 * and its token is refreshed after 18 s. Slower clocks are too slow for CI (50×: 50 s),
 * because the adaptive limiter sinks to its floor of 1 req/s of its clock under random 429s
 * (test/fault/findings.test.ts). FAULT_CLOCK_SCALE overrides the factor.
 * Everything else (the app, the dispatcher, the simulator) runs on real time.
 */
import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/core/audit.js';
import type { Clock } from '../../src/core/ports.js';
import { mulberry32 } from '../../src/simulator/faults.js';
import type { SimulatorRequest, SimulatorResponse } from '../../src/simulator/simulator.js';
import { buildFullApp } from '../helpers/full-app.js';
import { parsePrometheusText, type MetricFamily } from '../helpers/prometheus-text.js';
import { reportResults } from '../helpers/reliability-results.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const SEED = 0x5eed_0005;
const CALLERS = 10;
const REQUESTS_PER_CALLER = 52;
const GROUPS = 20;
const USERS = 48;
const SCALE = Number(process.env.FAULT_CLOCK_SCALE ?? 200);

/** Shares of all upstream requests (SCIM and OAuth). */
const RATIO_429 = 0.1;
const RATIO_503 = 0.05;
const RATIO_DROP = 0.02;
/** The simulator draws drops, then 503s; the 429 hook sees what passed both. */
const HOOK_429 = RATIO_429 / (1 - RATIO_DROP - (1 - RATIO_DROP) * RATIO_503);
/** Share of events whose first webhook delivery the receiver answers 500. */
const RECEIVER_FAILURE = 0.1;

const CLIENT_ID = 'fault-suite';
const CLIENT_SECRET = `cs-${createHash('sha256').update(`client-${SEED}`).digest('hex').slice(0, 32)}`;
const TOKENS = { okta: `okta-fault-${SEED.toString(16)}-7f3a9c`, entra: `entra-fault-${SEED.toString(16)}-b61e02` };
/** An administrator: its subscription hears every caller's syncs, and it reads every caller's audit records. */
const ADMIN_TOKEN = `ops-fault-${SEED.toString(16)}-5d2c81`;
const WEBHOOK_SECRET = `whsec_${Buffer.from(`fault-suite-webhook-secret-${SEED}`).toString('base64')}`;
const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const userId = (i: number) => `00000000-0000-4000-8000-${hex(i, 12)}`;
const groupId = (i: number) => `00000000-0000-4000-9000-${hex(i, 12)}`;
const UNKNOWN_USER = '00000000-0000-4000-a000-00000000dead';

/** A Clock SCALE times faster than the wall clock, consistent in itself. */
function scaledClock(scale: number): Clock {
  const epoch = Date.now();
  const origin = performance.now();
  return {
    now: () => epoch + (performance.now() - origin) * scale,
    monotonic: () => (performance.now() - origin) * scale,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const timer = setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, ms / scale);
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
  };
}

/** Deterministic per event id: does the receiver fail its first delivery? */
const failsFirst = (eventId: string) => (createHash('sha256').update(`${SEED}:${eventId}`).digest()[0] as number) < 256 * RECEIVER_FAILURE;

interface FlakyReceiver {
  readonly receiver: WebhookReceiver;
  /** syncId → event types delivered (answered 2xx) at least once; brought up to date with what arrived. */
  delivered(): ReadonlyMap<string, ReadonlySet<string>>;
  /** Attempts answered 500. */
  failedAttempts(): number;
}

/**
 * Answers 500 to the first delivery of ~10 % of events (chosen by event id), 2xx otherwise.
 * The answer to each arrival is a function of the arrivals before it, so waitFor() can
 * tell, when a request arrives, whether it is a delivery.
 */
async function flakyReceiver(): Promise<FlakyReceiver> {
  const attempts = new Map<string, number>();
  const answers: boolean[] = [];
  const delivered = new Map<string, Set<string>>();
  let failed = 0;
  const catchUp = (received: readonly ReceivedWebhook[]) => {
    for (let i = answers.length; i < received.length; i++) {
      const r = received[i] as ReceivedWebhook;
      const id = String(r.headers['webhook-id']);
      const attempt = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, attempt);
      const ok = !(attempt === 1 && failsFirst(id));
      answers.push(ok);
      if (!ok) {
        failed++;
        continue;
      }
      const event = JSON.parse(r.body) as { type: string; data: { syncId: string } };
      const types = delivered.get(event.data.syncId) ?? new Set<string>();
      types.add(event.type);
      delivered.set(event.data.syncId, types);
    }
  };
  const receiver: WebhookReceiver = await startWebhookReceiver((_request, index) => {
    catchUp(receiver.received);
    return answers[index] ? 200 : 500;
  });
  return {
    receiver,
    delivered() {
      catchUp(receiver.received);
      return delivered;
    },
    failedAttempts() {
      catchUp(receiver.received);
      return failed;
    },
  };
}

interface Sent {
  readonly requestId: string;
  readonly caller: number;
  readonly actor: 'okta' | 'entra';
  readonly groupId: string;
  readonly desired: readonly string[];
  readonly expectInvalid: boolean;
  status: number;
  body: Record<string, unknown>;
  text: string;
  headers: string;
}

const counts = (values: Iterable<string | number>) => {
  const out: Record<string, number> = {};
  for (const value of values) out[value] = (out[value] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).toSorted(([a], [b]) => a.localeCompare(b)));
};

function sumSeries(families: Map<string, MetricFamily>, name: string, by: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const sample of families.get(name)?.samples ?? []) {
    const key = sample.labels[by] ?? '';
    out[key] = (out[key] ?? 0) + sample.value;
  }
  return out;
}

describe('fault injection: 520 syncs from 10 callers against a faulty upstream', () => {
  it('when the upstream answers 429, 503, drops connections and lags, then every request gets a definitive answer and the invariants hold', { timeout: 120_000 }, async () => {
    const wallStarted = performance.now();
    const random = mulberry32(SEED);

    // --- the service, as main.ts composes it, in-process, against a faulty upstream
    const statics = await flakyReceiver();
    const dynamic = await flakyReceiver();
    const { app, simulator, logLines } = await buildFullApp({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      env: {
        SYNC_API_TOKENS: `okta:${TOKENS.okta},entra:${TOKENS.entra}`,
        ADMIN_API_TOKENS: `ops:${ADMIN_TOKEN}`,
        WEBHOOK_URLS: statics.receiver.url,
        WEBHOOK_SECRET,
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_RETRY_SCHEDULE: '50ms,100ms,200ms,400ms,800ms,1s,1s,1s,1s,1s',
        LOG_LEVEL: 'debug',
        INBOUND_RATE_LIMIT: '0', // the inbound limiter is not under test here (test/http/inbound-protection.test.ts)
      },
      simulator: { seed: 'empty', faults: { latencyMs: [0, 15], errorRatio: RATIO_503, dropRatio: RATIO_DROP }, random: mulberry32(SEED ^ 0x51) },
      clock: scaledClock(SCALE),
      random: mulberry32(SEED ^ 0xb0),
      dispatchRandom: mulberry32(SEED ^ 0xd1),
    });
    const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });

    // --- the upstream's users and groups, its 429s, and an eye on every credential presented to it
    for (let i = 0; i < USERS; i++) simulator.store.createUser({ id: userId(i), userName: `fault.user${i}@example.com`, active: true, displayName: `Fault User ${i}` });
    const initial = new Map<string, { members: string[]; version: number }>();
    for (let g = 0; g < GROUPS; g++) {
      const members = [userId(g), userId((g + 7) % USERS), userId((g + 19) % USERS)];
      simulator.store.createGroup({ id: groupId(g), displayName: `Fault group ${g}`, members: members.map((value) => ({ value, type: 'User' })) });
      initial.set(groupId(g), { members: members.toSorted(), version: 1 });
    }
    const presented = new Set<string>();
    const random429 = mulberry32(SEED ^ 0x429);
    simulator.onRequest((req: SimulatorRequest): SimulatorResponse | undefined => {
      const authorization = req.headers.authorization;
      if (authorization) presented.add(authorization.replace(/^(Bearer|Basic) +/i, ''));
      if (random429() >= HOOK_429) return undefined;
      const headers = { 'retry-after': '1' };
      if (req.path === '/oauth/token') return { status: 429, headers, body: { error: 'temporarily_unavailable', error_description: 'too many requests' } };
      return { status: 429, headers, body: { schemas: [SCIM_ERROR], status: '429', detail: 'too many requests (injected)' } };
    });

    const answers: [string, string][] = [];
    const call = async (method: string, path: string, token: string, body?: unknown, extra: Record<string, string> = {}) => {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...extra },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, text, headers: JSON.stringify([...res.headers]) };
    };

    const created = await call('POST', '/subscriptions', ADMIN_TOKEN, { url: dynamic.receiver.url, events: ['group.sync.completed'], description: 'fault suite' });
    expect(created.status).toBe(201);
    const subscription = JSON.parse(created.text) as { id: string; secret: string };

    // --- the run: 10 callers, one request at a time each
    const plans: Sent[][] = Array.from({ length: CALLERS }, (_caller, caller) =>
      Array.from({ length: REQUESTS_PER_CALLER }, (_, i): Sent => {
        const group = groupId(Math.floor(random() * GROUPS));
        const size = Math.floor(random() * 9);
        const desired = new Set<string>();
        while (desired.size < size) desired.add(userId(Math.floor(random() * USERS)));
        const expectInvalid = random() < 0.04;
        if (expectInvalid) desired.add(UNKNOWN_USER);
        return { requestId: `fault-${caller}-${i}`, caller, actor: (caller + i) % 3 === 0 ? 'entra' : 'okta', groupId: group, desired: [...desired], expectInvalid, status: 0, body: {}, text: '', headers: '' };
      }),
    );
    const runStarted = performance.now();
    await Promise.all(
      plans.map(async (plan) => {
        for (const sent of plan) {
          try {
            const res = await call('POST', `/groups/${sent.groupId}/sync`, TOKENS[sent.actor], { members: sent.desired.map((value) => ({ value, type: 'User' })) }, { 'x-request-id': sent.requestId });
            sent.status = res.status;
            sent.text = res.text;
            sent.headers = res.headers;
            sent.body = JSON.parse(res.text) as Record<string, unknown>;
          } catch (error) {
            sent.text = `no answer: ${String(error)}`;
          }
        }
      }),
    );
    const runMs = performance.now() - runStarted;
    const all = plans.flat();
    for (const sent of all) answers.push([`answer to ${sent.requestId}`, `${sent.headers}\n${sent.text}`]);

    // Each invariant adds what breaks it here; all are reported (and the figures written) before the test fails.
    const violations: string[] = [];
    const check = (holds: boolean, what: () => string) => {
      if (!holds) violations.push(what());
    };

    // 1. every request got a definitive answer: a status the API defines, with the syncId of its audit record
    const DEFINITIVE = new Set([200, 409, 422, 502, 503, 504]);
    for (const sent of all) {
      check(DEFINITIVE.has(sent.status) && typeof sent.body.syncId === 'string', () => `${sent.requestId}: no definitive answer: ${sent.status} ${sent.text.slice(0, 200)}`);
      check(sent.status !== 200 || !sent.expectInvalid, () => `${sent.requestId}: holds an unknown user and still got 200`);
      check(sent.status !== 422 || sent.body.error === 'validation_failed', () => `${sent.requestId}: 422 ${String(sent.body.error)}`);
      check(sent.status !== 503 || sent.headers.includes('"retry-after"'), () => `${sent.requestId}: 503 without Retry-After`);
    }
    const ok = all.filter((s) => s.status === 200);
    check(ok.length > all.length / 2, () => `only ${ok.length} of ${all.length} requests got 200`);

    // 2. upstream membership = the desired set of the last 200 of each group
    // 3. every applied 200 is one write upstream, and no write happened without one
    // A 504 is the one ambiguous answer: the upstream may have applied a write whose answer
    // came too late (docs/api.md "Deadlines": retry it). Its write may count, and after the last 200 its
    // desired set may be what the group holds; every other failure must have written nothing.
    const groupsReport: Record<string, string> = {};
    let ambiguousWrites = 0;
    for (const [id, before] of initial) {
      const answered = all.filter((s) => s.groupId === id && typeof s.body.syncId === 'string').toSorted((a, b) => String(a.body.syncId).localeCompare(String(b.body.syncId)));
      const oks = answered.filter((s) => s.status === 200);
      const last = oks.at(-1);
      const after = last === undefined ? answered : answered.slice(answered.indexOf(last) + 1);
      const allowed = [last === undefined ? before.members : last.desired.toSorted(), ...after.filter((s) => s.status === 504).map((s) => s.desired.toSorted())].map((set) => JSON.stringify(set));
      const upstream = simulator.store.getGroup(id);
      const actual = JSON.stringify(upstream?.members.map((m) => m.value).toSorted() ?? []);
      check(allowed.includes(actual), () => `group ${id}: upstream holds ${actual}; the last 200 (${last?.requestId ?? 'none'}) wanted ${String(allowed[0])}`);
      const applied = oks.filter((s) => s.body.status === 'applied');
      const timeouts = answered.filter((s) => s.status === 504).length;
      const writes = Number(/^W\/"(\d+)"$/.exec(upstream?.meta.version ?? '')?.[1]) - before.version;
      check(writes >= applied.length && writes <= applied.length + timeouts, () => `group ${id}: ${writes} writes upstream for ${applied.length} applied 200s (and ${timeouts} 504s)`);
      ambiguousWrites += Math.max(0, writes - applied.length);
      const versions = new Set(Array.from({ length: writes }, (_, k) => `W/"${before.version + k + 1}"`));
      const etags = applied.map((s) => String(s.body.etag));
      check(new Set(etags).size === etags.length && etags.every((etag) => versions.has(etag)), () => `group ${id}: applied 200s answered etags ${JSON.stringify(etags)}; the versions written were ${JSON.stringify([...versions])}`);
      groupsReport[id] = `${answered.length} requests, ${oks.length} × 200, ${applied.length} applied, ${writes} writes`;
    }

    // 4. one audit record per request, matching its answer; the chain verifies (it holds the
    // subscription's creation too: read by the administrator, who sees every record)
    const records: AuditRecord[] = [];
    for (let cursor: string | null = null; ; ) {
      const page = await call('GET', `/audit?limit=500${cursor ? `&cursor=${cursor}` : ''}`, ADMIN_TOKEN);
      expect(page.status).toBe(200);
      const parsed = JSON.parse(page.text) as { items: AuditRecord[]; nextCursor: string | null };
      records.push(...parsed.items.filter((record) => record.status !== ('subscription_created' as string)));
      answers.push(['GET /audit', page.text]);
      cursor = parsed.nextCursor;
      if (cursor === null) break;
    }
    const byRequest = new Map<string, AuditRecord[]>();
    for (const record of records) byRequest.set(record.requestId, [...(byRequest.get(record.requestId) ?? []), record]);
    check(records.length === all.length, () => `${records.length} audit records for ${all.length} requests`);
    for (const sent of all) {
      const found = byRequest.get(sent.requestId) ?? [];
      check(found.length === 1, () => `${sent.requestId}: ${found.length} audit records`);
      const record = found[0];
      if (!record) continue;
      check(record.syncId === sent.body.syncId, () => `${sent.requestId}: answered ${sent.status} with syncId ${String(sent.body.syncId)}, but its audit record is ${record.syncId} (${record.status})`);
      check(record.actor === sent.actor, () => `${sent.requestId}: actor ${record.actor}, sent by ${sent.actor}`);
      const status = sent.status === 200 ? sent.body.status : sent.body.error;
      check(record.status === status, () => `${sent.requestId}: audit status ${record.status}, answered ${String(status)}`);
      check(sent.body.status !== 'applied' || record.etagAfter === sent.body.etag, () => `${sent.requestId}: audit etagAfter ${String(record.etagAfter)}, answered ${String(sent.body.etag)}`);
    }
    const verify = await call('GET', '/audit/verify', ADMIN_TOKEN);
    const verdict = JSON.parse(verify.text) as { ok: boolean; records: number };
    check(verdict.ok && verdict.records === all.length + 1, () => `/audit/verify: ${verify.text}`);

    // 5. every event delivered at least once (bounded wait, woken by each arrival): each sync's
    // completed or failed event to the static receiver, each 200's completed event to the subscription
    const eventOf = (sent: Sent) => (sent.status === 200 ? 'group.sync.completed' : 'group.sync.failed');
    const missing = (receiver: FlakyReceiver, wanted: readonly Sent[]) => wanted.filter((s) => !receiver.delivered().get(String(s.body.syncId))?.has(eventOf(s)));
    const deliveriesStarted = performance.now();
    for (const [receiver, wanted, name] of [
      [statics, all, 'the WEBHOOK_URLS receiver'],
      [dynamic, ok, 'the subscription'],
    ] as const) {
      await receiver.receiver.waitFor(() => missing(receiver, wanted).length === 0, 60_000).catch(() => {
        violations.push(`${name}: no delivery of ${missing(receiver, wanted).map((s) => `${eventOf(s)} of ${s.requestId}`).join(', ')}`);
      });
    }
    const deliveryWaitMs = performance.now() - deliveriesStarted;
    for (const [receiver, secret] of [
      [statics.receiver, WEBHOOK_SECRET],
      [dynamic.receiver, subscription.secret],
    ] as const) {
      const verifier = new Webhook(secret);
      for (const r of receiver.received) expect(() => verifier.verify(r.body, r.headers as Record<string, string>)).not.toThrow();
    }
    const attributesEvents = [...statics.delivered().values()].filter((types) => types.has('user.attributes.synced')).length;
    const distinctEvents = (received: readonly ReceivedWebhook[]) => new Set(received.map((r) => String(r.headers['webhook-id']))).size;

    // 6. no secret anywhere: logs, answers (the subscription's one-time secret aside), audit records, webhook bodies
    const metricsText = (await call('GET', '/metrics', TOKENS.okta)).text;
    const secrets = new Map<string, string>([
      ['CXONE_CLIENT_SECRET', CLIENT_SECRET],
      ['okta API token', TOKENS.okta],
      ['entra API token', TOKENS.entra],
      ['ADMIN_API_TOKENS token', ADMIN_TOKEN],
      ['WEBHOOK_SECRET', WEBHOOK_SECRET],
      ['WEBHOOK_SECRET key', WEBHOOK_SECRET.slice('whsec_'.length)],
      ['subscription secret', subscription.secret],
      ['subscription secret key', subscription.secret.slice('whsec_'.length)],
      ...[...presented].map((value, i) => [`upstream credential ${i}`, value] as [string, string]),
    ]);
    const hits = scanForSecrets(secrets, [
      ...logLines.map((line, i) => [`log line ${i}`, line] as const),
      ...answers,
      ['GET /metrics', metricsText],
      ...records.map((r) => [`audit record ${r.syncId}`, JSON.stringify(r)] as const),
      ...[...statics.receiver.received, ...dynamic.receiver.received].map((r, i) => [`webhook ${i}`, `${JSON.stringify(r.headers)}\n${r.body}`] as const),
    ]);
    expect(presented.size).toBeGreaterThanOrEqual(2); // the Basic credential and at least one access token
    for (const hit of hits) violations.push(`secret ${hit.secret} in ${hit.where}: …${hit.excerpt}…`);

    // --- the figures
    const families = parsePrometheusText(metricsText);
    const upstreamByStatus = simulator.stats.byStatus;
    const upstreamTotal = simulator.stats.total;
    const figures = {
      seed: SEED,
      clockScale: SCALE,
      callers: CALLERS,
      groups: GROUPS,
      requests: all.length,
      outcomes: counts(all.map((s) => (s.status === 200 ? `200 ${String(s.body.status)}` : `${s.status} ${String(s.body.error)}`))),
      failureReasons: counts(all.filter((s) => s.status !== 200).map((s) => `${s.status}: ${String(s.body.message).replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '…').replace(/\d+/g, 'n')}`)),
      upstream: {
        requests: upstreamTotal,
        byRoute: simulator.stats.byRoute,
        byStatus: upstreamByStatus,
        injected: {
          '429': upstreamByStatus['429'] ?? 0,
          '503': upstreamByStatus['503'] ?? 0,
          dropped: upstreamByStatus['0'] ?? 0,
          shareOfRequests: Number((((upstreamByStatus['429'] ?? 0) + (upstreamByStatus['503'] ?? 0) + (upstreamByStatus['0'] ?? 0)) / upstreamTotal).toFixed(3)),
        },
        retriesByReason: sumSeries(families, 'scim_upstream_retries_total', 'reason'),
      },
      webhooks: {
        staticReceived: statics.receiver.received.length,
        staticDistinctEvents: distinctEvents(statics.receiver.received),
        staticFailedFirstAttempts: statics.failedAttempts(),
        subscriptionReceived: dynamic.receiver.received.length,
        subscriptionDistinctEvents: distinctEvents(dynamic.receiver.received),
        subscriptionFailedFirstAttempts: dynamic.failedAttempts(),
        userAttributesEvents: attributesEvents,
        deliveriesByOutcome: sumSeries(families, 'scim_webhook_deliveries_total', 'outcome'),
        waitAfterRunMs: Math.round(deliveryWaitMs),
      },
      audit: { records: records.length, chain: verdict.ok ? 'verified' : 'broken' },
      secretScan: { secrets: secrets.size, logLines: logLines.length, answers: answers.length, auditRecords: records.length, webhookBodies: statics.receiver.received.length + dynamic.receiver.received.length, hits: hits.length },
      ambiguousWrites,
      perGroup: groupsReport,
      runMs: Math.round(runMs),
      wallMs: Math.round(performance.now() - wallStarted),
    };
    reportResults('fault-injection', { ...figures, violations });
    expect(violations).toEqual([]);
  });
});
