/**
 * Crash (issue 5, suite 2): the real service (src/main.ts under tsx) as a child process
 * against a simulator in this process, with a DATA_DIR that outlives it. 8 callers send a
 * burst of syncs, each with an Idempotency-Key; the service is killed with SIGKILL in the
 * middle of it, with syncs in flight and every webhook delivery still pending (the
 * receiver refuses them until the kill). Started again on the same DATA_DIR:
 *
 * - the audit chain verifies, and every sync answered before the kill is in it;
 * - no pending webhook is lost: every event of every answered sync arrives, with the same
 *   webhook-id on every attempt;
 * - retrying each interrupted request with the same Idempotency-Key and body answers 200,
 *   and a second retry replays that answer; a request answered before the kill is replayed
 *   (Idempotent-Replayed: true, the same syncId) without touching the upstream;
 * - every group upstream holds the desired set of its last 200 (by syncId, a UUIDv7, so a
 *   sync run after the restart is later than any before it).
 *
 * The figures go to a results file (test/helpers/reliability-results.ts), printed at the end.
 */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { AuditRecord } from '../../src/core/audit.js';
import { mulberry32 } from '../../src/simulator/faults.js';
import { createSimulator } from '../../src/simulator/simulator.js';
import { reportResults } from '../helpers/reliability-results.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { startService, type Service } from '../helpers/service-process.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startWebhookReceiver, type ReceivedWebhook } from '../helpers/webhook-receiver.js';

const SEED = 0xc2a5_0009;
const CALLERS = 8;
const REQUESTS_PER_CALLER = 12;
/** SIGKILL once this many answers have come back. */
const KILL_AFTER = 30;
const GROUPS = 6;
const USERS = 24;
const CLIENT_ID = 'crash-suite';
const CLIENT_SECRET = 'crash-suite-client-secret-4d1f8e';
const TOKEN = 'okta-crash-token-93b0c7e1';
const WEBHOOK_SECRET = `whsec_${Buffer.from('crash-suite-webhook-secret-0009').toString('base64')}`;

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const userId = (i: number) => `00000000-0000-4000-8000-${hex(i, 12)}`;
const groupId = (i: number) => `00000000-0000-4000-9000-${hex(i, 12)}`;

interface Planned {
  readonly caller: number;
  readonly key: string;
  readonly groupId: string;
  readonly desired: readonly string[];
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly replayed: boolean;
}

async function send(service: Service, plan: Planned, requestId: string): Promise<Answer> {
  const res = await fetch(`${service.url}/groups/${plan.groupId}/sync`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'idempotency-key': plan.key, 'x-request-id': requestId },
    body: JSON.stringify({ members: plan.desired.map((value) => ({ value, type: 'User' })) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, replayed: res.headers.get('idempotent-replayed') === 'true' };
}

async function get(service: Service, path: string): Promise<unknown> {
  const res = await fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status, `GET ${path}`).toBe(200);
  return res.json();
}

async function auditTrail(service: Service): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  for (let cursor: string | null = null; ; ) {
    const page = (await get(service, `/audit?limit=500${cursor ? `&cursor=${cursor}` : ''}`)) as { items: AuditRecord[]; nextCursor: string | null };
    records.push(...page.items);
    cursor = page.nextCursor;
    if (cursor === null) return records;
  }
}

