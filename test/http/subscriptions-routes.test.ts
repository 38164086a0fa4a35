import { describe, expect, it, onTestFinished } from 'vitest';
import { openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { createWebhookTargetPolicy } from '../../src/adapters/webhooks/ssrf-guard.js';
import type { MemberRef } from '../../src/core/membership.js';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { bearer, buildTestApp } from '../helpers/build-test-app.js';
import { tempDir } from '../helpers/temp-dir.js';
import { generateSecret } from '../../src/adapters/webhooks/signing.js';

const user = (value: string): MemberRef => ({ value, type: 'User' });
const publicResolve = async () => [{ address: '93.184.216.34', family: 4 }];

async function subscriptionsApp(env: Record<string, string> = {}) {
  const store = openSqliteStore({ newSecret: generateSecret, dataDir: tempDir() });
  onTestFinished(() => store.close());
  const lines: string[] = [];
  const logger = createLogger('trace', { write: (line: string) => void lines.push(line) });
  const directory = new InMemoryDirectory().addUser('alice').addUser('bob').addGroup('g1', [user('alice')]);
  const webhookPolicy = createWebhookTargetPolicy({ allowPrivate: env.WEBHOOK_ALLOW_PRIVATE === 'true', resolve: publicResolve });
  const built = await buildTestApp({ directory, env, logger, ports: { audit: store, subscriptions: store, webhookPolicy } });
  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) => built.app.inject({ method, url, headers: bearer(), ...(payload === undefined ? {} : { payload }) });
  return { ...built, store, lines, call };
}

