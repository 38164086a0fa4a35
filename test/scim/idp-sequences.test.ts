/**
 * Group provisioning as Okta and Microsoft send it, replayed against the service with the
 * embedded simulator under scim-groups and acd-groups, each checked against the upstream
 * state and the audit trail. Every request body below is copied from a published source
 * (cited above each test, with the step it replays) and sent byte for byte, only its
 * placeholders filled; the answers expected are the source's own where it states one, else
 * RFC 7644's. Where the service answers otherwise on purpose, the step says why.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/simulator.js';
import { MemoryHeldChangeStore } from '../fakes/memory-held-changes.js';
import { startScimRig, type BackendUnderTest, type ScimRig } from './scim-harness.js';

const { users } = seedIds;
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const BACKENDS: BackendUnderTest[] = ['scim-groups', 'acd-groups'];

/** A published body with its placeholders (`{{name}}`, JMeter's `${__UUID}`) filled. */
function fill(template: string, values: Record<string, string> = {}): string {
  return template.replaceAll(/\{\{(\w+)\}\}/g, (whole, name: string) => values[name] ?? whole).replaceAll('${__UUID}', () => randomUUID());
}

const recordsOf = (rig: ScimRig, id: string) => rig.records().filter((r) => r.groupId === id);
const completedFor = (rig: ScimRig, id: string) => rig.events().filter((e) => e.type === 'group.sync.completed' && (e.data as { groupId?: string }).groupId === id);

