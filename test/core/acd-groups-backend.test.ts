import { describe, expect, it } from 'vitest';
import { createAcdGroupsBackend, expectedCost, verificationReads } from '../../src/core/acd-groups-backend.js';
import { AgentWriteFailedError, ConflictError, RollbackFailedError, SyncDeadlineError, ValidationFailedError, WriteNotAppliedError } from '../../src/core/errors.js';
import { recoverJournal } from '../../src/core/journal-recovery.js';
import { KeyedLock } from '../../src/core/keyed-lock.js';
import type { DesiredMember } from '../../src/core/membership.js';
import type { AdminAgent } from '../../src/core/ports.js';
import { syncGroup, type SyncGroupDeps } from '../../src/core/sync-group.js';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { toHttpError } from '../../src/http/plugins/error-handler.js';
import { FakeAdminApiClient } from '../fakes/fake-admin-api-client.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { InMemoryAgentDirectory } from '../fakes/in-memory-agent-directory.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { InMemoryJournal } from '../fakes/in-memory-journal.js';
import { RecordingMetrics } from '../fakes/recording-metrics.js';

const GROUP = 5002;
const u = (value: string): DesiredMember => ({ value });
/** Agents 1..count are users u1.. (userName user1..), 999 has no userID, 9 is inactive. */
function agents(count = 40): AdminAgent[] {
  const list: AdminAgent[] = [];
  for (let id = 1; id <= count; id++) list.push({ agentId: id, userId: `u${id}`, userName: `user${id}`, isActive: id !== 9 });
  list.push({ agentId: 999, userName: 'nouserid', isActive: true });
  return list;
}

function setup(options: { members?: number[]; batchSize?: number; pageSize?: number; agentCount?: number } = {}) {
  const api = new FakeAdminApiClient();
  const all = agents(options.agentCount);
  api.addAgents(all);
  api.addGroup(GROUP, 'Tier 1', options.members ?? [1, 2, 3]);
  if (options.pageSize) api.pageSize = options.pageSize;
  const journal = new InMemoryJournal();
  const audit = new MemoryAuditLog();
  const clock = new FakeClock();
  const directory = new InMemoryDirectory();
  let n = 0;
  let e = 0;
  const newSyncId = () => `sync-${++n}`;
  const newEventId = () => `evt-${++e}`;
  const agentDirectory = new InMemoryAgentDirectory(all);
  const backend = createAcdGroupsBackend({ adminApi: api, agents: agentDirectory, journal, clock, batchSize: options.batchSize, pageSize: options.pageSize, audit, newSyncId, newEventId });
  const deps: SyncGroupDeps = {
    directory,
    backend,
    clock,
    locks: new KeyedLock(),
    audit,
    metrics: new RecordingMetrics(),
    newSyncId,
    newEventId,
    maxDepth: 3,
    maxConflictRetries: 3,
    writeMode: 'put',
    patchMaxOperations: 100,
    attributes: { entitlementMap: {}, concurrency: 4 },
  };
  const run = (members: DesiredMember[], groupId = String(GROUP)) => syncGroup(deps, { groupId, desired: { members }, dryRun: false, actor: 'okta', requestId: 'r' });
  const recoveryDeps = { adminApi: api, agents: agentDirectory, journal, batchSize: options.batchSize ?? 1000, clock, audit, newSyncId, newEventId };
  return { api, journal, audit, run, deps, recoveryDeps };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the sync to fail');
}

