/**
 * The RFC 7644 rules an identity provider relies on, against the front door over the
 * embedded simulator: paging, filter results, attributes/excludedAttributes, error
 * statuses and scimTypes, content type, ETag/If-Match where the backend has them, the
 * tokens, and the 503 while no backend is chosen. https://www.rfc-editor.org/rfc/rfc7644
 */
import { describe, expect, it } from 'vitest';
import { UpstreamUnavailableError } from '../../src/core/errors.js';
import { seedIds } from '../../src/simulator/simulator.js';
import { bearer, buildTestApp, TOKENS } from '../helpers/build-test-app.js';
import { SCIM_TOKEN, startScimRig } from './scim-harness.js';

const { users, groups } = seedIds;
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const addMember = (value: string) => ({ schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value }] }] });

describe('the SCIM front door against RFC 7644', () => {
  it('when groups are listed in pages (§3.4.2.4), then startIndex, count, itemsPerPage and totalResults agree and the pages together list every group once', async () => {
    const rig = await startScimRig('scim-groups');
    const all = (await rig.call('GET', '/scim/v2/Groups?excludedAttributes=members')).json();
    expect(all.totalResults).toBeGreaterThanOrEqual(7);
    const ids: string[] = [];
    for (let startIndex = 1; startIndex <= all.totalResults; startIndex += 3) {
      const page = (await rig.call('GET', `/scim/v2/Groups?startIndex=${startIndex}&count=3&excludedAttributes=members`)).json();
      expect(page).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], startIndex, totalResults: all.totalResults });
      expect(page.itemsPerPage).toBe(page.Resources.length);
      ids.push(...page.Resources.map((g: { id: string }) => g.id));
    }
    expect(ids.toSorted()).toEqual(all.Resources.map((g: { id: string }) => g.id).toSorted());
    expect(new Set(ids).size).toBe(ids.length);
    // count=0: the total only (§3.4.2.4); startIndex below 1 is 1.
    const none = (await rig.call('GET', '/scim/v2/Groups?count=0')).json();
    expect(none).toMatchObject({ totalResults: all.totalResults, itemsPerPage: 0, Resources: [] });
    expect((await rig.call('GET', '/scim/v2/Groups?startIndex=0&count=1')).json()).toMatchObject({ startIndex: 1, itemsPerPage: 1 });
    // count above maxResults is cut to it.
    const spc = (await rig.call('GET', '/scim/v2/ServiceProviderConfig')).json();
    expect((await rig.call('GET', '/scim/v2/Groups?count=100000&excludedAttributes=members')).json().itemsPerPage).toBeLessThanOrEqual(spc.filter.maxResults);
  });

  it('when groups are filtered (§3.4.2.2), then displayName matches without regard to case, id and externalId exactly, and an unsupported filter is 400 invalidFilter', async () => {
    const rig = await startScimRig('scim-groups');
    const byName = (await rig.call('GET', `/scim/v2/Groups?filter=${encodeURIComponent('displayname EQ "platform"')}`)).json();
    expect(byName).toMatchObject({ totalResults: 1, Resources: [{ id: groups.platform, displayName: 'Platform' }] });
    expect(byName.Resources[0].members).toHaveLength(4);
    expect((await rig.call('GET', `/scim/v2/Groups?filter=${encodeURIComponent(`id eq "${groups.platform}"`)}`)).json()).toMatchObject({ totalResults: 1 });
    expect((await rig.call('GET', `/scim/v2/Groups?filter=${encodeURIComponent('id eq "no-such-group"')}`)).json()).toMatchObject({ totalResults: 0, Resources: [] });
    expect((await rig.call('GET', `/scim/v2/Groups?filter=${encodeURIComponent('externalId eq "unknown"')}`)).json()).toMatchObject({ totalResults: 0 });
    const bad = await rig.call('GET', `/scim/v2/Groups?filter=${encodeURIComponent('displayName sw "Plat"')}`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidFilter' });
  });

  it('when attributes or excludedAttributes are asked (§3.9), then only those come back, id and schemas always', async () => {
    const rig = await startScimRig('scim-groups');
    const only = (await rig.call('GET', `/scim/v2/Groups/${groups.platform}?attributes=displayName`)).json();
    expect(Object.keys(only).toSorted()).toEqual(['displayName', 'id', 'schemas']);
    const values = (await rig.call('GET', `/scim/v2/Groups/${groups.platform}?attributes=members.value`)).json();
    expect(values.members.every((m: Record<string, unknown>) => Object.keys(m).join() === 'value')).toBe(true);
    const without = (await rig.call('GET', `/scim/v2/Groups/${groups.platform}?excludedAttributes=members`)).json();
    expect(without).toMatchObject({ id: groups.platform, displayName: 'Platform', meta: { resourceType: 'Group' } });
    expect(without.members).toBeUndefined();
  });

  it('when a request fails anywhere under /scim/v2, then the answer is a SCIM error as application/scim+json with the right status and scimType', async () => {
    const rig = await startScimRig('scim-groups');
    const cases: [Promise<{ statusCode: number; headers: Record<string, unknown>; json(): Record<string, unknown> }>, number, string | undefined][] = [
      [rig.call('GET', '/scim/v2/Groups/no-such-group'), 404, undefined],
      [rig.call('GET', '/scim/v2/Bulk'), 404, undefined],
      [rig.call('PUT', '/scim/v2/Groups', {}), 405, undefined],
      [rig.app.inject({ method: 'POST', url: '/scim/v2/Groups', headers: { authorization: `Bearer ${SCIM_TOKEN}`, 'content-type': 'application/scim+json' }, payload: '{"displayName":' }), 400, 'invalidSyntax'],
      [rig.app.inject({ method: 'POST', url: '/scim/v2/Groups', headers: { authorization: `Bearer ${SCIM_TOKEN}`, 'content-type': 'text/plain' }, payload: 'x' }), 415, undefined],
      [rig.call('POST', '/scim/v2/Groups', { members: [] }), 400, 'invalidValue'],
      [rig.call('GET', '/scim/v2/Groups?sortBy=displayName&color=red'), 400, 'invalidSyntax'],
      [rig.app.inject({ method: 'GET', url: '/scim/v2/Groups' }), 401, undefined],
      [rig.call('PATCH', `/scim/v2/Groups/${groups.platform}`, { schemas: [PATCH_OP], Operations: [{ op: 'remove' }] }), 400, 'noTarget'],
    ];
    for (const [pending, status, scimType] of cases) {
      const res = await pending;
      expect(res.statusCode).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
      expect(res.json()).toEqual({ schemas: [ERROR], status: String(status), ...(scimType ? { scimType } : {}), detail: expect.any(String) });
    }
    expect((await rig.call('PUT', '/scim/v2/Groups', {})).headers.allow).toBe('GET, HEAD, POST');
    expect((await rig.app.inject({ method: 'GET', url: '/scim/v2/Groups' })).headers['www-authenticate']).toMatch(/^Bearer realm=/);
  });

  it('when the backend has ETags (§3.14), then reads carry the ETag and a write with a stale If-Match is 412 and changes nothing', async () => {
    const rig = await startScimRig('scim-groups');
    expect((await rig.call('GET', '/scim/v2/ServiceProviderConfig')).json().etag).toEqual({ supported: true });
    const read = await rig.call('GET', `/scim/v2/Groups/${groups.platform}`);
    const etag = read.headers.etag as string;
    expect(etag).toMatch(/^W\/"\d+"$/);
    expect(read.json().meta.version).toBe(etag);
    const ok = await rig.call('PATCH', `/scim/v2/Groups/${groups.platform}`, addMember(users.lauraGarcia), { 'if-match': etag });
    expect(ok.statusCode).toBe(204);
    const stale = await rig.call('PATCH', `/scim/v2/Groups/${groups.platform}`, addMember(users.nadiaAhmed), { 'if-match': etag });
    expect(stale.statusCode).toBe(412);
    expect(rig.members(groups.platform)).not.toContain(users.nadiaAhmed);
  });

  it('when the backend is acd-groups, then discovery says etag unsupported and no ETag is sent', async () => {
    const rig = await startScimRig('acd-groups');
    const spc = (await rig.call('GET', '/scim/v2/ServiceProviderConfig')).json();
    expect(spc).toMatchObject({ patch: { supported: true }, bulk: { supported: false }, filter: { supported: true, maxResults: 100 }, changePassword: { supported: false }, sort: { supported: false }, etag: { supported: false } });
    expect(spc.authenticationSchemes[0]).toMatchObject({ type: 'oauthbearertoken' });
    const read = await rig.call('GET', '/scim/v2/Groups/5002');
    expect(read.statusCode).toBe(200);
    expect(read.headers.etag).toBeUndefined();
    expect((await rig.call('GET', '/scim/v2/ResourceTypes')).json()).toMatchObject({ totalResults: 1, Resources: [{ id: 'Group', endpoint: '/Groups' }] });
    // Entra reads with excludedAttributes=members: one GET /groups/{id}, not the agents' pages.
    rig.resetStats();
    const light = await rig.call('GET', '/scim/v2/Groups/5004?excludedAttributes=members');
    expect(light.json()).toMatchObject({ id: '5004', displayName: 'Overflow Queue' });
    expect(rig.simulator.stats.byRoute['GET admin/groups/{groupId}']).toBe(1);
    expect(rig.simulator.stats.byRoute['GET admin/groups/{groupId}/agents']).toBeUndefined();
    expect((await rig.call('GET', '/scim/v2/Groups/999999?excludedAttributes=members')).statusCode).toBe(404);
    expect((await rig.call('GET', `/scim/v2/Schemas/${encodeURIComponent('urn:ietf:params:scim:schemas:core:2.0:Group')}`)).json()).toMatchObject({ name: 'Group' });
  });

  it('when an ACD group is renamed to a name another ACD group has, then 409 uniqueness names it before anything is written (the sync route: 502 upstream_error, upstreamStatus 409, scimType uniqueness); its own name in another case is a rename', async () => {
    const rig = await startScimRig('acd-groups');
    const created = await rig.call('POST', '/scim/v2/Groups', { displayName: 'Tier 2 Support', members: [{ value: users.aliceSmith }] });
    const id = created.json().id as string;
    rig.resetStats();
    const refused = await rig.call('PATCH', `/scim/v2/Groups/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'replace', path: 'displayName', value: 'overflow queue' },
        { op: 'add', path: 'members', value: [{ value: users.davidKim }] },
      ],
    });
    expect(refused.json()).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().detail).toContain('Overflow Queue');
    expect(rig.displayName(id)).toBe('Tier 2 Support');
    expect(rig.members(id)).toEqual([users.aliceSmith]);
    expect(Object.keys(rig.simulator.stats.byRoute).filter((route) => !route.startsWith('GET ') && !route.startsWith('POST oauth'))).toEqual([]);
    expect(rig.records().at(-1)).toMatchObject({ groupId: id, status: 'upstream_error', actor: 'okta-scim' });

    const sync = await rig.app.inject({ method: 'POST', url: `/groups/${id}/sync`, headers: { ...bearer(TOKENS.okta), 'content-type': 'application/json' }, payload: { displayName: 'Overflow Queue', members: [{ value: users.aliceSmith, type: 'User' }] } });
    expect(sync.statusCode).toBe(502);
    expect(sync.json()).toMatchObject({ error: 'upstream_error', upstreamStatus: 409, scimType: 'uniqueness' });

    const recased = await rig.call('PATCH', `/scim/v2/Groups/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'TIER 2 SUPPORT' }] });
    expect(recased.statusCode).toBe(204);
    expect(rig.displayName(id)).toBe('TIER 2 SUPPORT');
  });

  it('when a token is listed only in SCIM_API_TOKENS, then it calls /scim/v2 but gets 403 on /groups/{id}/sync, and a SYNC_API_TOKENS token gets 401 under /scim/v2', async () => {
    const rig = await startScimRig('scim-groups');
    const sync = await rig.app.inject({ method: 'POST', url: `/groups/${groups.platform}/sync`, headers: { authorization: `Bearer ${SCIM_TOKEN}`, 'content-type': 'application/json' }, payload: { members: [] } });
    expect(sync.statusCode).toBe(403);
    expect(sync.json()).toMatchObject({ error: 'forbidden' });
    expect(rig.members(groups.platform)).toHaveLength(4);
    const syncToken = await rig.app.inject({ method: 'GET', url: '/scim/v2/Groups', headers: bearer(TOKENS.okta) });
    expect(syncToken.statusCode).toBe(401);
    expect(syncToken.json()).toMatchObject({ schemas: [ERROR], status: '401' });
  });

  it('when SCIM_API_TOKENS is unset, then the tokens of SYNC_API_TOKENS call /scim/v2 and are the audited actor', async () => {
    const rig = await startScimRig('scim-groups', { SCIM_API_TOKENS: '' });
    const res = await rig.app.inject({ method: 'PATCH', url: `/scim/v2/Groups/${groups.platform}`, headers: { ...bearer(TOKENS.entra), 'content-type': 'application/json' }, payload: addMember(users.lauraGarcia) });
    expect(res.statusCode).toBe(204);
    expect(rig.records().at(-1)).toMatchObject({ actor: 'entra', status: 'applied', groupId: groups.platform });
  });

  it('when an address fails authentication past AUTH_FAILURE_LIMIT under /scim/v2, then it gets 429 with Retry-After in SCIM form, and a valid token still passes', async () => {
    const rig = await startScimRig('scim-groups', { AUTH_FAILURE_LIMIT: '2' });
    const wrong = () => rig.app.inject({ method: 'GET', url: '/scim/v2/Groups', headers: bearer('wrong-token-0000000000') });
    expect((await wrong()).statusCode).toBe(401);
    expect((await wrong()).statusCode).toBe(401);
    const limited = await wrong();
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    expect(limited.json()).toMatchObject({ schemas: [ERROR], status: '429' });
    expect((await rig.call('GET', '/scim/v2/ServiceProviderConfig')).statusCode).toBe(200);
  });

  it('when no membership backend is chosen yet (MEMBERSHIP_BACKEND=auto), then everything under /scim/v2, discovery included, is 503 with Retry-After', async () => {
    const { app } = await buildTestApp({
      env: { SCIM_API_TOKENS: `idp:${SCIM_TOKEN}` },
      ports: { backend: async () => Promise.reject(new UpstreamUnavailableError('no membership backend is chosen yet (MEMBERSHIP_BACKEND=auto): SCIM GET /Groups answered 500', 5)) },
    });
    for (const url of ['/scim/v2/ServiceProviderConfig', '/scim/v2/Schemas', '/scim/v2/Groups', '/scim/v2/Groups/g1', '/scim/v2/Nothing']) {
      const res = await app.inject({ method: 'GET', url, headers: bearer(SCIM_TOKEN) });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 503 });
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json()).toMatchObject({ schemas: [ERROR], status: '503' });
    }
  });

  it('when a group is deleted, then SCIM_GROUP_DELETE decides: refuse (403, nothing changes), deactivate (emptied and removed upstream; 501 where the backend cannot)', async () => {
    const refuse = await startScimRig('scim-groups');
    expect((await refuse.call('DELETE', `/scim/v2/Groups/${groups.platform}`)).statusCode).toBe(403);
    expect(refuse.members(groups.platform)).toHaveLength(4);

    const scim = await startScimRig('scim-groups', { SCIM_GROUP_DELETE: 'deactivate' });
    expect((await scim.call('DELETE', `/scim/v2/Groups/${groups.platform}`)).statusCode).toBe(204);
    expect(scim.simulator.store.getGroup(groups.platform)).toBeUndefined();
    expect(scim.records().at(-1)).toMatchObject({ groupId: groups.platform, status: 'applied', actor: 'okta-scim' });

    const acd = await startScimRig('acd-groups', { SCIM_GROUP_DELETE: 'deactivate' });
    const before = acd.members('5002');
    const res = await acd.call('DELETE', '/scim/v2/Groups/5002');
    expect(res.statusCode).toBe(501);
    expect(acd.members('5002')).toEqual(before);
  });

  it('when one member is added by PATCH, then the upstream requests equal those of the same change through POST /groups/{id}/sync', async () => {
    const rig = await startScimRig('scim-groups', { WRITE_MODE: 'patch' });
    rig.resetStats();
    expect((await rig.call('PATCH', `/scim/v2/Groups/${groups.supportTier1}`, addMember(users.lauraGarcia))).statusCode).toBe(204);
    const facade = rig.upstreamRequests();
    const other = await startScimRig('scim-groups', { WRITE_MODE: 'patch' });
    const current = (other.simulator.store.getGroup(groups.supportTier1)?.members ?? []).map((m) => ({ value: m.value, type: m.type }));
    other.resetStats();
    const sync = await other.app.inject({ method: 'POST', url: `/groups/${groups.supportTier1}/sync`, headers: { ...bearer(), 'content-type': 'application/json' }, payload: { members: [...current, { value: users.lauraGarcia, type: 'User' }] } });
    expect(sync.json()).toMatchObject({ status: 'applied', writeMode: 'patch' });
    expect(facade).toBe(other.upstreamRequests());
  });
});

