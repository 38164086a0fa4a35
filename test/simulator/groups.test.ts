import { afterEach, describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/simulator.js';
import { GROUP_SCHEMA, PATCH_SCHEMA, closeSimulators, startSimulator } from './harness.js';

afterEach(closeSimulators);

const { groups, users } = seedIds;

function patch(...Operations: unknown[]) {
  return { schemas: [PATCH_SCHEMA], Operations };
}

function values(body: { members: { value: string }[] }): string[] {
  return body.members.map((member) => member.value);
}

describe('simulator Groups', () => {
  it('when a group is read, then members carry value, type, display and $ref, and the ETag equals meta.version', async () => {
    const { request, url } = await startSimulator();
    const answer = await request('GET', `/scim/v2/Groups/${groups.engineering}`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/scim+json');
    expect(answer.headers.get('etag')).toBe(answer.body.meta.version);
    expect(answer.body).toMatchObject({ schemas: [GROUP_SCHEMA], id: groups.engineering, displayName: 'Engineering', meta: { resourceType: 'Group' } });
    expect(answer.body.members[0]).toEqual({
      value: groups.engineeringCore,
      type: 'Group',
      display: 'Engineering Core',
      $ref: `${url}/scim/v2/Groups/${groups.engineeringCore}`,
    });
    expect(answer.body.members[1]).toMatchObject({ type: 'User', $ref: expect.stringContaining('/scim/v2/Users/') });
  });

  it('when a group is created, replaced and deleted, then PUT replaces members wholesale', async () => {
    const { request, simulator } = await startSimulator();
    const created = await request('POST', '/scim/v2/Groups', {
      body: { schemas: [GROUP_SCHEMA], displayName: 'Night Shift', members: [{ value: users.aliceSmith, type: 'User' }] },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toContain(`/scim/v2/Groups/${created.body.id}`);
    const id = created.body.id as string;

    // type may be left out: it is inferred from the resource that exists
    const replaced = await request('PUT', `/scim/v2/Groups/${id}`, {
      body: { schemas: [GROUP_SCHEMA], displayName: 'Night Shift B', members: [{ value: users.davidKim }, { value: groups.platform }] },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.headers.get('etag')).toBe('W/"2"');
    expect(replaced.body.displayName).toBe('Night Shift B');
    expect(replaced.body.members.map((m: { value: string; type: string }) => [m.value, m.type])).toEqual([
      [users.davidKim, 'User'],
      [groups.platform, 'Group'],
    ]);
    expect(simulator.store.parentGroupIds(users.aliceSmith)).toEqual([groups.engineeringCore]);

    const emptied = await request('PUT', `/scim/v2/Groups/${id}`, { body: { schemas: [GROUP_SCHEMA], displayName: 'Night Shift B' } });
    expect(emptied.body.members).toEqual([]);

    expect((await request('DELETE', `/scim/v2/Groups/${id}`)).status).toBe(204);
    expect((await request('GET', `/scim/v2/Groups/${id}`)).status).toBe(404);
  });

  it('when PUT names a member that does not exist or has the wrong type, then 400 invalidValue and nothing changes', async () => {
    const { request, simulator } = await startSimulator();
    const path = `/scim/v2/Groups/${groups.contactCenterAgents}`;
    const unknown = await request('PUT', path, {
      body: { schemas: [GROUP_SCHEMA], displayName: 'Contact Center Agents', members: [{ value: users.aliceSmith, type: 'User' }, { value: 'u-404', type: 'User' }] },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ status: '400', scimType: 'invalidValue', detail: expect.stringContaining('u-404') });
    const wrongType = await request('PUT', path, {
      body: { schemas: [GROUP_SCHEMA], displayName: 'Contact Center Agents', members: [{ value: users.aliceSmith, type: 'Group' }] },
    });
    expect([wrongType.status, wrongType.body.scimType]).toEqual([400, 'invalidValue']);
    expect(simulator.store.getGroup(groups.contactCenterAgents)?.members).toEqual([]);
    expect(simulator.store.getGroup(groups.contactCenterAgents)?.meta.version).toBe('W/"1"');
  });

  it('when members are added and removed by PATCH, then the group and the reverse index follow', async () => {
    const { request, simulator } = await startSimulator();
    const path = `/scim/v2/Groups/${groups.contactCenterAgents}`;
    const added = await request('PATCH', path, {
      body: patch({ op: 'add', path: 'members', value: [{ value: users.aliceSmith, type: 'User' }, { value: users.bobJohnson }, { value: users.lauraGarcia }] }),
    });
    expect(added.status).toBe(200);
    expect(values(added.body)).toEqual([users.aliceSmith, users.bobJohnson, users.lauraGarcia]);
    expect(added.headers.get('etag')).toBe('W/"2"');

    const removed = await request('PATCH', path, { body: patch({ op: 'remove', path: `members[value eq "${users.bobJohnson}"]` }) });
    expect(values(removed.body)).toEqual([users.aliceSmith, users.lauraGarcia]);
    expect(simulator.store.parentGroupIds(users.bobJohnson)).toEqual([groups.allStaff]);

    const removedByValue = await request('PATCH', path, { body: patch({ op: 'remove', path: 'members', value: [{ value: users.aliceSmith }, { value: users.nadiaAhmed }] }) });
    expect(values(removedByValue.body)).toEqual([users.lauraGarcia]);

    const renamed = await request('PATCH', path, {
      body: patch({ op: 'replace', path: 'displayName', value: 'Agents' }, { op: 'replace', path: 'members', value: [{ value: users.davidKim, type: 'User' }] }),
    });
    expect(renamed.body.displayName).toBe('Agents');
    expect(values(renamed.body)).toEqual([users.davidKim]);
    expect(renamed.headers.get('etag')).toBe('W/"5"');

    const noPath = await request('PATCH', path, { body: patch({ op: 'replace', value: { displayName: 'Contact Center Agents', members: [] } }) });
    expect(noPath.body).toMatchObject({ displayName: 'Contact Center Agents', members: [] });
  });

  it('when a PATCH fails part-way, then earlier operations are undone (RFC 7644 §3.5.2 atomicity)', async () => {
    const { request, simulator } = await startSimulator();
    const before = simulator.store.getGroup(groups.supportTier1);
    const failed = await request('PATCH', `/scim/v2/Groups/${groups.supportTier1}`, {
      body: patch(
        { op: 'remove', path: `members[value eq "${before?.members[3]?.value}"]` },
        { op: 'add', path: 'members', value: [{ value: users.lauraGarcia }] },
        { op: 'remove', path: 'members', value: [{ value: before?.members[0]?.value }] },
        { op: 'add', path: 'members', value: [{ value: 'u-404' }] },
      ),
    });
    expect([failed.status, failed.body.scimType]).toEqual([400, 'invalidValue']);
    expect(simulator.store.getGroup(groups.supportTier1)).toEqual(before);
    expect(simulator.store.parentGroupIds(users.lauraGarcia)).toEqual([]);

    const noTarget = await request('PATCH', `/scim/v2/Groups/${groups.supportTier1}`, { body: patch({ op: 'remove', path: `members[value eq "${users.lauraGarcia}"]` }) });
    expect([noTarget.status, noTarget.body.scimType]).toEqual([400, 'noTarget']);
    const noPath = await request('PATCH', `/scim/v2/Groups/${groups.supportTier1}`, { body: patch({ op: 'remove' }) });
    expect([noPath.status, noPath.body.scimType]).toEqual([400, 'noTarget']);
    const badPath = await request('PATCH', `/scim/v2/Groups/${groups.supportTier1}`, { body: patch({ op: 'remove', path: 'members[value eq ' }) });
    expect([badPath.status, badPath.body.scimType]).toEqual([400, 'invalidPath']);
    const noSchemas = await request('PATCH', `/scim/v2/Groups/${groups.supportTier1}`, { body: { Operations: [{ op: 'remove', path: 'members' }] } });
    expect([noSchemas.status, noSchemas.body.scimType]).toEqual([400, 'invalidSyntax']);
  });

  it('when If-Match carries a stale version, then 412; the current one or * succeeds (RFC 7644 §3.14)', async () => {
    const { request, simulator } = await startSimulator();
    const path = `/scim/v2/Groups/${groups.platform}`;
    const read = await request('GET', path);
    const etag = read.headers.get('etag') as string;
    expect(etag).toBe('W/"1"');
    const body = { schemas: [GROUP_SCHEMA], displayName: 'Platform', members: read.body.members };

    simulator.store.bumpGroup(groups.platform);
    const stale = await request('PUT', path, { body, headers: { 'if-match': etag } });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ status: '412', detail: expect.any(String) });
    const stalePatch = await request('PATCH', path, { body: patch({ op: 'replace', path: 'displayName', value: 'P' }), headers: { 'if-match': etag } });
    expect(stalePatch.status).toBe(412);
    expect((await request('DELETE', path, { headers: { 'if-match': etag } })).status).toBe(412);

    const fresh = await request('PUT', path, { body, headers: { 'if-match': 'W/"2"' } });
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('etag')).toBe('W/"3"');
    // exact comparison: the weak tag is not the strong one
    expect((await request('PUT', path, { body, headers: { 'if-match': '"3"' } })).status).toBe(412);
    expect((await request('PUT', path, { body, headers: { 'if-match': '*' } })).status).toBe(200);
    const notModified = await request('GET', path, { headers: { 'if-none-match': 'W/"4"' } });
    expect(notModified.status).toBe(304);
  });

  it('when the etag capability is off, then no ETag header is sent and If-Match is ignored', async () => {
    const { request } = await startSimulator({ capabilities: { etag: false } });
    const path = `/scim/v2/Groups/${groups.platform}`;
    const read = await request('GET', path);
    expect(read.headers.get('etag')).toBeNull();
    expect(read.body.meta.version).toBe('W/"1"');
    const written = await request('PATCH', path, { body: patch({ op: 'replace', path: 'displayName', value: 'Platform' }), headers: { 'if-match': 'W/"99"' } });
    expect(written.status).toBe(200);
    expect(written.headers.get('etag')).toBeNull();
    expect(written.body.meta.version).toBe('W/"2"');
    const config = await request('GET', '/scim/v2/ServiceProviderConfig');
    expect(config.body.etag).toEqual({ supported: false });
  });

  it('when the patch capability is off, then PATCH answers 405 and the config says so', async () => {
    const { request } = await startSimulator({ capabilities: { patch: false } });
    const answer = await request('PATCH', `/scim/v2/Groups/${groups.platform}`, { body: patch({ op: 'replace', path: 'displayName', value: 'X' }) });
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('GET, PUT, DELETE');
    expect((await request('GET', '/scim/v2/ServiceProviderConfig')).body.patch).toEqual({ supported: false });
  });

  it('when a nested group is deleted, then it leaves its parents', async () => {
    const { request, simulator } = await startSimulator();
    expect((await request('DELETE', `/scim/v2/Groups/${groups.engineeringCore}`)).status).toBe(204);
    expect(simulator.store.getGroup(groups.engineering)?.members.map((m) => m.value)).not.toContain(groups.engineeringCore);
    expect(simulator.store.parentGroupIds(users.aliceSmith)).toEqual([]);
  });
});
