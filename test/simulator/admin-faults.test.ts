/**
 * Fault knobs of the admin API: per-agent failures, 429 with and without Retry-After,
 * latency, a page that changes between reads, crash points, a held write answer, and the
 * /_simulator routes that set them (and the open behaviours) from another process.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/simulator/faults.js';
import { seedIds } from '../../src/simulator/simulator.js';
import { ADMIN_API, closeSimulators, linksOf, readAnswer, startSimulator, type Answer } from './harness.js';

afterEach(closeSimulators);

const { agents, acdGroups, teams } = seedIds;
const agentsBody = (...ids: number[]) => ({ agents: ids.map((agentId) => ({ agentId })) });

async function admin(url: string, method: string, path: string, body?: unknown): Promise<Answer> {
  return readAnswer(
    await fetch(`${url}/_simulator${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }),
  );
}

function next(answer: Answer): string {
  const link = new URL(linksOf(answer.body).next);
  return link.pathname.slice(ADMIN_API.length) + link.search;
}

describe('simulator admin-API faults', () => {
  it('when agentFailures names agents, then those answer success false with the error and the rest apply', async () => {
    const { api, simulator } = await startSimulator({ faults: { agentFailures: { agentIds: [agents.davidKim], error: 'Agent is locked' } } });
    const answer = await api('POST', `/groups/${acdGroups.contactCenterAgents}/agents`, { body: agentsBody(agents.aliceSmith, agents.davidKim, agents.lauraGarcia) });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      errorCount: 1,
      agentResults: [
        { agentId: agents.aliceSmith, success: true, error: null },
        { agentId: agents.davidKim, success: false, error: 'Agent is locked' },
        { agentId: agents.lauraGarcia, success: true, error: null },
      ],
    });
    expect(simulator.directory.getGroup(acdGroups.contactCenterAgents)?.agentIds).toEqual([agents.aliceSmith, agents.lauraGarcia]);
    expect(simulator.faults.agentFailures).toEqual({ agentIds: [agents.davidKim], ratio: 0, operations: ['add', 'remove', 'update'], error: 'Agent is locked' });
  });

  it('when agentFailures has a ratio, then the seeded PRNG picks the same agents every run, and only the named operations fail', async () => {
    const run = async (): Promise<boolean[]> => {
      const { api } = await startSimulator({ random: mulberry32(42), faults: { agentFailures: { ratio: 0.5, operations: ['remove'] } } });
      const ids = [agents.bobJohnson, agents.isabelCosta, 1023, 1024, 1025, agents.priyaRaman];
      const added = await api('POST', `/groups/${acdGroups.contactCenterAgents}/agents`, { body: agentsBody(...ids) });
      expect(added.body.errorCount).toBe(0);
      const removed = await api('DELETE', `/groups/${acdGroups.escalations}/agents`, { body: agentsBody(...ids) });
      expect(removed.body.agentResults.filter((result: { success: boolean }) => !result.success).every((result: { error: string }) => result.error.includes('injected'))).toBe(true);
      return removed.body.agentResults.map((result: { success: boolean }) => result.success);
    };
    const first = await run();
    expect(first).toContain(true);
    expect(first).toContain(false);
    expect(await run()).toEqual(first);
  });

  it('when agentFailures covers updates, then PUT /agents fails those agents and leaves their team', async () => {
    const { api, simulator } = await startSimulator({ faults: { agentFailures: { agentIds: [agents.aliceSmith], operations: ['update'] } } });
    const answer = await api('PUT', '/agents', { body: { agents: [{ agentId: agents.aliceSmith, teamId: teams.support }, { agentId: agents.davidKim, teamId: teams.support }] } });
    expect(answer.body.errorCount).toBe(1);
    expect(answer.body.agentResults[0]).toEqual({ agentId: String(agents.aliceSmith), success: false, error: expect.stringContaining('injected') });
    expect(simulator.directory.getAgent(agents.aliceSmith)?.teamId).toBe(teams.engineering);
    expect(simulator.directory.getAgent(agents.davidKim)?.teamId).toBe(teams.support);
    // Group writes are not in its operations.
    expect((await api('POST', `/groups/${acdGroups.contactCenterAgents}/agents`, { body: agentsBody(agents.aliceSmith) })).body.errorCount).toBe(0);
  });

  it.each([
    [5, '5'],
    [null, null],
  ])('when throttle is set with Retry-After %j, then admin-API requests answer 429 in its error shape', async (retryAfterSeconds, header) => {
    const { api, simulator, token } = await startSimulator();
    const bearer = await token();
    simulator.setFaults({ throttle: { ratio: 1, retryAfterSeconds } });
    const limited = await api('GET', `/groups/${acdGroups.escalations}/agents`, { token: bearer });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe(header);
    expect(limited.body).toEqual({ error: 'TooManyRequests', errorDescription: expect.any(String) });
    expect(simulator.stats.byStatus['429']).toBe(1);
  });

  it('when a latency is set, then admin-API answers wait for it and still succeed', async () => {
    const { api, simulator } = await startSimulator({ faults: { latencyMs: 25 } });
    const started = performance.now();
    expect((await api('GET', `/groups/${acdGroups.escalations}`)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(20);
    expect(simulator.faults.latencyMs).toBe(25);
  });

  it('when pageShift removes an agent between page reads, then the next page skips one and totalRecords drops', async () => {
    const { api, simulator } = await startSimulator({ faults: { pageShift: { groupId: acdGroups.overflowQueue, change: 'remove' } } });
    const first = await api('GET', `/groups/${acdGroups.overflowQueue}/agents?top=500`);
    expect(first.body.totalRecords).toBe(1052);
    // The first agent of the list left while the reader held page one.
    expect(simulator.directory.getGroup(acdGroups.overflowQueue)?.agentIds).not.toContain(agents.svenLind);
    const second = await api('GET', next(first));
    expect(second.body.totalRecords).toBe(1051);
    const seen = [...first.body.agents, ...second.body.agents].map((agent: { agentId: number }) => agent.agentId);
    expect(new Set(seen).size).toBe(1000);
    const third = await api('GET', next(second));
    expect(third.body.agents).toHaveLength(51);
    // count 1: it happened once.
    expect(simulator.faults.pageShift).toBeNull();
    // The reader saw the agent that left, and never saw one that stayed.
    const all = [...seen, ...third.body.agents.map((agent: { agentId: number }) => agent.agentId)];
    expect(new Set(all).size).toBe(1051);
    expect(all).toContain(agents.svenLind);
    expect(simulator.directory.getGroup(acdGroups.overflowQueue)?.agentIds.filter((agentId) => !all.includes(agentId))).toHaveLength(1);
  });

  it('when pageShift adds an agent between page reads, then the next page repeats one and totalRecords grows', async () => {
    const { api, simulator } = await startSimulator({ faults: { pageShift: { change: 'add', count: null } } });
    const first = await api('GET', `/groups/${acdGroups.escalations}/agents?top=4`);
    // The agent with the lowest id outside the group joined, ahead of the reader.
    expect(simulator.directory.getGroup(acdGroups.escalations)?.agentIds[0]).toBe(agents.aliceSmith);
    const second = await api('GET', next(first));
    expect(second.body.totalRecords).toBe(7);
    expect(second.body.agents[0].agentId).toBe(first.body.agents[3].agentId);
    // A last page (no next) changes nothing.
    expect(simulator.directory.getGroup(acdGroups.escalations)?.agentIds).toHaveLength(7);
    expect(simulator.faults.pageShift).toEqual({ groupId: null, change: 'add', agentId: null, count: null });
  });

  it('when a crash point is set before an add, then the connection drops and nothing is applied; after, the add is applied', async () => {
    const { api, simulator, token } = await startSimulator();
    const bearer = await token();
    const path = `/groups/${acdGroups.contactCenterAgents}/agents`;
    simulator.setFaults({ crash: { when: 'before', routes: ['POST admin/groups/{groupId}/agents'] } });
    await expect(api('POST', path, { body: agentsBody(agents.aliceSmith), token: bearer })).rejects.toThrow(TypeError);
    expect(simulator.directory.getGroup(acdGroups.contactCenterAgents)?.agentIds).toEqual([]);
    simulator.setFaults({ crash: { when: 'after', routes: ['POST admin/groups/{groupId}/agents', 'PUT admin/agents'], count: 2 } });
    await expect(api('POST', path, { body: agentsBody(agents.aliceSmith), token: bearer })).rejects.toThrow(TypeError);
    expect(simulator.directory.getGroup(acdGroups.contactCenterAgents)?.agentIds).toEqual([agents.aliceSmith]);
    // Reads never crash.
    expect((await api('GET', path, { token: bearer })).status).toBe(200);
    await expect(api('PUT', '/agents', { body: { agents: [{ agentId: agents.aliceSmith, teamId: teams.support }] }, token: bearer })).rejects.toThrow(TypeError);
    expect(simulator.directory.getAgent(agents.aliceSmith)?.teamId).toBe(teams.support);
    expect(simulator.stats.byStatus['0']).toBe(3);
    expect(simulator.faults.crash).toBeNull();
  });

  it('when an admin-API write is held, then its answer waits until another write to the group lands, and shows its own results', async () => {
    const { api, url, simulator, token } = await startSimulator();
    const bearer = await token();
    const path = `/groups/${acdGroups.contactCenterAgents}/agents`;
    const armed = await admin(url, 'PUT', '/hold', { method: 'POST', api: 'admin' });
    expect(armed.body).toEqual({ state: 'armed', method: 'POST', api: 'admin' });
    // A write of another kind passes by.
    expect((await api('DELETE', path, { body: agentsBody(agents.bobJohnson), token: bearer })).status).toBe(200);
    const first = api('POST', path, { body: agentsBody(agents.aliceSmith), token: bearer });
    expect((await admin(url, 'GET', '/hold?until=held')).body).toEqual({ state: 'held', method: 'POST', api: 'admin' });
    expect(simulator.directory.getGroup(acdGroups.contactCenterAgents)?.agentIds).toEqual([agents.aliceSmith]);
    const second = await api('DELETE', path, { body: agentsBody(agents.aliceSmith), token: bearer });
    expect(second.body.errorCount).toBe(0);
    const late = await first;
    expect(late.body).toEqual({ errorCount: 0, agentResults: [{ agentId: agents.aliceSmith, success: true, error: null }] });
    expect(simulator.directory.getGroup(acdGroups.contactCenterAgents)?.agentIds).toEqual([]);
    expect(simulator.writeHold?.state).toBe('released');
    expect((await admin(url, 'PUT', '/hold', { api: 'ldap' })).status).toBe(400);
  });

  it('when a PUT /agents is held, then a later move touching the same team lets it go', async () => {
    const { api, simulator, token } = await startSimulator();
    const bearer = await token();
    const hold = simulator.holdNextWrite({ api: 'admin', method: 'PUT' });
    const first = api('PUT', '/agents', { body: { agents: [{ agentId: agents.aliceSmith, teamId: teams.contactCenter }] }, token: bearer });
    await hold.held;
    await api('PUT', '/agents', { body: { agents: [{ agentId: agents.davidKim, teamId: teams.contactCenter }] }, token: bearer });
    expect((await first).body.errorCount).toBe(0);
    expect(hold.state).toBe('released');
  });

  it('when admin-API faults are set through /_simulator/faults, then they are validated and merged', async () => {
    const { url, simulator } = await startSimulator();
    const ok = await admin(url, 'PUT', '/faults', { agentFailures: { ratio: 0.05 }, pageShift: { change: 'remove' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ agentFailures: { agentIds: [], ratio: 0.05, operations: ['add', 'remove', 'update'], error: null }, pageShift: { groupId: null, change: 'remove', agentId: null, count: 1 } });
    expect(simulator.faults.agentFailures?.ratio).toBe(0.05);
    for (const [bad, field] of [
      [{ agentFailures: { ratio: 2 } }, 'agentFailures'],
      [{ agentFailures: { agentIds: ['x'] } }, 'agentFailures'],
      [{ agentFailures: { operations: ['rename'] } }, 'agentFailures'],
      [{ pageShift: { change: 'swap' } }, 'pageShift'],
      [{ pageShift: { change: 'add', groupId: 0 } }, 'pageShift'],
    ] as const) {
      const answer = await admin(url, 'PUT', '/faults', bad);
      expect(answer.status).toBe(400);
      expect(answer.body.message).toContain(field);
    }
    expect((await admin(url, 'PUT', '/faults', { agentFailures: null, pageShift: null })).body).toMatchObject({ agentFailures: null, pageShift: null });
  });
});

describe('simulator /_simulator routes for the CXone side', () => {
  it('when behaviours are read and written over /_simulator/behaviours, then PUT merges and validates them', async () => {
    const { url, simulator, api } = await startSimulator();
    expect((await admin(url, 'GET', '/behaviours')).body).toEqual({ membershipMovesLastUpdated: false, addExisting: 'error', removeAbsent: 'error', emptyList: 204 });
    const put = await admin(url, 'PUT', '/behaviours', { emptyList: 200, addExisting: 'success' });
    expect(put.body).toEqual({ membershipMovesLastUpdated: false, addExisting: 'success', removeAbsent: 'error', emptyList: 200 });
    expect(simulator.behaviours.emptyList).toBe(200);
    expect((await api('GET', `/groups/${acdGroups.contactCenterAgents}/agents`)).status).toBe(200);
    const bad = await admin(url, 'PUT', '/behaviours', { removeAbsent: 'maybe' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('removeAbsent');
  });

  it('when a load ACD group is created, then its agents and members are there, and reset brings the seed back', async () => {
    const { url, simulator, api } = await startSimulator();
    const created = await admin(url, 'POST', '/acd-groups', { groupName: 'Load 10k', agentCount: 10_000, memberCount: 9_000, inactiveCount: 10 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ groupName: 'Load 10k', memberCount: 9_000 });
    expect(created.body.agentIds).toHaveLength(10_000);
    expect(created.body.inactiveAgentIds).toHaveLength(10);
    expect(created.body.userIds).toHaveLength(10_000);
    const first = (await api('GET', `/agents/${created.body.agentIds[0]}`)).body;
    expect(first.agents?.[0]?.userID ?? first.userID).toBe(created.body.userIds[0]);
    const page = await api('GET', `/groups/${created.body.groupId}/agents?top=1000`);
    expect(page.body.totalRecords).toBe(9_000);
    expect((await api('GET', '/agents?top=1')).body.totalRecords).toBe(40 + 5 + 1050 + 10_000);
    expect((await admin(url, 'POST', '/acd-groups', { groupName: 'x', agentCount: -1 })).status).toBe(400);
    expect((await admin(url, 'POST', '/acd-groups', { groupName: 'Escalations', agentCount: 1 })).status).toBe(400);
    expect((await admin(url, 'POST', '/reset')).status).toBe(204);
    expect(simulator.directory.getGroup(created.body.groupId)).toBeUndefined();
    expect(simulator.directory.agentCount).toBe(40 + 5 + 1050);
  });
});
