import { describe, expect, it } from 'vitest';
import { ConflictError, GroupNotFoundError, UpstreamError, ValidationFailedError } from '../../src/core/errors.js';
import { KeyedLock } from '../../src/core/keyed-lock.js';
import type { MemberRef } from '../../src/core/membership.js';
import { syncGroup, type SyncGroupDeps, type SyncRequest } from '../../src/core/sync-group.js';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { RecordingMetrics } from '../fakes/recording-metrics.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';

const user = (value: string): MemberRef => ({ value, type: 'User' });
const group = (value: string): MemberRef => ({ value, type: 'Group' });

function setup(directory = new InMemoryDirectory()) {
  let n = 0;
  let e = 0;
  const audit = new MemoryAuditLog();
  const metrics = new RecordingMetrics();
  const deps: SyncGroupDeps = {
    directory,
    clock: new FakeClock(),
    locks: new KeyedLock(),
    audit,
    metrics,
    newSyncId: () => `sync-${++n}`,
    newEventId: () => `evt-${++e}`,
    maxDepth: 3,
    maxConflictRetries: 3,
    writeMode: 'put',
    patchMaxOperations: 100,
    attributes: { entitlementMap: {}, concurrency: 4 },
  };
  const run = (members: MemberRef[], extra: Partial<SyncRequest> = {}) =>
    syncGroup(deps, { groupId: 't', desired: { members }, dryRun: false, actor: 'okta', requestId: 'r', ...extra });
  return { deps, directory, run, audit, metrics };
}

