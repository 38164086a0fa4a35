import { describe, expect, it } from 'vitest';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { planEntitlements, syncUserAttributes, type EntitlementMap } from '../../src/core/attribute-sync.js';
import { UpstreamUnavailableError } from '../../src/core/errors.js';
import { KeyedLock } from '../../src/core/keyed-lock.js';
import type { MemberRef } from '../../src/core/membership.js';
import { syncGroup } from '../../src/core/sync-group.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { RecordingMetrics } from '../fakes/recording-metrics.js';

const user = (value: string): MemberRef => ({ value, type: 'User' });
const MAP: EntitlementMap = { agents: ['cxone:agent'], supervisors: ['cxone:agent', 'cxone:supervisor'] };

function run(directory: InMemoryDirectory, added: string[], removed: string[], map: EntitlementMap = MAP, groupId = 'agents') {
  return syncUserAttributes({ directory, entitlementMap: map, concurrency: 4, maxConflictRetries: 2 }, { groupId, addedUserIds: added, removedUserIds: removed, useIfMatch: true });
}

describe('syncUserAttributes', () => {
  it('when a user joins a mapped group, then it gains the mapped entitlement and keeps unmanaged ones', async () => {
    const dir = new InMemoryDirectory().addUser('u1', true, ['billing:viewer']).addGroup('agents', [user('u1')]);
    const report = await run(dir, ['u1'], []);
    expect(dir.entitlements.get('u1')).toEqual(['billing:viewer', 'cxone:agent']);
    expect(report.users).toEqual([{ userId: 'u1', change: 'added', groupsConsistent: true, entitlements: 'updated', entitlementsAdded: ['cxone:agent'], entitlementsRemoved: [] }]);
    expect(report).toMatchObject({ checked: 1, entitlementsUpdated: 1, failed: 0, groupsInconsistent: 0 });
  });

  it('when a user leaves a mapped group, then the entitlement is removed unless another mapped group still grants it', async () => {
    const dir = new InMemoryDirectory().addUser('solo', true, ['cxone:agent']).addUser('both', true, ['cxone:agent', 'cxone:supervisor']);
    dir.addGroup('agents').addGroup('supervisors', [user('both')]);
    const report = await run(dir, [], ['solo', 'both']);
    expect(dir.entitlements.get('solo')).toEqual([]);
    expect(dir.entitlements.get('both')).toEqual(['cxone:agent', 'cxone:supervisor']);
    expect(report.users.map((u) => [u.userId, u.change, u.groupsConsistent, u.entitlements])).toEqual([
      ['solo', 'removed', true, 'updated'],
      ['both', 'removed', true, 'unchanged'],
    ]);
  });

  it('when no ENTITLEMENT_MAP is set, then users are only read back and checked, in batches', async () => {
    const dir = new InMemoryDirectory().addGroup('agents', [user('a')]).addUser('a').addUser('b');
    const report = await run(dir, ['a'], ['b'], {});
    expect(report.users.map((u) => u.entitlements)).toEqual(['not_managed', 'not_managed']);
    expect(report.upstreamRequests).toBe(1);
    expect(dir.count('patchUser')).toBe(0);
  });

  it('when the provider\'s groups attribute disagrees with the write, then the user is reported inconsistent', async () => {
    const dir = new InMemoryDirectory().addUser('a').addGroup('agents'); // the write "did not stick"
    const report = await run(dir, ['a'], [], {});
    expect(report.users[0]?.groupsConsistent).toBe(false);
    expect(report.groupsInconsistent).toBe(1);
  });

  it('when the provider sends no groups attribute, then consistency is unknown and direct parents decide the entitlements', async () => {
    const dir = new InMemoryDirectory().addUser('a').addGroup('agents', [user('a')]);
    dir.userGroups = false;
    const report = await run(dir, ['a'], []);
    expect(report.users[0]).toMatchObject({ groupsConsistent: null, entitlements: 'updated' });
    expect(dir.count('findParentGroups')).toBe(1);
    expect(dir.entitlements.get('a')).toEqual(['cxone:agent']);
  });

  it('when another writer changes the user before the PATCH, then it re-reads and applies on the fresh version', async () => {
    const dir = new InMemoryDirectory().addUser('a').addGroup('agents', [user('a')]);
    dir.beforePatchUser = (id) => {
      dir.beforePatchUser = null;
      dir.entitlements.set(id, ['other:thing']);
      dir.userVersions.set(id, (dir.userVersions.get(id) ?? 1) + 1);
    };
    const report = await run(dir, ['a'], []);
    expect(report.users[0]?.entitlements).toBe('updated');
    expect(dir.entitlements.get('a')).toEqual(['other:thing', 'cxone:agent']);
    expect(dir.count('patchUser')).toBe(2);
  });

  it('when the user keeps changing, then it gives up on that user and reports it failed', async () => {
    const dir = new InMemoryDirectory().addUser('a').addGroup('agents', [user('a')]);
    dir.beforePatchUser = (id) => dir.userVersions.set(id, (dir.userVersions.get(id) ?? 1) + 1);
    const report = await run(dir, ['a'], []);
    expect(report.users[0]).toMatchObject({ entitlements: 'failed', error: 'version mismatch' });
    expect(report.failed).toBe(1);
  });

  it('when a user was deleted in the meantime, then it is reported as not found', async () => {
    const dir = new InMemoryDirectory().addGroup('agents');
    const report = await run(dir, [], ['gone']);
    expect(report.users[0]).toMatchObject({ userId: 'gone', entitlements: 'user_not_found' });
  });

  it('when the read-back fails, then every user is reported failed instead of throwing', async () => {
    const dir = new InMemoryDirectory().addUser('a').addGroup('agents', [user('a')]);
    dir.readUsers = async () => {
      throw new UpstreamUnavailableError('the upstream kept answering 503', 1, 503);
    };
    const report = await run(dir, ['a'], []);
    expect(report.users).toEqual([{ userId: 'a', change: 'added', groupsConsistent: null, entitlements: 'failed', error: 'the upstream kept answering 503' }]);
  });
});

