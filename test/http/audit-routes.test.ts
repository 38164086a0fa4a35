import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DATABASE_FILE, openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { chainHash, GENESIS_HASH, type AuditRecord } from '../../src/core/audit.js';
import type { MemberRef } from '../../src/core/membership.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { bearer, buildTestApp } from '../helpers/build-test-app.js';
import { tempDir } from '../helpers/temp-dir.js';

const user = (value: string): MemberRef => ({ value, type: 'User' });

/** An administrator (ADMIN_API_TOKENS): learns which record broke the chain. */
const ADMIN_TOKEN = 'ops-audit-admin-token-01';

async function sqliteApp() {
  const dataDir = tempDir();
  const store = openSqliteStore({ dataDir });
  onTestFinished(() => store.close());
  const directory = new InMemoryDirectory().addUser('alice').addUser('bob').addUser('carol', false).addGroup('g1', [user('alice')]).addGroup('g2', []);
  const built = await buildTestApp({ directory, env: { ADMIN_API_TOKENS: `ops:${ADMIN_TOKEN}` }, ports: { audit: store, subscriptions: store } });
  const sync = async (groupId: string, members: MemberRef[]) => {
    const res = await built.app.inject({ method: 'POST', url: `/groups/${groupId}/sync`, headers: bearer(), payload: { members } });
    return res.json() as { syncId: string };
  };
  const get = (url: string, token?: string) => built.app.inject({ method: 'GET', url, headers: bearer(token) });
  return { ...built, store, dataDir, sync, get };
}

describe('GET /syncs/{syncId}', () => {
  it('when the sync happened, then its audit record answers with the docs/api.md fields, and its hash can be recomputed from the answer', async () => {
    const { sync, get } = await sqliteApp();
    const { syncId } = await sync('g1', [user('alice'), user('bob')]);
    const res = await get(`/syncs/${syncId}`);
    expect(res.statusCode).toBe(200);
    const record = res.json() as AuditRecord;
    expect(record).toMatchObject({
      syncId,
      requestId: expect.any(String),
      actor: 'okta',
      groupId: 'g1',
      status: 'applied',
      added: [user('bob')],
      removed: [],
      memberCount: 2,
      payloadSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      etagBefore: 'W/"1"',
      etagAfter: 'W/"2"',
      latencyMs: expect.any(Number),
      upstreamRequests: expect.any(Number),
      errors: [],
      createdAt: expect.any(String),
      prevHash: GENESIS_HASH,
    });
    const { prevHash, hash, ...entry } = record;
    expect(chainHash(entry, prevHash)).toBe(hash);
  });

  it('when a sync failed validation, then its record holds the errors', async () => {
    const { app, get } = await sqliteApp();
    const res = await app.inject({ method: 'POST', url: '/groups/g1/sync', headers: bearer(), payload: { members: [user('carol')] } });
    expect(res.statusCode).toBe(422);
    const record = (await get(`/syncs/${res.json().syncId}`)).json();
    expect(record).toMatchObject({ status: 'validation_failed', errors: [{ code: 'user_inactive', member: user('carol') }] });
  });

  it('when the syncId is unknown, then 404 sync_not_found', async () => {
    const { get } = await sqliteApp();
    const res = await get('/syncs/0193b8a4-7c1e-7000-8000-3f2a9d1c0b11');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: 'sync_not_found', message: expect.stringContaining('0193b8a4') });
  });

  it('when the app runs on the in-memory audit log, then the audit routes are served from it too', async () => {
    const { app } = await buildTestApp({ directory: new InMemoryDirectory().addUser('alice').addGroup('g1', []) });
    const { syncId } = (await app.inject({ method: 'POST', url: '/groups/g1/sync', headers: bearer(), payload: { members: [user('alice')] } })).json();
    expect((await app.inject({ method: 'GET', url: `/syncs/${syncId}`, headers: bearer() })).json()).toMatchObject({ syncId, status: 'applied' });
    expect((await app.inject({ method: 'GET', url: '/audit', headers: bearer() })).json().items).toHaveLength(1);
    expect((await app.inject({ method: 'GET', url: '/audit/verify', headers: bearer() })).json()).toEqual({ ok: true, records: 1 });
  });
});

