/**
 * The per-group lock across replicas (GroupLockService), as the sync runner uses it: taken
 * once a sync's turn in the in-process queue came, held for its whole run, and a lock lost
 * mid-sync stops the sync before its next write.
 */
import { describe, expect, it } from 'vitest';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { createSyncRunner, type SyncRunnerConfig } from '../../src/composition/sync-runner.js';
import { SyncInterruptedError } from '../../src/core/errors.js';
import type { MemberRef } from '../../src/core/membership.js';
import type { GroupLockService, HeldGroupLock, RequestContext, ScimDirectory } from '../../src/core/ports.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { RecordingMetrics } from '../fakes/recording-metrics.js';

const user = (value: string): MemberRef => ({ value, type: 'User' });
const CONFIG: SyncRunnerConfig = { maxGroupDepth: 3, writeMode: 'put', patchMaxOperations: 100, entitlementMap: {}, groupQueueMax: 10, syncDeadlineMs: 30_000, removalGuardPercent: 30, removalGuardMin: 10 };

/** A lock service in memory that logs what happens to it into `events`, and whose held locks a test can lose. */
class RecordingLocks implements GroupLockService {
  readonly held = new Map<string, AbortController>();
  private readonly waiting: (() => void)[] = [];
  constructor(readonly events: string[]) {}

  async acquire(groupId: string): Promise<HeldGroupLock> {
    this.events.push(`acquire ${groupId}`);
    while (this.held.has(groupId)) await new Promise<void>((resolve) => this.waiting.push(resolve));
    const lost = new AbortController();
    this.held.set(groupId, lost);
    this.events.push(`held ${groupId}`);
    return {
      lost: lost.signal,
      release: async () => {
        this.events.push(`release ${groupId}`);
        this.held.delete(groupId);
        for (const wake of this.waiting.splice(0)) wake();
      },
    };
  }

  lose(groupId: string): void {
    this.held.get(groupId)?.abort(new SyncInterruptedError('the lock of the group was lost (its database connection dropped); the sync stopped before its next write: retry the request'));
  }
}

/** The directory as the real transport behaves: nothing is sent once the sync's signal aborted; every call is logged into `events`. */
function logged(directory: InMemoryDirectory, events: string[], before: (call: string) => void = () => {}): ScimDirectory {
  return new Proxy(directory, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const ctx = args.find((a): a is RequestContext => typeof a === 'object' && a !== null && 'stats' in a);
        if (ctx?.signal?.aborted) return Promise.reject(ctx.signal.reason);
        before(String(name));
        events.push(String(name));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe('sync runner: the group lock across replicas', () => {
  it('when two syncs of one group run with a group lock, then each holds it for its whole run, one after the other, and takes it only when its turn in the queue came', async () => {
    const events: string[] = [];
    const locks = new RecordingLocks(events);
    const directory = new InMemoryDirectory().addUser('a').addUser('b').addGroup('t');
    const runner = createSyncRunner(CONFIG, { directory: logged(directory, events), audit: new MemoryAuditLog(), metrics: new RecordingMetrics(), clock: new FakeClock(), groupLock: locks });
    const request = (members: MemberRef[]) => ({ groupId: 't', desired: { members }, dryRun: false, actor: 'okta', requestId: 'r' });
    const results = await Promise.all([runner.run(request([user('a')])), runner.run(request([user('b')]))]);
    expect(results.map((r) => r.status)).toEqual(['applied', 'applied']);
    const firstRelease = events.indexOf('release t');
    expect(events.slice(0, 2)).toEqual(['acquire t', 'held t']);
    // The second sync asked for the lock only after the first gave it back (the in-process queue is in front).
    expect(events.filter((e) => e === 'acquire t')).toHaveLength(2);
    expect(events.indexOf('acquire t', 1)).toBeGreaterThan(firstRelease);
    expect(events.slice(2, firstRelease)).toContain('replaceGroup');
    // Every group read and write happened under the lock (the attribute read-back of users follows it).
    expect(events.lastIndexOf('replaceGroup')).toBeLessThan(events.lastIndexOf('release t'));
    expect(directory.membersOf('t')).toEqual([user('b')]);
  });

  it('when the lock is lost mid-sync, then the sync stops before its next write, answers interrupted, is audited, and gives the lock back', async () => {
    const events: string[] = [];
    const locks = new RecordingLocks(events);
    const directory = new InMemoryDirectory().addUser('a').addGroup('t');
    // The connection holding the lock drops while the members are looked up, before the write.
    const upstream = logged(directory, events, (call) => {
      if (call === 'findUsers') locks.lose('t');
    });
    const audit = new MemoryAuditLog();
    const runner = createSyncRunner(CONFIG, { directory: upstream, audit, metrics: new RecordingMetrics(), clock: new FakeClock(), groupLock: locks });
    const failure = await runner.run({ groupId: 't', desired: { members: [user('a')] }, dryRun: false, actor: 'okta', requestId: 'r' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SyncInterruptedError);
    expect((failure as Error).message).toContain('lock of the group was lost');
    expect(directory.count('replaceGroup')).toBe(0);
    expect(directory.membersOf('t')).toEqual([]);
    expect(audit.records.map((r) => r.status)).toEqual(['interrupted']);
    expect(events.at(-1)).toBe('release t');
  });
});
