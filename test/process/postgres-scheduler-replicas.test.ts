/**
 * Process-level: the background jobs that run on one replica at a time (the drift scheduler
 * and the quarantine prober) with two service processes on one PostgreSQL database, against
 * one simulator listening in this process (a third process would only slow the starts).
 * Which replica runs them is read from what each process exposes:
 * its /metrics (scim_drift_checks_total, scim_quarantine_probes_total count only what this
 * process did). The holder is killed with SIGKILL, the other takes over within a bound
 * derived from how often a replica without the lock asks for it; the killed one, started
 * again, runs neither. The drift record, the quarantine and the start-up recovery of an
 * open admin-API write are state in the store, read back through the HTTP routes.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it, onTestFinished } from 'vitest';
import { openPostgresStore } from '../../src/adapters/storage/postgres/postgres-store.js';
import { seedIds } from '../../src/simulator/seed.js';
import { createSimulator } from '../../src/simulator/simulator.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';
import { createDatabase, postgresUnderTest } from '../helpers/postgres.js';
import { startService, type Service } from '../helpers/service-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const TOKEN = 'okta-pg-scheduler-token-0001';
const ADMIN = 'ops-pg-scheduler-token-00001';
const postgres = postgresUnderTest();
const { users } = seedIds;

/** DRIFT_INTERVAL: a replica without the drift scheduler's lease asks for it again this often (src/core/drift.ts). */
const DRIFT_INTERVAL_MS = 1_000;
/** QUARANTINE_BACKOFF: a failed probe is due again this long after it; a replica without the prober's lock asks again when a probe falls due... */
const QUARANTINE_BACKOFF_MS = 1_000;
/** …but no sooner than this after its last ask (src/adapters/storage/quarantine-prober.ts, retryMs). */
const PROBER_RETRY_MS = 1_000;
/**
 * What a takeover may take beyond the asking periods: PostgreSQL ending the killed
 * replica's session (it reads EOF at once on loopback), one new PostgreSQL session, and one
 * upstream read before the counters move, on a loaded two-core machine.
 */
const SLACK_MS = 2_500;
/** The survivor holds both jobs and has counted a drift check and a probe by then. */
const TAKEOVER_BOUND_MS = Math.max(DRIFT_INTERVAL_MS, Math.max(QUARANTINE_BACKOFF_MS, PROBER_RETRY_MS)) + SLACK_MS;

interface Counts {
  readonly checks: number;
  readonly probes: number;
}

async function counts(service: Service): Promise<Counts> {
  const families = parsePrometheusText(await (await fetch(`${service.url}/metrics`)).text());
  const sum = (name: string, outcomes: string[]) => outcomes.reduce((total, outcome) => total + (sampleValue(families, name, { outcome }) ?? 0), 0);
  return {
    checks: sum('scim_drift_checks_total', ['in_sync', 'drifted', 'skipped', 'discarded', 'failed']),
    probes: sum('scim_quarantine_probes_total', ['half_open', 'failed']),
  };
}

