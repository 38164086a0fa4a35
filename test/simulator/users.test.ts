import { afterEach, describe, expect, it } from 'vitest';
import { NICE_USER_URN, seedIds } from '../../src/simulator/simulator.js';
import { ERROR_SCHEMA, PATCH_SCHEMA, USER_SCHEMA, closeSimulators, startSimulator } from './harness.js';

afterEach(closeSimulators);

const newUser = {
  schemas: [USER_SCHEMA],
  userName: 'grace.hopper@example.com',
  externalId: 'E9001',
  name: { givenName: 'Grace', familyName: 'Hopper' },
  displayName: 'Grace Hopper',
  emails: [{ value: 'grace.hopper@example.com', type: 'work', primary: true }],
  active: true,
};

function patch(...Operations: unknown[]) {
  return { schemas: [PATCH_SCHEMA], Operations };
}

describe('simulator Users', () => {
  it('when a user is created, read, replaced and deleted, then each answer is the full resource with meta and ETag', async () => {
    const { request, url } = await startSimulator();
    const created = await request('POST', '/scim/v2/Users', { body: newUser });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(created.headers.get('location')).toBe(`${url}/scim/v2/Users/${id}`);
    expect(created.headers.get('etag')).toBe('W/"1"');
    expect(created.body).toMatchObject({
      // Every user carries its CXone team in NICE's extension (the fallback team when none is given).
      schemas: [USER_SCHEMA, NICE_USER_URN],
      userName: 'grace.hopper@example.com',
      active: true,
      meta: { resourceType: 'User', location: `${url}/scim/v2/Users/${id}`, version: 'W/"1"' },
    });

    const read = await request('GET', `/scim/v2/Users/${id}`);
    expect(read.status).toBe(200);
    expect(read.headers.get('etag')).toBe('W/"1"');
    expect(read.body.displayName).toBe('Grace Hopper');

    const replaced = await request('PUT', `/scim/v2/Users/${id}`, { body: { ...newUser, displayName: 'Rear Admiral Hopper', externalId: undefined } });
    expect(replaced.status).toBe(200);
    expect(replaced.headers.get('etag')).toBe('W/"2"');
    expect(replaced.body.displayName).toBe('Rear Admiral Hopper');
    expect(replaced.body.externalId).toBeUndefined();

    expect((await request('DELETE', `/scim/v2/Users/${id}`)).status).toBe(204);
    const gone = await request('GET', `/scim/v2/Users/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '404' });
  });

  it('when the userName is taken (in any case), then 409 uniqueness', async () => {
    const { request } = await startSimulator();
    const clash = await request('POST', '/scim/v2/Users', { body: { ...newUser, userName: 'ALICE.SMITH@example.com' } });
    expect(clash.status).toBe(409);
    expect(clash.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
  });

  it('when the body is not a valid user, then 400 with the RFC 7644 §3.12 scimType', async () => {
    const { request } = await startSimulator();
    const noSchemas = await request('POST', '/scim/v2/Users', { body: { userName: 'x@example.com' } });
    expect([noSchemas.status, noSchemas.body.scimType]).toEqual([400, 'invalidSyntax']);
    const badActive = await request('POST', '/scim/v2/Users', { body: { ...newUser, active: 'yes' } });
    expect([badActive.status, badActive.body.scimType]).toEqual([400, 'invalidValue']);
    const malformed = await request('POST', '/scim/v2/Users', { body: '{"userName": ' });
    expect([malformed.status, malformed.body.scimType]).toEqual([400, 'invalidSyntax']);
    const plainJson = await request('POST', '/scim/v2/Users', { body: newUser, headers: { 'content-type': 'application/json' } });
    expect(plainJson.status).toBe(201);
    const text = await request('POST', '/scim/v2/Users', { body: 'userName=x', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
  });

  it('when a user is in groups, then its readOnly groups attribute lists them as direct', async () => {
    const { request, url } = await startSimulator();
    const alice = await request('GET', `/scim/v2/Users/${seedIds.users.aliceSmith}`);
    expect(alice.body.groups).toEqual([
      { value: seedIds.groups.engineeringCore, display: 'Engineering Core', type: 'direct', $ref: `${url}/scim/v2/Groups/${seedIds.groups.engineeringCore}` },
    ]);
    const laura = await request('GET', `/scim/v2/Users/${seedIds.users.lauraGarcia}`);
    expect(laura.body.groups).toBeUndefined();
  });

  it('when entitlements and active are patched with add, replace and remove, then each applies', async () => {
    const { request } = await startSimulator();
    const path = `/scim/v2/Users/${seedIds.users.lauraGarcia}`;
    const added = await request('PATCH', path, { body: patch({ op: 'add', path: 'entitlements', value: [{ value: 'cxone:agent' }, { value: 'cxone:supervisor' }] }) });
    expect(added.status).toBe(200);
    expect(added.body.entitlements).toEqual([{ value: 'cxone:agent' }, { value: 'cxone:supervisor' }]);
    expect(added.headers.get('etag')).toBe('W/"2"');

    const again = await request('PATCH', path, { body: patch({ op: 'Add', path: 'entitlements', value: [{ value: 'cxone:agent' }] }) });
    expect(again.body.entitlements).toHaveLength(2);

    const removed = await request('PATCH', path, { body: patch({ op: 'remove', path: 'entitlements[value eq "cxone:agent"]' }) });
    expect(removed.body.entitlements).toEqual([{ value: 'cxone:supervisor' }]);

    const deactivated = await request('PATCH', path, { body: patch({ op: 'replace', path: 'active', value: false }) });
    expect(deactivated.body.active).toBe(false);
    const reactivated = await request('PATCH', path, { body: patch({ op: 'replace', value: { active: true, entitlements: [{ value: 'cxone:admin' }] } }) });
    expect(reactivated.body).toMatchObject({ active: true, entitlements: [{ value: 'cxone:admin' }] });

    const byValue = await request('PATCH', path, { body: patch({ op: 'remove', path: 'entitlements', value: [{ value: 'cxone:admin' }] }) });
    expect(byValue.body.entitlements).toBeUndefined();

    const noMatch = await request('PATCH', path, { body: patch({ op: 'remove', path: 'entitlements[value eq "nope"]' }) });
    expect([noMatch.status, noMatch.body.scimType]).toEqual([400, 'noTarget']);
    const readOnly = await request('PATCH', path, { body: patch({ op: 'replace', path: 'groups', value: [] }) });
    expect([readOnly.status, readOnly.body.scimType]).toEqual([400, 'mutability']);
    const badType = await request('PATCH', path, { body: patch({ op: 'replace', path: 'active', value: 'False' }) });
    expect([badType.status, badType.body.scimType]).toEqual([400, 'invalidValue']);
  });

  it('when a PATCH has a failing operation, then none of its operations apply', async () => {
    const { request, simulator } = await startSimulator();
    const path = `/scim/v2/Users/${seedIds.users.nadiaAhmed}`;
    const failed = await request('PATCH', path, {
      body: patch({ op: 'replace', path: 'displayName', value: 'Changed' }, { op: 'remove', path: 'emails[value eq "nobody@example.com"]' }),
    });
    expect(failed.status).toBe(400);
    const user = simulator.store.getUser(seedIds.users.nadiaAhmed);
    expect(user?.displayName).toBe('Nadia Ahmed');
    expect(user?.meta.version).toBe('W/"1"');
  });

  it('when a user in a group is deleted, then it leaves the group and the group is written', async () => {
    const { request, simulator } = await startSimulator();
    const before = simulator.store.getGroup(seedIds.groups.engineeringCore);
    expect((await request('DELETE', `/scim/v2/Users/${seedIds.users.davidKim}`)).status).toBe(204);
    const after = simulator.store.getGroup(seedIds.groups.engineeringCore);
    expect(after?.members.map((m) => m.value)).not.toContain(seedIds.users.davidKim);
    expect(after?.members).toHaveLength((before?.members.length ?? 0) - 1);
    expect(after?.meta.version).toBe('W/"2"');
  });
});
