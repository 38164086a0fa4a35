/**
 * The admin API's agents (GET /agents with its narrowing and paging, GET /agents/{id},
 * GET /agents/{id}/groups, PUT /agents) and the user-management teams, as the generated
 * client calljacob/nice-cxone-api publishes them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NICE_USER_URN, seedIds } from '../../src/simulator/simulator.js';
import { ADMIN_API, closeSimulators, linksOf, startSimulator } from './harness.js';

afterEach(closeSimulators);

const { agents, teams, acdGroups, users } = seedIds;
const TOTAL_AGENTS = 40 + 5 + 1050;

describe('simulator admin API: agents', () => {
  it('when GET /agents pages with skip and top, then totalRecords, lastPollTime and _links say where the pages are', async () => {
    const { api, url } = await startSimulator();
    const first = await api('GET', '/agents?top=10');
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toContain('application/json');
    expect(first.body).toMatchObject({ businessUnitId: expect.any(Number), totalRecords: TOTAL_AGENTS, lastPollTime: expect.any(String) });
    expect(first.body.agents).toHaveLength(10);
    expect(first.body.agents[0]).toMatchObject({ agentId: agents.aliceSmith, userID: users.aliceSmith, userName: 'alice.smith@example.com', isActive: true, teamId: teams.engineering, teamName: 'Engineering', teamUuId: expect.any(String) });
    expect(linksOf(first.body)).toEqual({ self: `${url}${ADMIN_API}/agents?top=10`, next: `${url}${ADMIN_API}/agents?top=10&skip=10`, previous: null });
    const second = await api('GET', new URL(linksOf(first.body).next).pathname.slice(ADMIN_API.length) + new URL(linksOf(first.body).next).search);
    expect(second.body.agents[0].agentId).toBe(1011);
    expect(linksOf(second.body).previous).toBe(`${url}${ADMIN_API}/agents?top=10&skip=0`);

    const last = await api('GET', `/agents?skip=${TOTAL_AGENTS - 5}&top=10`);
    expect(last.body.agents).toHaveLength(5);
    expect(linksOf(last.body).next).toBeNull();
    expect((await api('GET', '/agents')).body.agents).toHaveLength(100);
    expect((await api('GET', '/agents?top=5000')).body.agents).toHaveLength(1000);
  });

  it('when GET /agents is narrowed by fields, isActive, searchString and updateSince, then only those agents and fields come back', async () => {
    let now = Date.parse('2026-04-01T08:00:00Z');
    const { api, simulator } = await startSimulator({ now: () => now });
    const narrow = await api('GET', '/agents?fields=agentId,userID&top=2');
    expect(narrow.body.agents).toEqual([
      { agentId: agents.aliceSmith, userID: users.aliceSmith },
      { agentId: agents.bobJohnson, userID: users.bobJohnson },
    ]);
    const inactive = await api('GET', '/agents?isActive=false&fields=agentId');
    expect(inactive.body.agents.map((agent: { agentId: number }) => agent.agentId)).toEqual([agents.isabelCosta, agents.raniaAziz, agents.dmitriVolkov, agents.marcusJohansson, agents.oluBankole]);
    const search = await api('GET', '/agents?searchString=CONTRACTORS&fields=agentId');
    expect(search.body.totalRecords).toBe(5);

    now += 30_000;
    const poll = await api('GET', '/agents?top=1');
    expect(poll.body.lastPollTime).toBe('2026-04-01T08:00:30.000Z');
    // updateSince is inclusive: what changed at the poll time itself comes back again rather than never.
    expect((await api('GET', `/agents?updateSince=${encodeURIComponent('2026-04-01T08:00:00Z')}&top=1`)).body.totalRecords).toBe(TOTAL_AGENTS);
    now += 30_000;
    simulator.directory.updateAgent(agents.tomasVega, { teamId: teams.platform });
    const since = await api('GET', `/agents?updateSince=${encodeURIComponent(poll.body.lastPollTime)}&fields=agentId,teamId,lastUpdated`);
    expect(since.body.agents).toEqual([{ agentId: agents.tomasVega, teamId: teams.platform, lastUpdated: '2026-04-01T08:01:00.000Z' }]);
    expect(since.body.totalRecords).toBe(1);
  });

  it('when GET /agents gets bad parameters, then 400 names the parameter', async () => {
    const { api } = await startSimulator();
    for (const [query, name] of [['skip=-1', 'skip'], ['top=0', 'top'], ['top=ten', 'top'], ['updateSince=yesterday', 'updateSince'], ['isActive=yes', 'isActive']]) {
      const answer = await api('GET', `/agents?${query}`);
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({ error: 'InvalidRequest', errorDescription: expect.stringContaining(name as string) });
    }
  });

  it('when an agent is read by agentId or by userId, then {agents: [agent]} answers, and an unknown one 404', async () => {
    const { api } = await startSimulator();
    const byId = await api('GET', `/agents/${agents.davidKim}`);
    expect(byId.body.agents).toHaveLength(1);
    expect(byId.body.agents[0]).toMatchObject({ agentId: agents.davidKim, userID: users.davidKim });
    const byUser = await api('GET', `/agents/${users.davidKim}?fields=agentId`);
    expect(byUser.body).toEqual({ agents: [{ agentId: agents.davidKim }] });
    const missing = await api('GET', '/agents/999999');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('NotFound');
  });

  it.each([204, 200] as const)('when emptyList is %i, then an agent in no ACD group answers its empty group list that way', async (emptyList) => {
    const { api } = await startSimulator({ behaviours: { emptyList } });
    const groups = await api('GET', `/agents/${agents.bobJohnson}/groups`);
    expect(groups.status).toBe(200);
    expect(groups.body.agentGroups).toEqual([{ groupId: acdGroups.escalations, groupName: 'Escalations', notes: expect.any(String), isActive: true, lastUpdated: expect.any(String) }]);
    const none = await api('GET', `/agents/${agents.aliceSmith}/groups`);
    expect(none.status).toBe(emptyList);
    expect(none.body).toEqual(emptyList === 204 ? undefined : { agentGroups: [] });
    expect((await api('GET', '/agents/abc/groups')).status).toBe(400);
    const noAgents = await api('GET', '/agents?searchString=nobody-at-all');
    expect(noAgents.status).toBe(emptyList);
    expect(noAgents.body?.agents).toEqual({ 204: undefined, 200: [] }[emptyList]);
  });

  it('when PUT /agents moves agents between teams, then each agent answers, the SCIM user follows, and failures are per agent', async () => {
    const { api, request, simulator } = await startSimulator();
    const platformUuid = simulator.directory.getTeam(teams.platform)?.teamUuId;
    const answer = await api('PUT', '/agents', {
      body: {
        agents: [
          { agentId: String(agents.aliceSmith), teamId: String(teams.contactCenter) },
          { agentId: agents.tomasVega, teamUuid: platformUuid },
          { agentId: agents.davidKim, teamId: 999 },
          { agentId: 999999, teamId: teams.support },
          { agentId: agents.lauraGarcia, isActive: false },
        ],
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      errorCount: 2,
      agentResults: [
        { agentId: String(agents.aliceSmith), success: true, error: null },
        { agentId: String(agents.tomasVega), success: true, error: null },
        { agentId: String(agents.davidKim), success: false, error: 'Team 999 was not found' },
        { agentId: '999999', success: false, error: 'Agent 999999 was not found' },
        { agentId: String(agents.lauraGarcia), success: true, error: null },
      ],
    });
    expect(simulator.directory.getAgent(agents.aliceSmith)?.teamId).toBe(teams.contactCenter);
    expect(simulator.directory.getAgent(agents.tomasVega)?.teamId).toBe(teams.platform);
    expect(simulator.directory.getAgent(agents.davidKim)?.teamId).toBe(teams.engineering);
    const alice = await request('GET', `/scim/v2/Users/${users.aliceSmith}`);
    expect(alice.body[NICE_USER_URN].team.display).toBe('Contact Center');
    expect((await request('GET', `/scim/v2/Users/${users.lauraGarcia}`)).body.active).toBe(false);
  });

  it('when PUT /agents is malformed or too large, then 400 names the field and nothing changes', async () => {
    const { api, simulator } = await startSimulator({ capabilities: { adminMaxBatch: 2 } });
    for (const [body, field] of [
      [{}, 'agents'],
      [{ agents: [] }, 'agents'],
      [{ agents: [{ teamId: 3001 }] }, 'agents[0].agentId'],
      [{ agents: [{ agentId: 1001, teamId: 'x' }] }, 'agents[0].teamId'],
      [{ agents: [{ agentId: 1001, isActive: 'no' }] }, 'agents[0].isActive'],
      [{ agents: [{ agentId: 1001 }, { agentId: 1002 }, { agentId: 1003 }] }, 'at most 2'],
    ] as const) {
      const answer = await api('PUT', '/agents', { body });
      expect(answer.status).toBe(400);
      expect(answer.body.errorDescription).toContain(field);
    }
    expect((await api('PUT', '/agents', { body: 'not json' })).status).toBe(400);
    expect((await api('PUT', '/agents', { body: { agents: [{ agentId: 1001 }] }, headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect(simulator.directory.getAgent(agents.aliceSmith)?.teamId).toBe(teams.engineering);
  });

  it('when the bearer token is missing or read-only, then 401 or 403 with a Bearer challenge, in the admin API error shape', async () => {
    const { api, token } = await startSimulator();
    const none = await api('GET', '/agents', { token: null });
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: 'Unauthorized', errorDescription: expect.any(String) });
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const readOnly = await token({ scope: 'provisioning:read' });
    expect((await api('GET', '/agents?top=1', { token: readOnly })).status).toBe(200);
    const write = await api('PUT', '/agents', { token: readOnly, body: { agents: [{ agentId: 1001, teamId: 3000 }] } });
    expect(write.status).toBe(403);
    expect(write.headers.get('www-authenticate')).toContain('insufficient_scope');
  });

  it('when the version is outside v26.0–v34.0 or the route is unknown, then 404; a wrong method 405', async () => {
    const { request, api } = await startSimulator();
    expect((await request('GET', '/incontactapi/services/v26.0/agents?top=1')).status).toBe(200);
    expect((await request('GET', '/incontactapi/services/v34.0/agents?top=1')).status).toBe(200);
    const old = await request('GET', '/incontactapi/services/v25.0/agents');
    expect(old.status).toBe(404);
    expect(old.body.errorDescription).toContain('v26.0 to v34.0');
    expect((await request('GET', '/incontactapi/services/v35.0/agents')).status).toBe(404);
    expect((await api('GET', '/skills')).status).toBe(404);
    const wrong = await api('DELETE', '/agents');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, PUT');
  });

  it('when admin-API requests are made, then the statistics count them by route', async () => {
    const { api, simulator } = await startSimulator();
    await api('GET', '/agents?top=1');
    await api('GET', `/agents/${agents.aliceSmith}`);
    await api('GET', `/groups/${acdGroups.escalations}/agents`);
    expect(simulator.stats.byRoute).toMatchObject({ 'GET admin/agents': 1, 'GET admin/agents/{agentId}': 1, 'GET admin/groups/{groupId}/agents': 1 });
  });
});

describe('simulator user-management teams', () => {
  const search = '/user-management/v4/teams/search';

  it('when teams are searched, then every team answers with its UUID id, name and status; filters, paging and order apply', async () => {
    const { request, simulator } = await startSimulator();
    const json = { 'content-type': 'application/json' };
    const all = await request('POST', search, { body: {}, headers: json });
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ totalRecords: 6, skip: 0 });
    const defaultTeam = simulator.directory.getTeam(teams.defaultTeam);
    expect(all.body.teams[0]).toEqual({ id: defaultTeam?.teamUuId, name: 'Default Team', description: expect.any(String), status: 'ACTIVE', leadUserId: null, isDefault: true });
    const like = await request('POST', search, { body: { filter: { name: ['%port%'] }, operations: { name: 'LIKE' } }, headers: json });
    expect(like.body.teams.map((team: { name: string }) => team.name)).toEqual(['Support']);
    const byId = await request('POST', search, { body: { filter: { id: [simulator.directory.getTeam(teams.platform)?.teamUuId] } }, headers: json });
    expect(byId.body.teams.map((team: { name: string }) => team.name)).toEqual(['Platform']);
    const page = await request('POST', search, { body: { skip: 2, top: 2, orderBy: { name: 'DESC' } }, headers: json });
    expect(page.body.teams.map((team: { name: string }) => team.name)).toEqual(['Overflow', 'Engineering']);
    const bad = await request('POST', search, { body: { filter: { name: 'Support' } }, headers: json });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ code: 'InvalidRequest', details: expect.stringContaining('filter.name') });
  });

  it('when a team is created, then TeamResponse carries its new UUID id, it is listed and read, and PUT /agents can move agents into it by either id', async () => {
    const { request, simulator } = await startSimulator();
    const json = { 'content-type': 'application/json' };
    const created = await request('POST', '/user-management/v3/teams', { body: { name: 'Escalations', status: 'ACTIVE', description: 'Tier 2' }, headers: json });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ httpCode: 201, team: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'Escalations', status: 'ACTIVE', isDefault: false } });
    const uuid = created.body.team.id as string;
    const team = simulator.directory.listTeams().find((candidate) => candidate.teamUuId === uuid);
    expect(team).toMatchObject({ teamName: 'Escalations' });
    expect(team?.teamId).toBeGreaterThan(Math.max(...Object.values(teams)));
    expect((await request('GET', `/user-management/v3/teams/${uuid}`)).body.team).toMatchObject({ id: uuid, name: 'Escalations', description: 'Tier 2' });
    const found = await request('POST', search, { body: { filter: { name: ['escalations'] } }, headers: json });
    expect(found.body).toMatchObject({ totalRecords: 1, teams: [{ id: uuid, name: 'Escalations' }] });
    const moved = await request('PUT', `${ADMIN_API}/agents`, { body: { agents: [{ agentId: String(agents.aliceSmith), teamUuid: uuid }] }, headers: json });
    expect(moved.body).toEqual({ errorCount: 0, agentResults: [{ agentId: String(agents.aliceSmith), success: true, error: null }] });
    const alice = await request('GET', `${ADMIN_API}/agents/${agents.aliceSmith}?fields=teamId,teamUuId`);
    expect(alice.body.agents[0]).toEqual({ teamId: team?.teamId, teamUuId: uuid });
  });

  it('when a team is created with a name another team has, or without name or status, then 409 or 400 {code, details}, and nothing is created', async () => {
    const { request, simulator } = await startSimulator();
    const json = { 'content-type': 'application/json' };
    const before = simulator.directory.listTeams().length;
    const taken = await request('POST', '/user-management/v3/teams', { body: { name: 'support', status: 'ACTIVE' }, headers: json });
    expect(taken.status).toBe(409);
    expect(taken.body).toEqual({ code: 'CONFLICT', details: expect.stringContaining('support') });
    expect((await request('POST', '/user-management/v3/teams', { body: { status: 'ACTIVE' }, headers: json })).body).toEqual({ code: 'InvalidRequest', details: 'name is required' });
    expect((await request('POST', '/user-management/v3/teams', { body: { name: 'X' }, headers: json })).status).toBe(400);
    expect(simulator.directory.listTeams()).toHaveLength(before);
  });

  it('when a team is updated with PUT /user-management/v3/teams, then its name and status change; an unknown id 404, a taken name 409', async () => {
    const { request, simulator } = await startSimulator();
    const json = { 'content-type': 'application/json' };
    const uuid = simulator.directory.getTeam(teams.platform)?.teamUuId as string;
    const renamed = await request('PUT', '/user-management/v3/teams', { body: { id: uuid, name: 'Platform Ops', status: 'ACTIVE' }, headers: json });
    expect(renamed.status).toBe(200);
    expect(renamed.body.team).toMatchObject({ id: uuid, name: 'Platform Ops', status: 'ACTIVE' });
    expect(simulator.directory.getTeam(teams.platform)?.teamName).toBe('Platform Ops');
    expect((await request('PUT', '/user-management/v3/teams', { body: { id: '00000000-0000-0000-0000-000000000000', name: 'X', status: 'ACTIVE' }, headers: json })).status).toBe(404);
    expect((await request('PUT', '/user-management/v3/teams', { body: { id: uuid, name: 'Support', status: 'ACTIVE' }, headers: json })).status).toBe(409);
    expect(simulator.directory.getTeam(teams.platform)?.teamName).toBe('Platform Ops');
  });

  it('when a team is read by its id, then {team} answers; an unknown id 404', async () => {
    const { request, simulator } = await startSimulator();
    const uuid = simulator.directory.getTeam(teams.support)?.teamUuId as string;
    const team = await request('GET', `/user-management/v3/teams/${uuid}`);
    expect(team.body.team).toMatchObject({ id: uuid, name: 'Support', status: 'ACTIVE' });
    const missing = await request('GET', '/user-management/v3/teams/00000000-0000-0000-0000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('NOT_FOUND');
  });
});
