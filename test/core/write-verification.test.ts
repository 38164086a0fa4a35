/**
 * After every write the use case checks that the upstream holds the desired members: by the
 * write's own answer when it is complete and an ETag guards the group, else by a fresh read.
 */
import { describe, expect, it } from 'vitest';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { ConflictError, UpstreamError, UpstreamUnavailableError, WriteNotAppliedError } from '../../src/core/errors.js';
import { KeyedLock } from '../../src/core/keyed-lock.js';
import type { MemberRef } from '../../src/core/membership.js';
import { compareMembers } from '../../src/core/plan.js';
import { syncGroup, type SyncGroupDeps } from '../../src/core/sync-group.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { RecordingMetrics } from '../fakes/recording-metrics.js';

const user = (value: string): MemberRef => ({ value, type: 'User' });

function setup(directory: InMemoryDirectory, writeMode: SyncGroupDeps['writeMode'] = 'put') {
  let n = 0;
  const audit = new MemoryAuditLog();
  const metrics = new RecordingMetrics();
  const deps: SyncGroupDeps = {
    directory,
    clock: new FakeClock(),
    locks: new KeyedLock(),
    audit,
    metrics,
    newSyncId: () => `sync-${++n}`,
    newEventId: () => `evt-${n}`,
    maxDepth: 3,
    maxConflictRetries: 3,
    writeMode,
    patchMaxOperations: 2,
    attributes: { entitlementMap: {}, concurrency: 4 },
  };
  const run = (members: MemberRef[]) => syncGroup(deps, { groupId: 't', desired: { members }, dryRun: false, actor: 'okta', requestId: 'r' });
  return { run, audit, metrics };
}

function directoryWith(users: string[], members: string[] = []) {
  const dir = new InMemoryDirectory();
  for (const id of users) dir.addUser(id);
  return dir.addGroup('t', members.map(user));
}

describe('compareMembers', () => {
  it('when values match but type and display differ, then the sets are equal', () => {
    expect(compareMembers([user('a'), { value: 'g', type: 'Group' }], [{ value: 'a', type: 'User', display: 'A' }, { value: 'g', type: 'User' }])).toMatchObject({ equal: true, consistencyRate: 1 });
  });

  it('when members are missing and extra, then it counts them all and lists at most 100 of each', () => {
    const desired = Array.from({ length: 300 }, (_, i) => user(`d${i}`));
    const actual = [...desired.slice(0, 100), ...Array.from({ length: 150 }, (_, i) => user(`x${i}`))];
    const gap = compareMembers(desired, actual);
    expect(gap).toMatchObject({ equal: false, missingCount: 200, extraCount: 150 });
    expect(gap.missing).toHaveLength(100);
    expect(gap.extra).toHaveLength(100);
    expect(gap.consistencyRate).toBeCloseTo(100 / 450, 10);
  });
});

