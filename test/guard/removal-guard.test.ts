import { describe, expect, it } from 'vitest';
import type { MemberRef } from '../../src/core/membership.js';
import { planMembership } from '../../src/core/plan.js';
import { judgeRemovals } from '../../src/core/removal-guard.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { bearer, buildTestApp } from '../helpers/build-test-app.js';

const user = (value: string): MemberRef => ({ value, type: 'User' });
const users = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => user(`${prefix}${i}`));

/** A group `g` of `size` users u0…, every user existing. */
function groupOf(size: number, extraUsers = 0): InMemoryDirectory {
  const directory = new InMemoryDirectory();
  for (const member of [...users('u', size), ...users('x', extraUsers)]) directory.addUser(member.value);
  return directory.addGroup('g', users('u', size));
}

type App = Awaited<ReturnType<typeof buildTestApp>>['app'];
function sync(app: App, members: MemberRef[], { query = '', key }: { query?: string; key?: string } = {}) {
  return app.inject({
    method: 'POST',
    url: `/groups/g/sync${query}`,
    headers: { 'content-type': 'application/json', ...bearer(), ...(key === undefined ? {} : { 'idempotency-key': key }) },
    payload: { members },
  });
}

describe('the mass-removal guard, judged alone', () => {
  const limits = { percent: 30, min: 10 };
  const judge = (size: number, keep: number) => judgeRemovals(limits, planMembership(users('u', size), users('u', size).slice(0, keep)));

  it('when a plan removes more than both limits, then it trips; at either limit, or under one, it does not', () => {
    expect(judge(100, 69)).toMatchObject({ wouldTrip: true, removing: 31, of: 100, percent: 31 });
    expect(judge(100, 70)).toMatchObject({ wouldTrip: false, removing: 30, of: 100 }); // at the percentage
    expect(judge(20, 10)).toMatchObject({ wouldTrip: false, removing: 10, of: 20 }); // at the count (50%)
    expect(judge(20, 9)).toMatchObject({ wouldTrip: true, removing: 11, of: 20, percent: 55 });
    expect(judge(1000, 980)).toMatchObject({ wouldTrip: false, removing: 20, of: 1000 }); // over the count, under the percentage
    expect(judge(8, 1)).toMatchObject({ wouldTrip: false, removing: 7, of: 8 }); // over the percentage, under the count
  });

  it('when a plan empties a non-empty group, then it trips whatever its size; an empty group is never guarded', () => {
    expect(judge(1, 0)).toMatchObject({ wouldTrip: true, removing: 1, of: 1, emptying: true });
    expect(judge(3, 0)).toMatchObject({ wouldTrip: true, emptying: true });
    expect(judge(0, 0)).toMatchObject({ wouldTrip: false, removing: 0, of: 0 });
  });

  it('when the request names each member it removes (a delta), then removing the last ones is no emptying; over both limits it still trips', () => {
    const named = (size: number, keep: number) => judgeRemovals(limits, planMembership(users('u', size), users('u', size).slice(0, keep)), { named: true });
    expect(named(1, 0)).toMatchObject({ wouldTrip: false, removing: 1, of: 1, emptying: false });
    expect(named(10, 0)).toMatchObject({ wouldTrip: false, removing: 10, of: 10 }); // at the count
    expect(named(11, 0)).toMatchObject({ wouldTrip: true, removing: 11, of: 11 });
    expect(named(100, 69)).toMatchObject({ wouldTrip: true, removing: 31, of: 100 });
  });
});

