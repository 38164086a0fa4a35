/**
 * User provisioning runs as Okta and Microsoft Entra ID send them, request by request, from
 * their published documentation, replayed against /scim/v2/Users with the CXone simulator
 * behind it; after each step the simulator's state (the SCIM user and its CXone agent) is
 * checked, not only the answer.
 *
 * Sources (each step cites the section it replays):
 * - Okta: "Okta and SCIM Version 2.0",
 *   https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20 (okta/okta-developer-docs,
 *   packages/@okta/vuepress-site/docs/reference/scim/scim-20/index.md), and Okta's Runscope
 *   test plan "Okta SCIM 2.0 Tests" (oktadev/okta-scim-beta, SCIM_tests_for_Runscope.json).
 * - Entra ID: "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID",
 *   https://learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
 *   (MicrosoftDocs/entra-docs, docs/identity/app-provisioning/use-scim-to-provision-users-and-groups.md),
 *   and "Known issues and resolutions with SCIM 2.0 protocol compliance of the Microsoft Entra
 *   user provisioning service",
 *   https://learn.microsoft.com/entra/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility.
 */
import { describe, expect, it } from 'vitest';
import { SCIM_TOKENS, buildScimUsersApp, type ScimUsersApp } from '../helpers/scim-users-app.js';
import { scanForSecrets } from '../helpers/secret-scan.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

interface Exchange {
  status: number;
  text: string;
  // oxlint-disable-next-line typescript/no-explicit-any -- answers are read loosely
  body: any;
  headers: Record<string, unknown>;
}

/** Sends a request the way the IdP does (its User-Agent, SCIM content type) and keeps every answer for the secret scan. */
function client(t: ScimUsersApp, token: string, userAgent: string) {
  const answers: Exchange[] = [];
  async function send(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown): Promise<Exchange> {
    const response = await t.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, 'user-agent': userAgent, accept: 'application/scim+json', ...(body !== undefined && { 'content-type': 'application/scim+json; charset=utf-8' }) },
      ...(body !== undefined && { payload: JSON.stringify(body) }),
    });
    const answer = { status: response.statusCode, text: response.body, body: response.body === '' ? undefined : JSON.parse(response.body), headers: response.headers };
    answers.push(answer);
    return answer;
  }
  return { send, answers };
}

function noSecrets(t: ScimUsersApp, answers: readonly Exchange[], extra: Record<string, string> = {}) {
  const secrets = new Map(Object.entries({ 'okta token': SCIM_TOKENS.okta, 'entra token': SCIM_TOKENS.entra, ...extra }));
  const sources: [string, string][] = [...answers.map((a, i): [string, string] => [`answer ${i}`, a.text]), ...t.logLines.map((l, i): [string, string] => [`log ${i}`, l])];
  expect(scanForSecrets(secrets, sources)).toEqual([]);
}

