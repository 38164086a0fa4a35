/** The drift scheduler runs its cycles only while it holds the lease: with several replicas, one at a time. */
import { describe, expect, it } from 'vitest';
import { createDriftScheduler } from '../../src/core/drift.js';
import type { Clock, DriftStore, HeldGroupLock, MembershipBackend, SchedulerLease } from '../../src/core/ports.js';

/** A clock whose sleeps wait until the test moves time past them. */
class ManualClock implements Clock {
  private time = 0;
  private readonly sleepers: { until: number; wake: () => void }[] = [];
  now(): number {
    return this.time;
  }
  monotonic(): number {
    return this.time;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const sleeper = { until: this.time + ms, wake: resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', () => {
        this.sleepers.splice(this.sleepers.indexOf(sleeper), 1);
        reject(signal.reason);
      });
    });
  }
  /** Moves time on, waking the sleepers due, and lets what they start run. */
  async advance(ms: number): Promise<void> {
    this.time += ms;
    for (const sleeper of this.sleepers.filter((s) => s.until <= this.time)) {
      this.sleepers.splice(this.sleepers.indexOf(sleeper), 1);
      sleeper.wake();
    }
    for (let i = 0; i < 20; i++) await Promise.resolve();
  }
}

/** One lease shared by the replicas, as the database would hold it. */
function sharedLease(): SchedulerLease & { lose(): void } {
  let holder: AbortController | null = null;
  return {
    async tryAcquire(): Promise<HeldGroupLock | null> {
      if (holder !== null) return null;
      const mine = new AbortController();
      holder = mine;
      return {
        lost: mine.signal,
        async release() {
          if (holder === mine) holder = null;
        },
      };
    },
    lose() {
      const lost = holder;
      holder = null;
      lost?.abort(new Error('lost'));
    },
  };
}

function replica(clock: ManualClock, lease: SchedulerLease) {
  const cycles: number[] = [];
  const store = {
    async recentlySynced() {
      cycles.push(clock.now());
      return [];
    },
  } as unknown as DriftStore;
  const scheduler = createDriftScheduler({
    clock,
    store,
    runner: { run: async () => Promise.reject(new Error('no syncs here')), exclusive: async () => ({ ran: false }) },
    backend: async () => ({ name: 'scim-groups' }) as MembershipBackend,
    intervalMs: 60_000,
    windowMs: 86_400_000,
    maxRps: 1,
    heal: false,
    lease,
    newEventId: () => 'evt',
    newRequestId: () => 'req',
  });
  return { scheduler, cycles };
}

describe('drift scheduler lease', () => {
  it('when two replicas start, then only the lease holder runs cycles; once its lease is lost, the other takes over within an interval', async () => {
    const clock = new ManualClock();
    const lease = sharedLease();
    const one = replica(clock, lease);
    const two = replica(clock, lease);
    one.scheduler.start();
    await clock.advance(0);
    two.scheduler.start();
    await clock.advance(0);
    for (let i = 0; i < 3; i++) await clock.advance(60_000);
    expect(one.cycles).toEqual([0, 60_000, 120_000, 180_000]);
    expect(two.cycles).toEqual([]);

    lease.lose();
    await clock.advance(0);
    await clock.advance(60_000);
    await clock.advance(60_000);
    expect(two.cycles.length).toBeGreaterThanOrEqual(1);
    expect(one.cycles.filter((at) => at > 180_000)).toEqual([]);
    await one.scheduler.stop();
    await two.scheduler.stop();
  });
});