describe('POST /groups/{groupId}/sync and the mass-removal guard', () => {
  it('when a sync would remove more than REMOVAL_GUARD_PERCENT and REMOVAL_GUARD_MIN, then 409 removal_guard names the numbers, nothing is written, and it is audited with a group.sync.failed event', async () => {
    const { app, directory, audit } = await buildTestApp({ directory: groupOf(100) });
    const res = await sync(app, users('u', 100).slice(0, 69));
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: 'removal_guard', removing: 31, of: 100, percent: 31, limits: { percent: 30, min: 10 }, syncId: expect.any(String) });
    expect(res.json().message).toContain('31 of the group');
    expect(directory.count('replaceGroup') + directory.count('patchGroup')).toBe(0);
    expect(directory.membersOf('g')).toHaveLength(100);
    expect(audit.records.at(-1)).toMatchObject({ status: 'removal_guard', groupId: 'g', syncId: res.json().syncId });
    expect(audit.events.at(-1)).toMatchObject({ type: 'group.sync.failed', data: { error: 'removal_guard', removing: 31, of: 100 } });
  });

  it('when a sync removes exactly the limits, or less, then it is applied', async () => {
    const { app, directory } = await buildTestApp({ directory: groupOf(100) });
    const res = await sync(app, users('u', 100).slice(0, 70));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'applied', removed: expect.any(Array) });
    expect(directory.membersOf('g')).toHaveLength(70);
  });

  it('when the limits are configured, then they are the ones judged', async () => {
    const { app } = await buildTestApp({ directory: groupOf(20), env: { REMOVAL_GUARD_PERCENT: '50', REMOVAL_GUARD_MIN: '5' } });
    expect((await sync(app, users('u', 20).slice(0, 10))).statusCode).toBe(200); // 10 of 20: 50%, not more
    const res = await sync(app, users('u', 10).slice(0, 4)); // 6 of 10: 60% and more than 5
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: 'removal_guard', removing: 6, of: 10, limits: { percent: 50, min: 5 } });
  });

  it('when members is empty for a non-empty group, then it is guarded even below the limits, and allowMassRemoval lets it through', async () => {
    const { app, directory } = await buildTestApp({ directory: groupOf(2) });
    const refused = await sync(app, []);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: 'removal_guard', removing: 2, of: 2 });
    expect(directory.membersOf('g')).toHaveLength(2);
    const allowed = await sync(app, [], { query: '?allowMassRemoval=true' });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.json()).toMatchObject({ status: 'applied', memberCount: 0 });
    expect(directory.membersOf('g')).toHaveLength(0);
  });

  it('when a guarded sync is asked with ?allowMassRemoval=true, then it is applied', async () => {
    const { app, directory } = await buildTestApp({ directory: groupOf(50) });
    const res = await sync(app, users('u', 5), { query: '?allowMassRemoval=true' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'applied' });
    expect(directory.membersOf('g')).toHaveLength(5);
  });

  it('when a guarded sync is a dry run, then it answers 200 dry_run with removalGuard {wouldTrip, removing, of} and writes nothing', async () => {
    const { app, directory } = await buildTestApp({ directory: groupOf(50) });
    const res = await sync(app, users('u', 5), { query: '?dryRun=true' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'dry_run', removalGuard: { wouldTrip: true, removing: 45, of: 50 } });
    const allowed = await sync(app, users('u', 5), { query: '?dryRun=true&allowMassRemoval=true' });
    expect(allowed.json()).toMatchObject({ status: 'dry_run', removalGuard: { wouldTrip: false, removing: 45, of: 50 } });
    const small = await sync(app, users('u', 49), { query: '?dryRun=true' });
    expect(small.json()).toMatchObject({ status: 'dry_run', removalGuard: { wouldTrip: false, removing: 1, of: 50 } });
    expect(directory.membersOf('g')).toHaveLength(50);
  });

  it('when a guarded sync carried an Idempotency-Key, then the 409 is not kept under it: the retry with allowMassRemoval runs, and the same request again is judged again', async () => {
    const { app, directory } = await buildTestApp({ directory: groupOf(50) });
    const first = await sync(app, users('u', 5), { key: 'mass-1' });
    expect(first.statusCode).toBe(409);
    const again = await sync(app, users('u', 5), { key: 'mass-1' });
    expect(again.statusCode).toBe(409);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(again.json().syncId).not.toBe(first.json().syncId);
    const allowed = await sync(app, users('u', 5), { key: 'mass-1', query: '?allowMassRemoval=true' });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.json()).toMatchObject({ status: 'applied' });
    expect(directory.membersOf('g')).toHaveLength(5);
  });

  it('when a lost race makes the re-plan remove too many, then the guard refuses the retry before it writes', async () => {
    const directory = groupOf(20, 30);
    const replace = directory.replaceGroup.bind(directory);
    let raced = false;
    directory.replaceGroup = async (write, ifMatch, ctx) => {
      if (!raced) {
        raced = true;
        // Another writer adds 30 members between our read and our write.
        directory.touch('g', (group) => group.members.push(...users('x', 30)));
      }
      return replace(write, ifMatch, ctx);
    };
    const { app } = await buildTestApp({ directory, env: { WRITE_MODE: 'put' } });
    const res = await sync(app, users('u', 20).slice(0, 15)); // 5 of 20 first; 35 of 50 after the race
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: 'removal_guard', removing: 35, of: 50 });
    expect(directory.membersOf('g')).toHaveLength(50);
  });
});
