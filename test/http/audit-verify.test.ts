/** GET /audit/verify on the SQLite store: each way of cutting the trail is reported with its failure kind, and the head is published. */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPrometheusMetrics } from '../../src/adapters/metrics/prometheus-metrics.js';
import { DATABASE_FILE, openSqliteStore, type SqliteStoreOptions } from '../../src/adapters/storage/sqlite-store.js';
import type { MemberRef } from '../../src/core/membership.js';
import { reportAuditHead } from '../../src/composition/service.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { bearer, buildTestApp } from '../helpers/build-test-app.js';
import { tempDir } from '../helpers/temp-dir.js';

const user = (value: string): MemberRef => ({ value, type: 'User' });
/** Verify answers name the broken record to administrators only. */
const ADMIN_TOKEN = 'audit-admin-token-0001';

async function sqliteApp(options: Partial<SqliteStoreOptions> = {}) {
  const dataDir = tempDir();
  const metrics = createPrometheusMetrics({ defaultMetrics: false });
  const logged: [object, string][] = [];
  const store = openSqliteStore({ dataDir, onHead: reportAuditHead(metrics.audit, { info: (details, message) => logged.push([details, message]) }, 2), ...options });
  onTestFinished(() => store.close());
  const directory = new InMemoryDirectory().addUser('alice').addUser('bob').addGroup('g1', [user('alice')]);
  const built = await buildTestApp({ directory, env: { ADMIN_API_TOKENS: `ops:${ADMIN_TOKEN}` }, ports: { audit: store, metrics } });
  const sync = async (members: MemberRef[]) => (await built.app.inject({ method: 'POST', url: '/groups/g1/sync', headers: bearer(), payload: { members } })).json() as { syncId: string };
  const verify = async () => (await built.app.inject({ method: 'GET', url: '/audit/verify', headers: bearer(ADMIN_TOKEN) })).json() as Record<string, unknown>;
  const sql = (text: string) => {
    const db = new Database(join(dataDir, DATABASE_FILE));
    try {
      db.prepare(text).run();
    } finally {
      db.close();
    }
  };
  return { ...built, store, sync, verify, sql, logged };
}

describe('GET /audit/verify: a trail that cannot be quietly cut', () => {
  it('when the newest records and the head row are deleted, then verify answers head_missing, not ok', async () => {
    const { sync, verify, sql } = await sqliteApp();
    for (const members of [[user('bob')], [user('alice')], [user('bob')]]) await sync(members);
    sql(`DELETE FROM audit_records WHERE seq = 3`);
    sql(`DELETE FROM meta WHERE key IN ('audit_head', 'audit_head_seq')`);
    expect(await verify()).toMatchObject({ ok: false, failure: 'head_missing', records: 2, firstBrokenSyncId: '(end of chain)' });
  });

  it('when the whole table is emptied, then verify answers emptied', async () => {
    const { sync, verify, sql } = await sqliteApp();
    await sync([user('bob')]);
    sql(`DELETE FROM audit_records`);
    expect(await verify()).toMatchObject({ ok: false, failure: 'emptied', records: 0, reason: expect.stringContaining('the records were deleted') });
  });

  it('when only the newest records are deleted, then verify answers truncated, naming the missing sequence numbers', async () => {
    const { sync, verify, sql } = await sqliteApp();
    for (const members of [[user('bob')], [user('alice')], [user('bob')]]) await sync(members);
    sql(`DELETE FROM audit_records WHERE seq >= 2`);
    expect(await verify()).toMatchObject({ ok: false, failure: 'truncated', reason: expect.stringContaining('records 2 to 3 were deleted') });
  });

  it('when the trail is keyed, then verify checks the HMAC seals and reports a record re-sealed without the key', async () => {
    const key = 'audit-hmac-key-0123456789abcdef-0123';
    const { sync, verify, sql } = await sqliteApp({ auditKey: key });
    await sync([user('bob')]);
    await sync([user('alice')]);
    expect(await verify()).toEqual({ ok: true, records: 2 });
    sql(`DELETE FROM meta WHERE key = 'audit_key_anchor'`);
    expect(await verify()).toMatchObject({ ok: false, failure: 'not_keyed' });
  });

  it('when records are appended, then /metrics shows the head sequence and the head is logged every AUDIT_HEAD_LOG_EVERY records', async () => {
    const { app, sync, logged, store } = await sqliteApp();
    for (const members of [[user('bob')], [user('alice')], [user('bob')]]) await sync(members);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^scim_audit_chain_head_sequence 3$/m);
    expect(logged).toEqual([[{ auditHead: { seq: 2, hash: expect.stringMatching(/^[0-9a-f]{64}$/) } }, 'audit chain head']]);
    expect(JSON.stringify(logged[0])).not.toContain(String(store.auditHead()?.hash));
  });
});
