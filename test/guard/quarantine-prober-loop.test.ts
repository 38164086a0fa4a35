/**
 * The quarantine prober as the service runs it: start() and stop(), its sleeps on the
 * injected clock (a ManualClock: they wait until the test moves time past them), never
 * runOnce() by hand. Probes happen at the times of QUARANTINE_BACKOFF, nothing happens after
 * stop(), and held changes expire in the same loop.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { SOLE_RUNNER } from '../../src/adapters/storage/postgres/runner-lock.js';
import { createQuarantineProber } from '../../src/adapters/storage/quarantine-prober.js';
import { openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { generateSecret } from '../../src/adapters/webhooks/signing.js';
import { UpstreamError } from '../../src/core/errors.js';
import { expireHeld, holdOrPass } from '../../src/core/held-changes.js';
import type { MembershipBackend } from '../../src/core/ports.js';
import { ManualClock } from '../fakes/fake-clock.js';
import { tempDir } from '../helpers/temp-dir.js';

const MINUTE = 60_000;

describe('the quarantine prober loop', () => {
  it('when it is started as the service starts it, then it probes a quarantined group at each QUARANTINE_BACKOFF delay (the last repeating), stops probing once a probe succeeds, expires held changes on the same clock, and does nothing after stop()', async () => {
    const clock = new ManualClock();
    const t0 = clock.now();
    const store = openSqliteStore({ dataDir: tempDir(), clock, newSecret: generateSecret });
    onTestFinished(() => store.close());
    const reads: number[] = [];
    let failing = true;
    const backend = {
      name: 'scim-groups',
      async read(groupId: string) {
        reads.push((clock.now() - t0) / MINUTE);
        if (failing) throw new UpstreamError('500 for this group', { status: 500 });
        return { group: { id: groupId, displayName: 'g', members: [] }, etag: null };
      },
    } as unknown as MembershipBackend;
    let n = 0;
    const prober = createQuarantineProber({
      store: store.quarantine,
      policy: { after: 3, backoff: [MINUTE, 5 * MINUTE, 30 * MINUTE] },
      clock,
      newEventId: () => `msg_${++n}`,
      newRecordId: () => `rec-${++n}`,
      backend: async () => backend,
      lock: SOLE_RUNNER,
      log: { info() {}, error() {} },
      upkeep: () => expireHeld({ store: store.heldChanges, clock, newId: () => `held-${++n}`, ttlMs: 60 * MINUTE }),
    });
    await store.quarantine.countFailure('g1', 'upstream_error', t0);
    await store.quarantine.enter('g1', 0, t0 + MINUTE, 'upstream_error', t0);
    const held = await holdOrPass({ store: store.heldChanges, clock, newId: () => `held-${++n}`, ttlMs: 60 * MINUTE }, 'g2', { members: [], removing: 12, of: 12 }, 'entra');

    prober.start();
    await clock.runUntil(t0 + 36 * MINUTE);
    // 1m, then 5m later, then 30m later: each failed probe waits the next delay.
    expect(reads).toEqual([1, 6, 36]);
    expect(await store.quarantine.health('g1')).toMatchObject({ phase: 'quarantined', step: 3, nextProbeAt: t0 + 66 * MINUTE });
    // It never slept longer than its poll (30 s) nor spun: one wake-up per 30 s at most.
    expect(Math.max(...clock.sleeps)).toBeLessThanOrEqual(30_000);
    expect(clock.sleeps.length).toBeLessThanOrEqual(36 * 2 + 4);

    // The held change (TTL 60 min) expires within a poll of its time, with its record and event.
    await clock.runUntil(t0 + 61 * MINUTE);
    const expired = await store.heldChanges.getHeld(held.id);
    expect(expired?.state).toBe('expired');
    expect(Date.parse(expired?.expiredAt ?? '') - t0).toBeGreaterThan(60 * MINUTE);
    expect(Date.parse(expired?.expiredAt ?? '') - t0).toBeLessThanOrEqual(60 * MINUTE + 30_000);

    // The last delay repeats; a good probe makes it half-open, and probes stop.
    failing = false;
    await clock.runUntil(t0 + 200 * MINUTE);
    expect(reads).toEqual([1, 6, 36, 66]);
    expect(await store.quarantine.health('g1')).toMatchObject({ phase: 'half_open' });

    // Quarantined again: the loop picks it up at its next look, and stop() ends everything.
    await store.quarantine.enter('g1', 0, clock.now() + MINUTE, 'upstream_error', clock.now());
    await clock.runUntil(clock.now() + MINUTE + 30_000);
    expect(reads).toEqual([1, 6, 36, 66, 201]);
    await store.quarantine.enter('g1', 0, clock.now() + MINUTE, 'upstream_error', clock.now()); // half-open again after that probe
    await prober.stop();
    expect(clock.sleeping).toBe(0);
    clock.advance(24 * 60 * MINUTE);
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads).toHaveLength(5);
  });
});