describe('verifying a write', () => {
  it('when the write answer holds the members and an ETag guards the group, then it stands in for the read', async () => {
    const dir = directoryWith(['a', 'b'], ['a']);
    const { run } = setup(dir);
    expect(await run([user('a'), user('b')])).toMatchObject({ status: 'applied', consistencyRate: 1, etag: 'W/"2"' });
    expect(dir.calls).not.toContain('getGroup:fresh');
  });

  it('when the write answer leaves the members out, then a fresh read verifies it', async () => {
    const dir = directoryWith(['a', 'b'], ['a']);
    dir.answerMembers = false;
    const { run } = setup(dir);
    expect(await run([user('a'), user('b')])).toMatchObject({ status: 'applied', consistencyRate: 1 });
    expect(dir.calls.filter((c) => c.startsWith('getGroup'))).toEqual(['getGroup', 'getGroup:fresh']);
  });

  it('when the provider stores less than was written and the version did not move, then WriteNotAppliedError, audited with the gap, and no retry', async () => {
    const dir = directoryWith(['a', 'b', 'c'], ['a']);
    dir.storeMembers = (members) => members.slice(0, 1);
    const { run, audit, metrics } = setup(dir);
    const error = (await run([user('a'), user('b'), user('c')]).catch((e: unknown) => e)) as WriteNotAppliedError;
    expect(error).toBeInstanceOf(WriteNotAppliedError);
    expect(error.syncId).toBe('sync-1');
    expect(error.gap).toMatchObject({ missingCount: 2, extraCount: 0, missing: [user('b'), user('c')], extra: [] });
    expect(error.gap.consistencyRate).toBeCloseTo(1 / 3, 10);
    expect(error.message).toMatch(/2 of the 3 desired members are missing.*version is still W\/"2".*did not apply the write/);
    expect(dir.count('replaceGroup')).toBe(1);
    const record = audit.records[0];
    expect(record).toMatchObject({ status: 'write_not_applied', added: [user('b'), user('c')], removed: [], writeMode: 'put', etagAfter: 'W/"2"' });
    expect(record?.errors.map((e) => e.code)).toEqual(['write_not_applied', 'member_missing', 'member_missing']);
    expect(audit.events[0]).toMatchObject({ type: 'group.sync.failed', data: { error: 'write_not_applied', missingCount: 2, extraCount: 0, missing: [user('b'), user('c')] } });
    expect(metrics.observations[0]).toMatchObject({ status: 'write_not_applied', consistencyRate: error.gap.consistencyRate });
  });

  it('when the provider has no version at all, then WriteNotAppliedError says another writer cannot be told apart', async () => {
    const dir = directoryWith(['a', 'b'], ['a']);
    dir.versions = false;
    dir.etags = false;
    dir.storeMembers = () => [];
    const { run } = setup(dir);
    const error = (await run([user('a'), user('b')]).catch((e: unknown) => e)) as WriteNotAppliedError;
    expect(error).toBeInstanceOf(WriteNotAppliedError);
    expect(error.message).toMatch(/whether another writer intervened cannot be told/);
  });

  it('when another writer overwrites the group right after our write, then the fresh read sees a newer version and it writes again', async () => {
    const dir = directoryWith(['a', 'b', 'x'], ['a']);
    let raced = false;
    dir.afterGroupWrite = () => {
      if (raced) return;
      raced = true;
      dir.touch('t', (g) => (g.members = [user('x')]));
    };
    dir.answerMembers = false;
    const { run } = setup(dir);
    const result = await run([user('a'), user('b')]);
    expect(result).toMatchObject({ status: 'applied', removed: [user('x')], added: [user('a'), user('b')] });
    expect(dir.membersOf('t')).toEqual([user('a'), user('b')]);
    expect(dir.count('replaceGroup')).toBe(2);
  });

  it('when another writer overwrites every write before it is verified, then ConflictError after the retries', async () => {
    const dir = directoryWith(['a', 'x'], []);
    dir.etags = false;
    dir.afterGroupWrite = () => dir.touch('t', (g) => (g.members = [user('x')]));
    const { run } = setup(dir);
    await expect(run([user('a')])).rejects.toBeInstanceOf(ConflictError);
    expect(dir.count('replaceGroup')).toBe(4);
  });

  it('when a PATCH sequence is answered in full by its last request, then the answer verifies it; the requests in between read no members', async () => {
    const dir = directoryWith(['a', 'b', 'c', 'd'], ['a']);
    const seen: (boolean | undefined)[] = [];
    const patch = dir.patchGroup.bind(dir);
    dir.patchGroup = (id, operations, ifMatch, ctx, options) => {
      seen.push(options?.withMembers);
      return patch(id, operations, ifMatch, ctx);
    };
    const { run } = setup(dir, 'patch');
    expect(await run([user('a'), user('b'), user('c'), user('d')])).toMatchObject({ status: 'applied', writeMode: 'patch' });
    expect(seen).toEqual([false, true]);
    expect(dir.calls).not.toContain('getGroup:fresh');
  });
});

describe('a write that failed', () => {
  it('when the PUT failed with a 5xx but landed, then a fresh read finds the desired set and the sync is applied', async () => {
    const dir = directoryWith(['a'], []);
    dir.failGroupWrite = { error: new UpstreamError('SCIM PUT /Groups/{id} answered 500', { status: 500 }), applied: true };
    const { run } = setup(dir);
    expect(await run([user('a')])).toMatchObject({ status: 'applied', added: [user('a')], consistencyRate: 1, etag: 'W/"2"' });
    expect(dir.calls.filter((c) => c.startsWith('getGroup'))).toEqual(['getGroup', 'getGroup:fresh']);
  });

  it('when the PUT failed with a 5xx and did not land, then the provider error is the answer', async () => {
    const dir = directoryWith(['a'], []);
    const failure = new UpstreamError('SCIM PUT /Groups/{id} answered 502', { status: 502, detail: 'bad gateway' });
    dir.failGroupWrite = { error: failure, applied: false };
    const { run, audit } = setup(dir);
    const error = (await run([user('a')]).catch((e: unknown) => e)) as UpstreamError;
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ status: 502, detail: 'bad gateway', syncId: 'sync-1' });
    expect(audit.records[0]?.status).toBe('upstream_error');
  });

  it('when the PUT was refused with a 4xx or a 429, then nothing is read back', async () => {
    for (const failure of [new UpstreamError('SCIM PUT /Groups/{id} answered 400', { status: 400 }), new UpstreamUnavailableError('throttled', 3, 429)]) {
      const dir = directoryWith(['a'], []);
      dir.failGroupWrite = { error: failure, applied: false };
      const { run } = setup(dir);
      await expect(run([user('a')])).rejects.toBeInstanceOf(failure.constructor);
      expect(dir.calls).not.toContain('getGroup:fresh');
    }
  });
});
