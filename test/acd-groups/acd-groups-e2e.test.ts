/**
 * The acd-groups backend against the embedded simulator as CXone is published (SCIM
 * /Groups off), in every setting of what the published material leaves open: whether a
 * group's lastUpdated moves on assignment, whether adding a member again is a success or
 * an error, whether an empty list is 204 or 200.
 */
import { describe, expect, it } from 'vitest';
import { expectedCost, verificationReads } from '../../src/core/acd-groups-backend.js';
import { seedIds } from '../../src/simulator/simulator.js';
import { startRig, type AcdRig } from './acd-harness.js';

const A = seedIds.agents;
const TIER1 = seedIds.acdGroups.tier1Support;
const EMPTY = seedIds.acdGroups.contactCenterAgents;

const settings = [false, true].flatMap((membershipMovesLastUpdated) =>
  (['error', 'success'] as const).flatMap((addExisting) => ([204, 200] as const).map((emptyList) => ({ membershipMovesLastUpdated, addExisting, emptyList }))),
);

async function userIdOf(rig: AcdRig, agentId: number): Promise<string> {
  const agent = (await rig.agents.byAgentIds([agentId], { stats: { upstreamRequests: 0 } })).get(agentId);
  return agent?.userId ?? agent?.userName ?? String(agentId);
}

describe.each(settings)('acd-groups against the simulator (%o)', (behaviours) => {
  let rig: AcdRig;

  it('when a group changes, then the simulator holds exactly the desired agents, the answer is applied at the formula cost, and the next sync is unchanged', async () => {
    rig = await startRig({ behaviours });
    const before = rig.members(TIER1);
    const kept = before.slice(2);
    const desired = [...(await Promise.all(kept.map((a) => userIdOf(rig, a)))), await userIdOf(rig, A.lauraGarcia), await userIdOf(rig, A.nadiaAhmed)];
    const first = await rig.sync(TIER1, desired.map((value) => ({ value })));
    expect(first.status).toBe(200);
    expect(first.result).toMatchObject({ status: 'applied', writeMode: 'admin-api', consistencyRate: 1 });
    expect(rig.members(TIER1)).toEqual([...kept, A.lauraGarcia, A.nadiaAhmed].toSorted((a, b) => a - b));
    expect(first.result?.upstreamRequests).toBe(expectedCost(before.length, 2, 2, verificationReads(desired.length, 4)));
    const again = await rig.sync(TIER1, desired.map((value) => ({ value })));
    expect(again.result).toMatchObject({ status: 'unchanged', upstreamRequests: 2 });
  });

  it('when the group is empty, then it reads as empty and the members are added; emptied again, it is empty', async () => {
    rig = await startRig({ behaviours });
    const laura = await userIdOf(rig, A.lauraGarcia);
    expect((await rig.sync(EMPTY, [])).result?.status).toBe('unchanged');
    expect((await rig.sync(EMPTY, [{ value: laura }])).result?.status).toBe('applied');
    expect(rig.members(EMPTY)).toEqual([A.lauraGarcia]);
    expect((await rig.sync(EMPTY, [])).result?.status).toBe('applied');
    expect(rig.members(EMPTY)).toEqual([]);
  });

  it('when one agent of the add fails upstream, then the removals are undone, the group is as it was, and the answer is 502 naming that member and CXone error', async () => {
    rig = await startRig({ behaviours, faults: { agentFailures: { agentIds: [A.nadiaAhmed], ratio: 0, operations: ['add'], error: 'Agent cannot be assigned' } } });
    const before = rig.members(TIER1);
    const desired = [...(await Promise.all(before.slice(1).map((a) => userIdOf(rig, a)))), await userIdOf(rig, A.lauraGarcia), await userIdOf(rig, A.nadiaAhmed)];
    const answer = await rig.sync(TIER1, desired.map((value) => ({ value })));
    expect(answer.status).toBe(502);
    expect(answer.body).toMatchObject({ error: 'upstream_error' });
    expect(String(answer.body.message)).toContain(`${await userIdOf(rig, A.nadiaAhmed)}" (agent ${A.nadiaAhmed}, add): Agent cannot be assigned`);
    expect(rig.members(TIER1)).toEqual(before);
    expect(await rig.journal.openEntries()).toEqual([]);
  });

  it('when the connection drops after an add was applied (crash point after), then the group is read back and the sync is applied; before it was applied, it is undone and 502', async () => {
    rig = await startRig({ behaviours, faults: { crash: { when: 'after', routes: ['POST admin/groups/{groupId}/agents'], count: 1 } } });
    const before = rig.members(TIER1);
    const plus = [...(await Promise.all(before.map((a) => userIdOf(rig, a)))), await userIdOf(rig, A.lauraGarcia)];
    expect((await rig.sync(TIER1, plus.map((value) => ({ value })))).result?.status).toBe('applied');
    expect(rig.members(TIER1)).toContain(A.lauraGarcia);
    rig.simulator.setFaults({ crash: { when: 'before', routes: ['DELETE admin/groups/{groupId}/agents'], count: 1 } });
    const answer = await rig.sync(TIER1, plus.slice(1).map((value) => ({ value })));
    expect(answer.status).toBe(502);
    expect(String(answer.body.message)).toContain('the answer was lost');
    expect(rig.members(TIER1)).toEqual([...before, A.lauraGarcia].toSorted((a, b) => a - b));
  });

  it('when a third of the requests are throttled (429, with and without Retry-After), then the sync is applied all the same', async () => {
    rig = await startRig({ behaviours, faults: { throttle: { ratio: 0.3, retryAfterSeconds: null } } });
    const before = rig.members(TIER1);
    const desired = [...(await Promise.all(before.slice(3).map((a) => userIdOf(rig, a)))), await userIdOf(rig, A.lauraGarcia)];
    const answer = await rig.sync(TIER1, desired.map((value) => ({ value })));
    expect(answer.status).toBe(200);
    expect(rig.members(TIER1)).toEqual([...before.slice(3), A.lauraGarcia].toSorted((a, b) => a - b));
  });

  it('when the answer to the removal is held, then the removal is visible upstream while the addition is not sent yet (an intermediate state), and the sync is applied once it goes', async () => {
    rig = await startRig({ behaviours });
    const before = rig.members(TIER1);
    const desired = [...(await Promise.all(before.slice(1).map((a) => userIdOf(rig, a)))), await userIdOf(rig, A.lauraGarcia)];
    const hold = rig.simulator.holdNextWrite({ method: 'DELETE', api: 'admin' });
    const running = rig.sync(TIER1, desired.map((value) => ({ value })));
    await hold.held;
    const between = rig.members(TIER1);
    expect(between).not.toContain(before[0]);
    hold.release();
    expect((await running).result?.status).toBe('applied');
    // The hold keeps the answer back, not the write: the removal is applied, the addition not sent yet.
    expect(between).toEqual(before.slice(1));
  });
});