describe('/subscriptions', () => {
  it('when a subscription is created, then 201 answers it with a whsec_ secret once, and reads never show the secret', async () => {
    const { call } = await subscriptionsApp();
    const res = await call('POST', '/subscriptions', { url: 'https://hooks.example.com/cxone', events: ['group.sync.completed', 'group.sync.failed'], description: 'dashboard' });
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created).toEqual({
      id: expect.stringMatching(/^sub_/),
      owner: 'okta',
      url: 'https://hooks.example.com/cxone',
      events: ['group.sync.completed', 'group.sync.failed'],
      description: 'dashboard',
      createdAt: expect.any(String),
      disabled: false,
      secret: expect.stringMatching(/^whsec_/),
    });
    expect(res.headers.location).toBe(`/subscriptions/${created.id}`);
    const { secret, ...shown } = created;

    const list = await call('GET', '/subscriptions');
    expect(list.json()).toEqual({ items: [shown] });
    const one = await call('GET', `/subscriptions/${created.id}`);
    expect(one.json()).toEqual(shown);
    for (const body of [list.body, one.body, (await call('GET', `/subscriptions/${created.id}/deliveries`)).body]) expect(body).not.toContain(secret);
  });

  it('when a subscription is deleted, then 204, and afterwards 404 subscription_not_found', async () => {
    const { call } = await subscriptionsApp();
    const { id } = (await call('POST', '/subscriptions', { url: 'https://hooks.example.com/x', events: ['group.sync.failed'] })).json();
    const deleted = await call('DELETE', `/subscriptions/${id}`);
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    for (const [method, url] of [
      ['GET', `/subscriptions/${id}`],
      ['DELETE', `/subscriptions/${id}`],
      ['GET', `/subscriptions/${id}/deliveries`],
    ] as const) {
      const res = await call(method, url);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: 'subscription_not_found', message: expect.any(String) });
    }
  });

  it.each([
    ['http://127.0.0.1:8080/x', 'loopback'],
    ['http://[::1]/x', 'loopback'],
    ['http://10.0.0.5/x', 'private'],
    ['http://172.20.1.1/x', 'private'],
    ['http://192.168.0.10/x', 'private'],
    ['http://[fd12::1]/x', 'unique local'],
    ['http://169.254.10.1/x', 'link-local'],
    ['http://[fe80::1]/x', 'link-local'],
    ['http://100.64.1.1/x', 'CGNAT'],
    ['http://0.0.0.0/x', 'unspecified'],
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://[fd00:ec2::254]/', 'metadata'],
    ['http://[::ffff:10.0.0.1]/x', 'IPv4-mapped'],
    ['http://localhost:3000/x', 'localhost'],
    ['http://localhost../x', 'localhost'],
    ['http://[64:ff9b:1::a00:1]/x', 'NAT64 local-use'],
    ['http://[2001::a00:1]/x', 'Teredo'],
    ['http://192.88.99.1/x', '6to4 relay anycast'],
  ])('when the url is %s (%s), then 422 invalid_webhook_url: not an allowed target, and WEBHOOK_ALLOW_PRIVATE=true allows it', async (url) => {
    const { call, store } = await subscriptionsApp();
    const res = await call('POST', '/subscriptions', { url, events: ['group.sync.completed'] });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({ error: 'invalid_webhook_url', message: expect.stringContaining('not an allowed target') });
    expect(res.json().message).toContain('WEBHOOK_ALLOW_PRIVATE=true');
    expect(await store.listSubscriptions()).toEqual([]);
  });

  it.each([
    ['ftp://hooks.example.com/x', 'only http'],
    ['https://user:pw@hooks.example.com/x', 'credentials'],
  ])('when the url is %s, then 422 invalid_webhook_url (%s)', async (url, why) => {
    const { call, store } = await subscriptionsApp();
    const res = await call('POST', '/subscriptions', { url, events: ['group.sync.completed'] });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({ error: 'invalid_webhook_url', message: expect.stringContaining(why) });
    expect(await store.listSubscriptions()).toEqual([]);
  });

  it('when a host name resolves to a private address, then 422 invalid_webhook_url that does not say what it resolves to; the log does', async () => {
    const store = openSqliteStore({ newSecret: generateSecret, dataDir: tempDir() });
    onTestFinished(() => store.close());
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const webhookPolicy = createWebhookTargetPolicy({ allowPrivate: false, resolve: async () => [{ address: '192.168.1.20', family: 4 }] });
    const { app } = await buildTestApp({ logger, ports: { audit: store, subscriptions: store, webhookPolicy } });
    const res = await app.inject({ method: 'POST', url: '/subscriptions', headers: bearer(), payload: { url: 'https://intranet.example.com/h', events: ['group.sync.completed'] } });
    expect(res.statusCode).toBe(422);
    expect(res.json().message).toContain('not an allowed target');
    expect(res.body).not.toContain('192.168.1.20');
    expect(res.body).not.toMatch(/resolves|private address/);
    expect(lines.join('\n')).toContain('intranet.example.com resolves to 192.168.1.20, a private address');
  });

  it('when WEBHOOK_ALLOW_PRIVATE=true, then a loopback URL is accepted', async () => {
    const { call } = await subscriptionsApp({ WEBHOOK_ALLOW_PRIVATE: 'true' });
    expect((await call('POST', '/subscriptions', { url: 'http://127.0.0.1:9999/hooks', events: ['group.sync.completed'] })).statusCode).toBe(201);
  });

  it.each([
    [{ url: 'https://hooks.example.com/x', events: [] }, /events/],
    [{ url: 'https://hooks.example.com/x', events: ['group.deleted'] }, /events/],
    [{ url: 'https://hooks.example.com/x', events: ['group.sync.failed', 'group.sync.failed'] }, /events/],
    [{ events: ['group.sync.failed'] }, /url/],
    [{ url: 42, events: ['group.sync.failed'] }, /url/],
  ])('when the body is %j, then 400 invalid_request', async (payload, field) => {
    const { call } = await subscriptionsApp();
    const res = await call('POST', '/subscriptions', payload);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request', message: expect.stringMatching(field) });
  });

  it('when a sync emits an event, then the subscription shows a pending delivery with its next attempt time', async () => {
    const { call } = await subscriptionsApp();
    const { id } = (await call('POST', '/subscriptions', { url: 'https://hooks.example.com/x', events: ['group.sync.completed'] })).json();
    await call('POST', '/subscriptions', { url: 'https://hooks.example.com/failures', events: ['group.sync.failed'] });
    const sync = (await call('POST', '/groups/g1/sync', { members: [user('alice'), user('bob')] })).json();
    await call('POST', '/groups/g1/sync?dryRun=true', { members: [user('alice')] }); // a dry run emits nothing
    const res = await call('GET', `/subscriptions/${id}/deliveries`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      items: [{ id: expect.any(Number), eventId: expect.stringMatching(/^msg_/), eventType: 'group.sync.completed', status: 'pending', nextAttemptAt: expect.any(String), createdAt: expect.any(String), attempts: [] }],
      nextCursor: null,
    });
    expect(sync.status).toBe('applied');
  });

  it('when there is no bearer token, then every /subscriptions route answers 401', async () => {
    const { app } = await subscriptionsApp();
    for (const [method, url] of [
      ['GET', '/subscriptions'],
      ['POST', '/subscriptions'],
      ['GET', '/subscriptions/x'],
      ['DELETE', '/subscriptions/x'],
      ['GET', '/subscriptions/x/deliveries'],
    ] as const) {
      expect((await app.inject({ method, url })).statusCode, `${method} ${url}`).toBe(401);
    }
  });

  it('when subscriptions are created and used, then no secret reaches the log or the audit trail', async () => {
    const { call, lines, store } = await subscriptionsApp();
    const { secret, id } = (await call('POST', '/subscriptions', { url: 'https://hooks.example.com/x', events: ['group.sync.completed'] })).json();
    await call('POST', '/groups/g1/sync', { members: [user('bob')] });
    await call('GET', '/subscriptions');
    await call('GET', `/subscriptions/${id}`);
    await call('GET', `/subscriptions/${id}/deliveries`);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(secret);
    expect(lines.join('\n')).not.toContain(secret.slice('whsec_'.length));
    expect(JSON.stringify(await store.listRecords({ limit: 500 }))).not.toContain(secret);
  });

  it('when the app has no subscription store, then /subscriptions is not served', async () => {
    const { app } = await buildTestApp();
    expect((await app.inject({ method: 'GET', url: '/subscriptions', headers: bearer() })).statusCode).toBe(404);
  });
});
