/**
 * The admin API's ACD groups: list, create, read, rename, their agents page by page, and the
 * add and remove calls that answer per agent. Every behaviour NICE leaves open runs with
 * both settings.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/simulator.js';
import { type Answer, ADMIN_API, closeSimulators, linksOf, startSimulator } from './harness.js';

afterEach(closeSimulators);

const { agents, acdGroups, teams } = seedIds;
const agentsBody = (...ids: number[]) => ({ agents: ids.map((agentId) => ({ agentId })) });

/** The path and query of an absolute `_links` URL, relative to the admin API. */
function relative(link: string): string {
  const url = new URL(link);
  return url.pathname.slice(ADMIN_API.length) + url.search;
}

describe('simulator admin API: groups', () => {
  it('when GET /groups pages, then groups answer in order with _links', async () => {
    const { api } = await startSimulator();
    const page = await api('GET', '/groups?top=3');
    expect(page.status).toBe(200);
    expect(page.body.totalRecords).toBe(4);
    expect(page.body.groups.map((group: { groupId: number }) => group.groupId)).toEqual([acdGroups.contactCenterAgents, acdGroups.tier1Support, acdGroups.escalations]);
    expect(page.body.groups[0]).toEqual({ groupId: acdGroups.contactCenterAgents, groupName: 'Contact Center Agents', notes: expect.any(String), isActive: true, lastUpdated: expect.any(String) });
    const rest = await api('GET', relative(linksOf(page.body).next));
    expect(rest.body.groups.map((group: { groupId: number }) => group.groupId)).toEqual([acdGroups.overflowQueue]);
    expect(linksOf(rest.body).next).toBeNull();
  });

  it('when groups are created, then each answers in groupResults; a taken or empty name fails alone', async () => {
    const { api, simulator } = await startSimulator();
    const created = await api('POST', '/groups', { body: { groups: [{ groupName: 'Night Shift', notes: 'n' }, { groupName: 'escalations' }, { groupName: '' }, { groupName: 'Weekend', isActive: false }] } });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      errorCount: 2,
      groupResults: [
        { success: true, groupId: 5005, error: null },
        { success: false, groupId: null, error: expect.stringContaining('already exists') },
        { success: false, groupId: null, error: 'groupName is required' },
        { success: true, groupId: 5006, error: null },
      ],
    });
    expect(simulator.directory.getGroup(5006)).toMatchObject({ groupName: 'Weekend', isActive: false, agentIds: [] });
    expect((await api('POST', '/groups', { body: { groups: [{ groupName: 7 }] } })).body.errorDescription).toContain('groups[0].groupName');
  });

  it('when a group is read, then it answers as an array of one; unknown is 404 and a non-integer id 400', async () => {
    const { api } = await startSimulator();
    const one = await api('GET', `/groups/${acdGroups.escalations}`);
    expect(one.body).toEqual({ totalRecords: 1, groups: [{ groupId: acdGroups.escalations, groupName: 'Escalations', notes: expect.any(String), isActive: true, lastUpdated: expect.any(String) }] });
    expect((await api('GET', '/groups/999999')).status).toBe(404);
    const bad = await api('GET', '/groups/abc');
    expect(bad.status).toBe(400);
    expect(bad.body.errorDescription).toContain('groupId');
  });

  it('when a group is renamed with query parameters, then 204, the name and notes change and lastUpdated moves', async () => {
    let now = Date.parse('2026-05-01T10:00:00Z');
    const { api, simulator } = await startSimulator({ now: () => now });
    now += 1000;
    const renamed = await api('PUT', `/groups/${acdGroups.escalations}?groupName=${encodeURIComponent('Escalations (L2)')}&notes=second%20line`);
    expect(renamed.status).toBe(204);
    expect(simulator.directory.getGroup(acdGroups.escalations)).toMatchObject({ groupName: 'Escalations (L2)', notes: 'second line', lastUpdated: '2026-05-01T10:00:01.000Z' });
    expect((await api('PUT', `/groups/${acdGroups.escalations}`)).status).toBe(400);
    expect((await api('PUT', `/groups/${acdGroups.escalations}?groupName=Tier%201%20Support`)).status).toBe(400);
    expect((await api('PUT', '/groups/999999?groupName=x')).status).toBe(404);
  });

  it('when a large group is read page by page, then following _links.next yields every agent once, and totalRecords holds', async () => {
    const { api, simulator } = await startSimulator();
    const seen: number[] = [];
    let answer: Answer = await api('GET', `/groups/${acdGroups.overflowQueue}/agents?top=1000`);
    for (;;) {
      expect(answer.status).toBe(200);
      expect(answer.body.totalRecords).toBe(1052);
      seen.push(...answer.body.agents.map((agent: { agentId: number }) => agent.agentId));
      if (linksOf(answer.body).next === null) break;
      answer = await api('GET', relative(linksOf(answer.body).next));
    }
    expect(seen).toEqual(simulator.directory.getGroup(acdGroups.overflowQueue)?.agentIds);
    expect(seen).toHaveLength(1052);
    expect(new Set(seen).size).toBe(1052);
  });

  it('when a group lists its agents, then they carry no userID (as published), and assigned=false lists the others', async () => {
    const { api } = await startSimulator();
    const page = await api('GET', `/groups/${acdGroups.escalations}/agents`);
    expect(page.body.agents.map((agent: { agentId: number }) => agent.agentId)).toEqual([agents.bobJohnson, agents.isabelCosta, 1023, 1024, 1025, agents.priyaRaman]);
    expect(page.body.agents[0]).toMatchObject({ agentId: agents.bobJohnson, userName: 'bob.johnson@example.com', isActive: true, teamId: teams.defaultTeam, teamName: 'Default Team' });
    expect(page.body.agents[0].userID).toBeUndefined();
    const others = await api('GET', `/groups/${acdGroups.escalations}/agents?assigned=false&top=1&fields=agentId`);
    expect(others.body).toMatchObject({ totalRecords: 40 + 5 + 1050 - 6, agents: [{ agentId: agents.aliceSmith }] });
    expect((await api('GET', '/groups/999999/agents')).status).toBe(404);
  });

  it.each([204, 200] as const)('when emptyList is %i, then an empty group lists its agents that way', async (emptyList) => {
    const { api, simulator } = await startSimulator({ behaviours: { emptyList } });
    const empty = await api('GET', `/groups/${acdGroups.contactCenterAgents}/agents`);
    expect(empty.status).toBe(emptyList);
    const expected = { 204: undefined, 200: expect.objectContaining({ totalRecords: 0, agents: [] }) }[emptyList];
    expect(empty.body).toEqual(expected);
    const noGroups = await api('GET', '/groups?skip=100');
    expect(noGroups.status).toBe(emptyList);
    // The setting can change while running.
    simulator.setBehaviours({ emptyList: emptyList === 204 ? 200 : 204 });
    expect((await api('GET', `/groups/${acdGroups.contactCenterAgents}/agents`)).status).toBe(emptyList === 204 ? 200 : 204);
  });
});