describe('acd-groups against the simulator: a failed undo', () => {
  it('when every add fails (the undo of the removal too), then 502 rollback_failed with the group as it is and the journal open; once CXone takes adds again, the next sync finishes the undo first', async () => {
    const rig = await startRig({ dataDir: true, faults: { agentFailures: { agentIds: [], ratio: 1, operations: ['add'], error: 'Assignments are disabled' } } });
    const before = rig.members(TIER1);
    const desired = [...(await Promise.all(before.slice(1).map((a) => userIdOf(rig, a)))), await userIdOf(rig, A.lauraGarcia)];
    const answer = await rig.sync(TIER1, desired.map((value) => ({ value })));
    expect(answer.status).toBe(502);
    expect(answer.body).toMatchObject({ error: 'rollback_failed', members: expect.any(Array), failed: expect.arrayContaining([expect.objectContaining({ agentId: A.lauraGarcia, action: 'add' })]) });
    expect((answer.body.members as unknown[]).length).toBe(before.length - 1);
    expect(await rig.journal.openEntries()).toHaveLength(1);
    expect((await rig.audit.listRecords({ limit: 1 })).items[0]).toMatchObject({ status: 'rollback_failed' });
    rig.simulator.setFaults({ agentFailures: null });
    const next = await rig.sync(TIER1, (await Promise.all(before.map((a) => userIdOf(rig, a)))).map((value) => ({ value })));
    expect(next.result?.status).toBe('unchanged');
    expect(rig.members(TIER1)).toEqual(before);
    expect(await rig.journal.openEntries()).toEqual([]);
    const records = (await rig.audit.listRecords({ limit: 3 })).items.map((r) => r.status);
    expect(records).toEqual(['unchanged', 'interrupted', 'rollback_failed']);
    expect((await rig.audit.verifyChain()).ok).toBe(true);
  });
});

describe('acd-groups against the simulator: input and paging', () => {
  it('when a Group member, an unknown user or an inactive agent is asked for, then 422 names each and nothing is written', async () => {
    const rig = await startRig();
    const answer = await rig.sync(TIER1, [{ value: seedIds.users.isabelCosta }, { value: 'no-such-user' }, { value: String(EMPTY), type: 'Group' }]);
    expect(answer.status).toBe(422);
    expect((answer.body.errors as { code: string }[]).map((e) => e.code).toSorted()).toEqual(['group_member_not_supported', 'user_inactive', 'user_not_found']);
    expect(rig.simulator.stats.byRoute['DELETE admin/groups/{groupId}/agents'] ?? 0).toBe(0);
  });

  it('when a page of a large group changes between requests (pageShift), then the group is read again and the sync is applied', async () => {
    const rig = await startRig({ faults: { pageShift: { change: 'add', groupId: seedIds.acdGroups.overflowQueue, agentId: A.svenLind + 0, count: 1 } } });
    const group = seedIds.acdGroups.overflowQueue;
    const current = rig.members(group);
    const desired = await Promise.all(current.slice(0, 1000).map((a) => userIdOf(rig, a)));
    const answer = await rig.sync(group, desired.map((value) => ({ value })));
    expect(answer.status).toBe(200);
    expect(rig.members(group)).toEqual(current.slice(0, 1000));
  });

  it('when one member of a 10,000-member group is swapped (one in, one out), then the sync costs 2 + 10 pages + 1 + 1 + 2 verification reads = 16 requests, as the simulator counts them', async () => {
    const rig = await startRig();
    const created = await fetch(`${rig.simulator.url}/_simulator/acd-groups`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ groupName: 'Ten thousand', agentCount: 10_001, memberCount: 10_000 }) });
    const load = (await created.json()) as { groupId: number; agentIds: number[] };
    await rig.agents.refresh({ stats: { upstreamRequests: 0 } });
    const named = await rig.agents.byAgentIds(load.agentIds, { stats: { upstreamRequests: 0 } });
    const value = (agentId: number) => named.get(agentId)?.userId ?? named.get(agentId)?.userName ?? String(agentId);
    const desired = [...load.agentIds.slice(1, 10_000), load.agentIds[10_000] as number].map((a) => ({ value: value(a) }));
    rig.simulator.stats.reset();
    const answer = await rig.sync(load.groupId, desired);
    expect(answer.result).toMatchObject({ status: 'applied', upstreamRequests: 16 });
    expect(rig.adminRequests()).toBe(16);
    expect(rig.members(load.groupId)).toEqual(load.agentIds.slice(1).toSorted((a, b) => a - b));
  }, 60_000);
});
