/**
 * Members without `type` (RFC 7643 §4.2 makes it optional; Okta and Entra often leave it
 * out): the sync resolves each from the group's current members, else by a user lookup,
 * then a group lookup, both batched.
 */
import { describe, expect, it } from 'vitest';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { ValidationFailedError } from '../../src/core/errors.js';
import type { DesiredMember, MemberRef } from '../../src/core/membership.js';
import { syncGroup, type SyncRequest } from '../../src/core/sync-group.js';
import { syncDeps } from '../fakes/sync-deps.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';

const user = (value: string): MemberRef => ({ value, type: 'User' });
const group = (value: string): MemberRef => ({ value, type: 'Group' });

function setup(directory: InMemoryDirectory) {
  const audit = new MemoryAuditLog();
  const deps = syncDeps({ directory, audit });
  const run = (members: DesiredMember[], extra: Partial<SyncRequest> = {}) =>
    syncGroup(deps, { groupId: 't', desired: { members }, dryRun: false, actor: 'okta', requestId: 'r', ...extra });
  return { run, audit, directory };
}

describe('members without type', () => {
  it('when a type-less member is already in the group, then it takes that member\'s type without a lookup', async () => {
    const { run, directory } = setup(new InMemoryDirectory().addUser('a').addGroup('g').addGroup('t', [user('a'), group('g')]));
    const result = await run([{ value: 'a' }, { value: 'g' }]);
    expect(result).toMatchObject({ status: 'unchanged', added: [], removed: [], upstreamRequests: 1 });
    expect(directory.calls).toEqual(['getGroup']);
  });

  it('when type-less members are new, then one batched user lookup and one batched group lookup give their types, and added carries them', async () => {
    const dir = new InMemoryDirectory().addGroup('t').addGroup('g1').addGroup('g2');
    for (let i = 0; i < 60; i++) dir.addUser(`u${i}`);
    const { run } = setup(dir);
    const members: DesiredMember[] = [...Array.from({ length: 60 }, (_, i) => ({ value: `u${i}` })), { value: 'g1', display: 'Group one' }, { value: 'g2' }];
    const result = await run(members);
    expect(result.status).toBe('applied');
    expect(result.added).toEqual([...Array.from({ length: 60 }, (_, i) => user(`u${i}`)), group('g1'), group('g2')]);
    expect(dir.membersOf('t')).toEqual([...Array.from({ length: 60 }, (_, i) => user(`u${i}`)), group('g1'), group('g2')]);
    // 62 ids as users (2 batches of 50), the 2 left over as groups (1 batch); the users found are not looked up again
    expect(dir.count('findUsers')).toBe(2);
    expect(dir.calls.filter((c) => c === 'getGroups').length).toBeGreaterThanOrEqual(1);
  });

  it('when no user or group has a type-less member\'s id, then user_not_found says so, with every other problem', async () => {
    const { run, audit } = setup(new InMemoryDirectory().addUser('off', false).addGroup('t'));
    const error = (await run([{ value: 'ghost' }, { value: 'off' }, user('nobody')]).catch((e: unknown) => e)) as ValidationFailedError;
    expect(error).toBeInstanceOf(ValidationFailedError);
    expect(error.errors).toEqual([
      { code: 'user_not_found', member: user('ghost'), message: 'no user or group has the id "ghost" upstream' },
      { code: 'user_inactive', member: user('off'), message: expect.any(String) },
      { code: 'user_not_found', member: user('nobody'), message: 'user "nobody" does not exist upstream' },
    ]);
    expect(audit.records[0]?.status).toBe('validation_failed');
  });

  it('when a type-less member repeats a typed one, then it is a duplicate_member', async () => {
    const { run } = setup(new InMemoryDirectory().addUser('a').addGroup('t'));
    const error = (await run([user('a'), { value: 'a' }]).catch((e: unknown) => e)) as ValidationFailedError;
    expect(error.errors.map((e) => e.code)).toEqual(['duplicate_member']);
  });

  it('when a dry run holds type-less members, then the diff carries the resolved types and nothing is written', async () => {
    const { run, directory } = setup(new InMemoryDirectory().addUser('a').addUser('b').addGroup('t', [user('a')]));
    const result = await run([{ value: 'b' }], { dryRun: true });
    expect(result).toMatchObject({ status: 'dry_run', added: [user('b')], removed: [user('a')] });
    expect(directory.count('replaceGroup')).toBe(0);
  });
});
