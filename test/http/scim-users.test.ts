/**
 * /scim/v2/Users against the embedded CXone simulator: the RFC 7644 contract rules an IdP
 * relies on (ListResponse and paging, filter, attributes/excludedAttributes, error bodies
 * and scimTypes, content type), input refused before it reaches CXone, DELETE as
 * deactivation, and CXone's failures as SCIM errors without a secret in them.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import Fastify from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { ScimUserGateway } from '../../src/core/ports.js';
import { swagger } from '../../src/http/plugins/swagger.js';
import { scimUsersRoutes } from '../../src/http/scim/users.js';
import { seedIds } from '../../src/simulator/simulator.js';
import { CXONE_CLIENT, SCIM_TOKENS, buildScimUsersApp, type ScimUsersApp } from '../helpers/scim-users-app.js';
import { scanForSecrets } from '../helpers/secret-scan.js';

const { users: U } = seedIds;
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

async function call(t: ScimUsersApp, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, token = SCIM_TOKENS.okta) {
  const response = await t.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/scim+json' }) },
    ...(body !== undefined && { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  // oxlint-disable-next-line typescript/no-explicit-any -- test bodies are read loosely
  const json = response.body === '' ? undefined : (JSON.parse(response.body) as Record<string, any>);
  return { status: response.statusCode, headers: response.headers, text: response.body, body: json };
}

const newUser = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER],
  userName,
  name: { givenName: 'New', familyName: 'Agent' },
  emails: [{ value: userName, type: 'work', primary: true }],
  active: true,
  ...extra,
});

describe('/scim/v2/Users: reading', () => {
  it('when a userName is filtered, then the answer is a ListResponse in application/scim+json with the one user, or none', async () => {
    const t = await buildScimUsersApp();
    const found = await call(t, 'GET', `/scim/v2/Users?filter=${encodeURIComponent('userName eq "Alice.Smith@example.com"')}`);
    expect(found.status).toBe(200);
    expect(found.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(found.body).toMatchObject({ schemas: [LIST], totalResults: 1, startIndex: 1, itemsPerPage: 1 });
    expect(found.body?.Resources[0]).toMatchObject({ id: U.aliceSmith, userName: 'alice.smith@example.com', meta: { resourceType: 'User', location: `http://localhost:80/scim/v2/Users/${U.aliceSmith}` } });

    const none = await call(t, 'GET', `/scim/v2/Users?filter=${encodeURIComponent('USERNAME EQ "nobody@example.com"')}`);
    expect(none.body).toEqual({ schemas: [LIST], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
  });

  it('when a filter other than userName eq is sent, then it is a 400 invalidFilter and CXone is not asked', async () => {
    const t = await buildScimUsersApp();
    t.simulator.stats.reset();
    for (const filter of ['emails[type eq "work"].value eq "a@x"', 'userName sw "a"', 'userName eq "a" or userName eq "b"', 'externalId eq "E1001"', 'userName eq "unterminated']) {
      const answer = await call(t, 'GET', `/scim/v2/Users?filter=${encodeURIComponent(filter)}`);
      expect(answer.status).toBe(400);
      expect(answer.headers['content-type']).toMatch(/^application\/scim\+json/);
      expect(answer.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidFilter' });
    }
    expect(t.simulator.stats.total).toBe(0);
  });

  it('when users are listed with startIndex and count, then pages follow RFC 7644 §3.4.2.4 (startIndex below 1 is 1, count capped, count=0 gives only the total)', async () => {
    const t = await buildScimUsersApp({ maxResults: 5 });
    const total = t.simulator.store.userCount;
    const first = await call(t, 'GET', '/scim/v2/Users?startIndex=0&count=2');
    expect(first.body).toMatchObject({ totalResults: total, startIndex: 1, itemsPerPage: 2 });
    const second = await call(t, 'GET', '/scim/v2/Users?startIndex=3&count=2');
    expect(second.body?.Resources.map((u: { id: string }) => u.id)).not.toEqual(first.body?.Resources.map((u: { id: string }) => u.id));
    expect((await call(t, 'GET', '/scim/v2/Users?count=1000')).body?.itemsPerPage).toBe(5);
    expect((await call(t, 'GET', '/scim/v2/Users?count=0')).body).toMatchObject({ totalResults: total, itemsPerPage: 0, Resources: [] });
    expect((await call(t, 'GET', '/scim/v2/Users?count=-3')).body).toMatchObject({ itemsPerPage: 0 });
  });

  it('when attributes or excludedAttributes are given, then only those attributes (or all but those) come back, id and schemas always', async () => {
    const t = await buildScimUsersApp();
    const only = await call(t, 'GET', `/scim/v2/Users/${U.aliceSmith}?attributes=userName,name.givenName,urn:ietf:params:scim:schemas:core:2.0:User:active`);
    expect(only.body).toEqual({ schemas: [USER], id: U.aliceSmith, userName: 'alice.smith@example.com', name: { givenName: 'Alice' }, active: true });

    const without = await call(t, 'GET', `/scim/v2/Users/${U.aliceSmith}?excludedAttributes=emails,meta,name.formatted,id`);
    expect(without.body?.id).toBe(U.aliceSmith);
    expect(without.body).not.toHaveProperty('emails');
    expect(without.body).not.toHaveProperty('meta');
    expect(without.body?.name).toEqual({ givenName: 'Alice', familyName: 'Smith' });

    const listed = await call(t, 'GET', `/scim/v2/Users?filter=${encodeURIComponent('userName eq "alice.smith@example.com"')}&attributes=userName`);
    expect(listed.body?.Resources).toEqual([{ schemas: [USER], id: U.aliceSmith, userName: 'alice.smith@example.com' }]);
  });

  it('when the user does not exist, then it is a 404 SCIM error', async () => {
    const t = await buildScimUsersApp();
    const answer = await call(t, 'GET', '/scim/v2/Users/00000000-0000-0000-0000-000000000000');
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ schemas: [ERROR], status: '404' });
    expect(answer.body?.detail).toContain('00000000-0000-0000-0000-000000000000');
  });
});

describe('/scim/v2/Users: writing', () => {
  it('when a user is created, then CXone holds it, the answer is 201 with Location, and only what CXone takes was sent (no password, no title)', async () => {
    const t = await buildScimUsersApp();
    const created = await call(t, 'POST', '/scim/v2/Users', newUser('new.agent@example.com', { password: 'Pa55word-that-must-not-travel', title: 'Agent', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Sales' } }));
    expect(created.status).toBe(201);
    const id = created.body?.id as string;
    expect(created.headers.location).toBe(`http://localhost:80/scim/v2/Users/${id}`);
    expect(created.body?.meta.location).toBe(created.headers.location);
    expect(created.body).not.toHaveProperty('password');
    const held = t.simulator.store.getUser(id);
    expect(held).toMatchObject({ userName: 'new.agent@example.com', active: true, name: { givenName: 'New', familyName: 'Agent' } });
    expect(held).not.toHaveProperty('title');
    expect(held).not.toHaveProperty('password');
    expect(held).not.toHaveProperty(['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']);
    expect(t.simulator.directory.findAgentByUserId(id)?.userName).toBe('new.agent@example.com');
    expect(t.logLines.join('\n')).not.toContain('Pa55word-that-must-not-travel');
    expect(t.logLines.some((line) => line.includes('"actor":"okta"') && line.includes('SCIM user created'))).toBe(true);
  });

  it('when a userName is taken (a retried create), then it is a 409 uniqueness', async () => {
    const t = await buildScimUsersApp();
    const answer = await call(t, 'POST', '/scim/v2/Users', newUser('ALICE.SMITH@example.com'));
    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ schemas: [ERROR], status: '409', scimType: 'uniqueness' });
  });

  it('when a body is bad, then it is a 400 naming the field, and CXone is not asked', async () => {
    const t = await buildScimUsersApp();
    t.simulator.stats.reset();
    const cases: [unknown, string, string][] = [
      [{ schemas: [USER] }, 'invalidValue', 'userName'],
      [newUser('   '), 'invalidValue', 'userName'],
      [newUser('a@example.com', { active: 'maybe' }), 'invalidValue', 'active'],
      [newUser('a@example.com', { emails: 'a@example.com' }), 'invalidValue', 'emails'],
      [newUser('a@example.com', { favouriteColour: 'blue' }), 'invalidSyntax', 'favouriteColour'],
      [newUser('a@example.com', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'] }), 'invalidSyntax', 'schemas'],
      [{ ...newUser('a@example.com'), USERNAME: 'b@example.com' }, 'invalidSyntax', 'userName'],
      ['{"schemas": [', 'invalidSyntax', 'JSON'],
    ];
    for (const [body, scimType, field] of cases) {
      const answer = await call(t, 'POST', '/scim/v2/Users', body);
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ schemas: [ERROR], status: '400', scimType });
      expect(answer.body?.detail).toContain(field);
    }
    expect(t.simulator.stats.total).toBe(0);
  });

  it('when several requests in a row carry a control character in userName, then every one is refused', async () => {
    const t = await buildScimUsersApp();
    for (const userName of ['a\u0000b@example.com', 'c\u0007d@example.com', 'e\u001ff@example.com']) {
      const answer = await call(t, 'POST', '/scim/v2/Users', newUser(userName));
      expect(answer.status).toBe(400);
      expect(answer.body?.detail).toContain('control characters');
    }
  });

  it('when attribute names come in another case and active as "True", then they are read as the canonical ones', async () => {
    const t = await buildScimUsersApp();
    const created = await call(t, 'POST', '/scim/v2/Users', { Schemas: [USER], UserName: 'cased@example.com', NAME: { GivenName: 'Case', familyname: 'Test' }, Emails: [{ value: 'cased@example.com', type: 'work' }], Active: 'True' });
    expect(created.status).toBe(201);
    expect(t.simulator.store.getUser(created.body?.id)).toMatchObject({ userName: 'cased@example.com', active: true, name: { givenName: 'Case', familyName: 'Test' } });
  });

  it('when optional attributes are sent as null (RFC 7643 §2.5 unassigned, as Entra ID sends them), then they are left out', async () => {
    // https://learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups ("Example 2. Provision a new user": addresses, phoneNumbers, preferredLanguage and title null)
    const t = await buildScimUsersApp();
    const created = await call(t, 'POST', '/scim/v2/Users', newUser('nulls@example.com', { addresses: null, phoneNumbers: null, preferredLanguage: null, title: null, name: { givenName: 'Joy', familyName: 'Young', middleName: null } }));
    expect(created.status).toBe(201);
    expect(t.simulator.store.getUser(created.body?.id)).toMatchObject({ userName: 'nulls@example.com', name: { givenName: 'Joy', familyName: 'Young' } });
    expect(t.simulator.store.getUser(created.body?.id)).not.toHaveProperty('phoneNumbers');
  });

  it('when Entra ID sends an app role (primary, type, displayName), then the user is created and CXone gets the role as value and display only', async () => {
    // https://learn.microsoft.com/entra/identity/app-provisioning/customize-application-attributes ("Provisioning a role to a SCIM app", AppRoleAssignmentsComplex, example request)
    const t = await buildScimUsersApp();
    const created = await call(t, 'POST', '/scim/v2/Users', newUser('roles@example.com', { roles: [{ primary: false, type: 'WindowsAzureActiveDirectoryRole', displayName: 'Agent', value: 'agent-role' }] }));
    expect(created.status).toBe(201);
    expect(t.simulator.store.getUser(created.body?.id)?.roles).toEqual([{ value: 'agent-role', display: 'Agent' }]);
  });

  it('when a user is replaced, then CXone holds the new attributes; an id in the body that is not the path\'s is a 400 mutability', async () => {
    const t = await buildScimUsersApp();
    const replaced = await call(t, 'PUT', `/scim/v2/Users/${U.aliceSmith}`, newUser('alice.smith@example.com', { id: U.aliceSmith, displayName: 'Alice S.', name: { givenName: 'Alicia', familyName: 'Smith' } }));
    expect(replaced.status).toBe(200);
    expect(t.simulator.store.getUser(U.aliceSmith)).toMatchObject({ displayName: 'Alice S.', name: { givenName: 'Alicia', familyName: 'Smith' } });

    const wrongId = await call(t, 'PUT', `/scim/v2/Users/${U.aliceSmith}`, newUser('alice.smith@example.com', { id: 'someone-else' }));
    expect(wrongId.status).toBe(400);
    expect(wrongId.body).toMatchObject({ scimType: 'mutability' });
    expect(wrongId.body?.detail).toContain('body/id');
    expect((await call(t, 'PUT', '/scim/v2/Users/00000000-0000-0000-0000-000000000000', newUser('x@example.com'))).status).toBe(404);
  });

  it('when a PATCH has an unsupported path, then it is a 400 invalidPath and CXone is not asked; a supported one changes CXone', async () => {
    const t = await buildScimUsersApp();
    t.simulator.stats.reset();
    const refused = await call(t, 'PATCH', `/scim/v2/Users/${U.aliceSmith}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'title', value: 'Boss' }] });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ schemas: [ERROR], status: '400', scimType: 'invalidPath' });
    expect(t.simulator.stats.total).toBe(0);

    const changed = await call(t, 'PATCH', `/scim/v2/Users/${U.aliceSmith}`, { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'displayName', value: 'Ali' }] });
    expect(changed.status).toBe(200);
    expect(changed.body?.displayName).toBe('Ali');
    expect(t.simulator.store.getUser(U.aliceSmith)?.displayName).toBe('Ali');
    expect((await call(t, 'PATCH', '/scim/v2/Users/00000000-0000-0000-0000-000000000000', { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: true }] })).status).toBe(404);
  });

  it('when the PatchOp message names its members in another case, then the PATCH is read like any other (the translation says what is wrong, not the schema)', async () => {
    const t = await buildScimUsersApp();
    const changed = await call(t, 'PATCH', `/scim/v2/Users/${U.aliceSmith}`, { Schemas: [PATCH_OP], operations: [{ OP: 'Replace', Path: 'displayName', Value: 'Ali' }] });
    expect(changed.status).toBe(200);
    expect(t.simulator.store.getUser(U.aliceSmith)?.displayName).toBe('Ali');
    const noOp = await call(t, 'PATCH', `/scim/v2/Users/${U.aliceSmith}`, { schemas: [PATCH_OP], Operations: [{ path: 'displayName', value: 'Ali' }] });
    expect(noOp.status).toBe(400);
    expect(noOp.body).toMatchObject({ scimType: 'invalidSyntax' });
    expect(noOp.body?.detail).toContain('Operations[0].op');
  });

  it('when a user is deleted, then CXone deactivates it (active false, its agent too) and it stays readable; an unknown user is a 404', async () => {
    const t = await buildScimUsersApp();
    const answer = await call(t, 'DELETE', `/scim/v2/Users/${U.aliceSmith}`);
    expect(answer.status).toBe(204);
    expect(answer.text).toBe('');
    expect(t.simulator.store.getUser(U.aliceSmith)?.active).toBe(false);
    expect(t.simulator.directory.findAgentByUserId(U.aliceSmith)?.isActive).toBe(false);
    expect((await call(t, 'GET', `/scim/v2/Users/${U.aliceSmith}`)).body?.active).toBe(false);
    expect((await call(t, 'DELETE', '/scim/v2/Users/00000000-0000-0000-0000-000000000000')).status).toBe(404);
  });

  it('when there is no bearer token, then nothing reaches CXone', async () => {
    const t = await buildScimUsersApp();
    t.simulator.stats.reset();
    const answer = await t.app.inject({ method: 'DELETE', url: `/scim/v2/Users/${U.aliceSmith}` });
    expect(answer.statusCode).toBe(401);
    expect(t.simulator.stats.total).toBe(0);
    expect(t.simulator.store.getUser(U.aliceSmith)?.active).toBe(true);
  });
});

describe('/scim/v2/Users: CXone failures', () => {
  it('when CXone is unavailable past the retry budget, then it is a 503 SCIM error with Retry-After', async () => {
    const t = await buildScimUsersApp({ simulator: { faults: { errorRatio: 1 } } });
    const answer = await call(t, 'GET', `/scim/v2/Users/${U.aliceSmith}`);
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toMatch(/^\d+$/);
    expect(answer.body).toMatchObject({ schemas: [ERROR], status: '503' });
  });

  it('when CXone answers a create with a 500, then it is a 502 that says the write may have been applied', async () => {
    const t = await buildScimUsersApp();
    t.simulator.onRequest((request) => (request.method === 'POST' && request.path.endsWith('/Users') ? { status: 500, body: { detail: 'boom' } } : undefined));
    const answer = await call(t, 'POST', '/scim/v2/Users', newUser('fails@example.com'));
    expect(answer.status).toBe(502);
    expect(answer.body?.detail).toContain('may or may not have been applied');
    expect(answer.body?.detail).not.toContain('boom');
  });

  it('when CXone refuses a write with 400 and echoes the credentials, then its detail is passed on with the secrets blanked, and no answer or log holds a secret', async () => {
    const t = await buildScimUsersApp();
    const accessTokens = new Set<string>();
    t.simulator.onRequest((request) => {
      const token = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
      if (token !== undefined) accessTokens.add(token);
      if (request.method !== 'PATCH') return undefined;
      return { status: 400, body: { schemas: [ERROR], status: '400', scimType: 'invalidValue', detail: `team is not enabled for token ${token} (client ${CXONE_CLIENT.clientSecret})` } };
    });
    const answers = [
      await call(t, 'PATCH', `/scim/v2/Users/${U.aliceSmith}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: 'False' }] }, SCIM_TOKENS.entra),
      await call(t, 'GET', `/scim/v2/Users/${U.aliceSmith}`, undefined, SCIM_TOKENS.entra),
    ];
    expect(answers[0]?.status).toBe(400);
    expect(answers[0]?.body).toMatchObject({ scimType: 'invalidValue' });
    expect(answers[0]?.body?.detail).toContain('team is not enabled');
    expect(accessTokens.size).toBeGreaterThan(0);
    const secrets = new Map<string, string>([
      ['okta SCIM token', SCIM_TOKENS.okta],
      ['entra SCIM token', SCIM_TOKENS.entra],
      ['CXone client secret', CXONE_CLIENT.clientSecret],
      ...[...accessTokens].map((token, i) => [`CXone access token ${i}`, token] as [string, string]),
    ]);
    const sources: [string, string][] = [...answers.map((a, i) => [`answer ${i}`, a.text] as [string, string]), ...t.logLines.map((line, i) => [`log ${i}`, line] as [string, string])];
    expect(scanForSecrets(secrets, sources, { ignoreWhitespace: true })).toEqual([]);
  });
});

describe('/scim/v2/Users: the OpenAPI document', () => {
  it('when the routes are registered with the service\'s swagger plugin, then the document is valid OpenAPI 3.1 and documents every operation, body and answer', async () => {
    const app = Fastify();
    onTestFinished(() => app.close());
    await app.register(swagger);
    const gateway = {} as ScimUserGateway; // never called: the document is built from the schemas
    await app.register(scimUsersRoutes, { prefix: '/scim/v2', gateway });
    await app.ready();
    // oxlint-disable-next-line typescript/no-explicit-any -- walking a generated document
    const doc = app.swagger() as Record<string, any>;
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
    expect(Object.keys(doc.paths['/scim/v2/Users']).toSorted()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/scim/v2/Users/{id}']).toSorted()).toEqual(['delete', 'get', 'patch', 'put']);
    const create = doc.paths['/scim/v2/Users'].post;
    expect(Object.keys(create.requestBody.content)).toEqual(expect.arrayContaining(['application/scim+json', 'application/json']));
    expect(create.requestBody.content['application/scim+json'].schema.properties).toHaveProperty('userName');
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '409', '502', '503', '504']));
    const list = doc.paths['/scim/v2/Users'].get;
    expect(list.parameters.map((p: { name: string }) => p.name).toSorted()).toEqual(['attributes', 'count', 'excludedAttributes', 'filter', 'startIndex']);
    expect(doc.paths['/scim/v2/Users/{id}'].patch.requestBody.content['application/scim+json'].schema.properties).toHaveProperty('Operations');
  });
});
