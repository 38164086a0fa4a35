/**
 * Group provisioning as Okta and Microsoft Entra send it, request by request, replayed
 * against the service with the embedded simulator under scim-groups and acd-groups, each
 * checked against the upstream state and the audit trail. The request shapes come from the
 * IdPs' published SCIM documentation, cited per test; the expected outcomes from RFC 7644.
 */
import { describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/simulator.js';
import { startScimRig, type BackendUnderTest } from './scim-harness.js';

const { users } = seedIds;
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const BACKENDS: BackendUnderTest[] = ['scim-groups', 'acd-groups'];

describe.each(BACKENDS)('identity provider sequences under %s', (backend) => {
  // Source: Okta, "Okta and SCIM Version 2.0", SCIM Group operations (Create Groups, Retrieve
  // specific Groups, Update a specific Group name, Update specific Group membership, Update a
  // specific Group, Delete a specific Group):
  // https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20
  it('when Okta pushes a group, adds and removes members, renames it and pushes it again, then the upstream holds what Okta sent and every change is audited as the SCIM token', async () => {
    const rig = await startScimRig(backend, { SCIM_GROUP_DELETE: 'empty' });
    // Okta reads the groups once the integration is set up (startIndex=1&count=100).
    const listed = await rig.call('GET', '/scim/v2/Groups?startIndex=1&count=100');
    expect(listed.statusCode).toBe(200);
    expect(listed.headers['content-type']).toMatch(/^application\/scim\+json/);

    // Push Groups: POST /Groups with displayName and members.
    const created = await rig.call('POST', '/scim/v2/Groups', { schemas: [GROUP], displayName: 'Test SCIMv2', members: [] });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    expect(created.headers.location).toMatch(new RegExp(`/scim/v2/Groups/${id}$`));
    expect(rig.displayName(id)).toBe('Test SCIMv2');

    // A retried create of the same displayName: 409 uniqueness (RFC 7644 §3.3).
    const again = await rig.call('POST', '/scim/v2/Groups', { schemas: [GROUP], displayName: 'Test SCIMv2', members: [] });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', scimType: 'uniqueness' });

    // Update specific Group membership: one request that adds (value array with display) …
    const add = await rig.call('PATCH', `/scim/v2/Groups/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'add', path: 'members', value: [{ value: users.aliceSmith, display: 'alice.smith@example.com' }, { value: users.davidKim, display: 'david.kim@example.com' }] }],
    });
    expect(add.statusCode).toBe(204);
    expect(rig.members(id)).toEqual([users.aliceSmith, users.davidKim].toSorted());

    // … and one that removes by path filter and adds in the same request.
    const swap = await rig.call('PATCH', `/scim/v2/Groups/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'remove', path: `members[value eq "${users.aliceSmith}"]` },
        { op: 'add', path: 'members', value: [{ value: users.lauraGarcia, display: 'laura.garcia@example.com' }] },
      ],
    });
    expect(swap.statusCode).toBe(204);
    expect(rig.members(id)).toEqual([users.davidKim, users.lauraGarcia].toSorted());

    // Update a specific Group name: path-less replace with {id, displayName}.
    const rename = await rig.call('PATCH', `/scim/v2/Groups/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { id, displayName: 'Test SCIMv2 renamed' } }] });
    expect(rename.statusCode).toBe(204);
    expect(rig.displayName(id)).toBe('Test SCIMv2 renamed');
    expect(rig.members(id)).toEqual([users.davidKim, users.lauraGarcia].toSorted());

    // Update a specific Group: PUT with the whole membership.
    const put = await rig.call('PUT', `/scim/v2/Groups/${id}`, { schemas: [GROUP], id, displayName: 'Test SCIMv2 renamed', members: [{ value: users.nadiaAhmed, display: 'nadia' }] });
    expect(put.statusCode).toBe(200);
    expect(put.json().members.map((m: { value: string }) => m.value)).toEqual([users.nadiaAhmed]);
    expect(rig.members(id)).toEqual([users.nadiaAhmed]);

    // Retrieve specific Groups, without members.
    const read = await rig.call('GET', `/scim/v2/Groups/${id}?excludedAttributes=members`);
    expect(read.json()).toMatchObject({ id, displayName: 'Test SCIMv2 renamed', schemas: [GROUP] });
    expect(read.json().members).toBeUndefined();

    // Delete a specific Group (SCIM_GROUP_DELETE=empty: emptied, audited, left upstream).
    const deleted = await rig.call('DELETE', `/scim/v2/Groups/${id}`);
    expect(deleted.statusCode).toBe(204);
    expect(rig.members(id)).toEqual([]);

    // The audit trail: every change, by the SCIM token's name, applied.
    const records = rig.records().filter((r) => r.groupId === id);
    expect(records.map((r) => r.status)).toEqual(['unchanged', 'applied', 'applied', 'applied', 'applied', 'applied']);
    expect(new Set(records.map((r) => r.actor))).toEqual(new Set(['okta-scim']));
    expect(records[2]).toMatchObject({ added: [{ value: users.lauraGarcia, type: 'User' }], removed: [{ value: users.aliceSmith, type: 'User' }] });
    // The webhooks: one group.sync.completed per applied change, naming what changed.
    const completed = rig.events().filter((e) => e.type === 'group.sync.completed' && (e.data as { groupId?: string }).groupId === id);
    expect(completed.length).toBeGreaterThanOrEqual(5);
    expect(completed.some((e) => JSON.stringify(e.data).includes(users.lauraGarcia))).toBe(true);
  });

  // Source: Microsoft, "Tutorial: Develop and plan provisioning for a SCIM endpoint in
  // Microsoft Entra ID", Group operations (Create Group, Get Group, Get Group by displayName,
  // Update Group [Non-member attributes], Update Group [Add Members], Update Group [Remove
  // Members], Delete Group):
  // https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
  it('when Entra provisions a group, then its lookups, capitalised ops, member arrays and removal by value end with the right upstream state and audit trail', async () => {
    const rig = await startScimRig(backend, { SCIM_GROUP_DELETE: 'empty' });
    const externalId = '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159';
    // Get Group by displayName before creating: none.
    const none = await rig.call('GET', `/scim/v2/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "Entra Group"')}`);
    expect(none.json()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0, Resources: [] });

    // Create Group: with Entra's extension schema, externalId and meta.
    const created = await rig.call('POST', '/scim/v2/Groups', {
      schemas: [GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId,
      displayName: 'Entra Group',
      meta: { resourceType: 'Group' },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    expect(created.json()).toMatchObject({ externalId, displayName: 'Entra Group', members: [] });

    // Get Group by displayName and by externalId: found, members left out.
    const byName = await rig.call('GET', `/scim/v2/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "Entra Group"')}`);
    expect(byName.json()).toMatchObject({ totalResults: 1, Resources: [{ id, externalId, displayName: 'Entra Group' }] });
    expect(byName.json().Resources[0].members).toBeUndefined();
    const byExternalId = await rig.call('GET', `/scim/v2/Groups?filter=${encodeURIComponent(`externalId eq "${externalId}"`)}`);
    expect(byExternalId.json()).toMatchObject({ totalResults: 1, Resources: [{ id }] });

    // Update Group [Add Members]: "Add", a value array with $ref null.
    const add = await rig.call('PATCH', `/scim/v2/Groups/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: users.aliceSmith }] }] });
    expect(add.statusCode).toBe(204);
    await rig.call('PATCH', `/scim/v2/Groups/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: users.davidKim }] }] });
    expect(rig.members(id)).toEqual([users.aliceSmith, users.davidKim].toSorted());

    // Update Group [Remove Members]: "Remove" with path members and the member in value.
    const remove = await rig.call('PATCH', `/scim/v2/Groups/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: users.aliceSmith }] }] });
    expect(remove.statusCode).toBe(204);
    expect(rig.members(id)).toEqual([users.davidKim]);

    // Update Group [Non-member attributes]: "Replace" displayName.
    const rename = await rig.call('PATCH', `/scim/v2/Groups/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'displayName', value: 'Entra Group updatedDisplayName' }] });
    expect(rename.statusCode).toBe(204);
    expect(rig.displayName(id)).toBe('Entra Group updatedDisplayName');

    // Get Group, excludedAttributes=members (how Entra reads a group).
    const read = await rig.call('GET', `/scim/v2/Groups/${id}?excludedAttributes=members`);
    expect(read.json()).toMatchObject({ id, externalId, displayName: 'Entra Group updatedDisplayName' });

    // A member Entra adds that the upstream refuses (inactive): 400 invalidValue naming it, nothing written.
    const refused = await rig.call('PATCH', `/scim/v2/Groups/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: 'members', value: [{ value: users.isabelCosta }] }] });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ status: '400', scimType: 'invalidValue' });
    expect(refused.json().detail).toContain(users.isabelCosta);
    expect(refused.json().detail).toContain('user_inactive');
    expect(rig.members(id)).toEqual([users.davidKim]);

    // Delete Group.
    expect((await rig.call('DELETE', `/scim/v2/Groups/${id}`)).statusCode).toBe(204);
    expect(rig.members(id)).toEqual([]);

    const records = rig.records().filter((r) => r.groupId === id);
    expect(records.map((r) => r.status)).toEqual(['unchanged', 'applied', 'applied', 'applied', 'applied', 'validation_failed', 'applied']);
    const failed = rig.events().filter((e) => e.type === 'group.sync.failed' && (e.data as { groupId?: string }).groupId === id);
    expect(failed).toHaveLength(1);
    expect(JSON.stringify(failed[0]?.data)).toContain(users.isabelCosta);
    expect(new Set(records.map((r) => r.actor))).toEqual(new Set(['okta-scim']));
  });
});