describe('an Okta-shaped user provisioning run', () => {
  it('when Okta tests the connection, assigns, updates, deactivates and reactivates a user, then CXone ends with the user as Okta left it', async () => {
    const t = await buildScimUsersApp();
    const okta = client(t, SCIM_TOKENS.okta, 'Okta SCIM Client 1.0.0');
    const password = '1mz050nq-okta-password';

    // Okta SCIM 2.0 Tests (Runscope), step "Test API Credentials": GET /Users?count=2&startIndex=1 → a ListResponse with integers.
    const probe = await okta.send('GET', '/scim/v2/Users?count=2&startIndex=1');
    expect(probe.status).toBe(200);
    expect(probe.body).toMatchObject({ schemas: [LIST], startIndex: 1, itemsPerPage: 2 });
    expect(Number.isInteger(probe.body.totalResults)).toBe(true);
    expect(probe.body.Resources).toHaveLength(2);

    // "Determine if the User already exists": GET /scim/v2/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100 → an empty ListResponse.
    const lookup = await okta.send('GET', '/scim/v2/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100');
    expect(lookup.body).toEqual({ schemas: [LIST], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });

    // "Create the User": POST /scim/v2/Users with the app profile (locale, groups and password included) → 201 with the user.
    const created = await okta.send('POST', '/scim/v2/Users', {
      schemas: [USER],
      userName: 'test.user@okta.local',
      name: { givenName: 'Test', familyName: 'User' },
      emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
      displayName: 'Test User',
      locale: 'en-US',
      externalId: '00ujl29u0le5T6Aj10h7',
      groups: [],
      password,
      active: true,
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({ userName: 'test.user@okta.local', active: true, externalId: '00ujl29u0le5T6Aj10h7' });
    expect(t.simulator.store.getUser(id)).toMatchObject({ userName: 'test.user@okta.local', active: true, name: { givenName: 'Test', familyName: 'User' }, displayName: 'Test User' });
    expect(t.simulator.directory.findAgentByUserId(id)).toMatchObject({ userName: 'test.user@okta.local', isActive: true });

    // Runscope step "Check duplicate user": the same POST again → 409 with the Error schema.
    const again = await okta.send('POST', '/scim/v2/Users', { schemas: [USER], userName: 'test.user@okta.local', name: { givenName: 'Test', familyName: 'User' }, emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }], active: true });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });

    // The lookup now finds it.
    const found = await okta.send('GET', '/scim/v2/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100');
    expect(found.body).toMatchObject({ totalResults: 1, Resources: [{ id, userName: 'test.user@okta.local' }] });

    // "Update a specific User (PUT)": GET /Users/{id}, then PUT the whole user with the changed middle name.
    const read = await okta.send('GET', `/scim/v2/Users/${id}`);
    expect(read.body).toMatchObject({ id, userName: 'test.user@okta.local' });
    const put = await okta.send('PUT', `/scim/v2/Users/${id}`, {
      schemas: [USER],
      id,
      userName: 'test.user@okta.local',
      name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' },
      emails: [{ primary: true, value: 'test.user@okta.local', type: 'work', display: 'test.user@okta.local' }],
      active: true,
      groups: [],
      meta: { resourceType: 'User' },
    });
    expect(put.status).toBe(200);
    expect(put.body.name).toEqual({ givenName: 'Another', middleName: 'Excited', familyName: 'User' });
    expect(t.simulator.store.getUser(id)?.name).toEqual({ givenName: 'Another', middleName: 'Excited', familyName: 'User' });

    // "Update a specific User (PATCH)": deactivation is {"op":"replace","value":{"active":false}} → 200 with the updated user.
    const deactivated = await okta.send('PATCH', `/scim/v2/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] });
    expect(deactivated.status).toBe(200);
    expect(deactivated.body).toMatchObject({ id, active: false });
    expect(t.simulator.store.getUser(id)?.active).toBe(false);
    expect(t.simulator.directory.findAgentByUserId(id)?.isActive).toBe(false);

    // Reactivation is the same request with true.
    const reactivated = await okta.send('PATCH', `/scim/v2/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: true } }] });
    expect(reactivated.body.active).toBe(true);
    expect(t.simulator.directory.findAgentByUserId(id)?.isActive).toBe(true);

    // "Delete Users": an AIW app deprovisions with a PUT of active=false.
    const aiwDeactivation = await okta.send('PUT', `/scim/v2/Users/${id}`, { schemas: [USER], id, userName: 'test.user@okta.local', name: { givenName: 'Another', familyName: 'User' }, emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }], active: false });
    expect(aiwDeactivation.body.active).toBe(false);
    expect(t.simulator.store.getUser(id)?.active).toBe(false);

    // Runscope step "Get a user that doesn't exist": 404 with the Error schema.
    const missing = await okta.send('GET', '/scim/v2/Users/010101010101010101');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ schemas: [ERROR], status: '404' });

    // The password reached neither CXone nor an answer nor a log line.
    expect(JSON.stringify(t.simulator.store.getUser(id))).not.toContain(password);
    noSecrets(t, okta.answers, { 'okta user password': password });
  });
});