describe('acd-groups backend', () => {
  it('when the group is read, then its agents are reported as SCIM users by userID, else userName, else agentId, with groupName and lastUpdated', async () => {
    const { api, deps } = setup({ members: [1, 999, 777] });
    const snapshot = await deps.backend!.read(String(GROUP), { stats: { upstreamRequests: 0 } });
    expect(snapshot.group.members).toEqual([
      { value: 'u1', type: 'User' },
      { value: '777', type: 'User' },
      { value: 'nouserid', type: 'User' },
    ]);
    expect(snapshot.group.displayName).toBe('Tier 1');
    expect(snapshot.group.meta?.version).toBe(api.groups.get(GROUP)?.lastUpdated);
    expect(snapshot.etag).toBeNull();
  });

  it('when members change, then removals are sent before additions, every step journaled before it is sent, and the answer is applied with writeMode admin-api at the formula cost', async () => {
    const { api, journal, run } = setup({ members: [1, 2, 3] });
    const result = await run([u('u2'), u('u3'), u('u4'), u('user5')]);
    expect(result).toMatchObject({ status: 'applied', writeMode: 'admin-api', consistencyRate: 1, added: [{ value: 'u4' }, { value: 'u5' }], removed: [{ value: 'u1' }] });
    expect(api.members(GROUP)).toEqual([2, 3, 4, 5]);
    const writes = api.calls.filter((c) => c.startsWith('POST') || c.startsWith('DELETE'));
    expect(writes).toEqual(['DELETE [1]', 'POST [4,5]']);
    expect(journal.log).toEqual(['open', 'begin:remove', 'end:done', 'begin:add', 'end:done', 'phase:verifying', 'close']);
    // 3 members, 2 added, 1 removed: 2 + 1 page + 1 + 1 + 1 verification read of the (one-page) group
    expect(result.upstreamRequests).toBe(expectedCost(3, 2, 1, verificationReads(4, 3)));
    expect(result.upstreamRequests).toBe(6);
  });

  it('when the batch size is 2, then 5 removals go out as 3 batches, each journaled', async () => {
    const { api, journal, run } = setup({ members: [1, 2, 3, 4, 5, 6], batchSize: 2 });
    const result = await run([u('u6')]);
    expect(result.status).toBe('applied');
    expect(api.calls.filter((c) => c.startsWith('DELETE'))).toEqual(['DELETE [1,2]', 'DELETE [3,4]', 'DELETE [5]']);
    expect(journal.log.filter((l) => l === 'begin:remove')).toHaveLength(3);
    expect(result.upstreamRequests).toBe(expectedCost(6, 0, 5, 1, 1000, 2));
  });

  it('when a one-member change hits a large group, then it is verified by the changed agents own group lists (2 + pages + 1 + 1 + 2)', async () => {
    const members = Array.from({ length: 100 }, (_, i) => 11 + i);
    const { api, run } = setup({ members, pageSize: 10, agentCount: 200 });
    const result = await run([...members.slice(1).map((a) => u(`u${a}`)), u('u150')]);
    expect(result.status).toBe('applied');
    expect(api.calls.filter((c) => c.startsWith('GET agent-groups'))).toEqual(['GET agent-groups 11', 'GET agent-groups 150']);
    expect(result.upstreamRequests).toBe(expectedCost(100, 1, 1, 2, 10));
    expect(result.upstreamRequests).toBe(16);
  });

  it('when an agent of the add fails, then what was removed is put back, the group is as read, and the answer is a 502 naming the member and the provider error', async () => {
    const { api, journal, audit, run } = setup({ members: [1, 2, 3] });
    api.failing.add.add(5);
    const error = await failure(run([u('u2'), u('u3'), u('u4'), u('u5')]));
    expect(error).toBeInstanceOf(AgentWriteFailedError);
    expect(error.message).toContain('User "u5" (agent 5, add): Agent 5 could not be assigned (simulated)');
    expect(api.members(GROUP)).toEqual([1, 2, 3]);
    expect(await journal.openEntries()).toEqual([]);
    expect(journal.log).toEqual(['open', 'begin:remove', 'end:done', 'begin:add', 'end:failed', 'phase:undoing', 'begin:undo-remove', 'end:done', 'begin:undo-add', 'end:done', 'close']);
    const http = toHttpError(error);
    expect(http.status).toBe(502);
    const failed = [{ member: { value: 'u5', type: 'User' }, agentId: 5, action: 'add', error: 'Agent 5 could not be assigned (simulated)', status: 200 }];
    expect(http.body).toMatchObject({ error: 'upstream_error', upstreamStatus: 200, detail: expect.stringContaining('"u5"'), failed });
    expect(audit.records.at(-1)).toMatchObject({ status: 'upstream_error', errors: [{ code: 'upstream_error' }, { code: 'agent_failed', member: { value: 'u5', type: 'User' } }] });
    expect(audit.events.at(-1)).toMatchObject({ type: 'group.sync.failed', data: { error: 'upstream_error', failed } });
  });

  it('when an agent of the removal fails, then nothing is added and the agents removed are put back', async () => {
    const { api, run } = setup({ members: [1, 2, 3] });
    api.failing.remove.add(2);
    const error = await failure(run([u('u3'), u('u4')]));
    expect(error).toBeInstanceOf(AgentWriteFailedError);
    expect(error.message).toContain('"u2" (agent 2, remove)');
    expect(api.calls.filter((c) => c.startsWith('POST'))).toEqual(['POST [1]']);
    expect(api.members(GROUP)).toEqual([1, 2, 3]);
  });

  it('when the undo fails too, then the answer is 502 rollback_failed with the group as it is, the journal stays open, and it is recorded and emitted', async () => {
    const { api, journal, audit, run } = setup({ members: [1, 2, 3] });
    api.failing.add.add(5);
    api.failing.add.add(1); // re-adding agent 1 (the undo of its removal) fails too
    const error = await failure(run([u('u2'), u('u3'), u('u5')]));
    expect(error).toBeInstanceOf(RollbackFailedError);
    const http = toHttpError(error);
    expect(http.status).toBe(502);
    expect(http.body).toMatchObject({ error: 'rollback_failed', members: [{ value: 'u2' }, { value: 'u3' }], failed: [{ agentId: 5 }, { agentId: 1 }] });
    const open = await journal.openEntries();
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ phase: 'undoing', groupId: String(GROUP), before: { agentIds: [1, 2, 3] } });
    expect(audit.records.at(-1)).toMatchObject({ status: 'rollback_failed' });
    expect(audit.events.at(-1)).toMatchObject({ type: 'group.sync.failed', data: { error: 'rollback_failed' } });
  });

  it('when a journal entry of the group is open, then the next sync finishes the undo first, records it, and then syncs', async () => {
    const { api, journal, audit, run } = setup({ members: [1, 2, 3] });
    api.failing.add.add(5);
    api.failing.add.add(1);
    await failure(run([u('u2'), u('u3'), u('u5')]));
    api.failing.add.clear();
    const result = await run([u('u1'), u('u2'), u('u4')]);
    expect(result.status).toBe('applied');
    expect(api.members(GROUP)).toEqual([1, 2, 4]);
    expect(await journal.openEntries()).toEqual([]);
    const recovery = audit.records.find((r) => r.requestId.startsWith('recovery:'));
    expect(recovery).toMatchObject({ status: 'interrupted', actor: 'cxone-scim-sync', errors: [{ code: 'rolled_back' }] });
    expect(audit.events.some((e) => e.type === 'group.sync.failed' && (e.data as { recoveredSyncId?: string }).recoveredSyncId === 'sync-1')).toBe(true);
  });

  it('when the answer of an add is lost after it was applied, then the group is read back and the sync is applied without sending it again', async () => {
    const { api, run } = setup({ members: [1] });
    api.lose = { action: 'add', when: 'after', count: 1 };
    const result = await run([u('u1'), u('u2')]);
    expect(result.status).toBe('applied');
    expect(api.calls.filter((c) => c.startsWith('POST'))).toEqual(['POST [2]']);
    expect(api.members(GROUP)).toEqual([1, 2]);
  });

  it('when the answer of a remove is lost before it was applied, then the read-back shows it not applied, the sync is undone and answered 502', async () => {
    const { api, run } = setup({ members: [1, 2] });
    api.lose = { action: 'remove', when: 'before', count: 1 };
    const error = await failure(run([u('u1'), u('u3')]));
    expect(error).toBeInstanceOf(AgentWriteFailedError);
    expect(error.message).toContain('the answer was lost');
    expect(api.calls.filter((c) => c.startsWith('DELETE'))).toEqual(['DELETE [2]']);
    expect(api.calls.filter((c) => c.startsWith('POST'))).toEqual([]);
    expect(api.members(GROUP)).toEqual([1, 2]);
  });

  it('when the answer does not mention an agent, then it is read back rather than assumed', async () => {
    const { api, run } = setup({ members: [1] });
    api.unreported.add(2);
    const result = await run([u('u1'), u('u2')]);
    expect(result.status).toBe('applied');
    expect(api.calls.filter((c) => c === 'GET group-agents')).toHaveLength(3); // read, read-back, verification
  });

  it('when lastUpdated moved between the read and the write, then it reads and plans again', async () => {
    const { api, run } = setup({ members: [1, 2] });
    let groupReads = 0;
    api.beforeRequest = (call) => {
      if (call === 'GET group' && ++groupReads === 2) api.touch(GROUP, { add: [7] });
    };
    const result = await run([u('u1'), u('u3')]);
    expect(result.status).toBe('applied');
    expect(api.members(GROUP)).toEqual([1, 3]);
    expect(result.removed.map((m) => m.value).toSorted()).toEqual(['u2', 'u7']);
  });

  it('when lastUpdated moves before every write, then the sync ends in 409 conflict after the retries, having written nothing', async () => {
    const { api, run } = setup({ members: [1, 2] });
    let groupReads = 0;
    api.beforeRequest = (call) => {
      if (call === 'GET group' && ++groupReads % 2 === 0) api.touch(GROUP);
    };
    const error = await failure(run([u('u1'), u('u3')]));
    expect(error).toBeInstanceOf(ConflictError);
    expect(toHttpError(error).status).toBe(409);
    expect(api.calls.some((c) => c.startsWith('POST') || c.startsWith('DELETE'))).toBe(false);
  });

  it('when the group is empty (the list answered 204), then its members are added', async () => {
    const { api, run } = setup({ members: [] });
    expect(await run([])).toMatchObject({ status: 'unchanged' });
    const result = await run([u('u1'), u('u2')]);
    expect(result).toMatchObject({ status: 'applied' });
    expect(api.members(GROUP)).toEqual([1, 2]);
  });

  it('when a member of type Group is asked for, then it is refused with group_member_not_supported and nothing is written', async () => {
    const { api, run } = setup();
    const error = await failure(run([u('u1'), { value: '5003', type: 'Group' }]));
    expect(error).toBeInstanceOf(ValidationFailedError);
    expect((error as ValidationFailedError).errors).toEqual([expect.objectContaining({ code: 'group_member_not_supported', member: { value: '5003', type: 'Group' } })]);
    expect(api.calls.some((c) => c.startsWith('POST') || c.startsWith('DELETE'))).toBe(false);
  });

  it('when users are unknown, inactive or listed twice (by userID and by userName), then every one is named and nothing is written', async () => {
    const { api, run } = setup();
    const error = (await failure(run([u('u1'), u('nobody'), u('u9'), u('u2'), u('user2')]))) as ValidationFailedError;
    expect(error.errors.map((e) => [e.code, e.member.value])).toEqual([
      ['user_not_found', 'nobody'],
      ['user_inactive', 'u9'],
      ['duplicate_member', 'user2'],
    ]);
    expect(api.calls.some((c) => c.startsWith('POST') || c.startsWith('DELETE'))).toBe(false);
  });

  it('when CXone answers done but the group does not hold the change, then it is undone and answered write_not_applied', async () => {
    const { api, run } = setup({ members: [1] });
    api.ignored.add(2);
    const error = await failure(run([u('u1'), u('u2')]));
    expect(error).toBeInstanceOf(WriteNotAppliedError);
    expect(api.members(GROUP)).toEqual([1]);
  });

  it('when adding an existing member is an error and another writer added the agent (lastUpdated not moving), then the read-back counts it as done', async () => {
    const { api, run } = setup({ members: [1] });
    api.beforeRequest = (call) => {
      if (call === 'POST [2]') api.groups.get(GROUP)?.agents.add(2);
    };
    const result = await run([u('u1'), u('u2')]);
    expect(result.status).toBe('applied');
  });

  it('when the sync is cut off (its deadline) between its removal and its addition, then it answers 504, the journal stays open, and the next sync rolls it back first and then syncs', async () => {
    const { api, journal, audit, deps, run } = setup({ members: [1, 2, 3] });
    const controller = new AbortController();
    api.beforeRequest = (call) => {
      if (call === 'POST [4]') {
        controller.abort(new SyncDeadlineError(30_000));
        throw controller.signal.reason;
      }
    };
    const error = await failure(syncGroup(deps, { groupId: String(GROUP), desired: { members: [u('u2'), u('u3'), u('u4')] }, dryRun: false, actor: 'okta', requestId: 'r', signal: controller.signal }));
    expect(toHttpError(error).status).toBe(504);
    expect(api.members(GROUP)).toEqual([2, 3]);
    expect(await journal.openEntries()).toMatchObject([{ phase: 'writing', steps: [{ action: 'remove', state: 'done' }, { action: 'add', state: 'unknown' }] }]);
    api.beforeRequest = null;
    const result = await run([u('u2'), u('u3'), u('u4')]);
    expect(result.status).toBe('applied');
    expect(api.members(GROUP)).toEqual([2, 3, 4]);
    expect(await journal.openEntries()).toEqual([]);
    expect(audit.records.map((r) => r.status)).toEqual(['upstream_timeout', 'interrupted', 'applied']);
  });

  it('when a group id is not an integer, then it is group_not_found without a request', async () => {
    const { api, run } = setup();
    const error = await failure(run([u('u1')], 'tier-1'));
    expect(toHttpError(error).status).toBe(404);
    expect(api.calls).toEqual([]);
  });

  describe.each(['remove', 'add', 'undo'] as const)('when the process stops at every journal step (%s)', (where) => {
    it('then recovery puts the group back as it was read (or completes it when only the verification was missing), records it and emits its event', async () => {
      // One run to learn how many journal writes a sync makes, then a run cut off after each.
      const probe = setup({ members: [1, 2, 3], batchSize: 1 });
      if (where === 'undo') probe.api.failing.add.add(6);
      await probe.run([u('u3'), u('u4'), u('u5'), u('u6')]).catch(() => undefined);
      const steps = probe.journal.log.length;
      const results: { cut: number; members: number[]; expected: number[]; recorded?: string; event?: string }[] = [];
      const seen = new Set<string>();
      for (let cut = 1; cut < steps; cut++) {
        const s = setup({ members: [1, 2, 3], batchSize: 1 });
        if (where === 'undo') s.api.failing.add.add(6);
        let writes = 0;
        s.journal.onWrite = () => {
          if (++writes === cut) throw new Error('crash');
        };
        await s.run([u('u3'), u('u4'), u('u5'), u('u6')]).catch(() => undefined);
        s.journal.onWrite = null;
        s.api.failing.add.clear();
        const open = await s.journal.openEntries();
        const recovered = await recoverJournal(s.recoveryDeps);
        expect(await s.journal.openEntries()).toEqual([]);
        expect(recovered).toHaveLength(open.length);
        if (open.length === 0) continue;
        seen.add(`${open[0]?.phase}:${recovered[0]?.outcome}`);
        // completed only when the cut came after every step answered; rolled back otherwise
        const expected = recovered[0]?.outcome === 'completed' && open[0]?.phase === 'verifying' ? (where === 'undo' ? [1, 2, 3] : [3, 4, 5, 6]) : [1, 2, 3];
        results.push({ cut, members: s.api.members(GROUP), expected, recorded: s.audit.records.at(-1)?.requestId, event: (s.audit.events.at(-1)?.data as { recoveredSyncId?: string } | undefined)?.recoveredSyncId });
        expect(s.audit.verify().ok).toBe(true);
      }
      for (const r of results) expect(r).toMatchObject({ members: r.expected, recorded: expect.stringMatching(/^recovery:sync-/), event: expect.stringMatching(/^sync-/) });
      expect(results.length).toBeGreaterThan(3);
      expect([...seen].some((k) => k.endsWith(':rolled_back'))).toBe(true);
    });
  });
});