describe('GET /audit', () => {
  it('when records exist, then they come newest first, filtered by groupId, page by page with nextCursor', async () => {
    const { sync, get } = await sqliteApp();
    const ids = [];
    for (const [groupId, members] of [
      ['g1', [user('bob')]],
      ['g2', [user('alice')]],
      ['g1', [user('alice')]],
      ['g2', []],
      ['g1', [user('alice')]],
    ] as const) {
      ids.push((await sync(groupId, [...members])).syncId);
    }
    const all = (await get('/audit')).json();
    expect(all.items.map((r: AuditRecord) => r.syncId)).toEqual(ids.toReversed());
    expect(all.nextCursor).toBeNull();

    const g1 = (await get('/audit?groupId=g1')).json();
    expect(g1.items.map((r: AuditRecord) => r.status)).toEqual(['unchanged', 'applied', 'applied']);

    const first = (await get('/audit?limit=2')).json();
    expect(first.items).toHaveLength(2);
    const second = (await get(`/audit?limit=2&cursor=${first.nextCursor}`)).json();
    const third = (await get(`/audit?limit=2&cursor=${second.nextCursor}`)).json();
    expect([...first.items, ...second.items, ...third.items].map((r: AuditRecord) => r.syncId)).toEqual(ids.toReversed());
    expect(third.nextCursor).toBeNull();
  });

  it('when since is given, then older records are left out', async () => {
    const { sync, get, store } = await sqliteApp();
    await sync('g1', [user('bob')]);
    const [record] = (await store.listRecords({ limit: 1 })).items;
    expect((await get(`/audit?since=${encodeURIComponent(record?.createdAt ?? '')}`)).json().items).toHaveLength(1);
    expect((await get(`/audit?since=${encodeURIComponent(new Date(Date.parse(record?.createdAt ?? '') + 1).toISOString())}`)).json().items).toHaveLength(0);
  });

  it.each([
    ['limit=501', /limit/],
    ['limit=0', /limit/],
    ['since=yesterday', /since/],
    ['cursor=not-ours', /cursor/],
  ])('when the query has %s, then 400 invalid_request', async (query, field) => {
    const { get } = await sqliteApp();
    const res = await get(`/audit?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request', message: expect.stringMatching(field) });
  });

  it('when there is no bearer token, then the audit routes answer 401', async () => {
    const { app } = await sqliteApp();
    for (const url of ['/audit', '/audit/verify', '/syncs/x']) expect((await app.inject({ method: 'GET', url })).statusCode).toBe(401);
  });
});

describe('GET /audit/verify', () => {
  it('when nothing was tampered with, then ok with the number of records', async () => {
    const { sync, get } = await sqliteApp();
    await sync('g1', [user('bob')]);
    await sync('g1', [user('bob')]);
    expect((await get('/audit/verify')).json()).toEqual({ ok: true, records: 2 });
  });

  it('when a stored record is edited through SQLite, then verify reports it', async () => {
    const { sync, get, dataDir } = await sqliteApp();
    await sync('g1', [user('bob')]);
    const { syncId } = await sync('g2', [user('alice')]);
    await sync('g1', [user('alice')]);
    withRawDb(dataDir, (db) => db.prepare(`UPDATE audit_records SET entry = json_set(entry, '$.memberCount', 0) WHERE sync_id = ?`).run(syncId));
    expect((await get('/audit/verify', ADMIN_TOKEN)).json()).toEqual({ ok: false, records: 2, failure: 'edited', firstBrokenSyncId: syncId, reason: expect.stringContaining('edited') });
  });

  it('when a stored record is deleted through SQLite, then verify reports the link after it', async () => {
    const { sync, get, dataDir } = await sqliteApp();
    await sync('g1', [user('bob')]);
    const deleted = await sync('g2', [user('alice')]);
    const after = await sync('g1', [user('alice')]);
    withRawDb(dataDir, (db) => db.prepare(`DELETE FROM audit_records WHERE sync_id = ?`).run(deleted.syncId));
    expect((await get('/audit/verify', ADMIN_TOKEN)).json()).toMatchObject({ ok: false, firstBrokenSyncId: after.syncId, reason: expect.stringContaining('deleted') });
  });
});

describe('audit writes', () => {
  it('when the audit record cannot be written, then the sync answers an error, not an unaudited success', async () => {
    const { app, store } = await sqliteApp();
    store.close();
    const res = await app.inject({ method: 'POST', url: '/groups/g1/sync', headers: bearer(), payload: { members: [user('bob')] } });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toMatchObject({ error: 'audit_unavailable', syncId: expect.any(String) });
  });
});

function withRawDb(dataDir: string, run: (db: Database.Database) => unknown): void {
  const db = new Database(join(dataDir, DATABASE_FILE));
  try {
    run(db);
  } finally {
    db.close();
  }
}
