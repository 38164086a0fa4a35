import { describe, expect, it } from 'vitest';
import type { RunnerLock } from '../../../src/adapters/storage/postgres/runner-lock.js';
import { createQuarantineProber } from '../../../src/adapters/storage/quarantine-prober.js';
import type { QuarantineStore } from '../../../src/core/ports.js';
import { FakeClock } from '../../fakes/fake-clock.js';

describe('the quarantine prober on a replica that does not hold the runner lock', () => {
  it('when a probe is overdue (the holder is probing it, or died), then the replica asks for the lock again at most once a second, not in a busy loop', async () => {
    const clock = new FakeClock();
    const asked: number[] = [];
    let fifth: () => void = () => {};
    const asked5 = new Promise<void>((resolve) => (fifth = resolve));
    const lock: RunnerLock = {
      async tryHold() {
        asked.push(clock.now());
        if (asked.length === 5) fifth();
        return false;
      },
      close: async () => {},
    };
    // Another replica holds the lock; the group's probe fell due a minute ago.
    const store = { nextProbeAt: async () => clock.now() - 60_000, dueProbes: async () => [] } as unknown as QuarantineStore;
    const prober = createQuarantineProber({
      store,
      policy: { after: 5, backoff: [60_000] },
      clock,
      newEventId: () => 'msg',
      newRecordId: () => 'record',
      backend: async () => {
        throw new Error('not read: the lock is not held');
      },
      lock,
      log: { info() {}, error() {} },
    });
    prober.start();
    await asked5;
    await prober.stop();
    const gaps = asked.slice(1).map((at, i) => at - (asked[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(1000);
  });
});
