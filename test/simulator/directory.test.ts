/**
 * The CXone side of the seed (teams, agents, ACD groups) and how agents and SCIM users stay
 * one: every SCIM user is an agent whose userID is its id; userName, active and team agree
 * whichever side is written; NICE's user extension carries the team; PATCH takes CXone's
 * {path, value} form.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NICE_USER_URN, createSimulator, seedIds } from '../../src/simulator/simulator.js';
import { PATCH_SCHEMA, USER_SCHEMA, closeSimulators, startSimulator } from './harness.js';

afterEach(closeSimulators);

const { agents, teams, acdGroups, users } = seedIds;

const newUser = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER_SCHEMA],
  userName,
  name: { givenName: 'Grace', familyName: 'Hopper' },
  emails: [{ value: userName, type: 'work', primary: true }],
  active: true,
  ...extra,
});

/** CXone's PATCH: Operations of {path, value}, values as strings, no "op". */
const cxonePatch = (...Operations: { path: string; value: string }[]) => ({ schemas: [PATCH_SCHEMA], Operations });

describe('simulator directory seed', () => {
  it('when the default seed loads, then every SCIM user is an agent, some agents have no SCIM user, and every agent is in one team', () => {
    const { store, directory } = createSimulator();
    expect(store.userCount).toBe(40);
    expect(directory.agentCount).toBe(40 + 5 + 1050);
    const alice = directory.getAgent(agents.aliceSmith);
    expect(alice).toMatchObject({ userID: users.aliceSmith, userName: 'alice.smith@example.com', firstName: 'Alice', lastName: 'Smith', isActive: true, teamId: teams.engineering, teamName: 'Engineering' });
    expect(directory.findAgentByUserId(users.isabelCosta)).toMatchObject({ agentId: agents.isabelCosta, isActive: false });
    for (const [name, id] of Object.entries(users)) expect({ name, agentId: directory.findAgentByUserId(id)?.agentId }).toEqual({ name, agentId: agents[name as keyof typeof agents] });
    const tomas = directory.getAgent(agents.tomasVega);
    expect(tomas).toMatchObject({ userName: 'tomas.vega@contractors.example.com', teamId: teams.support });
    expect(store.getUser(tomas?.userID as string)).toBeUndefined();
    expect(directory.getAgent(agents.oluBankole)?.isActive).toBe(false);
    expect(directory.getAgent(agents.lastOverflow)).toMatchObject({ teamId: teams.overflow, isActive: true });
    expect(directory.fallbackTeamId).toBe(teams.defaultTeam);
    expect(directory.listTeams().map((team) => team.teamId)).toEqual(Object.values(teams).toSorted((a, b) => a - b));
    expect(directory.getTeam(teams.defaultTeam)?.isDefault).toBe(true);
  });

  it('when the default seed loads, then the ACD groups are empty, several and larger than a page', () => {
    const { directory } = createSimulator();
    expect(directory.getGroup(acdGroups.contactCenterAgents)?.agentIds).toEqual([]);
    const tier1 = directory.getGroup(acdGroups.tier1Support);
    expect(tier1?.agentIds).toHaveLength(12);
    expect(tier1?.agentIds).toContain(agents.carmenRodriguez);
    expect(tier1?.agentIds).toContain(agents.raniaAziz);
    expect(tier1?.agentIds).toContain(agents.tomasVega);
    expect(directory.getGroup(acdGroups.escalations)?.agentIds).toEqual([agents.bobJohnson, agents.isabelCosta, 1023, 1024, 1025, agents.priyaRaman]);
    expect(directory.getGroup(acdGroups.overflowQueue)?.agentIds.length).toBe(1052);
    expect(directory.agentGroupIds(agents.bobJohnson)).toEqual([acdGroups.escalations]);
    expect(directory.agentGroupIds(agents.aliceSmith)).toEqual([]);
  });

  it('when a seed has users but no CXone part, then each user gets an agent in one default team', () => {
    const { directory } = createSimulator({ seed: { users: [{ id: 'u1', userName: 'u1@example.com' }, { id: 'u2', userName: 'u2@example.com', active: false }], groups: [] } });
    expect(directory.listTeams()).toHaveLength(1);
    expect(directory.findAgentByUserId('u1')).toMatchObject({ agentId: 1, teamId: directory.fallbackTeamId, isActive: true });
    expect(directory.findAgentByUserId('u2')).toMatchObject({ agentId: 2, isActive: false });
  });

  it('when a seed refers to a missing team or agent, then it is refused', () => {
    const base = { users: [], groups: [], teams: [{ teamId: 1, teamName: 'T' }] };
    expect(() => createSimulator({ seed: { ...base, agents: [{ agentId: 1, userID: 'x', userName: 'x@example.com', teamId: 2 }] } })).toThrow(/seed is invalid.*team 2/);
    expect(() => createSimulator({ seed: { ...base, acdGroups: [{ groupId: 1, groupName: 'G', agentIds: [9] }] } })).toThrow(/seed is invalid.*agent 9/);
    expect(() => createSimulator({ seed: { ...base, agents: [{ agentId: 1, userID: 'x', teamId: 1 }] } })).toThrow(/seed is invalid.*userName/);
  });
});