describe('an Entra-shaped user provisioning run', () => {
  it('when Entra tests the connection, creates, queries, updates, disables and deletes a user, then CXone ends with the user deactivated', async () => {
    const t = await buildScimUsersApp();
    const entra = client(t, SCIM_TOKENS.entra, 'Azure Active Directory SCIM Client');

    // Test Connection: "fetch a random user … to ensure that the endpoint and the credentials are valid"; "Get User by query - Zero results".
    const zero = await entra.send('GET', `/scim/v2/Users?filter=${encodeURIComponent('userName eq "non-existent user"')}`);
    expect(zero.status).toBe(200);
    expect(zero.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(zero.body).toMatchObject({ schemas: [LIST], totalResults: 0, Resources: [], startIndex: 1 });

    // "Create User": the request as published (enterprise schema named, meta and empty roles sent).
    const userName = 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee';
    const created = await entra.send('POST', '/scim/v2/Users', {
      schemas: [USER, ENTERPRISE],
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName,
      active: true,
      emails: [{ primary: true, type: 'work', value: 'Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com' }],
      meta: { resourceType: 'User' },
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      roles: [],
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.body).toMatchObject({ schemas: expect.arrayContaining([USER]), id, externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef', userName, active: true, meta: { resourceType: 'User' } });
    expect(t.simulator.store.getUser(id)).toMatchObject({ userName, active: true, name: { givenName: 'givenName', familyName: 'familyName' } });

    // "Get User".
    const read = await entra.send('GET', `/scim/v2/Users/${id}`);
    expect(read.body).toMatchObject({ id, userName, emails: [{ value: 'Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com', type: 'work', primary: true }] });

    // "Get User by query".
    const query = await entra.send('GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
    expect(query.body).toMatchObject({ schemas: [LIST], totalResults: 1, startIndex: 1, Resources: [{ id, userName }] });

    // "Update User [Multi-valued properties]": Replace of the work email and the family name, op capitalised.
    const multi = await entra.send('PATCH', `/scim/v2/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      ],
    });
    expect(multi.status).toBe(200);
    expect(multi.body).toMatchObject({ name: { familyName: 'updatedFamilyName', givenName: 'givenName' }, emails: [{ value: 'updatedEmail@microsoft.com', type: 'work' }] });
    expect(t.simulator.store.getUser(id)).toMatchObject({ name: { familyName: 'updatedFamilyName' }, emails: [{ value: 'updatedEmail@microsoft.com', type: 'work', primary: true }] });

    // "Update User [Single-valued properties]": Replace of userName; the CXone agent follows.
    const renamed = '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com';
    const single = await entra.send('PATCH', `/scim/v2/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'userName', value: renamed }] });
    expect(single.body.userName).toBe(renamed);
    expect(t.simulator.directory.findAgentByUserId(id)?.userName).toBe(renamed);

    // Compatibility page, "Requests to replace multiple attributes" with the SCIM-compliant flag: a path-less replace with dotted keys.
    const compliant = await entra.send('PATCH', `/scim/v2/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [
        { op: 'replace', path: 'emails[type eq "work"].value', value: 'TestMhvaes@test.microsoft.com' },
        { op: 'replace', value: { displayName: 'Bjfe', 'name.givenName': 'Kkom', 'name.familyName': 'Unua' } },
      ],
    });
    expect(compliant.status).toBe(200);
    expect(t.simulator.store.getUser(id)).toMatchObject({ displayName: 'Bjfe', name: { givenName: 'Kkom', familyName: 'Unua' }, emails: [{ value: 'TestMhvaes@test.microsoft.com' }] });

    // The same with Entra's default mapping still holding the enterprise extension: refused whole, nothing written.
    const before = JSON.stringify(t.simulator.store.getUser(id));
    const refused = await entra.send('PATCH', `/scim/v2/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { displayName: 'Other', [`${ENTERPRISE}:employeeNumber`]: 'Aklq' } }],
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidPath' });
    expect(refused.body.detail).toContain('employeeNumber');
    expect(JSON.stringify(t.simulator.store.getUser(id))).toBe(before);

    // "Requests made to disable users", without the feature flag: active as the string "False".
    const disabled = await entra.send('PATCH', `/scim/v2/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
    expect(disabled.status).toBe(200);
    expect(disabled.body.active).toBe(false);
    expect(t.simulator.store.getUser(id)?.active).toBe(false);
    expect(t.simulator.directory.findAgentByUserId(id)?.isActive).toBe(false);
    // "Soft-deleting … restoring the user active=true": and "True" brings it back.
    await entra.send('PATCH', `/scim/v2/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'True' }] });
    expect(t.simulator.store.getUser(id)?.active).toBe(true);

    // "Disable User", the tutorial's form: a boolean.
    await entra.send('PATCH', `/scim/v2/Users/${id}`, { Operations: [{ op: 'Replace', path: 'active', value: false }], schemas: [PATCH_OP] });
    expect(t.simulator.store.getUser(id)?.active).toBe(false);

    // "The user object should be returned in a request whether or not the user is active."
    const stillThere = await entra.send('GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${renamed}"`)}`);
    expect(stillThere.body).toMatchObject({ totalResults: 1, Resources: [{ id, active: false }] });

    // "Delete User": DELETE → 204 No Content; CXone has no user DELETE, so the user stays, deactivated.
    await entra.send('PATCH', `/scim/v2/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'True' }] });
    const deleted = await entra.send('DELETE', `/scim/v2/Users/${id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect(t.simulator.store.getUser(id)).toMatchObject({ userName: renamed, active: false });
    expect(t.simulator.directory.findAgentByUserId(id)?.isActive).toBe(false);

    // "Get User" of an unknown id: 404 with the Error schema.
    const missing = await entra.send('GET', '/scim/v2/Users/5171a35d82074e068ce2');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ schemas: [ERROR], status: '404' });

    // Every write was logged under the caller's token name, and nothing secret went out.
    expect(t.logLines.filter((line) => line.includes('"actor":"entra"') && line.includes('SCIM user')).length).toBeGreaterThanOrEqual(8);
    noSecrets(t, entra.answers);
  });
});