describe.each(BACKENDS)('identity provider sequences under %s', (backend) => {
  // Source: Okta, "Okta and SCIM Version 2.0", section "SCIM Group operations":
  // https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20
  // (okta/okta-developer-docs, packages/@okta/vuepress-site/docs/reference/scim/scim-20/index.md);
  // and Okta's Runscope test plan "Okta SCIM 2.0 Tests" (oktadev/okta-scim-beta,
  // SCIM_tests_for_Runscope.json), step "Please wait while we verify your application".
  // Placeholders: 23a35c27-… is alice, 89bb1940-… is david, abf4dd94-… the group created.
  it('when Okta pushes a group and sends its published membership and name updates, then the upstream holds what Okta sent and every change is audited as the SCIM token', async () => {
    const rig = await startScimRig(backend, { SCIM_GROUP_DELETE: 'empty' });

    // "Retrieve Groups": GET /Groups?startIndex=1&count=100; itemsPerPage, startIndex and totalResults as integers.
    const listed = await rig.call('GET', '/scim/v2/Groups?startIndex=1&count=100');
    expect(listed.statusCode).toBe(200);
    expect(listed.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(listed.json()).toMatchObject({ schemas: [LIST], startIndex: 1, totalResults: expect.any(Number), itemsPerPage: expect.any(Number) });
    // Runscope: GET /Groups?count=100&startIndex=1 → 200, startIndex and totalResults numbers, the ListResponse schema.
    // (Its "does_not_contain Resources" assertion dates from before Okta pushed groups; RFC 7644 §3.4.2 and
    // Microsoft's "Get all groups" test want Resources, which the service sends.)
    const runscope = await rig.call('GET', '/scim/v2/Groups?count=100&startIndex=1', undefined, { accept: 'application/scim+json', 'accept-charset': 'utf-8', 'user-agent': 'OKTA SCIM Integration' });
    expect(runscope.statusCode).toBe(200);
    expect(runscope.json()).toMatchObject({ schemas: [LIST], startIndex: 1, totalResults: expect.any(Number) });

    // "Create Groups": POST /Groups → 201 with the group as a GET answers it.
    const create = '{\n    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],\n    "displayName": "Test SCIMv2",\n    "members": []\n}';
    const created = await rig.send('POST', '/scim/v2/Groups', create);
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    expect(created.json()).toMatchObject({ schemas: [GROUP], id, displayName: 'Test SCIMv2', members: [], meta: { resourceType: 'Group' } });
    expect(created.headers.location).toMatch(new RegExp(`/scim/v2/Groups/${id}$`));
    expect(rig.displayName(id)).toBe('Test SCIMv2');
    // A retried push of the same group: 409 uniqueness (RFC 7644 §3.3; Okta publishes no answer for it).
    const again = await rig.send('POST', '/scim/v2/Groups', create);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });

    // "Retrieve specific Groups": GET /Groups/{id}.
    const read = await rig.call('GET', `/scim/v2/Groups/${id}`);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ schemas: [GROUP], id, displayName: 'Test SCIMv2', members: [] });

    // "Update specific Group membership", the full push: replace path members with both users → 204.
    const replace = fill(
      '{\n  "schemas": [\n    "urn:ietf:params:scim:api:messages:2.0:PatchOp"\n  ],\n  "Operations": [\n    {\n      "op": "replace",\n      "path": "members",\n      "value": [\n        {\n          "value": "{{alice}}",\n          "display": "test.user@okta.local"\n        },\n        {\n          "value": "{{david}}",\n          "display": "test.user@okta.local"\n        }\n      ]\n    }\n  ]\n}',
      { alice: users.aliceSmith, david: users.davidKim },
    );
    expect((await rig.send('PATCH', `/scim/v2/Groups/${id}`, replace)).statusCode).toBe(204);
    expect(rig.members(id)).toEqual([users.aliceSmith, users.davidKim].toSorted());

    // "Update specific Group membership": remove members[value eq "89bb…"] and add 23a35… (a member already) in one request.
    const membership = fill(
      '{\n    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],\n    "Operations": [{\n          "op": "remove",\n          "path": "members[value eq \\"{{david}}\\"]"\n        },\n        {\n          "op": "add",\n          "path": "members",\n          "value": [{\n              "value": "{{alice}}",\n              "display": "test.user@okta.local"\n        }]\n    }]\n}',
      { alice: users.aliceSmith, david: users.davidKim },
    );
    expect((await rig.send('PATCH', `/scim/v2/Groups/${id}`, membership)).statusCode).toBe(204);
    expect(rig.members(id)).toEqual([users.aliceSmith]);

    // "Update a specific Group name": path-less replace of {id, displayName}. Okta sends it with every
    // membership update, so with the name unchanged it changes nothing (audited as unchanged).
    const rename = (displayName: string) =>
      `{\n    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],\n    "Operations": [{\n        "op": "replace",\n        "value": {\n            "id": "${id}",\n            "displayName": "${displayName}"\n        }\n    }]\n}`;
    rig.resetStats();
    expect((await rig.send('PATCH', `/scim/v2/Groups/${id}`, rename('Test SCIMv2'))).statusCode).toBe(204);
    expect(rig.displayName(id)).toBe('Test SCIMv2');
    // The same request with a new name renames the group and keeps its members.
    expect((await rig.send('PATCH', `/scim/v2/Groups/${id}`, rename('Test SCIMv20'))).statusCode).toBe(204);
    expect(rig.displayName(id)).toBe('Test SCIMv20');
    expect(rig.members(id)).toEqual([users.aliceSmith]);

    // "Delete a specific Group" (SCIM_GROUP_DELETE=empty: emptied, audited, left upstream) → 204.
    expect((await rig.call('DELETE', `/scim/v2/Groups/${id}`)).statusCode).toBe(204);
    expect(rig.members(id)).toEqual([]);

    const records = recordsOf(rig, id);
    expect(records.map((r) => r.status)).toEqual(['unchanged', 'applied', 'applied', 'unchanged', 'applied', 'applied']);
    expect(new Set(records.map((r) => r.actor))).toEqual(new Set(['okta-scim']));
    expect(records[2]).toMatchObject({ added: [], removed: [{ value: users.davidKim, type: 'User' }] });
    expect(completedFor(rig, id).length).toBeGreaterThanOrEqual(4);
  });

  // Source: Microsoft, "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft
  // Entra ID", section "Group Operations" (Create Group, Get Group, Get Group by displayName, Update
  // Group [Non-member attributes], Update Group [Add Members], Update Group [Remove Members], Delete Group):
  // https://learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
  // (MicrosoftDocs/entra-docs, docs/identity/app-provisioning/use-scim-to-provision-users-and-groups.md).
  // Placeholder: f648f8d5… is the member added and removed.
  it('when Entra provisions a group with the requests its provisioning service publishes, then lookups, capitalised ops, member arrays and removal by value end with the right upstream state and audit trail', async () => {
    const rig = await startScimRig(backend, { SCIM_GROUP_DELETE: 'empty' });
    const byName = (name: string) => `/scim/v2/Groups?excludedAttributes=members&filter=${encodeURIComponent(`displayName eq "${name}"`)}`;
    // "Get Group by displayName" before the group exists: an empty ListResponse.
    const none = await rig.call('GET', byName('displayName'));
    expect(none.json()).toMatchObject({ schemas: [LIST], totalResults: 0, Resources: [] });

    // "Create Group" → 201 with externalId and members [].
    const externalId = '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159';
    const created = await rig.send(
      'POST',
      '/scim/v2/Groups',
      '{\n    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],\n    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",\n    "displayName": "displayName",\n    "meta": {\n        "resourceType": "Group"\n    }\n}',
    );
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    expect(created.json()).toMatchObject({ schemas: [GROUP], id, externalId, displayName: 'displayName', members: [] });

    // "Get Group" (excludedAttributes=members) and "Get Group by displayName": found, without members.
    const got = await rig.call('GET', `/scim/v2/Groups/${id}?excludedAttributes=members`);
    expect(got.json()).toMatchObject({ schemas: [GROUP], id, externalId, displayName: 'displayName' });
    expect(got.json().members).toBeUndefined();
    const found = await rig.call('GET', byName('displayName'));
    expect(found.json()).toMatchObject({ schemas: [LIST], totalResults: 1, startIndex: 1, Resources: [{ id, externalId, displayName: 'displayName' }] });
    expect(found.json().Resources[0].members).toBeUndefined();

    // "Update Group [Add Members]": "Add", a value array with "$ref": null → 204 (twice, two members).
    const addMember = (member: string) =>
      `{\n    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],\n    "Operations": [{\n        "op": "Add",\n        "path": "members",\n        "value": [{\n            "$ref": null,\n            "value": "${member}"\n        }]\n    }]\n}`;
    expect((await rig.send('PATCH', `/scim/v2/Groups/${id}`, addMember(users.aliceSmith))).statusCode).toBe(204);
    expect((await rig.send('PATCH', `/scim/v2/Groups/${id}`, addMember(users.davidKim))).statusCode).toBe(204);
    expect(rig.members(id)).toEqual([users.aliceSmith, users.davidKim].toSorted());

    // "Update Group [Remove Members]": "Remove" with path members and the member in value → 204.
    const removeMember = `{\n    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],\n    "Operations": [{\n        "op": "Remove",\n        "path": "members",\n        "value": [{\n            "$ref": null,\n            "value": "${users.aliceSmith}"\n        }]\n    }]\n}`;
    expect((await rig.send('PATCH', `/scim/v2/Groups/${id}`, removeMember)).statusCode).toBe(204);
    expect(rig.members(id)).toEqual([users.davidKim]);

    // "Update Group [Non-member attributes]": "Replace" path displayName → 204.
    const renamed = '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName';
    expect(
      (await rig.send('PATCH', `/scim/v2/Groups/${id}`, `{\n    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],\n    "Operations": [{\n        "op": "Replace",\n        "path": "displayName",\n        "value": "${renamed}"\n    }]\n}`)).statusCode,
    ).toBe(204);
    expect(rig.displayName(id)).toBe(renamed);
    expect((await rig.call('GET', byName(renamed))).json()).toMatchObject({ totalResults: 1, Resources: [{ id, externalId }] });

    // The same "Add" of a member the upstream refuses (inactive): 400 invalidValue naming it, nothing written.
    const refused = await rig.send('PATCH', `/scim/v2/Groups/${id}`, addMember(users.isabelCosta));
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidValue' });
    expect(refused.json().detail).toContain(users.isabelCosta);
    expect(refused.json().detail).toContain('user_inactive');
    expect(rig.members(id)).toEqual([users.davidKim]);

    // "Delete Group" → 204.
    expect((await rig.call('DELETE', `/scim/v2/Groups/${id}`)).statusCode).toBe(204);
    expect(rig.members(id)).toEqual([]);

    const records = recordsOf(rig, id);
    expect(records.map((r) => r.status)).toEqual(['unchanged', 'applied', 'applied', 'applied', 'applied', 'validation_failed', 'applied']);
    const failed = rig.events().filter((e) => e.type === 'group.sync.failed' && (e.data as { groupId?: string }).groupId === id);
    expect(failed).toHaveLength(1);
    expect(JSON.stringify(failed[0]?.data)).toContain(users.isabelCosta);
    expect(new Set(records.map((r) => r.actor))).toEqual(new Set(['okta-scim']));
  });

  // Source: Microsoft's SCIM test plan for Entra provisioning endpoints, AzureAD/SCIMReferenceCode:
  // Microsoft.SCIM.PlaywrightTests/GroupTests.cs with the bodies of Microsoft.SCIM.PlaywrightTests/json/
  // (group1.json, group2.json, group3.json, put_group3.json, patch_add_user_group.json,
  // patch_rm_user_group.json, patch_rm_all_users_group.json), the same requests as the "Group tests"
  // folder of PostmanCollection.json. Placeholders: {{id3}} is laura, {{id4}} nadia, group ids the groups created.
  it('when Microsoft\'s SCIM test plan runs its group tests, then each request is answered as the plan expects, except a removal of every member, which is held until approved', async () => {
    const held = new MemoryHeldChangeStore();
    const rig = await startScimRig(backend, { SCIM_GROUP_DELETE: 'empty' }, { heldChanges: held });
    const json = 'application/json';
    const ids = { id3: users.lauraGarcia, id4: users.nadiaAhmed };

    // Get empty Groups → 200.
    expect((await rig.call('GET', '/scim/v2/Groups')).statusCode).toBe(200);

    // PostEmptyGroup (group1.json) → 201: id, displayName, members [], schemas [Group], externalId.
    const group1 = '{\n  "externalId":"${__UUID}",\n  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],\n  "displayName": "Group1DisplayName",\n  "members":[]\n}\n';
    const post1 = await rig.send('POST', '/scim/v2/Groups', fill(group1), json);
    expect(post1.statusCode).toBe(201);
    const g1 = post1.json().id as string;
    expect(post1.json()).toMatchObject({ schemas: [GROUP], displayName: 'Group1DisplayName', members: [], externalId: expect.stringMatching(/^[0-9a-f-]{36}$/) });

    // PostGroup2WithMembers (group2.json) → 201 with its one member.
    const group2 = '{\n  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],\n  "externalId":"${__UUID}",\n  "displayName": "GroupDisplayName2",\n  "members":\n  [\n    {\n      "value":"{{id3}}",\n      "display":"VP"\n    }\n  ]\n}\n';
    const post2 = await rig.send('POST', '/scim/v2/Groups', fill(group2, ids), json);
    expect(post2.statusCode).toBe(201);
    const g2 = post2.json().id as string;
    expect(post2.json()).toMatchObject({ schemas: [GROUP], members: [{ value: users.lauraGarcia }], externalId: expect.any(String) });
    expect(rig.members(g2)).toEqual([users.lauraGarcia]);

    // GetGroups → 200, a ListResponse from startIndex 1 holding both groups (the plan counts exactly 2 on an
    // empty server; the simulator has its seeded groups besides).
    const all = await rig.call('GET', '/scim/v2/Groups');
    expect(all.json()).toMatchObject({ schemas: [LIST], startIndex: 1 });
    expect(all.json().Resources.map((r: { id: string }) => r.id)).toEqual(expect.arrayContaining([g1, g2]));

    // PostGroup3 (group3.json) → 201; PutGroup3 (put_group3.json, with "id" in the body) → 200: displayName
    // putName, both members, and no externalId (the PUT sent none).
    const group3 = '{\n  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],\n  "externalId":"${__UUID}",\n  "displayName": "GroupDisplayName3",\n  "members":[]\n}\n';
    const g3 = (await rig.send('POST', '/scim/v2/Groups', fill(group3), json)).json().id as string;
    const putGroup3 =
      '{\n  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],\n  "id":"{{groupid3}}",\n  "displayName": "putName",\n  "members":[\n    {\n      "value": "{{id3}}",\n      "display":"VP"\n    },\n    {\n      "value":"{{id4}}",\n      "display":"SenorVP"\n    }\n  ]\n}\n';
    const put = await rig.send('PUT', `/scim/v2/Groups/${g3}`, fill(putGroup3, { ...ids, groupid3: g3 }), json);
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ id: g3, displayName: 'putName' });
    expect(put.json().externalId).toBeUndefined();
    expect(put.json().members.map((m: { value: string }) => m.value).toSorted()).toEqual([users.lauraGarcia, users.nadiaAhmed].toSorted());
    // GetGroup3 → the same.
    const get3 = await rig.call('GET', `/scim/v2/Groups/${g3}`);
    expect(get3.json()).toMatchObject({ id: g3, displayName: 'putName' });
    expect(get3.json().externalId).toBeUndefined();
    expect(rig.displayName(g3)).toBe('putName');
    expect(rig.members(g3)).toEqual([users.lauraGarcia, users.nadiaAhmed].toSorted());

    // PatchAddUser4Group1 (patch_add_user_group.json: "name": "addMember" in the operation, "displayName"
    // in the member) → 200 or 204; PatchRemoveUser4Group1 (patch_rm_user_group.json: members[value eq "…"]
    // without a value); PatchAddUser4Group1Again; GetGroup1 → one member, user 4.
    const addUser = fill(
      '{\n  "schemas": [\n    "urn:ietf:params:scim:api:messages:2.0:PatchOp"\n  ],\n  "Operations": [\n    {\n      "name": "addMember",\n      "op": "add",\n      "path": "members",\n      "value": [\n        {\n          "displayName":"{{displayName}}",\n          "value":"{{id}}"\n        }\n      ]\n\n    }\n  ]\n}\n',
      { displayName: 'new User', id: users.nadiaAhmed },
    );
    const removeUser = fill('{\n  "schemas": [\n    "urn:ietf:params:scim:api:messages:2.0:PatchOp"\n  ],\n  "Operations": [\n    {\n      "op": "remove",\n      "path": "members[value eq \\"{{id}}\\"]"\n    }\n  ]\n}\n', { id: users.nadiaAhmed });
    expect((await rig.send('PATCH', `/scim/v2/Groups/${g1}`, addUser, json)).statusCode).toBe(204);
    expect(rig.members(g1)).toEqual([users.nadiaAhmed]);
    expect((await rig.send('PATCH', `/scim/v2/Groups/${g1}`, removeUser, json)).statusCode).toBe(204);
    expect(rig.members(g1)).toEqual([]);
    expect((await rig.send('PATCH', `/scim/v2/Groups/${g1}`, addUser, json)).statusCode).toBe(204);
    const get1 = await rig.call('GET', `/scim/v2/Groups/${g1}`);
    expect(get1.json().members.map((m: { value: string }) => m.value)).toEqual([users.nadiaAhmed]);

    // PatchRemoveAllUsersGroup1 (patch_rm_all_users_group.json: remove path members, no value). The plan
    // expects 200 or 204; emptying a group is what the mass-removal guard holds (docs/consistency.md), so
    // the answer is 409 mutability naming the held change, and nothing is written.
    const removeAll = '{\n  "schemas": [\n    "urn:ietf:params:scim:api:messages:2.0:PatchOp"\n  ],\n  "Operations": [\n    {\n      "op": "remove",\n      "path": "members"\n    }\n  ]\n}\n';
    const guarded = await rig.send('PATCH', `/scim/v2/Groups/${g1}`, removeAll, json);
    expect(guarded.statusCode).toBe(409);
    expect(guarded.json()).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'mutability' });
    expect(rig.members(g1)).toEqual([users.nadiaAhmed]);
    const [change] = await held.listHeld('held');
    expect(change).toMatchObject({ groupId: g1, actor: 'okta-scim', removing: 1, of: 1 });
    expect(guarded.json().detail).toContain(change?.id);
    // Approved by an administrator, the plan's next run of the same request goes through; GetNoUsersGroup1 → members [].
    await held.decide(change?.id as string, 'approved', 'ops', new Date().toISOString());
    expect((await rig.send('PATCH', `/scim/v2/Groups/${g1}`, removeAll, json)).statusCode).toBe(204);
    expect((await rig.call('GET', `/scim/v2/Groups/${g1}`)).json().members).toEqual([]);
    expect(rig.members(g1)).toEqual([]);

    // DeleteGroup1, DeleteGroup2, DeleteGroup3 → 204 each.
    for (const g of [g1, g2, g3]) expect((await rig.call('DELETE', `/scim/v2/Groups/${g}`)).statusCode).toBe(204);
    expect(rig.members(g3)).toEqual([]);

    // The approved retry is judged again (removal_guard) before the approval lets it through (applied).
    expect(recordsOf(rig, g1).map((r) => r.status)).toEqual(['unchanged', 'applied', 'applied', 'applied', 'removal_guard', 'removal_guard', 'applied', 'unchanged']);
    expect(recordsOf(rig, g3).map((r) => r.status)).toEqual(['unchanged', 'applied', 'applied']);
    expect(new Set(rig.records().filter((r) => [g1, g2, g3].includes(r.groupId)).map((r) => r.actor))).toEqual(new Set(['okta-scim']));
  });

  // Source: Microsoft's SCIM test plan, AzureAD/SCIMReferenceCode:
  // Microsoft.SCIM.PlaywrightTests/UserAndGroupTestsWithGarbage.cs ("Group tests", with
  // json/group1garbage.json, json/patch_add_junk_user_group.json, json/put_group1garbage.json), the
  // "Group tests with garbage" folder of PostmanCollection.json.
  it('when Microsoft\'s test plan sends its group requests "with garbage", then the group is created and replaced, and member ids that are bare strings are refused by name without a write', async () => {
    const rig = await startScimRig(backend);
    const json = 'application/json';
    // PostGroup (group1garbage.json: no members attribute) → 201.
    const post = await rig.send('POST', '/scim/v2/Groups', '{\n  "displayName": "Group 1",\n  "externalId": "015489ea-9410-4306-b583-9f002b2446f7",\n  "schemas": [\n    "urn:ietf:params:scim:schemas:core:2.0:Group"\n  ]\n}\n', json);
    expect(post.statusCode).toBe(201);
    const id = post.json().id as string;

    // PatchGroupAddJunkUsers (patch_add_junk_user_group.json: "id" beside Operations, a bare string as the
    // value). The plan expects 204 and the strings kept as members; RFC 7644 §3.5.2.1 wants member objects, and
    // this service writes only members the upstream has, so: 400 invalidValue naming the field, nothing written.
    rig.resetStats();
    const junk = fill('{\n  "id": "{{1stgroupid}}",\n  "Operations": [\n    {\n      "op":"add",\n      "path": "members",\n      "value": "{{junkuserid}}"\n    }\n  ],\n  "schemas": [\n    "urn:ietf:params:scim:api:messages:2.0:PatchOp"\n  ]\n}\n', { '1stgroupid': id, junkuserid: 'string id 1' });
    const refused = await rig.send('PATCH', `/scim/v2/Groups/${id}`, junk, json);
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidValue', detail: expect.stringContaining('Operations[0].value[0]') });
    expect(rig.upstreamRequests()).toBe(0);
    expect(rig.members(id)).toEqual([]);

    // GetGroupExcludeMembers → 200, displayName "Group 1", no members.
    const read = await rig.call('GET', `/scim/v2/Groups/${id}?excludedAttributes=members`);
    expect(read.json()).toMatchObject({ id, displayName: 'Group 1' });
    expect(read.json().members).toBeUndefined();

    // PutGroup (put_group1garbage.json: "id" in the body, a new externalId) → 200, displayName "Tiffany Ortiz".
    const put = await rig.send('PUT', `/scim/v2/Groups/${id}`, fill('{\n  "id": "{{1stgroupid}}",\n  "displayName": "Tiffany Ortiz",\n  "externalId": "6c6b54c2-fa81-4234-ad4f-420ec6808049",\n  "schemas": [\n    "urn:ietf:params:scim:schemas:core:2.0:Group"\n  ]\n}\n', { '1stgroupid': id }), json);
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ id, displayName: 'Tiffany Ortiz', externalId: '6c6b54c2-fa81-4234-ad4f-420ec6808049' });
    expect(rig.displayName(id)).toBe('Tiffany Ortiz');
  });

  // Source: Microsoft's Entra app-gallery validation, AzureAD/SCIMReferenceCode:
  // Microsoft.SCIM.LogicAppValidationTemplate/StandardLogicApp/SCIMTests_Workflow.json
  // (Schema_Discoverability_Test, SCIM_Group_Create_Test, SCIM_Group_Update_Test, SCIM_Group_Pagination_Test),
  // GroupTests_Workflow.json (Create_Group_Test's check GET /Groups?filter=displayName eq "…"), the bodies
  // composed as Initialization_Workflow.json's scimGroupBody; what passes: SCIM-Validation-Test-Overview.md.
  it('when Microsoft\'s gallery validation checks the group endpoints, then schema discovery lists every group attribute Entra maps, and create, update, lookup and paging pass its checks', async () => {
    const rig = await startScimRig(backend);
    // Schema_Discoverability_Test: every attribute of Entra's target Group object but id (displayName,
    // externalId, members) is among the Group schema's attributes of GET /Schemas (names compared without case).
    const schemas = await rig.call('GET', '/scim/v2/Schemas');
    expect(schemas.statusCode).toBe(200);
    const groupSchema = schemas.json().Resources.find((r: { id: string }) => r.id === GROUP);
    const names = (groupSchema.attributes as { name: string }[]).map((a) => a.name.toLowerCase());
    expect(names).toEqual(expect.arrayContaining(['displayname', 'externalid', 'members']));

    // SCIM_Group_Create_Test: scimGroupBody with externalId and displayName set → 200 or 201, an id, the displayName back.
    const name = `LASCDirectGroup-${randomUUID().slice(0, 8)}`;
    const created = await rig.send('POST', '/scim/v2/Groups', JSON.stringify({ schemas: [GROUP], displayName: name, externalId: randomUUID() }));
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    expect(created.json().displayName).toBe(name);

    // Create_Group_Test's SCIM check: GET /Groups?filter=displayName%20eq%20%22…%22 (names such as "LACreateGroup-(1a2b3c4d)").
    const createGroup = `LACreateGroup-(${randomUUID().slice(0, 8)})`;
    const pushed = (await rig.send('POST', '/scim/v2/Groups', JSON.stringify({ schemas: [GROUP], displayName: createGroup }))).json().id as string;
    const check = await rig.call('GET', `/scim/v2/Groups?filter=displayName%20eq%20%22${encodeURIComponent(createGroup)}%22`);
    expect(check.json()).toMatchObject({ totalResults: 1, Resources: [{ id: pushed, displayName: createGroup }] });

    // SCIM_Group_Update_Test: one "replace" per single-valued readWrite attribute (displayName, externalId)
    // → 200 or 204; then GET /Groups/{id} must show each value sent.
    const update = { displayName: `upd-${randomUUID().slice(0, 8)}`, externalId: `upd-${randomUUID().slice(0, 8)}` };
    const patched = await rig.send(
      'PATCH',
      `/scim/v2/Groups/${id}`,
      JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: Object.entries(update).map(([path, value]) => ({ op: 'replace', path, value })) }),
    );
    expect(patched.statusCode).toBe(204);
    expect((await rig.call('GET', `/scim/v2/Groups/${id}`)).json()).toMatchObject(update);
    expect(rig.displayName(id)).toBe(update.displayName);

    // SCIM_Group_Pagination_Test: GET /Groups?startIndex=N&count=5 over at least two pages, each 200 with the startIndex asked.
    for (const startIndex of [1, 6]) {
      const page = await rig.call('GET', `/scim/v2/Groups?startIndex=${startIndex}&count=5`);
      expect(page.statusCode).toBe(200);
      expect(page.json()).toMatchObject({ startIndex });
      expect(page.json().Resources.length).toBeLessThanOrEqual(5);
    }
  });
});