describe('the SCIM front door under MEMBERSHIP_BACKEND=teams', () => {
  const { teams } = seedIds;
  const filter = (expression: string) => `/scim/v2/Groups?filter=${encodeURIComponent(expression)}&excludedAttributes=members`;

  it('when teams are listed, then user-management\'s teams come back by their UUID ids, in pages that together list each once, and filters select by displayName (any case), id and externalId', async () => {
    const rig = await startScimRig('teams');
    const uuidOf = (teamId: number) => rig.simulator.directory.getTeam(teamId)?.teamUuId as string;
    const all = (await rig.call('GET', '/scim/v2/Groups?excludedAttributes=members')).json();
    expect(all.totalResults).toBe(rig.simulator.directory.listTeams().length);
    expect(all.Resources.map((g: { id: string }) => g.id).toSorted()).toEqual(rig.simulator.directory.listTeams().map((t) => t.teamUuId).toSorted());
    const ids: string[] = [];
    for (let startIndex = 1; startIndex <= all.totalResults; startIndex += 4) {
      const page = (await rig.call('GET', `/scim/v2/Groups?startIndex=${startIndex}&count=4&excludedAttributes=members`)).json();
      expect(page).toMatchObject({ startIndex, totalResults: all.totalResults, itemsPerPage: page.Resources.length });
      ids.push(...page.Resources.map((g: { id: string }) => g.id));
    }
    expect(ids.toSorted()).toEqual(all.Resources.map((g: { id: string }) => g.id).toSorted());

    const support = (await rig.call('GET', `/scim/v2/Groups?filter=${encodeURIComponent('displayName eq "support"')}`)).json();
    expect(support).toMatchObject({ totalResults: 1, Resources: [{ id: uuidOf(teams.support), displayName: 'Support' }] });
    expect(support.Resources[0].members.map((m: { value: string }) => m.value).toSorted()).toEqual(rig.members(String(teams.support)));
    expect((await rig.call('GET', filter(`id eq "${uuidOf(teams.platform)}"`))).json()).toMatchObject({ totalResults: 1, Resources: [{ id: uuidOf(teams.platform), displayName: 'Platform' }] });
    expect((await rig.call('GET', filter('id eq "00000000-0000-4000-8000-00000000dead"'))).json()).toMatchObject({ totalResults: 0, Resources: [] });
    expect((await rig.call('GET', filter('displayName eq "No Such Team"'))).json()).toMatchObject({ totalResults: 0 });
    expect((await rig.call('GET', filter('externalId eq "okta-unknown"'))).json()).toMatchObject({ totalResults: 0 });
  });

  it('when a team is pushed (POST /Groups), then 201 with its UUID id, the team holds the members sent, and PATCH changes them by that id; the same displayName or externalId again is 409 uniqueness and creates nothing', async () => {
    const rig = await startScimRig('teams');
    const created = await rig.call('POST', '/scim/v2/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Escalations', externalId: 'okta-escalations', members: [{ value: users.aliceSmith }] });
    expect({ status: created.statusCode, body: created.statusCode === 201 ? null : created.json() }).toEqual({ status: 201, body: null });
    const id = created.json().id as string;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
    expect(created.headers.location).toMatch(new RegExp(`/scim/v2/Groups/${id}$`));
    expect(created.json()).toMatchObject({ id, displayName: 'Escalations', externalId: 'okta-escalations', members: [{ value: users.aliceSmith }] });
    expect(rig.displayName(id)).toBe('Escalations');
    expect(rig.members(id)).toEqual([users.aliceSmith]);
    expect(rig.records().map((r) => [r.groupId, r.status])).toEqual([[id, 'applied']]);

    expect((await rig.call('PATCH', `/scim/v2/Groups/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: users.davidKim }] }, { op: 'remove', path: `members[value eq "${users.aliceSmith}"]` }] })).statusCode).toBe(204);
    expect(rig.members(id)).toEqual([users.davidKim]);
    expect(rig.simulator.directory.findAgentByUserId(users.aliceSmith)?.teamId).toBe(seedIds.teams.defaultTeam);
    expect((await rig.call('GET', filter('externalId eq "okta-escalations"'))).json()).toMatchObject({ totalResults: 1, Resources: [{ id, displayName: 'Escalations' }] });
    expect((await rig.call('GET', filter('displayName eq "ESCALATIONS"'))).json()).toMatchObject({ totalResults: 1, Resources: [{ id }] });

    const teamsBefore = rig.simulator.directory.listTeams().length;
    for (const again of [{ displayName: 'Escalations' }, { displayName: 'Escalations 2', externalId: 'okta-escalations' }]) {
      const refused = await rig.call('POST', '/scim/v2/Groups', again);
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
    }
    expect(rig.simulator.directory.listTeams()).toHaveLength(teamsBefore);
  });

  it('when CXone refuses one agent of a change to a team known by its UUID, then the agents moved are moved back (into the team by its UUID, out to their teams by their integer ids) and the answer is 502 naming the member', async () => {
    const rig = await startScimRig('teams');
    const id = (await rig.call('POST', '/scim/v2/Groups', { displayName: 'Escalations', members: [{ value: users.aliceSmith }] })).json().id as string;
    expect(rig.members(id)).toEqual([users.aliceSmith]);
    const carmenTeam = rig.simulator.directory.findAgentByUserId(users.carmenRodriguez)?.teamId;
    rig.simulator.setFaults({ agentFailures: { agentIds: [seedIds.agents.davidKim], operations: ['update'] } });
    const refused = await rig.call('PATCH', `/scim/v2/Groups/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'remove', path: `members[value eq "${users.aliceSmith}"]` },
        { op: 'add', path: 'members', value: [{ value: users.carmenRodriguez }, { value: users.davidKim }] },
      ],
    });
    expect(refused.statusCode).toBe(502);
    expect(refused.json().detail).toContain(users.davidKim);
    expect(rig.members(id)).toEqual([users.aliceSmith]);
    expect(rig.simulator.directory.findAgentByUserId(users.carmenRodriguez)?.teamId).toBe(carmenTeam);
    expect(rig.records().at(-1)).toMatchObject({ groupId: id, status: 'upstream_error' });
  });

  it('when a user sits in a team synced under its UUID, then a sync of another team by its integer id refuses to move them (member_in_other_team)', async () => {
    const rig = await startScimRig('teams');
    const id = (await rig.call('POST', '/scim/v2/Groups', { displayName: 'Escalations', members: [{ value: users.aliceSmith }] })).json().id as string;
    const sync = await rig.app.inject({
      method: 'POST',
      url: `/groups/${seedIds.teams.contactCenter}/sync`,
      headers: { ...bearer(TOKENS.okta), 'content-type': 'application/json' },
      payload: { members: [{ value: users.aliceSmith, type: 'User' }] },
    });
    expect(sync.statusCode).toBe(422);
    expect(sync.json().errors).toEqual([expect.objectContaining({ code: 'member_in_other_team', member: { value: users.aliceSmith, type: 'User' } })]);
    expect(rig.members(id)).toEqual([users.aliceSmith]);
  });

  it('when an identity provider renames a team known by its UUID (PATCH replace displayName, PUT with another displayName), then the team is renamed upstream after its members, and each change is audited as the SCIM token', async () => {
    const rig = await startScimRig('teams');
    const id = (await rig.call('POST', '/scim/v2/Groups', { displayName: 'Escalations', members: [{ value: users.aliceSmith }] })).json().id as string;
    const renamed = await rig.call('PATCH', `/scim/v2/Groups/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Escalations Tier 2' }] });
    expect(renamed.statusCode).toBe(204);
    expect(rig.displayName(id)).toBe('Escalations Tier 2');
    expect(rig.members(id)).toEqual([users.aliceSmith]);
    expect(rig.records().at(-1)).toMatchObject({ groupId: id, status: 'applied', actor: 'okta-scim' });
    expect((await rig.call('GET', filter('displayName eq "escalations tier 2"'))).json()).toMatchObject({ totalResults: 1, Resources: [{ id, displayName: 'Escalations Tier 2' }] });

    const replaced = await rig.call('PUT', `/scim/v2/Groups/${id}`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Escalations Tier 3', members: [{ value: users.davidKim }] });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json()).toMatchObject({ id, displayName: 'Escalations Tier 3', members: [{ value: users.davidKim }] });
    expect(rig.displayName(id)).toBe('Escalations Tier 3');
    expect(rig.members(id)).toEqual([users.davidKim]);
    expect(rig.records().at(-1)).toMatchObject({ groupId: id, status: 'applied', actor: 'okta-scim' });
    expect(rig.simulator.directory.findAgentByUserId(users.davidKim)?.teamUuId).toBe(id);
  });

  it('when a team is renamed to a name another team has, then 409 uniqueness names it, and neither the name nor the members change (the sync route: 502 upstream_error, upstreamStatus 409, scimType uniqueness)', async () => {
    const rig = await startScimRig('teams');
    const id = (await rig.call('POST', '/scim/v2/Groups', { displayName: 'Escalations', members: [{ value: users.aliceSmith }] })).json().id as string;
    rig.resetStats();
    const refused = await rig.call('PATCH', `/scim/v2/Groups/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'replace', path: 'displayName', value: 'SUPPORT' },
        { op: 'add', path: 'members', value: [{ value: users.davidKim }] },
      ],
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
    expect(refused.json().detail).toContain('SUPPORT');
    expect(rig.displayName(id)).toBe('Escalations');
    expect(rig.members(id)).toEqual([users.aliceSmith]);
    expect(Object.keys(rig.simulator.stats.byRoute).filter((route) => route.startsWith('PUT '))).toEqual([]);
    expect(rig.records().at(-1)).toMatchObject({ groupId: id, status: 'upstream_error', actor: 'okta-scim' });

    const sync = await rig.app.inject({ method: 'POST', url: `/groups/${id}/sync`, headers: { ...bearer(TOKENS.okta), 'content-type': 'application/json' }, payload: { displayName: 'Platform', members: [{ value: users.aliceSmith, type: 'User' }] } });
    expect(sync.statusCode).toBe(502);
    expect(sync.json()).toMatchObject({ error: 'upstream_error', upstreamStatus: 409, scimType: 'uniqueness' });
    expect(rig.members(id)).toEqual([users.aliceSmith]);
  });

  it('when a team known only by its integer teamId is sent another displayName, then its members are synced and the name is left as it is (nothing reads or renames a team by its integer id): PUT answers the id as its displayName', async () => {
    const rig = await startScimRig('teams');
    const before = rig.simulator.directory.getTeam(teams.support)?.teamName;
    rig.resetStats();
    const desired = [...rig.members(String(teams.support)), users.aliceSmith].toSorted();
    const replaced = await rig.call('PUT', `/scim/v2/Groups/${teams.support}`, { displayName: 'Support Renamed', members: desired.map((value) => ({ value })) });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json()).toMatchObject({ id: String(teams.support), displayName: String(teams.support) });
    expect(rig.members(String(teams.support))).toEqual(desired);
    expect(rig.simulator.directory.getTeam(teams.support)?.teamName).toBe(before);
    expect(rig.simulator.stats.byRoute['PUT user-management/teams']).toBeUndefined();
    expect((await rig.call('PATCH', `/scim/v2/Groups/${teams.support}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Support Renamed' }] })).statusCode).toBe(204);
    expect(rig.simulator.directory.getTeam(teams.support)?.teamName).toBe(before);
  });

  it('when a team id is a UUID user-management does not have, then reads and writes are 404 in SCIM form and nothing is written; a known UUID and an integer teamId both read', async () => {
    const rig = await startScimRig('teams');
    const supportUuid = rig.simulator.directory.getTeam(teams.support)?.teamUuId as string;
    const byUuid = (await rig.call('GET', `/scim/v2/Groups/${supportUuid}`)).json();
    expect(byUuid).toMatchObject({ id: supportUuid, displayName: 'Support' });
    expect(byUuid.members.map((m: { value: string }) => m.value).toSorted()).toEqual(rig.members(String(teams.support)));
    // An integer id cannot be looked up by name: it is its own displayName (docs/cxone.md).
    const byInteger = (await rig.call('GET', `/scim/v2/Groups/${teams.support}`)).json();
    expect(byInteger).toMatchObject({ id: String(teams.support), displayName: String(teams.support) });
    expect(byInteger.members.map((m: { value: string }) => m.value).toSorted()).toEqual(rig.members(String(teams.support)));
    const missing = '00000000-0000-4000-8000-00000000dead';
    rig.resetStats();
    for (const res of [
      await rig.call('GET', `/scim/v2/Groups/${missing}`),
      await rig.call('GET', `/scim/v2/Groups/${missing}?excludedAttributes=members`),
      await rig.call('PATCH', `/scim/v2/Groups/${missing}`, addMember(users.aliceSmith)),
      await rig.call('PUT', `/scim/v2/Groups/${missing}`, { displayName: 'Ghost', members: [{ value: users.aliceSmith }] }),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ schemas: [ERROR], status: '404' });
    }
    expect(Object.keys(rig.simulator.stats.byRoute).filter((route) => route.startsWith('PUT ') || route.startsWith('POST admin'))).toEqual([]);
    expect(rig.simulator.directory.findAgentByUserId(users.aliceSmith)?.teamId).toBe(seedIds.teams.engineering);
  });
});
