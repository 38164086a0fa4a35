/**
 * One behaviour, every ScimDirectory: the in-memory fake the core tests use must behave
 * like the real adapter talking to the simulator, or core tests prove nothing.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { createCxoneDirectory } from '../../src/adapters/scim/index.js';
import { PreconditionFailedError } from '../../src/core/errors.js';
import type { MemberRef } from '../../src/core/membership.js';
import type { RequestContext, ScimDirectory } from '../../src/core/ports.js';
import { createSimulator } from '../../src/simulator/simulator.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';

interface World {
  directory: ScimDirectory;
  user(id: string, active?: boolean, entitlements?: string[]): void;
  group(id: string, members?: MemberRef[]): void;
}

const worlds: Record<string, () => Promise<World>> = {
  'in-memory fake': async () => {
    const directory = new InMemoryDirectory();
    return {
      directory,
      user: (id, active = true, entitlements = []) => void directory.addUser(id, active, entitlements),
      group: (id, members = []) => void directory.addGroup(id, members),
    };
  },
  'SCIM adapter against the simulator': async () => {
    const clock = new FakeClock(Date.now());
    const simulator = createSimulator({ scimGroups: true, seed: 'empty', clients: [{ clientId: 'c', clientSecret: 'contract-secret' }], now: () => clock.now() });
    const url = await simulator.listen({ port: 0 });
    const directory = createCxoneDirectory({ baseUrl: url, clientId: 'c', clientSecret: 'contract-secret', clock });
    onTestFinished(async () => {
      await directory.close();
      await simulator.close();
    });
    return {
      directory,
      user: (id, active = true, entitlements = []) =>
        void simulator.store.createUser({ id, userName: `${id}@example.com`, active, entitlements: entitlements.map((value) => ({ value })) }),
      group: (id, members = []) => void simulator.store.putGroup({ id, displayName: `Group ${id}`, members }),
    };
  },
};

const ctx = (): RequestContext => ({ stats: { upstreamRequests: 0 } });
const user = (value: string): MemberRef => ({ value, type: 'User' });
const group = (value: string): MemberRef => ({ value, type: 'Group' });

describe.each(Object.entries(worlds))('ScimDirectory contract: %s', (_name, create) => {
  it('when a group is missing, then getGroup answers null', async () => {
    const w = await create();
    expect(await w.directory.getGroup('missing', ctx())).toBeNull();
  });

  it('when a group exists, then getGroup returns its members with types and an ETag', async () => {
    const w = await create();
    w.user('u1');
    w.group('child');
    w.group('g', [user('u1'), group('child')]);
    const snapshot = await w.directory.getGroup('g', ctx());
    expect(snapshot?.group.id).toBe('g');
    expect(snapshot?.group.displayName).toBe('Group g');
    expect(snapshot?.group.members.map((m) => ({ value: m.value, type: m.type }))).toEqual([user('u1'), group('child')]);
    expect(snapshot?.etag).toMatch(/^W\/".+"$/);
  });

  it('when replaceGroup carries the current ETag, then the members are replaced and a new ETag is returned', async () => {
    const w = await create();
    w.user('u1');
    w.user('u2');
    w.group('g', [user('u1')]);
    const before = await w.directory.getGroup('g', ctx());
    const written = await w.directory.replaceGroup({ id: 'g', displayName: 'Renamed', members: [user('u2')], extra: before?.group.extra ?? {} }, before?.etag ?? null, ctx());
    expect(written.group?.members.map((m) => m.value)).toEqual(['u2']);
    expect(written.group?.displayName).toBe('Renamed');
    expect(written.etag).not.toBe(before?.etag);
  });

  it('when replaceGroup carries a stale ETag, then it throws PreconditionFailedError and changes nothing', async () => {
    const w = await create();
    w.user('u1');
    w.group('g');
    const first = await w.directory.getGroup('g', ctx());
    await w.directory.replaceGroup({ id: 'g', displayName: 'Group g', members: [user('u1')], extra: {} }, first?.etag ?? null, ctx());
    await expect(w.directory.replaceGroup({ id: 'g', displayName: 'Group g', members: [], extra: {} }, first?.etag ?? null, ctx())).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await w.directory.getGroup('g', ctx()))?.group.members.map((m) => m.value)).toEqual(['u1']);
  });

  it('when findUsers asks for existing, inactive and missing users, then only existing ones come back with their active flag', async () => {
    const w = await create();
    w.user('on');
    w.user('off', false);
    const found = await w.directory.findUsers(['on', 'off', 'ghost'], ctx());
    expect(Object.fromEntries([...found].map(([id, u]) => [id, u.active]))).toEqual({ on: true, off: false });
  });

  it('when getGroups asks for groups, then existing ones come back with their group-typed members only', async () => {
    const w = await create();
    w.user('u1');
    w.group('leaf');
    w.group('mid', [user('u1'), group('leaf')]);
    const found = await w.directory.getGroups(['mid', 'leaf', 'ghost'], ctx());
    expect([...found.keys()].toSorted()).toEqual(['leaf', 'mid']);
    expect(found.get('mid')?.groupMemberIds).toEqual(['leaf']);
  });

  it('when findParentGroups asks for several ids, then every id is a key and lists its direct parents', async () => {
    const w = await create();
    w.group('a');
    w.group('b', [group('a')]);
    w.group('c', [group('a'), group('b')]);
    const parents = await w.directory.findParentGroups(['a', 'b', 'c'], ctx());
    expect(parents.get('a')?.toSorted()).toEqual(['b', 'c']);
    expect(parents.get('b')).toEqual(['c']);
    expect(parents.get('c')).toEqual([]);
  });

  it('when readUsers reads users back, then it returns groups, entitlements and a version', async () => {
    const w = await create();
    w.user('u1', true, ['cxone:agent']);
    w.group('g', [user('u1')]);
    const found = await w.directory.readUsers(['u1', 'ghost'], ctx());
    expect([...found.keys()]).toEqual(['u1']);
    expect(found.get('u1')).toMatchObject({ id: 'u1', active: true, groups: ['g'], entitlements: ['cxone:agent'], version: expect.stringMatching(/^W\/".+"$/) });
  });

  it('when patchUser adds and removes entitlements with the current version, then they change; a stale version is refused', async () => {
    const w = await create();
    w.user('u1', true, ['a', 'b']);
    const before = (await w.directory.readUsers(['u1'], ctx())).get('u1');
    await w.directory.patchUser('u1', [{ op: 'remove', path: 'entitlements[value eq "a"]' }, { op: 'add', path: 'entitlements', value: [{ value: 'c' }] }], before?.version ?? null, ctx());
    const after = (await w.directory.readUsers(['u1'], ctx())).get('u1');
    expect(after?.entitlements.toSorted()).toEqual(['b', 'c']);
    await expect(w.directory.patchUser('u1', [{ op: 'add', path: 'entitlements', value: [{ value: 'd' }] }], before?.version ?? null, ctx())).rejects.toBeInstanceOf(PreconditionFailedError);
  });

  it('when calls are made, then ctx.stats counts upstream requests', async () => {
    const w = await create();
    w.group('g');
    const context = ctx();
    await w.directory.getGroup('g', context);
    await w.directory.findUsers(['x', 'y'], context);
    expect(context.stats.upstreamRequests).toBe(2);
  });
});
