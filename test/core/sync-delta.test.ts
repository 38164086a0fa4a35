import { describe, expect, it } from 'vitest';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { ValidationFailedError } from '../../src/core/errors.js';
import { applyDelta, type MemberRef, type MembershipDelta } from '../../src/core/membership.js';
import { syncGroup } from '../../src/core/sync-group.js';
import { syncDeps } from '../fakes/sync-deps.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';

const user = (value: string): MemberRef => ({ value, type: 'User' });
const delta = (add: string[], remove: string[], displayName?: string): MembershipDelta => ({
  kind: 'delta',
  add: add.map((value) => ({ value })),
  remove: remove.map((value) => ({ value })),
  ...(displayName === undefined ? {} : { displayName }),
});

function setup(directory: InMemoryDirectory, writeMode: 'put' | 'patch' = 'patch') {
  const audit = new MemoryAuditLog();
  const deps = syncDeps({ directory, audit, writeMode });
  const run = (desired: MembershipDelta) => syncGroup(deps, { groupId: 't', desired, dryRun: false, actor: 'okta-scim', requestId: 'r' });
  return { run, audit, directory };
}

describe('applyDelta', () => {
  it('when members are added and removed, then the current members stay in order, the removed go and the new ones come last', () => {
    expect(applyDelta([user('a'), user('b'), user('c')], delta(['d', 'a'], ['b']))).toEqual({ members: [user('a'), user('c'), { value: 'd' }] });
  });

  it('when a typed member is removed, then only the member of that type goes', () => {
    const current: MemberRef[] = [user('x'), { value: 'x', type: 'Group' }];
    expect(applyDelta(current, { kind: 'delta', add: [], remove: [{ value: 'x', type: 'Group' }] }).members).toEqual([user('x')]);
  });
});

describe('syncGroup with a delta', () => {
  it('when a delta adds one member to a large group, then one PATCH of one operation is written, the rest kept', async () => {
    const directory = new InMemoryDirectory();
    const members = Array.from({ length: 500 }, (_, i) => `u${i}`);
    for (const id of [...members, 'new']) directory.addUser(id);
    directory.addGroup('t', members.map(user));
    const { run } = setup(directory);
    const result = await run(delta(['new'], []));
    expect(result).toMatchObject({ status: 'applied', added: [user('new')], removed: [], memberCount: 501, writeMode: 'patch' });
    expect(directory.membersOf('t')).toHaveLength(501);
    expect(directory.count('replaceGroup')).toBe(0);
    expect(directory.count('patchGroup')).toBe(1);
  });

  it('when a delta removes a member and renames the group, then both are written and audited with the actor', async () => {
    const directory = new InMemoryDirectory().addUser('a').addUser('b').addGroup('t', [user('a'), user('b')]);
    const { run, audit } = setup(directory);
    const result = await run(delta([], ['a'], 'Renamed'));
    expect(result).toMatchObject({ status: 'applied', removed: [user('a')], memberCount: 1 });
    expect(directory.membersOf('t')).toEqual([user('b')]);
    expect(directory.groups.get('t')?.displayName).toBe('Renamed');
    const [record] = audit.records;
    expect(record).toMatchObject({ actor: 'okta-scim', status: 'applied', groupId: 't' });
  });

  it('when a delta adds an unknown user, then it fails validation naming the member and nothing is written', async () => {
    const directory = new InMemoryDirectory().addUser('a').addGroup('t', [user('a')]);
    const { run } = setup(directory);
    const error = await run(delta(['ghost'], [])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationFailedError);
    expect((error as ValidationFailedError).errors).toMatchObject([{ code: 'user_not_found', member: { value: 'ghost' } }]);
    expect(directory.count('patchGroup')).toBe(0);
  });

  it('when a delta removes a member the group does not hold, then nothing is written and the status is unchanged', async () => {
    const directory = new InMemoryDirectory().addUser('a').addGroup('t', [user('a')]);
    const { run } = setup(directory);
    expect((await run(delta([], ['nobody']))).status).toBe('unchanged');
  });
});