describe('simulator admin API: adding and removing agents', () => {
  it('when agents are added and removed, then every agent answers and the group holds the result', async () => {
    const { api, simulator } = await startSimulator();
    const group = acdGroups.contactCenterAgents;
    const added = await api('POST', `/groups/${group}/agents`, { body: agentsBody(agents.aliceSmith, agents.davidKim, agents.tomasVega) });
    expect(added.status).toBe(200);
    expect(added.body).toEqual({
      errorCount: 0,
      agentResults: [agents.aliceSmith, agents.davidKim, agents.tomasVega].map((agentId) => ({ agentId, success: true, error: null })),
    });
    expect(simulator.directory.getGroup(group)?.agentIds).toEqual([agents.aliceSmith, agents.davidKim, agents.tomasVega]);
    expect(simulator.directory.agentGroupIds(agents.aliceSmith)).toEqual([group]);

    const removed = await api('DELETE', `/groups/${group}/agents`, { body: agentsBody(agents.davidKim, 999999) });
    expect(removed.body).toEqual({
      errorCount: 1,
      agentResults: [
        { agentId: agents.davidKim, success: true, error: null },
        { agentId: 999999, success: false, error: 'Agent 999999 was not found' },
      ],
    });
    expect(simulator.directory.getGroup(group)?.agentIds).toEqual([agents.aliceSmith, agents.tomasVega]);
    const groups = await api('GET', `/agents/${agents.aliceSmith}/groups`);
    expect(groups.body.agentGroups.map((g: { groupId: number }) => g.groupId)).toEqual([group]);
  });

  it('when an add or remove is malformed, too large or names an unknown group, then 400 or 404 and nothing changes', async () => {
    const { api, simulator } = await startSimulator({ capabilities: { adminMaxBatch: 2 } });
    const group = `/groups/${acdGroups.contactCenterAgents}/agents`;
    for (const [body, field] of [
      [{}, '"agents"'],
      [{ agents: [] }, '"agents"'],
      [{ agents: [{ agentId: 'x' }] }, 'agents[0].agentId'],
      [{ agents: [{ agentId: 1.5 }] }, 'agents[0].agentId'],
      [{ agents: [1001] }, 'agents[0]'],
      [agentsBody(1001, 1002, 1003), 'at most 2'],
    ] as const) {
      const answer = await api('POST', group, { body });
      expect(answer.status).toBe(400);
      expect(answer.body.errorDescription).toContain(field);
    }
    expect((await api('POST', '/groups/999999/agents', { body: agentsBody(1001) })).status).toBe(404);
    expect(simulator.directory.getGroup(acdGroups.contactCenterAgents)?.agentIds).toEqual([]);
  });

  it.each(['error', 'success'] as const)('when addExisting is %s, then adding a member answers so and changes nothing', async (addExisting) => {
    const { api, simulator } = await startSimulator({ behaviours: { addExisting } });
    const answer = await api('POST', `/groups/${acdGroups.escalations}/agents`, { body: agentsBody(agents.bobJohnson, agents.aliceSmith) });
    const expected = {
      error: { agentId: agents.bobJohnson, success: false, error: expect.stringContaining('already assigned') },
      success: { agentId: agents.bobJohnson, success: true, error: null },
    }[addExisting];
    expect(answer.body.agentResults[0]).toEqual(expected);
    expect(answer.body.agentResults[1]).toEqual({ agentId: agents.aliceSmith, success: true, error: null });
    expect(answer.body.errorCount).toBe(addExisting === 'error' ? 1 : 0);
    expect(simulator.directory.getGroup(acdGroups.escalations)?.agentIds).toHaveLength(7);
  });

  it.each(['error', 'success'] as const)('when removeAbsent is %s, then removing a non-member answers so', async (removeAbsent) => {
    const { api, simulator } = await startSimulator({ behaviours: { removeAbsent } });
    const answer = await api('DELETE', `/groups/${acdGroups.escalations}/agents`, { body: agentsBody(agents.aliceSmith, agents.bobJohnson) });
    const expected = {
      error: { agentId: agents.aliceSmith, success: false, error: expect.stringContaining('not assigned') },
      success: { agentId: agents.aliceSmith, success: true, error: null },
    }[removeAbsent];
    expect(answer.body.agentResults[0]).toEqual(expected);
    expect(answer.body.agentResults[1]).toEqual({ agentId: agents.bobJohnson, success: true, error: null });
    expect(simulator.directory.getGroup(acdGroups.escalations)?.agentIds).toHaveLength(5);
  });

  it.each([false, true])('when membershipMovesLastUpdated is %s, then an assignment moves the group lastUpdated or leaves it', async (membershipMovesLastUpdated) => {
    let now = Date.parse('2026-05-01T10:00:00Z');
    const { api, simulator } = await startSimulator({ now: () => now, behaviours: { membershipMovesLastUpdated } });
    const before = (await api('GET', `/groups/${acdGroups.escalations}`)).body.groups[0].lastUpdated;
    now += 5_000;
    await api('POST', `/groups/${acdGroups.escalations}/agents`, { body: agentsBody(agents.aliceSmith) });
    const afterAdd = (await api('GET', `/groups/${acdGroups.escalations}`)).body.groups[0].lastUpdated;
    expect(afterAdd).toBe(membershipMovesLastUpdated ? '2026-05-01T10:00:05.000Z' : before);
    now += 5_000;
    await api('DELETE', `/groups/${acdGroups.escalations}/agents`, { body: agentsBody(agents.aliceSmith) });
    expect((await api('GET', `/groups/${acdGroups.escalations}`)).body.groups[0].lastUpdated).toBe(membershipMovesLastUpdated ? '2026-05-01T10:00:10.000Z' : before);
    // An answer that changed nothing never moves it.
    now += 5_000;
    await api('DELETE', `/groups/${acdGroups.escalations}/agents`, { body: agentsBody(agents.aliceSmith) });
    expect(simulator.directory.getGroup(acdGroups.escalations)?.lastUpdated).toBe(membershipMovesLastUpdated ? '2026-05-01T10:00:10.000Z' : before);
  });

  it('when behaviours are set badly, then a RangeError names the field', async () => {
    const { simulator } = await startSimulator();
    expect(() => simulator.setBehaviours({ emptyList: 404 as never })).toThrow(/emptyList/);
    expect(() => simulator.setBehaviours({ addExisting: 'ignore' as never })).toThrow(/addExisting/);
    expect(() => simulator.setBehaviours({ nope: true } as never)).toThrow(/unknown behaviour/);
    expect(simulator.behaviours).toEqual({ membershipMovesLastUpdated: false, addExisting: 'error', removeAbsent: 'error', emptyList: 204 });
  });
});
