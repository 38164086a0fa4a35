/**
 * Who sees what: a subscription belongs to the token name that created it; a caller
 * lists, reads, deletes and lists the deliveries of its own only, and hears only about
 * its own syncs; tokens of ADMIN_API_TOKENS see and manage all. Audit reads follow the
 * same rule. Someone else's id answers 404 exactly like an unknown one (no existence
 * oracle). Creating and deleting a subscription is audited in the sync hash chain.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Value } from 'typebox/value';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DATABASE_FILE, openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { createWebhookTargetPolicy } from '../../src/adapters/webhooks/ssrf-guard.js';
import type { MemberRef } from '../../src/core/membership.js';
import { AuditPage } from '../../src/http/schemas/audit.js';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { buildTestApp, TOKENS } from '../helpers/build-test-app.js';
import { scanForSecrets } from '../helpers/secret-scan.js';
import { generateSecret } from '../../src/adapters/webhooks/signing.js';
import { tempDir } from '../helpers/temp-dir.js';

const ADMIN = 'ops-admin-token-4e8a1f90';
const user = (value: string): MemberRef => ({ value, type: 'User' });
const publicResolve = async () => [{ address: '93.184.216.34', family: 4 }];
type Who = 'okta' | 'entra' | 'ops';
const token: Record<Who, string> = { okta: TOKENS.okta, entra: TOKENS.entra, ops: ADMIN };

async function ownershipApp(env: Record<string, string> = {}) {
  const dataDir = tempDir();
  const store = openSqliteStore({ newSecret: generateSecret, dataDir, adminActors: ['ops'], staticSubscribers: ['https://static.example.com/hooks'] });
  onTestFinished(() => store.close());
  const lines: string[] = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
  const directory = new InMemoryDirectory().addUser('alice').addUser('bob').addGroup('g1', [user('alice')]).addGroup('g2', []);
  const webhookPolicy = createWebhookTargetPolicy({ allowPrivate: false, resolve: publicResolve });
  const built = await buildTestApp({ directory, logger, env: { ADMIN_API_TOKENS: `ops:${ADMIN}`, INBOUND_RATE_LIMIT: '0', ...env }, ports: { audit: store, subscriptions: store, webhookPolicy } });
  const call = (who: Who, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
    built.app.inject({ method, url, headers: { authorization: `Bearer ${token[who]}`, 'x-request-id': `req-${who}-${method}` }, ...(payload === undefined ? {} : { payload }) });
  const subscribe = async (who: Who, url: string, events = ['group.sync.completed', 'group.sync.failed']) => {
    const res = await call(who, 'POST', '/subscriptions', { url, events });
    expect(res.statusCode).toBe(201);
    return res.json() as { id: string; url: string; secret: string; owner: string | null };
  };
  const sync = async (who: Who, groupId: string, members: MemberRef[]) => (await call(who, 'POST', `/groups/${groupId}/sync`, { members })).json() as { syncId: string };
  return { ...built, store, dataDir, lines, call, subscribe, sync };
}

describe('subscriptions belong to whoever created them', () => {
  it('when two callers subscribe, then each lists and reads only its own, with its owner; an administrator lists and reads all', async () => {
    const { call, subscribe } = await ownershipApp();
    const okta = await subscribe('okta', 'https://hooks.example.com/okta?token=okta-query-secret-1');
    const entra = await subscribe('entra', 'https://hooks.example.com/entra?token=entra-query-secret-2');
    const ops = await subscribe('ops', 'https://hooks.example.com/ops');
    expect([okta.owner, entra.owner, ops.owner]).toEqual(['okta', 'entra', 'ops']);

    const listed = (who: Who) => call(who, 'GET', '/subscriptions').then((res) => (res.json() as { items: { id: string }[] }).items.map((s) => s.id));
    expect(await listed('okta')).toEqual([okta.id]);
    expect(await listed('entra')).toEqual([entra.id]);
    expect(await listed('ops')).toEqual([okta.id, entra.id, ops.id]);
    const oktaList = (await call('okta', 'GET', '/subscriptions')).body;
    expect(oktaList).not.toContain('entra-query-secret-2');
    expect((await call('okta', 'GET', `/subscriptions/${okta.id}`)).json()).toMatchObject({ id: okta.id, owner: 'okta', url: okta.url });
    expect((await call('ops', 'GET', `/subscriptions/${entra.id}`)).json()).toMatchObject({ id: entra.id, owner: 'entra' });
  });

  it("when a caller reads, deletes or lists the deliveries of another caller's subscription, then 404 subscription_not_found, exactly as for an unknown id, and nothing changes", async () => {
    const { call, subscribe, store } = await ownershipApp();
    const entra = await subscribe('entra', 'https://hooks.example.com/entra');
    const unknown = 'sub_0193b8a4-7c1e-7000-8000-3f2a9d1c0b11';
    for (const [method, path] of [
      ['GET', '/subscriptions/{id}'],
      ['DELETE', '/subscriptions/{id}'],
      ['GET', '/subscriptions/{id}/deliveries'],
    ] as const) {
      const foreign = await call('okta', method, path.replace('{id}', entra.id));
      const missing = await call('okta', method, path.replace('{id}', unknown));
      expect(foreign.statusCode, `${method} ${path}`).toBe(404);
      expect(missing.statusCode, `${method} ${path}`).toBe(404);
      expect(foreign.json().error).toBe('subscription_not_found');
      expect(foreign.json().message.replace(entra.id, '<id>')).toBe(missing.json().message.replace(unknown, '<id>'));
    }
    expect((await store.listSubscriptions()).map((s) => s.id)).toEqual([entra.id]);
    expect((await call('entra', 'GET', `/subscriptions/${entra.id}`)).statusCode).toBe(200);
  });

  it("when an administrator deletes another caller's subscription, then it is gone for both", async () => {
    const { call, subscribe } = await ownershipApp();
    const okta = await subscribe('okta', 'https://hooks.example.com/okta');
    expect((await call('ops', 'GET', `/subscriptions/${okta.id}/deliveries`)).statusCode).toBe(200);
    expect((await call('ops', 'DELETE', `/subscriptions/${okta.id}`)).statusCode).toBe(204);
    expect((await call('okta', 'GET', `/subscriptions/${okta.id}`)).statusCode).toBe(404);
    expect((await call('ops', 'GET', `/subscriptions/${okta.id}`)).statusCode).toBe(404);
  });

  it("when syncs emit events, then a caller's subscription gets only its owner's; an administrator's and a static WEBHOOK_URLS subscriber get every one", async () => {
    const { call, subscribe, sync, store } = await ownershipApp();
    const okta = await subscribe('okta', 'https://hooks.example.com/okta');
    const entra = await subscribe('entra', 'https://hooks.example.com/entra');
    const ops = await subscribe('ops', 'https://hooks.example.com/ops');
    const byOkta = await sync('okta', 'g1', [user('alice'), user('bob')]);
    const byEntra = await sync('entra', 'g2', [user('bob')]);
    const byOps = await sync('ops', 'g2', [user('alice')]);

    const syncIdsOf = async (subscriptionId: string) => {
      const page = (await call('ops', 'GET', `/subscriptions/${subscriptionId}/deliveries?limit=100`)).json() as { items: { eventId: string }[] };
      const bodies = await store.dueDeliveries(Date.parse('2100-01-01T00:00:00Z'), 1000, new Set());
      return page.items.map((d) => (JSON.parse(bodies.find((b) => b.eventId === d.eventId)?.body ?? '{}') as { data: { syncId: string } }).data.syncId).toSorted();
    };
    expect(await syncIdsOf(okta.id)).toEqual([byOkta.syncId]);
    expect(await syncIdsOf(entra.id)).toEqual([byEntra.syncId]);
    expect(await syncIdsOf(ops.id)).toEqual([byOkta.syncId, byEntra.syncId, byOps.syncId].toSorted());
    const statics = (await store.dueDeliveries(Date.parse('2100-01-01T00:00:00Z'), 1000, new Set())).filter((d) => d.subscriptionId === null);
    const staticSyncIds = new Set(statics.map((d) => (JSON.parse(d.body) as { data: { syncId: string } }).data.syncId));
    expect([...staticSyncIds].toSorted()).toEqual([byOkta.syncId, byEntra.syncId, byOps.syncId].toSorted());
  });
});

describe('subscription changes are audited in the hash chain', () => {
  it('when a subscription is created and deleted, then both are audit records with the id, events, the target without path, query or credentials, and the actor; the chain verifies and GET /audit answers its schema', async () => {
    const { call, subscribe, sync } = await ownershipApp();
    await sync('okta', 'g1', [user('bob')]);
    const created = await subscribe('okta', 'https://hooks.example.com:8443/services/T0/B0/path-secret-77?token=query-secret-99#frag', ['group.sync.failed']);
    expect((await call('ops', 'DELETE', `/subscriptions/${created.id}`)).statusCode).toBe(204);

    const all = (await call('ops', 'GET', '/audit')).json() as { items: Record<string, unknown>[] };
    expect(Value.Check(AuditPage, all)).toBe(true);
    const [deleted, added] = all.items;
    expect(added).toEqual({
      syncId: expect.any(String),
      requestId: 'req-okta-POST',
      actor: 'okta',
      status: 'subscription_created',
      subscriptionId: created.id,
      owner: 'okta',
      events: ['group.sync.failed'],
      target: 'https://hooks.example.com:8443',
      urlSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      createdAt: expect.any(String),
      prevHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(deleted).toMatchObject({ status: 'subscription_deleted', actor: 'ops', owner: 'okta', subscriptionId: created.id, requestId: 'req-ops-DELETE', urlSha256: added?.urlSha256 });
    expect(JSON.stringify(all)).not.toMatch(/path-secret-77|query-secret-99|frag|whsec_/);
    expect((await call('ops', 'GET', '/audit/verify')).json()).toEqual({ ok: true, records: 3 });
    // A subscription record is not a sync.
    expect((await call('okta', 'GET', `/syncs/${String(added?.syncId)}`)).statusCode).toBe(404);
    // Filtering by group leaves subscription records out.
    expect(((await call('ops', 'GET', '/audit?groupId=g1')).json() as { items: unknown[] }).items).toHaveLength(1);
  });
});

describe('audit reads follow the same rule', () => {
  it("when callers sync, then GET /audit lists only the caller's own records, an administrator's lists all, and GET /syncs/{id} of another's sync is 404 like an unknown one", async () => {
    const { call, sync } = await ownershipApp();
    const byOkta = await sync('okta', 'g1', [user('alice'), user('bob')]);
    const byEntra = await sync('entra', 'g2', [user('bob')]);
    const ids = (who: Who, query = '') => call(who, 'GET', `/audit${query}`).then((res) => (res.json() as { items: { syncId: string }[] }).items.map((r) => r.syncId));
    expect(await ids('okta')).toEqual([byOkta.syncId]);
    expect(await ids('entra')).toEqual([byEntra.syncId]);
    expect(await ids('ops')).toEqual([byEntra.syncId, byOkta.syncId]);
    expect(await ids('okta', '?groupId=g2')).toEqual([]);
    // Paging a caller's own records never reaches past them.
    const first = (await call('okta', 'GET', '/audit?limit=1')).json() as { items: unknown[]; nextCursor: string | null };
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).toBeNull();

    const foreign = await call('okta', 'GET', `/syncs/${byEntra.syncId}`);
    const unknown = await call('okta', 'GET', '/syncs/0193b8a4-7c1e-7000-8000-3f2a9d1c0b11');
    expect([foreign.statusCode, unknown.statusCode]).toEqual([404, 404]);
    expect(foreign.json().error).toBe('sync_not_found');
    expect((await call('entra', 'GET', `/syncs/${byEntra.syncId}`)).statusCode).toBe(200);
    expect((await call('ops', 'GET', `/syncs/${byEntra.syncId}`)).statusCode).toBe(200);
  });

  it('when the chain is broken, then every caller gets the verdict, but only an administrator learns which record broke it', async () => {
    const { call, sync, dataDir } = await ownershipApp();
    await sync('okta', 'g1', [user('bob')]);
    const byEntra = await sync('entra', 'g2', [user('bob')]);
    const db = new Database(join(dataDir, DATABASE_FILE));
    db.prepare(`UPDATE audit_records SET entry = json_set(entry, '$.memberCount', 7) WHERE sync_id = ?`).run(byEntra.syncId);
    db.close();
    const forOkta = (await call('okta', 'GET', '/audit/verify')).json();
    expect(forOkta).toEqual({ ok: false, records: 2, failure: 'edited', reason: expect.stringContaining('edited') });
    const forOps = (await call('ops', 'GET', '/audit/verify')).json();
    expect(forOps).toEqual({ ok: false, records: 2, failure: 'edited', firstBrokenSyncId: byEntra.syncId, reason: expect.stringContaining('edited') });
  });

  it('when subscriptions and audit records are read, then no secret reaches an answer or the log', async () => {
    const { call, subscribe, sync, lines } = await ownershipApp();
    const created = await subscribe('okta', 'https://hooks.example.com/okta');
    await sync('okta', 'g1', [user('bob')]);
    await call('ops', 'DELETE', `/subscriptions/${created.id}`);
    const answers = await Promise.all([call('okta', 'GET', '/audit'), call('ops', 'GET', '/audit'), call('ops', 'GET', '/subscriptions')]);
    const secrets = new Map([
      ['okta token', TOKENS.okta],
      ['admin token', ADMIN],
      ['subscription secret', created.secret],
    ]);
    expect(scanForSecrets(secrets, [...answers.map((a, i) => [`answer ${i}`, a.body] as const), ...lines.map((l, i) => [`log ${i}`, l] as const)])).toEqual([]);
  });
});
