/**
 * Validation that cannot be talked past: what a sync request may hold, how member errors
 * are bounded, and that every request reaching the sync use case is audited.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { createWebhookTargetPolicy } from '../../src/adapters/webhooks/ssrf-guard.js';
import type { MemberRef } from '../../src/core/membership.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { bearer, buildTestApp } from '../helpers/build-test-app.js';
import { generateSecret } from '../../src/adapters/webhooks/signing.js';
import { tempDir } from '../helpers/temp-dir.js';

type App = Awaited<ReturnType<typeof buildTestApp>>['app'];

const user = (value: string): MemberRef => ({ value, type: 'User' });

function post(app: App, groupId: string, payload: unknown, query = '', headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: `/groups/${groupId}/sync${query}`,
    headers: { 'content-type': 'application/json', ...bearer(), ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}

describe('member errors are bounded', () => {
  it('when 100,000 unknown users are sent, then the 422 lists 1,000 errors with errorsOmitted, and the audit record and the event carry the same bounded list', async () => {
    const { app, audit } = await buildTestApp({ directory: new InMemoryDirectory().addGroup('g1') });
    const members = Array.from({ length: 100_000 }, (_, i) => user(`u-${String(i).padStart(6, '0')}`));
    const res = await post(app, 'g1', { members });
    expect(res.statusCode).toBe(422);
    const body = res.json();
    expect(body).toMatchObject({ error: 'validation_failed', message: expect.stringMatching(/^100000 members failed validation/), errorsOmitted: 99_000 });
    expect(body.errors).toHaveLength(1000);
    expect(body.errors[0]).toEqual({ code: 'user_not_found', member: user('u-000000'), message: expect.any(String) });
    expect(body.errors[999].member).toEqual(user('u-000999'));
    expect(res.body.length).toBeLessThan(200_000);

    const [record] = audit.records;
    expect(record).toMatchObject({ status: 'validation_failed', memberCount: 100_000, errorsOmitted: 99_000 });
    expect(record?.errors).toHaveLength(1000);
    expect(JSON.stringify(record).length).toBeLessThan(200_000);

    const [event] = audit.events;
    expect(event).toMatchObject({ type: 'group.sync.failed', data: { error: 'validation_failed', errorsOmitted: 99_000 } });
    expect(event?.data.errors).toHaveLength(1000);
    expect(JSON.stringify(event).length).toBeLessThan(200_000);
  });

  it('when at most 1,000 members fail, then every one is listed and there is no errorsOmitted', async () => {
    const { app, audit } = await buildTestApp({ directory: new InMemoryDirectory().addGroup('g1') });
    const res = await post(app, 'g1', { members: Array.from({ length: 1000 }, (_, i) => user(`u-${i}`)) });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toHaveLength(1000);
    expect(res.json()).not.toHaveProperty('errorsOmitted');
    expect(audit.records[0]).not.toHaveProperty('errorsOmitted');
  });
});

function seeded() {
  return new InMemoryDirectory().addUser('alice').addUser('bob').addGroup('g2').addGroup('g1', [user('alice')]);
}

describe('what a sync request body may hold', () => {
  it('when members come without type and attribute names in any case (Members, Value, Type, Display, DisplayName), then they are accepted and added carries the resolved types', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    const ok = await post(app, 'g1', { DisplayName: 'Renamed', Members: [{ Value: 'alice' }, { VALUE: 'bob', Display: 'Bob' }, { value: 'g2', TYPE: 'Group' }] });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ status: 'applied', added: [user('bob'), { value: 'g2', type: 'Group' }], removed: [] });
    expect(directory.membersOf('g1')).toEqual([user('alice'), user('bob'), { value: 'g2', type: 'Group' }]);
    expect(directory.groups.get('g1')?.displayName).toBe('Renamed');
  });

  it('when no user or group has the id of a type-less member, then 422 user_not_found says so', async () => {
    const { app } = await buildTestApp({ directory: seeded() });
    const res = await post(app, 'g1', { members: [{ value: 'ghost' }] });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual([{ code: 'user_not_found', member: user('ghost'), message: 'no user or group has the id "ghost" upstream' }]);
  });

  it('when a SCIM Group resource is sent as is (schemas, id, externalId, meta), then those are ignored, however deep', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    const meta = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const payload = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","externalId":"e-1","meta":${meta},"members":[{"value":"bob","type":"User","$ref":"https://example.com/Users/bob"}]}`;
    const res = await post(app, 'g1', payload, '', { 'idempotency-key': 'scim-resource-1' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'applied', added: [user('bob')], removed: [user('alice')] });
    expect(directory.membersOf('g1')).toEqual([user('bob')]);
  });

  it('when the body holds an attribute the sync does not know, then 400 names it without walking into it, and nothing reaches the upstream or the audit trail', async () => {
    const { app, directory, audit } = await buildTestApp({ directory: seeded() });
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    for (const headers of [{}, { 'idempotency-key': 'unknown-attribute-1' }] as Record<string, string>[]) {
      const res = await post(app, 'g1', `{"members":[],"dryrun":true,"x":${deep}}`, '', headers);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ error: 'invalid_request', message: expect.stringMatching(/^body has unknown attributes "dryrun", "x"/) });
    }
    expect(directory.calls).toEqual([]);
    expect(audit.records).toEqual([]);
  });

  it('when the body holds one attribute in two cases (members and Members), then 400 names both', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    const res = await post(app, 'g1', '{"members":[],"Members":[{"value":"bob","type":"User"}]}');
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe('body holds "members" and "Members": attribute names are case-insensitive (RFC 7643 §2.1); send one of them');
    const inMember = await post(app, 'g1', '{"members":[{"value":"alice","type":"User"},{"value":"bob","VALUE":"alice","type":"User"}]}');
    expect(inMember.statusCode).toBe(400);
    expect(inMember.json().message).toBe('body/members/1 holds "value" and "VALUE": attribute names are case-insensitive (RFC 7643 §2.1); send one of them');
    expect(directory.calls).toEqual([]);
  });

  it('when a member holds an attribute other than value, type, display and $ref, then 400 names it; $ref must be a string and is ignored', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const res = await post(app, 'g1', `{"members":[{"value":"alice","type":"User"},{"value":"bob","type":"User","primary":${deep}}]}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/^body\/members\/1 has an unknown attribute "primary": a member holds value, type and display/);
    const ref = await post(app, 'g1', { members: [{ value: 'bob', type: 'User', $ref: { deep: true } }] });
    expect(ref.statusCode).toBe(400);
    expect(ref.json().message).toBe('body/members/0/$ref must be a string (it is accepted and ignored)');
    expect(directory.calls).toEqual([]);
  });

  it('when a value is not among the allowed ones, then the 400 lists them', async () => {
    const { app } = await buildTestApp({ directory: seeded() });
    const members = [user('alice'), user('bob'), { value: 'g2', type: 'Group' }, { value: 'x', type: 'Robot' }];
    const res = await post(app, 'g1', { members });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe('body/members/3/type must be one of "User", "Group"');
    const lower = await post(app, 'g1', { members: [{ value: 'x', type: 'user' }] });
    expect(lower.json().message).toBe('body/members/0/type must be one of "User", "Group"');
  });
});

describe('POST /subscriptions takes only its own attributes', () => {
  it('when the body holds an attribute it does not know, however deep, then 400 names it and nothing is created', async () => {
    const store = openSqliteStore({ newSecret: generateSecret, dataDir: tempDir() });
    onTestFinished(() => store.close());
    const webhookPolicy = createWebhookTargetPolicy({ allowPrivate: false, resolve: async () => [{ address: '93.184.216.34', family: 4 }] });
    const { app } = await buildTestApp({ ports: { subscriptions: store, webhookPolicy } });
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const res = await app.inject({
      method: 'POST',
      url: '/subscriptions',
      headers: { 'content-type': 'application/json', ...bearer() },
      payload: `{"url":"https://hooks.example.com/x","events":["group.sync.failed"],"filter":${deep}}`,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'invalid_request', message: 'body has an unknown attribute "filter"' });
    expect(await store.listSubscriptions()).toEqual([]);
  });
});

describe('query parameters', () => {
  it('when the sync gets a query parameter it does not know (?dryrun=true), then 400 names it and nothing is written or audited', async () => {
    const { app, directory, audit } = await buildTestApp({ directory: seeded() });
    const res = await post(app, 'g1', { members: [user('bob')] }, '?dryrun=true');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'invalid_request', message: 'unknown query parameter "dryrun": this route takes dryRun, allowMassRemoval' });
    const several = await post(app, 'g1', { members: [user('bob')] }, '?dryRun=true&x=1&DRYRUN=true');
    expect(several.json().message).toBe('unknown query parameters "x", "DRYRUN": this route takes dryRun, allowMassRemoval');
    expect(directory.calls).toEqual([]);
    expect(directory.membersOf('g1')).toEqual([user('alice')]);
    expect(audit.records).toEqual([]);
  });

  it('when any API route gets a query parameter it does not know, then 400 names it; /docs, /healthz and /metrics are left alone', async () => {
    const store = openSqliteStore({ newSecret: generateSecret, dataDir: tempDir() });
    onTestFinished(() => store.close());
    const { app } = await buildTestApp({ ports: { audit: store, subscriptions: store } });
    const get = (url: string, auth = true) => app.inject({ method: 'GET', url, headers: auth ? bearer() : {} });
    const refused: [string, string][] = [
      ['/audit?groupid=g1', 'unknown query parameter "groupid": this route takes groupId, since, limit, cursor'],
      ['/audit/verify?full=1', 'unknown query parameter "full": this route takes none'],
      ['/syncs/0193b8a4-7c1e-7000-8000-3f2a9d1c0b11?x=1', 'unknown query parameter "x": this route takes none'],
      ['/subscriptions?all=true', 'unknown query parameter "all": this route takes none'],
      ['/subscriptions/sub_1?x=', 'unknown query parameter "x": this route takes none'],
      ['/subscriptions/sub_1/deliveries?limit=5&page=2', 'unknown query parameter "page": this route takes limit, cursor'],
    ];
    for (const [url, message] of refused) {
      const res = await get(url);
      expect({ url, status: res.statusCode, body: res.json() }).toEqual({ url, status: 400, body: { error: 'invalid_request', message } });
    }
    const del = await app.inject({ method: 'DELETE', url: '/subscriptions/sub_1?force=1', headers: bearer() });
    expect(del.statusCode).toBe(400);
    expect((await get('/audit?limit=5')).statusCode).toBe(200);
    expect((await get('/audit?x=1', false)).statusCode).toBe(401);
    for (const url of ['/docs?x=1', '/docs/static/index.html?x=1', '/healthz?x=1', '/metrics?x=1', '/openapi.json?x=1']) {
      expect({ url, ok: (await get(url, false)).statusCode < 400 }).toEqual({ url, ok: true });
    }
  });
});