describe('crash: kill -9 in the middle of a burst, then start again on the same DATA_DIR', () => {
  it('when the service is killed with syncs in flight and webhooks pending, then after a restart the chain verifies, no webhook is lost and idempotent retries converge', { timeout: 120_000 }, async () => {
    const wallStarted = performance.now();
    const random = mulberry32(SEED);

    const simulator = createSimulator({ scimGroups: true, seed: 'empty', clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }], faults: { latencyMs: [2, 12] }, random: mulberry32(SEED ^ 0x51) });
    await simulator.listen({ port: 0 });
    onTestFinished(() => simulator.close());
    for (let i = 0; i < USERS; i++) simulator.store.createUser({ id: userId(i), userName: `crash.user${i}@example.com`, active: true });
    const initial = new Map<string, string[]>();
    for (let g = 0; g < GROUPS; g++) {
      const members = [userId(g), userId(g + GROUPS)];
      simulator.store.createGroup({ id: groupId(g), displayName: `Crash group ${g}`, members: members.map((value) => ({ value, type: 'User' })) });
      initial.set(groupId(g), members.toSorted());
    }

    // Refuse every delivery until the kill, so that all of them are pending in the outbox when it comes.
    const receiver = await startWebhookReceiver(503);
    let accepting = false;
    const delivered = new Set<string>();
    receiver.respond((request) => {
      if (!accepting) return 503;
      delivered.add(String(request.headers['webhook-id']));
      return 200;
    });

    const env = {
      CXONE_BASE_URL: simulator.url,
      CXONE_CLIENT_ID: CLIENT_ID,
      CXONE_CLIENT_SECRET: CLIENT_SECRET,
      SYNC_API_TOKENS: `okta:${TOKEN}`,
      DATA_DIR: tempDir('cxone-crash-'),
      WEBHOOK_URLS: receiver.url,
      WEBHOOK_SECRET,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_RETRY_SCHEDULE: '1s,2s,2s,2s,2s,2s,2s,2s,2s,2s',
    };

    const plans: Planned[][] = Array.from({ length: CALLERS }, (_caller, caller) =>
      Array.from({ length: REQUESTS_PER_CALLER }, (_, i) => {
        const desired = new Set<string>();
        const size = 1 + Math.floor(random() * 6);
        while (desired.size < size) desired.add(userId(Math.floor(random() * USERS)));
        return { caller, key: `crash-${SEED.toString(16)}-${caller}-${i}`, groupId: groupId(Math.floor(random() * GROUPS)), desired: [...desired] };
      }),
    );
    const answers = new Map<Planned, Answer>();
    const interrupted: Planned[] = [];
    const unsent: Planned[] = [];

    // --- the burst, and the kill
    const first = await startService(env);
    let killed = false;
    const kill = () => {
      if (killed) return;
      killed = true;
      first.child.kill('SIGKILL');
    };
    await Promise.all(
      plans.map(async (plan) => {
        for (const [i, planned] of plan.entries()) {
          if (killed) {
            unsent.push(...plan.slice(i));
            return;
          }
          try {
            const answer = await send(first, planned, `${planned.key}-first`);
            answers.set(planned, answer);
            if (answers.size >= KILL_AFTER) kill();
          } catch {
            interrupted.push(planned); // no answer: the connection died with the process
            unsent.push(...plan.slice(i + 1));
            return;
          }
        }
      }),
    );
    const exit = await first.exited();
    expect(first.child.signalCode).toBe('SIGKILL');
    const answeredBeforeKill = [...answers.entries()];
    expect(interrupted.length, 'syncs in flight at the kill').toBeGreaterThan(0);
    for (const [, answer] of answeredBeforeKill) expect(answer.status).toBe(200);
    const attemptsBeforeKill = receiver.received.length;

    // --- the restart: retries of the interrupted requests, the rest of the burst, replays of what was answered
    accepting = true;
    const second = await startService(env);
    const upstreamBefore = simulator.stats.total;
    const retried = new Map<Planned, Answer>();
    const retriedAgain = new Map<Planned, Answer>();
    for (const planned of interrupted) retried.set(planned, await send(second, planned, `${planned.key}-retry`));
    for (const planned of interrupted) retriedAgain.set(planned, await send(second, planned, `${planned.key}-retry-2`));
    const upstreamForRetries = simulator.stats.total - upstreamBefore;
    for (const planned of unsent) answers.set(planned, await send(second, planned, `${planned.key}-late`));
    const replayStart = simulator.stats.total;
    const replays = new Map<Planned, Answer>();
    for (const [planned] of answeredBeforeKill) replays.set(planned, await send(second, planned, `${planned.key}-replay`));
    expect(simulator.stats.total - replayStart, 'upstream requests for replays').toBe(0);

    for (const planned of interrupted) {
      const retry = retried.get(planned) as Answer;
      expect(retry.status, `retry of ${planned.key}`).toBe(200);
      expect(['applied', 'unchanged']).toContain(retry.body.status);
      const again = retriedAgain.get(planned) as Answer;
      expect(again, `second retry of ${planned.key}`).toMatchObject({ status: 200, replayed: true, body: retry.body });
      answers.set(planned, retry);
    }
    for (const [planned, answer] of answeredBeforeKill) expect(replays.get(planned), `replay of ${planned.key}`).toMatchObject({ status: 200, replayed: true, body: answer.body });
    for (const planned of unsent) expect(answers.get(planned)?.status, `late ${planned.key}`).toBe(200);

    // --- the audit trail: verifies, and holds every answered sync
    expect(await get(second, '/audit/verify')).toMatchObject({ ok: true });
    const records = await auditTrail(second);
    const recorded = new Map(records.map((r) => [r.syncId, r]));
    for (const [planned, answer] of answers) {
      const record = recorded.get(String(answer.body.syncId));
      expect(record, `audit record of ${planned.key}`).toBeDefined();
      expect(record?.status).toBe(answer.body.status);
    }

    // --- the groups: each holds the desired set of its last 200
    for (const [id, before] of initial) {
      const last = [...answers.entries()].filter(([planned]) => planned.groupId === id).toSorted(([, a], [, b]) => String(a.body.syncId).localeCompare(String(b.body.syncId))).at(-1);
      const expected = last === undefined ? before : last[0].desired.toSorted();
      expect(simulator.store.getGroup(id)?.members.map((m) => m.value).toSorted(), `group ${id}`).toEqual(expected);
    }

    // --- webhooks: every completed event of every answered sync arrives, signed, one webhook-id per event
    const syncIds = new Set([...answers.values()].map((a) => String(a.body.syncId)));
    const completedOf = (received: readonly ReceivedWebhook[]) => {
      const seen = new Set<string>();
      for (const r of received) {
        if (!delivered.has(String(r.headers['webhook-id']))) continue;
        const event = JSON.parse(r.body) as { type: string; data: { syncId: string } };
        if (event.type === 'group.sync.completed') seen.add(event.data.syncId);
      }
      return seen;
    };
    // delivered is filled by the responder, after waitFor's check of an arrival: count arrivals while accepting instead.
    await receiver.waitFor((received) => {
      const seen = new Set<string>();
      for (const r of received.slice(attemptsBeforeKill)) {
        const event = JSON.parse(r.body) as { type: string; data: { syncId: string } };
        if (event.type === 'group.sync.completed') seen.add(event.data.syncId);
      }
      return [...syncIds].every((id) => seen.has(id));
    }, 30_000);
    const verifier = new Webhook(WEBHOOK_SECRET);
    const idsBySync = new Map<string, Set<string>>();
    for (const r of receiver.received) {
      const event = verifier.verify(r.body, r.headers as Record<string, string>) as { type: string; data: { syncId: string } };
      const key = `${event.type} ${event.data.syncId}`;
      idsBySync.set(key, (idsBySync.get(key) ?? new Set()).add(String(r.headers['webhook-id'])));
    }
    for (const [key, ids] of idsBySync) expect(ids.size, `webhook-ids of ${key}`).toBe(1);
    const pendingAtKill = new Set(receiver.received.slice(0, attemptsBeforeKill).map((r) => String(r.headers['webhook-id'])));
    const pendingDelivered = [...pendingAtKill].filter((id) => receiver.received.slice(attemptsBeforeKill).some((r) => r.headers['webhook-id'] === id)).length;
    expect(pendingDelivered, 'deliveries pending at the kill, delivered after the restart').toBe(pendingAtKill.size);

    // --- no secret in either process's output
    expect(await second.stop()).toBe(0);
    const output = [first, second].flatMap((service, n) => [[`service ${n + 1} log`, JSON.stringify(service.logs())] as const, [`service ${n + 1} stderr`, service.stderr()] as const]);
    const secrets = new Map([
      ['CXONE_CLIENT_SECRET', CLIENT_SECRET],
      ['API token', TOKEN],
      ['WEBHOOK_SECRET', WEBHOOK_SECRET],
    ]);
    expect(scanForSecrets(secrets, [...output, ['audit', JSON.stringify(records)]])).toEqual([]);

    // Writes that no applied record accounts for: a sync killed between its PUT and its audit
    // record (the crash window; its retry finds the group as desired). Only those in flight can.
    const writes = [...initial.keys()].reduce((n, id) => n + Number(/\d+/.exec(simulator.store.getGroup(id)?.meta.version ?? '1')?.[0]) - 1, 0);
    const writesWithoutRecord = writes - records.filter((r) => r.status === 'applied').length;
    expect(writesWithoutRecord).toBeGreaterThanOrEqual(0);
    expect(writesWithoutRecord).toBeLessThanOrEqual(interrupted.length);
    const statuses = [...answers.values()].map((a) => String(a.body.status));
    reportResults('crash', {
      seed: SEED,
      callers: CALLERS,
      requests: CALLERS * REQUESTS_PER_CALLER,
      answeredBeforeKill: answeredBeforeKill.length,
      inFlightAtKill: interrupted.length,
      sentAfterRestart: unsent.length,
      firstProcessExit: exit ?? `signal ${String(first.child.signalCode)}`,
      retriesOfInterrupted: {
        answered200: [...retried.values()].filter((a) => a.status === 200).length,
        replayedFromStore: [...retried.values()].filter((a) => a.replayed).length,
        ranAgain: [...retried.values()].filter((a) => !a.replayed).length,
        byStatus: Object.fromEntries(['applied', 'unchanged'].map((s) => [s, [...retried.values()].filter((a) => a.body.status === s).length])),
        upstreamRequests: upstreamForRetries,
      },
      replaysOfAnswered: { count: replays.size, upstreamRequests: 0 },
      outcomes: Object.fromEntries([...new Set(statuses)].map((s) => [s, statuses.filter((x) => x === s).length])),
      upstreamWrites: writes,
      writesWithoutAuditRecord: writesWithoutRecord,
      auditRecords: records.length,
      auditRecordsWithoutAnswer: records.length - answers.size,
      webhooks: { pendingAtKill: pendingAtKill.size, deliveredAfterRestart: pendingDelivered, attempts: receiver.received.length, completedEventsDelivered: completedOf(receiver.received).size },
      wallMs: Math.round(performance.now() - wallStarted),
    });
  });
});
