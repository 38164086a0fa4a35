import { describe, expect, it } from 'vitest';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { KeyedLock } from '../../src/core/keyed-lock.js';
import type { MemberRef } from '../../src/core/membership.js';
import { planMembership } from '../../src/core/plan.js';
import { syncGroup } from '../../src/core/sync-group.js';
import { chooseWriteMode, patchRequests, type WriteModeSetting } from '../../src/core/write-mode.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { RecordingMetrics } from '../fakes/recording-metrics.js';

const user = (value: string): MemberRef => ({ value, type: 'User' });
const users = (n: number, prefix = 'u') => Array.from({ length: n }, (_, i) => user(`${prefix}${i}`));

function setup(writeMode: WriteModeSetting, directory: InMemoryDirectory, patchMaxOperations = 100) {
  const audit = new MemoryAuditLog();
  let n = 0;
  const deps = {
    directory, clock: new FakeClock(), locks: new KeyedLock(), audit, metrics: new RecordingMetrics(),
    newSyncId: () => `s${++n}`, newEventId: () => `e${++n}`, maxDepth: 3, maxConflictRetries: 3,
    writeMode, patchMaxOperations, attributes: { entitlementMap: {}, concurrency: 4 },
  };
  const run = (members: MemberRef[], displayName?: string) =>
    syncGroup(deps, { groupId: 't', desired: { members, displayName }, dryRun: false, actor: 'okta', requestId: 'r' });
  return { run, audit };
}

function world(current: MemberRef[], extraUsers: MemberRef[] = []) {
  const dir = new InMemoryDirectory();
  for (const m of [...current, ...extraUsers]) dir.addUser(m.value);
  dir.addGroup('t', [...current]);
  return dir;
}

describe('patchRequests', () => {
  it('when the change is larger than one request holds, then it is split: removals first, adds after, displayName in the first', () => {
    const plan = planMembership([user('a'), user('b'), user('c')], [user('d'), user('e')]);
    expect(patchRequests(plan, 'New name', 2)).toEqual([
      [{ op: 'replace', path: 'displayName', value: 'New name' }, { op: 'remove', path: 'members[value eq "a"]' }, { op: 'remove', path: 'members[value eq "b"]' }],
      [{ op: 'remove', path: 'members[value eq "c"]' }, { op: 'add', path: 'members', value: [user('d')] }],
      [{ op: 'add', path: 'members', value: [user('e')] }],
    ]);
  });

  it('when only the displayName changes, then one request replaces it', () => {
    expect(patchRequests(planMembership([user('a')], [user('a')]), 'N', 100)).toEqual([[{ op: 'replace', path: 'displayName', value: 'N' }]]);
  });

  it('when a value holds quotes, then the filter path escapes them', () => {
    const plan = planMembership([user('say "x"')], []);
    expect(patchRequests(plan, undefined, 100)).toEqual([[{ op: 'remove', path: 'members[value eq "say \\"x\\""]' }]]);
  });
});

describe('chooseWriteMode', () => {
  const small = planMembership(users(1000), [...users(1000).slice(1), user('new')]);
  const large = planMembership(users(1000), users(1000, 'v'));
  const caps = (patch: boolean) => ({ patch, etag: true, filter: true });
  it.each([
    ['put', small, caps(true), 'put'],
    ['patch', large, caps(false), 'patch'],
    ['auto', small, caps(true), 'patch'],
    ['auto', small, caps(false), 'put'],
    ['auto', large, caps(true), 'put'],
  ] as const)('when the setting is %s (%#), then it writes with the expected mode', (setting, plan, capabilities, expected) => {
    expect(chooseWriteMode(setting, plan, 1000, 100, capabilities)).toBe(expected);
  });
});

describe('syncGroup with WRITE_MODE=patch', () => {
  it('when one member changes in a large group, then one PATCH carries only the difference', async () => {
    const current = users(1000);
    const dir = world(current, [user('new')]);
    const { run, audit } = setup('patch', dir);
    const result = await run([...current.slice(1), user('new')]);
    expect(result).toMatchObject({ status: 'applied', writeMode: 'patch', added: [user('new')], removed: [user('u0')], consistencyRate: 1, etag: 'W/"2"', upstreamRequests: 3 });
    expect(dir.calls.filter((c) => c !== 'readUsers')).toEqual(['getGroup', 'findUsers', 'patchGroup']);
    expect(audit.records[0]?.writeMode).toBe('patch');
  });

  it('when the change spans several requests, then each PATCH is guarded by the ETag the previous one returned', async () => {
    const dir = world([], users(250));
    const seen: string[] = [];
    const patch = dir.patchGroup.bind(dir);
    dir.patchGroup = async (id, ops, ifMatch, ctx) => {
      seen.push(String(ifMatch));
      return patch(id, ops, ifMatch, ctx);
    };
    const { run } = setup('patch', dir);
    const result = await run(users(250));
    expect(seen).toEqual(['W/"1"', 'W/"2"', 'W/"3"']);
    expect(result.consistencyRate).toBe(1);
    expect(dir.membersOf('t')).toHaveLength(250);
  });

  it('when another writer changes the group midway through the PATCH sequence, then it re-reads and sends only what is missing', async () => {
    const dir = world([], [...users(250), user('intruder')]);
    let requests = 0;
    dir.beforePatchGroup = () => {
      if (++requests === 2) dir.touch('t', (g) => g.members.push(user('intruder')));
    };
    const { run } = setup('patch', dir);
    const result = await run(users(250));
    expect(result.status).toBe('applied');
    // re-planned from the state after the first request landed and the intruder arrived
    expect(result.added).toHaveLength(150);
    expect(result.removed).toEqual([user('intruder')]);
    expect(dir.membersOf('t').map((m) => m.value).toSorted()).toEqual(users(250).map((m) => m.value).toSorted());
  });
});

describe('syncGroup with WRITE_MODE=auto', () => {
  it('when the provider supports PATCH and the change is small, then it patches', async () => {
    const current = users(100);
    const dir = world(current, [user('new')]);
    const { run } = setup('auto', dir);
    expect((await run([...current, user('new')])).writeMode).toBe('patch');
    expect(dir.count('capabilities')).toBe(1);
  });

  it('when the provider does not support PATCH, then it puts', async () => {
    const current = users(100);
    const dir = world(current, [user('new')]);
    dir.patchSupported = false;
    const { run } = setup('auto', dir);
    expect((await run([...current, user('new')])).writeMode).toBe('put');
  });

  it('when the change is large, then it puts', async () => {
    const dir = world(users(10), users(10, 'v'));
    const { run } = setup('auto', dir);
    expect((await run(users(10, 'v'))).writeMode).toBe('put');
  });
});