describe('planEntitlements', () => {
  it('when values need escaping, then the remove path quotes them as SCIM filter strings', () => {
    const plan = planEntitlements({ g: ['x'] }, new Set(['x', 'say "hi"']), [], ['say "hi"']);
    expect(plan.operations).toEqual([{ op: 'remove', path: 'entitlements[value eq "say \\"hi\\""]' }]);
  });
});

describe('syncGroup with attribute sync', () => {
  function deps(directory: InMemoryDirectory) {
    const audit = new MemoryAuditLog();
    let n = 0;
    return {
      audit,
      deps: { directory, clock: new FakeClock(), locks: new KeyedLock(), audit, metrics: new RecordingMetrics(), newSyncId: () => `s${++n}`, newEventId: () => `e${++n}`, maxDepth: 3, maxConflictRetries: 3, writeMode: 'put' as const, patchMaxOperations: 100, attributes: { entitlementMap: MAP, concurrency: 4 } },
    };
  }

  it('when a write is applied, then the audit record and a user.attributes.synced event carry per-user outcomes', async () => {
    const dir = new InMemoryDirectory().addUser('a').addUser('b', true, ['cxone:agent']).addGroup('agents', [user('b')]);
    const { audit, deps: d } = deps(dir);
    const result = await syncGroup(d, { groupId: 'agents', desired: { members: [user('a')] }, dryRun: false, actor: 'okta', requestId: 'r' });
    expect(result.status).toBe('applied');
    expect(dir.entitlements.get('a')).toEqual(['cxone:agent']);
    expect(dir.entitlements.get('b')).toEqual([]);
    expect(audit.records[0]?.attributes).toMatchObject({ checked: 2, entitlementsUpdated: 2, failed: 0 });
    const event = audit.events.find((e) => e.type === 'user.attributes.synced');
    expect(event?.data).toMatchObject({ syncId: result.syncId, groupId: 'agents', users: [expect.objectContaining({ userId: 'a', change: 'added' }), expect.objectContaining({ userId: 'b', change: 'removed' })] });
  });

  it('when the attribute sync fails, then the membership write still stands and the sync is applied', async () => {
    const dir = new InMemoryDirectory().addUser('a').addGroup('agents');
    dir.patchUser = async () => {
      throw new UpstreamUnavailableError('PATCH kept failing', 1, 503);
    };
    const { audit, deps: d } = deps(dir);
    const result = await syncGroup(d, { groupId: 'agents', desired: { members: [user('a')] }, dryRun: false, actor: 'okta', requestId: 'r' });
    expect(result.status).toBe('applied');
    expect(dir.membersOf('agents')).toEqual([user('a')]);
    expect(audit.records[0]?.attributes?.failed).toBe(1);
  });

  it('when nothing changes or it is a dry run, then no attribute sync runs', async () => {
    const dir = new InMemoryDirectory().addUser('a').addGroup('agents', [user('a')]);
    const { audit, deps: d } = deps(dir);
    await syncGroup(d, { groupId: 'agents', desired: { members: [user('a')] }, dryRun: false, actor: 'okta', requestId: 'r' });
    await syncGroup(d, { groupId: 'agents', desired: { members: [] }, dryRun: true, actor: 'okta', requestId: 'r' });
    expect(dir.count('readUsers')).toBe(0);
    expect(audit.records.map((r) => r.attributes)).toEqual([null, null]);
  });
});