describe('simulator users and agents stay one', () => {
  it('when a user is created through SCIM, then it gets an agent whose userID is its id, in the fallback team, and its team in the NICE extension', async () => {
    const { request, simulator } = await startSimulator();
    const created = await request('POST', '/scim/v2/Users', { body: newUser('grace.hopper@example.com') });
    expect(created.status).toBe(201);
    const team = simulator.directory.getTeam(teams.defaultTeam);
    expect(created.body[NICE_USER_URN]).toEqual({ team: { value: team?.teamUuId, display: 'Default Team' } });
    const agent = simulator.directory.findAgentByUserId(created.body.id);
    expect(agent).toMatchObject({ userName: 'grace.hopper@example.com', firstName: 'Grace', lastName: 'Hopper', emailAddress: 'grace.hopper@example.com', isActive: true, teamId: teams.defaultTeam });
    expect(agent?.agentId).toBeGreaterThan(agents.lastOverflow);
  });

  it('when a user is created with a team by integer id or by UUID, then the agent is in that team', async () => {
    const { request, simulator } = await startSimulator();
    const support = simulator.directory.getTeam(teams.support);
    const byId = await request('POST', '/scim/v2/Users', { body: newUser('a@example.com', { [NICE_USER_URN]: { team: { value: String(teams.support) } } }) });
    expect(byId.body[NICE_USER_URN].team).toEqual({ value: support?.teamUuId, display: 'Support' });
    expect(simulator.directory.findAgentByUserId(byId.body.id)?.teamId).toBe(teams.support);
    const byUuid = await request('POST', '/scim/v2/Users', { body: newUser('b@example.com', { [NICE_USER_URN]: { team: { value: simulator.directory.getTeam(teams.platform)?.teamUuId } } }) });
    expect(simulator.directory.findAgentByUserId(byUuid.body.id)?.teamId).toBe(teams.platform);
  });

  it('when a user names no team or a taken agent userName, then 400 or 409 and no agent is made', async () => {
    const { request, simulator } = await startSimulator();
    const before = simulator.directory.agentCount;
    const noTeam = await request('POST', '/scim/v2/Users', { body: newUser('c@example.com', { [NICE_USER_URN]: { team: { value: '999999' } } }) });
    expect([noTeam.status, noTeam.body.scimType]).toEqual([400, 'invalidValue']);
    expect(noTeam.body.detail).toContain('team');
    const badShape = await request('POST', '/scim/v2/Users', { body: newUser('d@example.com', { [NICE_USER_URN]: 'Support' }) });
    expect([badShape.status, badShape.body.scimType]).toEqual([400, 'invalidValue']);
    const taken = await request('POST', '/scim/v2/Users', { body: newUser('TOMAS.VEGA@contractors.example.com') });
    expect([taken.status, taken.body.scimType]).toEqual([409, 'uniqueness']);
    expect(simulator.directory.agentCount).toBe(before);
  });

  it('when a user is patched in the {path, value} form CXone takes, then active, userName and team follow on the agent', async () => {
    const { request, simulator } = await startSimulator();
    const path = `/scim/v2/Users/${users.lauraGarcia}`;
    const inactive = await request('PATCH', path, { body: cxonePatch({ path: 'active', value: 'False' }) });
    expect(inactive.status).toBe(200);
    expect(inactive.body.active).toBe(false);
    expect(simulator.directory.getAgent(agents.lauraGarcia)?.isActive).toBe(false);

    const moved = await request('PATCH', path, { body: cxonePatch({ path: `${NICE_USER_URN}:team.value`, value: String(teams.contactCenter) }, { path: 'userName', value: 'laura.g@example.com' }) });
    expect(moved.status).toBe(200);
    expect(moved.body[NICE_USER_URN].team.display).toBe('Contact Center');
    expect(simulator.directory.getAgent(agents.lauraGarcia)).toMatchObject({ teamId: teams.contactCenter, userName: 'laura.g@example.com' });

    const whole = await request('PATCH', path, { body: cxonePatch({ path: `${NICE_USER_URN}:team`, value: String(teams.platform) }, { path: 'name.givenName', value: 'Lau' }) });
    expect(whole.status).toBe(200);
    expect(simulator.directory.getAgent(agents.lauraGarcia)).toMatchObject({ teamId: teams.platform, firstName: 'Lau' });
    const bad = await request('PATCH', path, { body: cxonePatch({ path: 'active', value: 'maybe' }) });
    expect([bad.status, bad.body.scimType]).toEqual([400, 'invalidValue']);
  });

  it('when a user is replaced without its extension, then it keeps its team', async () => {
    const { request, simulator } = await startSimulator();
    const replaced = await request('PUT', `/scim/v2/Users/${users.aliceSmith}`, { body: newUser('alice.smith@example.com') });
    expect(replaced.status).toBe(200);
    expect(replaced.body[NICE_USER_URN].team.display).toBe('Engineering');
    expect(simulator.directory.getAgent(agents.aliceSmith)).toMatchObject({ teamId: teams.engineering, firstName: 'Grace' });
  });

  it('when the admin side moves or deactivates an agent, then its SCIM user follows and its version moves', async () => {
    const { request, simulator } = await startSimulator();
    const before = await request('GET', `/scim/v2/Users/${users.davidKim}`);
    simulator.directory.updateAgent(agents.davidKim, { teamId: teams.support, isActive: false });
    const after = await request('GET', `/scim/v2/Users/${users.davidKim}`);
    expect(after.body.active).toBe(false);
    expect(after.body[NICE_USER_URN].team).toEqual({ value: simulator.directory.getTeam(teams.support)?.teamUuId, display: 'Support' });
    expect(after.headers.get('etag')).not.toBe(before.headers.get('etag'));
    // An agent without a SCIM user changes alone.
    expect(simulator.directory.updateAgent(agents.tomasVega, { teamId: teams.platform }).teamId).toBe(teams.platform);
    expect(() => simulator.directory.updateAgent(agents.tomasVega, { teamId: 999 })).toThrow(/Team 999/);
  });

  it('when a SCIM user is deleted, then its agent stays, deactivated', async () => {
    const { request, simulator } = await startSimulator();
    expect((await request('DELETE', `/scim/v2/Users/${users.aliceSmith}`)).status).toBe(204);
    expect(simulator.directory.getAgent(agents.aliceSmith)).toMatchObject({ userID: users.aliceSmith, isActive: false });
  });

  it('when a projection leaves the extension out, then schemas names the core schema only', async () => {
    const { request } = await startSimulator();
    const only = await request('GET', `/scim/v2/Users/${users.aliceSmith}?attributes=userName`);
    expect(only.body.schemas).toEqual([USER_SCHEMA]);
    const withTeam = await request('GET', `/scim/v2/Users/${users.aliceSmith}?attributes=${NICE_USER_URN}:team`);
    expect(withTeam.body.schemas).toEqual([USER_SCHEMA, NICE_USER_URN]);
    expect(withTeam.body[NICE_USER_URN].team.display).toBe('Engineering');
  });

  it('when the store is reset, then the CXone side comes back with it', async () => {
    const { simulator } = await startSimulator();
    simulator.directory.updateAgent(agents.aliceSmith, { teamId: teams.support });
    simulator.directory.addAgents(acdGroups.contactCenterAgents, [agents.aliceSmith]);
    simulator.store.reset();
    expect(simulator.directory.getAgent(agents.aliceSmith)?.teamId).toBe(teams.engineering);
    expect(simulator.directory.getGroup(acdGroups.contactCenterAgents)?.agentIds).toEqual([]);
  });
});