describe('syncGroup', () => {
  it('when members change, then one PUT writes the whole membership and the result describes the change', async () => {
    const { directory, run } = setup(new InMemoryDirectory().addUser('a').addUser('b').addUser('c').addGroup('t', [user('a'), user('b')]));
    const result = await run([user('b'), user('c')]);
    expect(result).toMatchObject({
      syncId: 'sync-1',
      groupId: 't',
      status: 'applied',
      added: [user('c')],
      removed: [user('a')],
      memberCount: 2,
      consistencyRate: 1,
      etag: 'W/"2"',
      upstreamRequests: 3,
    });
    expect(directory.membersOf('t')).toEqual([user('b'), user('c')]);
    // the write, then the attribute read-back of the two changed users (not counted in upstreamRequests)
    expect(directory.calls).toEqual(['getGroup', 'findUsers', 'replaceGroup', 'readUsers']);
  });

  it('when the desired set equals the current one, then nothing is written and the status is unchanged', async () => {
    const { directory, run } = setup(new InMemoryDirectory().addUser('a').addGroup('t', [user('a')]));
    const result = await run([user('a')]);
    expect(result).toMatchObject({ status: 'unchanged', added: [], removed: [], etag: 'W/"1"', upstreamRequests: 1 });
    expect(directory.count('replaceGroup')).toBe(0);
  });

  it('when only the displayName changes, then the group is written', async () => {
    const { directory, run } = setup(new InMemoryDirectory().addUser('a').addGroup('t', [user('a')]));
    const result = await run([user('a')], { desired: { displayName: 'Renamed', members: [user('a')] } });
    expect(result.status).toBe('applied');
    expect(directory.groups.get('t')?.displayName).toBe('Renamed');
  });

  it('when dryRun is set, then it validates and plans but writes nothing', async () => {
    const { directory, run } = setup(new InMemoryDirectory().addUser('a').addUser('b').addGroup('t', [user('a')]));
    const result = await run([user('b')], { dryRun: true });
    expect(result).toMatchObject({ status: 'dry_run', added: [user('b')], removed: [user('a')], consistencyRate: 0 });
    expect(directory.count('replaceGroup')).toBe(0);
    expect(directory.membersOf('t')).toEqual([user('a')]);
  });

  it('when a dry run has invalid members, then it fails validation like a real run', async () => {
    const { run } = setup(new InMemoryDirectory().addGroup('t'));
    await expect(run([user('ghost')], { dryRun: true })).rejects.toBeInstanceOf(ValidationFailedError);
  });

  it('when the group does not exist, then GroupNotFoundError carries the syncId', async () => {
    const { run } = setup();
    const error = await run([]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GroupNotFoundError);
    expect((error as GroupNotFoundError).syncId).toBe('sync-1');
  });

  it('when validation fails, then nothing is written and every error is listed', async () => {
    const { directory, run } = setup(new InMemoryDirectory().addUser('off', false).addGroup('t'));
    const error = (await run([user('off'), user('nobody')]).catch((e: unknown) => e)) as ValidationFailedError;
    expect(error).toBeInstanceOf(ValidationFailedError);
    expect(error.errors.map((e) => e.code)).toEqual(['user_inactive', 'user_not_found']);
    expect(error.message).toBe('2 members failed validation');
    expect(directory.count('replaceGroup')).toBe(0);
  });

  it('when another writer changes the group between read and PUT, then it re-reads, re-plans and converges', async () => {
    const { directory, run } = setup(new InMemoryDirectory().addUser('a').addUser('b').addUser('x').addGroup('t', [user('a')]));
    let raced = false;
    directory.beforeReplace = () => {
      if (raced) return;
      raced = true;
      directory.touch('t', (g) => g.members.push(user('x')));
    };
    const result = await run([user('a'), user('b')]);
    expect(result.status).toBe('applied');
    // added/removed describe the state the write replaced: the re-read one, with x in it
    expect(result.added).toEqual([user('b')]);
    expect(result.removed).toEqual([user('x')]);
    expect(directory.membersOf('t')).toEqual([user('a'), user('b')]);
    expect(directory.count('getGroup')).toBe(2);
    expect(directory.count('replaceGroup')).toBe(2);
  });

  it('when a concurrent change makes a member invalid, then the retry re-validates and fails', async () => {
    const { directory, run } = setup(new InMemoryDirectory().addUser('a').addGroup('t').addGroup('g'));
    directory.beforeReplace = () => {
      directory.beforeReplace = null;
      directory.touch('g', (g) => g.members.push(group('t')));
      directory.touch('t');
    };
    const error = (await run([group('g')]).catch((e: unknown) => e)) as ValidationFailedError;
    expect(error.errors.map((e) => e.code)).toEqual(['cycle_detected']);
  });

  it('when the group changes on every attempt, then it gives up with ConflictError after 3 retries', async () => {
    const { directory, run } = setup(new InMemoryDirectory().addUser('a').addGroup('t'));
    directory.beforeReplace = () => directory.touch('t');
    const error = await run([user('a')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect(directory.count('replaceGroup')).toBe(4);
  });

  it('when the provider sends no ETag, then a fresh read before the PUT guards the write, one after it verifies it, and etag is null', async () => {
    const dir = new InMemoryDirectory().addUser('a').addGroup('t');
    dir.etags = false;
    const { run } = setup(dir);
    const result = await run([user('a')]);
    expect(result).toMatchObject({ status: 'applied', etag: null });
    expect(dir.calls).toEqual(['getGroup', 'findUsers', 'getGroup', 'replaceGroup', 'getGroup:fresh', 'readUsers']);
  });

  it('when the provider sends no ETag and the version moved before the PUT, then it re-plans', async () => {
    const dir = new InMemoryDirectory().addUser('a').addUser('x').addGroup('t');
    dir.etags = false;
    const { run } = setup(dir);
    let reads = 0;
    const getGroup = dir.getGroup.bind(dir);
    dir.getGroup = async (id, ctx) => {
      if (++reads === 2) dir.touch('t', (g) => g.members.push(user('x')));
      return getGroup(id, ctx);
    };
    const result = await run([user('a')]);
    expect(result.removed).toEqual([user('x')]);
    expect(dir.membersOf('t')).toEqual([user('a')]);
    expect(dir.count('replaceGroup')).toBe(1);
  });

  it('when the group has other attributes, then the PUT keeps them and sends each member as value and type only', async () => {
    const dir = new InMemoryDirectory().addUser('a').addUser('b');
    dir.addGroup('t', [{ value: 'a', type: 'User', display: 'Alice' }], { externalId: 'okta-1', schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'] });
    const { run } = setup(dir);
    await run([user('a'), { value: 'b', type: 'User', display: 'Bob' }]);
    expect(dir.groups.get('t')?.extra).toEqual({ externalId: 'okta-1', schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'] });
    // display is the provider's to compute: neither the one read nor the one asked for is echoed
    expect(dir.membersOf('t')).toEqual([user('a'), user('b')]);
  });

  it('when the upstream fails, then the error keeps its class and gets the syncId', async () => {
    const dir = new InMemoryDirectory().addGroup('t');
    dir.getGroup = async () => {
      throw new UpstreamError('boom', { status: 403, scimType: 'insufficientScope' });
    };
    const { run } = setup(dir);
    const error = (await run([]).catch((e: unknown) => e)) as UpstreamError;
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.syncId).toBe('sync-1');
  });

  it('when a 1,000-member group gains one user, then the sync costs 3 upstream requests', async () => {
    const dir = new InMemoryDirectory().addUser('new');
    const members = Array.from({ length: 1000 }, (_, i) => user(`u${i}`));
    dir.addGroup('t', [...members]);
    const { run } = setup(dir);
    const result = await run([...members, user('new')]);
    expect(result.upstreamRequests).toBe(3);
  });

  it('when 120 users are added, then they are looked up in ceil(120/50) batches', async () => {
    const dir = new InMemoryDirectory().addGroup('t');
    const members = Array.from({ length: 120 }, (_, i) => user(`u${i}`));
    for (const m of members) dir.addUser(m.value);
    const { run } = setup(dir);
    const result = await run(members);
    expect(dir.count('findUsers')).toBe(3);
    expect(result.upstreamRequests).toBe(5);
  });

  it('when 20 syncs of one group run concurrently, then they do not interleave and the last one wins', async () => {
    const dir = new InMemoryDirectory().addGroup('t');
    for (let i = 0; i < 20; i++) dir.addUser(`u${i}`);
    const { run } = setup(dir);
    let inside = 0;
    let maxInside = 0;
    const getGroup = dir.getGroup.bind(dir);
    dir.getGroup = async (id, ctx) => {
      maxInside = Math.max(maxInside, ++inside);
      return getGroup(id, ctx);
    };
    const replace = dir.replaceGroup.bind(dir);
    dir.replaceGroup = async (w, m, ctx) => {
      const result = await replace(w, m, ctx);
      inside--;
      return result;
    };
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => run([user(`u${i}`)])));
    expect(results.every((r) => r.status === 'applied')).toBe(true);
    expect(maxInside).toBe(1);
    expect(dir.membersOf('t')).toEqual([user('u19')]);
    expect(dir.count('replaceGroup')).toBe(20);
  });
});
