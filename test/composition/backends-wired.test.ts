/**
 * The membership backends as the service wires them (MEMBERSHIP_BACKEND, the store's agent
 * map and journal, the recovery of open writes at start), end to end over loopback against
 * the simulator as CXone publishes it: no SCIM /Groups.
 */
import { describe, expect, it } from 'vitest';
import type { GroupLockService } from '../../src/core/ports.js';
import { seedIds } from '../../src/simulator/simulator.js';
import { buildFullApp } from '../helpers/full-app.js';

const CLIENT = { clientId: 'sync', clientSecret: 'sync-secret-value' };
const auth = { authorization: 'Bearer okta-token-value-0123456789' };
const env = { SYNC_API_TOKENS: 'okta:okta-token-value-0123456789' };
const users = seedIds.users;
const ctx = () => ({ stats: { upstreamRequests: 0 } });

async function sync(app: Awaited<ReturnType<typeof buildFullApp>>['app'], groupId: string | number, members: readonly { value: string; type?: string }[]) {
  const response = await app.inject({ method: 'POST', url: `/groups/${groupId}/sync`, headers: auth, payload: { members } });
  return { status: response.statusCode, body: response.json() as Record<string, unknown> };
}

describe('the membership backends as the service wires them', () => {
  it('when MEMBERSHIP_BACKEND=auto finds no SCIM /Groups, then it syncs the ACD group through the admin API, verified and audited, and /readyz names acd-groups', async () => {
    const full = await buildFullApp({ env, ...CLIENT, simulator: { scimGroups: false } });
    const members = [users.aliceSmith, users.davidKim, users.carmenRodriguez].map((value) => ({ value, type: 'User' }));
    // auto's probe (SCIM GET /Groups, then GET /Users), before the counting starts.
    expect(await full.membership.selector.resolve()).toMatchObject({ state: 'chosen', name: 'acd-groups', by: 'probe' });
    full.simulator.stats.reset();

    const first = await sync(full.app, seedIds.acdGroups.contactCenterAgents, members);
    expect(first.status).toBe(200);
    // The user attribute sync is about SCIM groups (a user's `groups`): it does not run for an ACD group, so no SCIM user is read.
    expect(full.simulator.stats.byRoute['GET Users']).toBeUndefined();
    expect(first.body.upstreamRequests).toBe(full.simulator.stats.total - (full.simulator.stats.byRoute['POST auth/token'] ?? 0) - (full.simulator.stats.byRoute['POST oauth'] ?? 0));
    expect(first.body).toMatchObject({ status: 'applied', backend: 'acd-groups', memberCount: 3, consistencyRate: 1 });
    const held = await full.directory.adminApi.listGroupAgents(seedIds.acdGroups.contactCenterAgents, ctx());
    expect(held?.agents.map((a) => a.agentId).toSorted()).toEqual([seedIds.agents.aliceSmith, seedIds.agents.carmenRodriguez, seedIds.agents.davidKim]);

    const again = await sync(full.app, seedIds.acdGroups.contactCenterAgents, members);
    expect(again.body).toMatchObject({ status: 'unchanged', backend: 'acd-groups' });
    const record = await full.store.findSync(first.body.syncId as string);
    expect(record).toMatchObject({ status: 'applied', backend: 'acd-groups', writeMode: 'admin-api', attributes: null });
    const ready = await full.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json()).toMatchObject({ backend: { setting: 'auto', name: 'acd-groups', chosenBy: 'probe' } });
  });

  it('when an ACD group sync names an inactive user, an unknown one and a group, then 422 lists all three and nothing is written', async () => {
    const full = await buildFullApp({ env: { ...env, MEMBERSHIP_BACKEND: 'acd-groups' }, ...CLIENT, simulator: { scimGroups: false } });
    const before = await full.directory.adminApi.listGroupAgents(seedIds.acdGroups.contactCenterAgents, ctx());
    full.simulator.stats.reset();
    const answer = await sync(full.app, seedIds.acdGroups.contactCenterAgents, [
      { value: users.isabelCosta, type: 'User' },
      { value: 'u-404', type: 'User' },
      { value: String(seedIds.acdGroups.escalations), type: 'Group' },
    ]);
    expect(answer.status).toBe(422);
    expect((answer.body.errors as { code: string }[]).map((e) => e.code).toSorted()).toEqual(['group_member_not_supported', 'user_inactive', 'user_not_found']);
    const writes = Object.keys(full.simulator.stats.byRoute).filter((key) => /^(POST|PUT|DELETE|PATCH) /.test(key) && !/token|oauth/.test(key));
    expect(writes).toEqual([]);
    const after = await full.directory.adminApi.listGroupAgents(seedIds.acdGroups.contactCenterAgents, ctx());
    expect(after?.agents.map((a) => a.agentId)).toEqual(before?.agents.map((a) => a.agentId));
  });

  it('when MEMBERSHIP_BACKEND=teams, then a team sync moves the agents by PUT /agents, and a removed user goes to TEAMS_FALLBACK_TEAM_ID', async () => {
    const full = await buildFullApp({ env: { ...env, MEMBERSHIP_BACKEND: 'teams', TEAMS_FALLBACK_TEAM_ID: String(seedIds.teams.defaultTeam) }, ...CLIENT, simulator: { scimGroups: false } });
    const team = seedIds.teams.contactCenter;
    const first = await sync(full.app, team, [{ value: users.aliceSmith, type: 'User' }, { value: users.lauraGarcia, type: 'User' }]);
    expect(first.body).toMatchObject({ status: 'applied', backend: 'teams', memberCount: 2 });
    const second = await sync(full.app, team, [{ value: users.aliceSmith, type: 'User' }]);
    expect(second.body).toMatchObject({ status: 'applied', removed: [{ value: users.lauraGarcia }] });
    const agents = await full.directory.adminApi.listAllAgents({ fields: ['agentId', 'teamId'] }, ctx());
    const teamOf = new Map(agents.agents.map((a) => [a.agentId, a.teamId]));
    expect(teamOf.get(seedIds.agents.aliceSmith)).toBe(team);
    expect(teamOf.get(seedIds.agents.lauraGarcia)).toBe(seedIds.teams.defaultTeam);
  });

  it('when the store holds an ACD group write a crash left open, then the recovery at start rolls it back and audits it before syncs are taken', async () => {
    const full = await buildFullApp({ env: { ...env, MEMBERSHIP_BACKEND: 'acd-groups' }, ...CLIENT, simulator: { scimGroups: false } });
    const group = seedIds.acdGroups.contactCenterAgents;
    const agent = seedIds.agents.aliceSmith;
    // A sync that crashed after its add reached CXone and before its answer was journaled.
    await full.store.journal.open({ syncId: 'crashed-sync', backend: 'acd-groups', groupId: String(group), before: { agentIds: [] }, target: { agentIds: [agent] }, openedAt: new Date().toISOString() });
    await full.store.journal.begin('crashed-sync', { action: 'add', agentIds: [agent], undo: false });
    await full.directory.adminApi.addGroupAgents(group, [agent], ctx());

    const lines: string[] = [];
    await full.membership.recoverOpenWrites({ info: (details, message) => lines.push(`info ${message} ${JSON.stringify(details)}`), error: (details, message) => lines.push(`error ${message} ${JSON.stringify(details)}`) });

    expect(await full.store.journal.openEntries()).toEqual([]);
    expect((await full.directory.adminApi.listGroupAgents(group, ctx()))?.agents).toEqual([]);
    expect(lines).toEqual([expect.stringContaining('an interrupted ACD group write was rolled back')]);
    const page = await full.store.listRecords({ limit: 10 });
    expect(page.items.find((r) => 'groupId' in r && r.groupId === String(group))).toMatchObject({ status: 'interrupted', actor: 'cxone-scim-sync', requestId: 'recovery:crashed-sync' });
  });

  it('when the store holds a team write a crash left open, then the recovery at start moves the agents back', async () => {
    const full = await buildFullApp({ env: { ...env, MEMBERSHIP_BACKEND: 'teams', TEAMS_FALLBACK_TEAM_ID: String(seedIds.teams.defaultTeam) }, ...CLIENT, simulator: { scimGroups: false } });
    const team = seedIds.teams.contactCenter;
    const agent = seedIds.agents.lauraGarcia;
    await full.store.journal.open({ syncId: 'crashed-team-sync', backend: 'teams', groupId: String(team), before: { teams: { [agent]: seedIds.teams.defaultTeam } }, target: { teams: { [agent]: team } }, openedAt: new Date().toISOString() });
    await full.store.journal.begin('crashed-team-sync', { action: 'team', agentIds: [agent], teamId: team, undo: false });
    await full.directory.adminApi.updateAgentTeams([{ agentId: agent, teamId: team }], ctx());

    const lines: string[] = [];
    await full.membership.recoverOpenWrites({ info: (_details, message) => lines.push(`info ${message}`), error: (_details, message) => lines.push(`error ${message}`) });

    expect(await full.store.journal.openEntries()).toEqual([]);
    const agents = await full.directory.adminApi.listAllAgents({ fields: ['agentId', 'teamId'] }, ctx());
    expect(agents.agents.find((a) => a.agentId === agent)?.teamId).toBe(seedIds.teams.defaultTeam);
    expect(lines).toEqual(['info an interrupted team write was finished']);
    // Recorded as acd-groups records its own: by the service, naming the interrupted sync, with its event.
    const records = (await full.store.listRecords({ limit: 10 })).items.filter((r) => 'groupId' in r && r.groupId === String(team));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ status: 'interrupted', actor: 'cxone-scim-sync', requestId: 'recovery:crashed-team-sync', added: [], removed: [], errors: [{ code: 'rolled_back' }] });
    expect(await full.store.verifyChain()).toMatchObject({ ok: true });
  });

  it('when another replica holds the group lock of an open ACD group write (its sync still runs), then the recovery at start waits for it and leaves that sync its own entry', async () => {
    const full = await buildFullApp({ env: { ...env, MEMBERSHIP_BACKEND: 'acd-groups' }, ...CLIENT, simulator: { scimGroups: false } });
    const group = seedIds.acdGroups.contactCenterAgents;
    const agent = seedIds.agents.aliceSmith;
    await full.store.journal.open({ syncId: 'running-elsewhere', backend: 'acd-groups', groupId: String(group), before: { agentIds: [] }, target: { agentIds: [agent] }, openedAt: new Date().toISOString() });
    await full.directory.adminApi.addGroupAgents(group, [agent], ctx());
    // The other replica's sync holds the group's lock until it has verified its write and closed its entry.
    let release!: () => void;
    const otherReplicaDone = new Promise<void>((resolve) => (release = resolve));
    const asked: string[] = [];
    const groupLock: GroupLockService = {
      async acquire(groupId) {
        asked.push(groupId);
        await otherReplicaDone;
        return { lost: new AbortController().signal, release: async () => {} };
      },
    };
    const lines: string[] = [];
    const recovery = full.membership.recoverOpenWrites({ info: (_d, message) => lines.push(message), error: (_d, message) => lines.push(message) }, undefined, groupLock);
    await new Promise((resolve) => setImmediate(resolve));
    expect(asked).toEqual([String(group)]);
    expect((await full.store.journal.openEntries()).map((e) => e.syncId)).toEqual(['running-elsewhere']);

    await full.store.journal.close('running-elsewhere'); // that sync verified its write
    release();
    await recovery;
    expect(lines).toEqual([]);
    expect((await full.directory.adminApi.listGroupAgents(group, ctx()))?.agents.map((a) => a.agentId)).toEqual([agent]);
  });

  it('when the service runs, then its SCIM front door serves /Users through to CXone beside /Groups, and discovery lists both', async () => {
    const full = await buildFullApp({ env, ...CLIENT, simulator: { scimGroups: false } });
    const types = await full.app.inject({ method: 'GET', url: '/scim/v2/ResourceTypes', headers: auth });
    expect(types.statusCode).toBe(200);
    expect((types.json() as { Resources: { id: string }[] }).Resources.map((r) => r.id)).toEqual(['User', 'Group']);
    const filter = encodeURIComponent('userName eq "alice.smith@example.com"');
    const found = await full.app.inject({ method: 'GET', url: `/scim/v2/Users?filter=${filter}`, headers: auth });
    expect(found.headers['content-type']).toContain('application/scim+json');
    expect(found.json()).toMatchObject({ totalResults: 1, Resources: [{ id: users.aliceSmith, userName: 'alice.smith@example.com' }] });
  });

  it('when an identity provider sends a mass removal through the SCIM front door, then it is held (409 naming it) until an administrator approves it, and its next retry goes through once', async () => {
    const admin = 'admin-token-value-0123456789';
    const full = await buildFullApp({ env: { ...env, ADMIN_API_TOKENS: `ops:${admin}`, MEMBERSHIP_BACKEND: 'acd-groups' }, ...CLIENT, simulator: { scimGroups: false } });
    const group = String(seedIds.acdGroups.tier1Support);
    const read = await full.app.inject({ method: 'GET', url: `/scim/v2/Groups/${group}?excludedAttributes=members`, headers: auth });
    const displayName = (read.json() as { displayName: string }).displayName;
    const put = () =>
      full.app.inject({
        method: 'PUT',
        url: `/scim/v2/Groups/${group}`,
        headers: { ...auth, 'content-type': 'application/scim+json' },
        payload: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName, members: [{ value: users.aliceSmith }] },
      });

    const held = await put();
    expect(held.statusCode).toBe(409);
    const detail = (held.json() as { detail: string; scimType: string }).detail;
    expect(held.json()).toMatchObject({ status: '409', scimType: 'mutability' });
    const id = /held for an administrator as (\S+) /.exec(detail)?.[1] as string;
    expect(id).toBeDefined();
    expect((await full.directory.adminApi.listGroupAgents(Number(group), ctx()))?.agents).toHaveLength(12);
    expect((await put()).statusCode).toBe(409); // still held: the retry names the same change

    const approved = await full.app.inject({ method: 'POST', url: `/guard/held/${id}/approve`, headers: { authorization: `Bearer ${admin}` } });
    expect(approved.statusCode).toBe(200);
    // The decision is in the audit chain, and the chain still verifies.
    const records = (await full.store.listRecords({ limit: 20 })).items;
    expect(records.find((r) => r.status === 'held_change_approved')).toMatchObject({ actor: 'ops', groupId: group, reason: expect.stringContaining(id) });
    expect(await full.store.verifyChain()).toMatchObject({ ok: true });
    const through = await put();
    expect(through.statusCode).toBe(200);
    expect((await full.directory.adminApi.listGroupAgents(Number(group), ctx()))?.agents.map((a) => a.agentId)).toEqual([seedIds.agents.aliceSmith]);
  });
});
