/**
 * The drift scheduler's upstream request budget (DRIFT_MAX_RPS) and its spreading, counted
 * where the requests arrive: in the embedded simulator, each SCIM request stamped with the
 * scheduler's virtual clock (FakeClock: a sleep moves time at once, so a 15-minute cycle
 * runs in a few seconds of wall time). The run over 1,000 synced groups writes its figures
 * with reportResults (docs/consistency.md "Drift" quotes them).
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../fakes/fake-clock.js';
import { buildFullApp, type FullApp } from '../helpers/full-app.js';
import { reportResults } from '../helpers/reliability-results.js';

const TOKEN = 'okta-drift-token-0001';
const CLIENT = { clientId: 'drift', clientSecret: 'drift-secret-value-01' };

async function withGroups(count: number, env: Record<string, string>) {
  const clock = new FakeClock(Date.now());
  const full = await buildFullApp({ env: { SYNC_API_TOKENS: `okta:${TOKEN}`, MEMBERSHIP_BACKEND: 'scim-groups', INBOUND_RATE_LIMIT: '0', ...env }, ...CLIENT, driftClock: clock, dispatch: false });
  const store = full.simulator.store;
  const users = [store.createUser({ userName: 'ada@example.com', active: true }).id as string, store.createUser({ userName: 'bob@example.com', active: true }).id as string];
  const groups: string[] = [];
  for (let i = 0; i < count; i++) groups.push(store.createGroup({ displayName: `Team ${i}`, members: users.map((value) => ({ value, type: 'User' })) }).id as string);
  // Each group synced once (unchanged: it holds its members already), a few at a time.
  for (let i = 0; i < groups.length; i += 16) {
    await Promise.all(
      groups.slice(i, i + 16).map(async (group) => {
        const res = await full.app.inject({ method: 'POST', url: `/groups/${group}/sync`, headers: { authorization: `Bearer ${TOKEN}` }, payload: { members: users.map((value) => ({ value, type: 'User' })) } });
        expect(res.statusCode).toBe(200);
      }),
    );
  }
  return { full, clock, groups };
}

/** Stamps every SCIM request the simulator receives with the virtual clock. */
function countRequests(full: FullApp, clock: FakeClock): { at: number; path: string }[] {
  const seen: { at: number; path: string }[] = [];
  full.simulator.onRequest((request) => {
    if (request.path.startsWith('/scim/')) seen.push({ at: clock.now(), path: request.path });
  });
  return seen;
}

/** Requests per aligned virtual second, the busiest first. */
function perSecond(seen: readonly { at: number }[]): number[] {
  const buckets = new Map<number, number>();
  for (const { at } of seen) buckets.set(Math.floor(at / 1000), (buckets.get(Math.floor(at / 1000)) ?? 0) + 1);
  return [...buckets.values()].toSorted((a, b) => b - a);
}

describe('drift request budget', () => {
  it('when 30 groups are synced, then a cycle spreads their reads evenly over DRIFT_INTERVAL and no virtual second holds more than DRIFT_MAX_RPS requests', async () => {
    const { full, clock, groups } = await withGroups(30, { DRIFT_INTERVAL: '15m', DRIFT_MAX_RPS: '1' });
    const seen = countRequests(full, clock);
    const start = clock.now();
    const cycle = await full.drift?.runCycle();
    expect(cycle).toMatchObject({ groups: 30, outcomes: { in_sync: 30 }, upstreamRequests: 30, overrunMs: 0 });
    expect(seen).toHaveLength(30);
    // One read every 30 s: 15 minutes over 30 groups.
    expect(seen.map((s) => s.at - start)).toEqual(groups.map((_, i) => i * 30_000));
    expect(perSecond(seen)[0]).toBe(1);
  });

  it('when DRIFT_MAX_RPS is below what the spreading asks, then the requests are paced to it and the cycle stretches past its interval', async () => {
    // 20 groups over 10 s would be 2 a second; the budget is 0.5 a second.
    const { full, clock } = await withGroups(20, { DRIFT_INTERVAL: '10s', DRIFT_MAX_RPS: '0.5' });
    const seen = countRequests(full, clock);
    const cycle = await full.drift?.runCycle();
    expect(cycle?.outcomes.in_sync).toBe(20);
    const gaps = seen.slice(1).map((s, i) => s.at - (seen[i] as { at: number }).at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(2000);
    expect(cycle?.overrunMs).toBe(19 * 2000 - 10_000);
    const lag = (await full.app.inject({ method: 'GET', url: '/metrics' })).body.match(/^scim_drift_cycle_lag_seconds (\S+)$/m)?.[1];
    expect(Number(lag)).toBe(28);
  });

  it('when 1,000 groups are synced, then a cycle reads each of them within DRIFT_MAX_RPS=1 (figures measured on a virtual clock)', async () => {
    const { full, clock } = await withGroups(1000, { DRIFT_INTERVAL: '15m', DRIFT_MAX_RPS: '1' });
    const seen = countRequests(full, clock);
    const wall = performance.now();
    const cycle = await full.drift?.runCycle();
    const wallMs = performance.now() - wall;
    expect(cycle?.outcomes.in_sync).toBe(1000);
    const busiest = perSecond(seen)[0] as number;
    const seconds = ((cycle?.endedAt as number) - (cycle?.startedAt as number)) / 1000;
    const first = seen[0]?.at as number;
    const last = seen.at(-1)?.at as number;
    const rps = seen.length / ((last - first) / 1000 + 1);
    expect(busiest).toBe(1);
    expect(rps).toBeLessThanOrEqual(1);
    reportResults('drift-1000-groups', {
      clock: 'virtual (FakeClock: the scheduler sleeps move time at once; the SCIM requests go over loopback to the embedded simulator)',
      groups: 1000,
      driftInterval: '15m',
      driftMaxRps: 1,
      upstreamRequests: seen.length,
      cycleVirtualSeconds: seconds,
      overrunSeconds: (cycle?.overrunMs as number) / 1000,
      averageRequestsPerSecond: Number(rps.toFixed(4)),
      busiestVirtualSecond: busiest,
      wallClockMs: Math.round(wallMs),
    });
  }, 120_000);
});