/** Polls `condition` until it holds; fails with `what` after `deadlineMs`. Answers how long it took. */
async function until(what: string, deadlineMs: number, condition: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > deadlineMs) throw new Error(`${what}: not within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return performance.now() - started;
}

async function get(service: Service, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  expect({ path, status: res.status }).toEqual({ path, status: 200 });
  return (await res.json()) as Record<string, unknown>;
}

describe.skipIf(!postgres.available)('process: background jobs of replicas on PostgreSQL', () => {
  it('when two replicas share a database, then one runs the drift scheduler and one the prober; killed, its jobs move to the other within the lease bound; restarted, it runs neither; drift, quarantine and a recovered write survive', { timeout: 60_000 }, async () => {
    const started = performance.now();
    const simulator = createSimulator({ scimGroups: true });
    onTestFinished(() => simulator.close());
    const [upstream, databaseUrl] = await Promise.all([simulator.listen({ port: 0, host: '127.0.0.1' }), createDatabase(postgres.available ? postgres.url : '')]);

    // The store as a crash left it: an admin-API write to an ACD group journaled and never
    // finished, and a group quarantined (it does not exist upstream: every probe fails).
    const ghost = 'group-gone-upstream';
    const store = await openPostgresStore({ connectionString: databaseUrl, poolSize: 2 });
    onTestFinished(() => store.close());
    const acdGroup = String(seedIds.acdGroups.contactCenterAgents);
    await store.journal.open({ syncId: 'crashed-sync', backend: 'acd-groups', groupId: acdGroup, before: { agentIds: [] }, target: { agentIds: [seedIds.agents.aliceSmith] }, openedAt: new Date().toISOString() });
    await store.quarantine.countFailure(ghost, 'upstream_error', Date.now());
    expect(await store.quarantine.enter(ghost, 0, Date.now(), 'upstream_error', Date.now())).toBe(true);

    const env = () => ({
      CXONE_BASE_URL: upstream,
      CXONE_CLIENT_ID: 'demo-client',
      CXONE_CLIENT_SECRET: 'demo-secret',
      SYNC_API_TOKENS: `okta:${TOKEN}`,
      ADMIN_API_TOKENS: `ops:${ADMIN}`,
      MEMBERSHIP_BACKEND: 'scim-groups',
      DATA_DIR: tempDir(),
      STORE: 'postgres',
      DATABASE_URL: databaseUrl,
      DRIFT_INTERVAL: `${DRIFT_INTERVAL_MS / 1000}s`,
      DRIFT_MAX_RPS: '50',
      QUARANTINE_BACKOFF: `${QUARANTINE_BACKOFF_MS / 1000}s`,
      SHUTDOWN_TIMEOUT_MS: '1000',
    });
    // Started together: both find the open write at start.
    const replicas = await Promise.all([startService(env()), startService(env())]);

    // A few groups synced (desired sets), one of them then changed upstream out of band.
    const groupIds = [0, 1, 2].map((g) => simulator.store.createGroup({ displayName: `Scheduler Replicas ${g}`, members: [] }).id);
    for (const [i, groupId] of groupIds.entries()) {
      const res = await fetch(`${(replicas[i % 2] as Service).url}/groups/${groupId}/sync`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ members: [{ value: users.aliceSmith, type: 'User' }] }),
      });
      expect(res.status).toBe(200);
    }
    const drifted = groupIds[0] as string;
    simulator.store.addMembers(drifted, [{ value: users.davidKim }]);

    // 1. One replica checks drift, one probes: the drift is found, and the probes run.
    await until('the drift found and two probes run', 10_000, async () => {
      const drift = await get(replicas[0] as Service, `/groups/${drifted}/drift`);
      const all = await Promise.all(replicas.map(counts));
      return drift.status === 'drifted' && all.reduce((n, c) => n + c.probes, 0) >= 2;
    });
    const before = await Promise.all(replicas.map(counts));
    expect(before.filter((c) => c.checks > 0)).toHaveLength(1);
    expect(before.filter((c) => c.probes > 0)).toHaveLength(1);
    const driftBefore = await get(replicas[1] as Service, `/groups/${drifted}/drift`);
    expect(driftBefore).toMatchObject({ status: 'drifted', extra: [{ value: users.davidKim }], extraCount: 1 });

    // 2. The drift scheduler's holder is killed; the other replica runs both jobs within the bound.
    const holder = before.findIndex((c) => c.checks > 0);
    const survivor = 1 - holder;
    const victim = replicas[holder] as Service;
    victim.child.kill('SIGKILL');
    await victim.exited();
    const baseline = before[survivor] as Counts;
    const takeoverMs = await until('the survivor takes both jobs over', TAKEOVER_BOUND_MS, async () => {
      const now = await counts(replicas[survivor] as Service);
      return now.checks > baseline.checks && now.probes > (baseline.probes > 0 ? baseline.probes + 1 : 0);
    });

    // 3. Started again, the killed replica runs neither job, while the survivor goes on.
    const restarted = await startService(env());
    const afterRestart = await counts(replicas[survivor] as Service);
    await until('the survivor runs two more drift cycles and two more probes', 10_000, async () => {
      const now = await counts(replicas[survivor] as Service);
      return now.checks >= afterRestart.checks + 2 * groupIds.length && now.probes >= afterRestart.probes + 2;
    });
    expect(await counts(restarted)).toEqual({ checks: 0, probes: 0 });

    // 4. State in the store, read through the restarted replica: the drift as first seen, the quarantine further on.
    const driftAfter = await get(restarted, `/groups/${drifted}/drift`);
    expect(driftAfter).toMatchObject({ status: 'drifted', firstSeenAt: driftBefore.firstSeenAt, extra: [{ value: users.davidKim }] });
    expect(Date.parse(driftAfter.lastCheckedAt as string)).toBeGreaterThan(Date.parse(driftBefore.lastCheckedAt as string));
    const quarantine = await get(restarted, `/groups/${ghost}/quarantine`);
    expect(quarantine).toMatchObject({ state: 'quarantined', lastError: 'group_not_found' });
    expect(quarantine.step as number).toBeGreaterThanOrEqual(2);

    // 5. The open write was finished once, by one of the three starts: one recovery record, nothing open.
    expect(await store.journal.openEntries()).toEqual([]);
    const audit = await get(restarted, `/audit?groupId=${acdGroup}`);
    expect((audit.items as { requestId: string; status: string }[]).map((r) => [r.requestId, r.status])).toEqual([['recovery:crashed-sync', 'interrupted']]);

    await Promise.all([replicas[survivor]?.stop(), restarted.stop()]);
    const seconds = (ms: number) => Math.round(ms / 100) / 10;
    process.stdout.write(`\nscheduler replicas: takeover ${seconds(takeoverMs)} s (bound ${seconds(TAKEOVER_BOUND_MS)} s), test ${seconds(performance.now() - started)} s\n`);
  });
});
