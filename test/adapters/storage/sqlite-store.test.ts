import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../src/adapters/storage/migrations.js';
import { InvalidCursorError, StorageError } from '../../../src/core/errors.js';
import { DATABASE_FILE, openSqliteStore, type SqliteStoreOptions } from '../../../src/adapters/storage/sqlite-store.js';
import { chainHash, GENESIS_HASH, sealRecord, type AuditEntry, type AuditRecord } from '../../../src/core/audit.js';
import { FakeClock } from '../../fakes/fake-clock.js';
import { auditEntry, domainEvent } from '../../fakes/audit-entry.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { generateSecret } from '../../../src/adapters/webhooks/signing.js';

function open(options: Partial<SqliteStoreOptions> = {}) {
  const dataDir = options.dataDir ?? tempDir();
  const clock = new FakeClock();
  const store = openSqliteStore({ newSecret: generateSecret, dataDir, clock, ...options });
  onTestFinished(() => store.close());
  return { store, dataDir, clock };
}

/** A second connection, as an operator (or an attacker) with the sqlite3 shell would have. */
function rawDb(dataDir: string) {
  const db = new Database(join(dataDir, DATABASE_FILE));
  onTestFinished(() => {
    db.close();
  });
  return db;
}

/** The entry of a record, without its seal. */
function stripSeal(record: AuditRecord | undefined): AuditEntry {
  const { prevHash: _prev, hash: _hash, ...entry } = record as AuditRecord;
  return entry;
}

async function appendMany(store: ReturnType<typeof open>['store'], count: number, overrides: Parameters<typeof auditEntry>[0] = {}) {
  const records = [];
  for (let i = 0; i < count; i++) records.push(await store.append(auditEntry(overrides), []));
  return records;
}

describe('SQLite store: opening', () => {
  it('when DATA_DIR does not exist, then it is created with a WAL database at the latest schema version', () => {
    const dataDir = join(tempDir(), 'nested', 'data');
    open({ dataDir });
    const db = rawDb(dataDir);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all();
    expect(tables).toEqual(expect.arrayContaining(['audit_records', 'delivery_attempts', 'deliveries', 'idempotency_keys', 'meta', 'outbox_events', 'subscriptions']));
  });

  it('when reopened, then the records are still there and the chain continues from the remembered head', async () => {
    const dataDir = tempDir();
    const first = openSqliteStore({ dataDir });
    const a = await first.append(auditEntry(), []);
    first.close();
    const { store } = open({ dataDir });
    const b = await store.append(auditEntry(), []);
    expect(a.prevHash).toBe(GENESIS_HASH);
    expect(b.prevHash).toBe(a.hash);
    expect(await store.findSync(a.syncId)).toEqual(a);
    expect(await store.verifyChain()).toEqual({ ok: true, records: 2 });
  });

  it('when the database file holds garbage bytes, then opening fails with one clear line naming the file', () => {
    const dataDir = tempDir();
    writeFileSync(join(dataDir, DATABASE_FILE), Buffer.from('this is not a database, just some garbage bytes '.repeat(100)));
    const error = catchError(() => openSqliteStore({ dataDir }));
    expect(error).toBeInstanceOf(StorageError);
    expect(error.message).toContain(join(dataDir, DATABASE_FILE));
    expect(error.message).toMatch(/corrupt or not a SQLite database/);
    expect(error.message).not.toContain('\n');
  });

  it('when DATA_DIR is a file, then opening fails with a StorageError naming DATA_DIR', () => {
    const file = join(tempDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    expect(catchError(() => openSqliteStore({ dataDir: file })).message).toMatch(/^DATA_DIR .*not-a-dir (is not a directory|cannot be created)/);
    expect(catchError(() => openSqliteStore({ dataDir: join(file, 'below') })).message).toMatch(/^DATA_DIR .* cannot be created \(ENOTDIR/);
  });

  it('when the database file cannot be opened, then opening fails with a StorageError', () => {
    const dataDir = tempDir();
    mkdirSync(join(dataDir, DATABASE_FILE)); // a directory where the file should be
    const error = catchError(() => openSqliteStore({ dataDir }));
    expect(error).toBeInstanceOf(StorageError);
    expect(error.message).toContain('cannot be opened');
  });

  it('when a store kept the agent map before agents had their team\'s user-management id, then the upgrade keeps the agents but forgets updateSince, so the next refresh pages every agent', async () => {
    const dataDir = tempDir();
    const upgrade = MIGRATIONS.find((m) => m.sql.includes('ALTER TABLE agents ADD COLUMN team_uuid'));
    if (upgrade === undefined) throw new Error('no migration adds agents.team_uuid');
    const db = new Database(join(dataDir, DATABASE_FILE));
    for (const migration of MIGRATIONS.filter((m) => m.version < upgrade.version)) db.exec(migration.sql);
    db.pragma(`user_version = ${upgrade.version - 1}`);
    db.prepare(`INSERT INTO agents (agent_id, user_id, team_id) VALUES (1001, 'u-1', 3001)`).run();
    db.prepare(`INSERT INTO meta (key, value) VALUES ('agent_map_last_poll_time', '2026-12-01T10:00:00.000Z')`).run();
    db.close();
    const { store } = open({ dataDir });
    expect(await store.agentMap.load()).toEqual({ agents: [{ agentId: 1001, userId: 'u-1', teamId: 3001 }], lastPollTime: undefined });
  });

  it('when the database comes from a newer release, then opening refuses it', () => {
    const { store, dataDir } = open();
    store.close();
    rawDb(dataDir).pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    expect(catchError(() => openSqliteStore({ dataDir })).message).toContain(`schema version ${SCHEMA_VERSION + 1}, newer than this release understands (${SCHEMA_VERSION})`);
  });
});

describe('SQLite store: audit chain', () => {
  it('when records are appended, then each links to the one before and verify walks them all in chunks', async () => {
    const { store } = open({ verifyChunk: 2 });
    const records = await appendMany(store, 5);
    for (let i = 1; i < records.length; i++) expect(records[i]?.prevHash).toBe(records[i - 1]?.hash);
    expect(await store.verifyChain()).toEqual({ ok: true, records: 5 });
  });

  it('when a record is edited through SQLite, then verify reports it as the first broken link', async () => {
    const { store, dataDir } = open();
    const [, second] = await appendMany(store, 3);
    const db = rawDb(dataDir);
    db.prepare(`UPDATE audit_records SET entry = json_set(entry, '$.actor', 'mallory') WHERE sync_id = ?`).run(second?.syncId);
    expect(await store.verifyChain()).toEqual({ ok: false, records: 2, failure: 'edited', firstBrokenSyncId: second?.syncId, reason: expect.stringContaining('edited') });
  });

  it('when an indexed column is edited, then verify reports it too (the columns are read over the JSON)', async () => {
    const { store, dataDir } = open();
    const [first] = await appendMany(store, 2);
    rawDb(dataDir).prepare(`UPDATE audit_records SET status = 'unchanged' WHERE sync_id = ?`).run(first?.syncId);
    expect(await store.verifyChain()).toMatchObject({ ok: false, firstBrokenSyncId: first?.syncId });
  });

  it('when the actor column of a record is edited (to show it to another caller), then verify reports it', async () => {
    const { store, dataDir } = open();
    const [first] = await appendMany(store, 2);
    rawDb(dataDir).prepare(`UPDATE audit_records SET actor = 'mallory' WHERE sync_id = ?`).run(first?.syncId);
    expect(await store.verifyChain()).toMatchObject({ ok: false, firstBrokenSyncId: first?.syncId, reason: expect.stringContaining('edited') });
  });

  it('when a record is no longer valid JSON, then verify reports it rather than failing', async () => {
    const { store, dataDir } = open();
    const [first] = await appendMany(store, 1);
    rawDb(dataDir).prepare(`UPDATE audit_records SET entry = '{not json'`).run();
    expect(await store.verifyChain()).toMatchObject({ ok: false, firstBrokenSyncId: first?.syncId });
  });

  it('when a record in the middle is deleted, then verify reports the record after it', async () => {
    const { store, dataDir } = open();
    const [, second, third] = await appendMany(store, 4);
    rawDb(dataDir).prepare(`DELETE FROM audit_records WHERE sync_id = ?`).run(second?.syncId);
    expect(await store.verifyChain()).toEqual({ ok: false, records: 2, failure: 'gap', firstBrokenSyncId: third?.syncId, reason: expect.stringContaining('deleted') });
  });

  it('when the newest records are deleted, then verify notices the chain ends before the remembered head', async () => {
    const { store, dataDir } = open();
    const [, , third] = await appendMany(store, 3);
    rawDb(dataDir).prepare(`DELETE FROM audit_records WHERE sync_id = ?`).run(third?.syncId);
    expect(await store.verifyChain()).toMatchObject({ ok: false, records: 2, firstBrokenSyncId: '(end of chain)' });
  });

  it('when the newest record is deleted and a sync follows, then the gap stays detectable', async () => {
    const { store, dataDir } = open();
    const [, second] = await appendMany(store, 2);
    rawDb(dataDir).prepare(`DELETE FROM audit_records WHERE sync_id = ?`).run(second?.syncId);
    const next = await store.append(auditEntry(), []);
    expect(await store.verifyChain()).toMatchObject({ ok: false, firstBrokenSyncId: next.syncId });
  });

  it('when the store is closed, then append rejects (the sync then reports an error, never an unaudited success)', async () => {
    const { store } = open();
    store.close();
    await expect(store.append(auditEntry(), [])).rejects.toThrow(/not open/);
  });
});

describe('SQLite store: a chain that cannot be quietly cut', () => {
  it('when the newest records and the head row are deleted, then verify reports the missing head', async () => {
    const { store, dataDir } = open();
    await appendMany(store, 4);
    const db = rawDb(dataDir);
    db.prepare(`DELETE FROM audit_records WHERE seq >= 3`).run();
    db.prepare(`DELETE FROM meta WHERE key IN ('audit_head', 'audit_head_seq')`).run();
    expect(await store.verifyChain()).toMatchObject({ ok: false, failure: 'head_missing', records: 2, reason: expect.stringContaining('head is missing') });
  });

  it('when the head row is deleted and a sync follows, then the append does not restart from the genesis, and verify reports the cut', async () => {
    const { store, dataDir } = open();
    const [, second] = await appendMany(store, 2);
    rawDb(dataDir).prepare(`DELETE FROM meta WHERE key = 'audit_head'`).run();
    const next = await store.append(auditEntry(), []);
    expect(next.prevHash).not.toBe(GENESIS_HASH);
    expect(next.prevHash).toBe(second?.hash);
    expect(await store.verifyChain()).toMatchObject({ ok: false, failure: 'head_missing', firstBrokenSyncId: next.syncId, reason: expect.stringContaining('head had been deleted') });
  });

  it('when the newest records and the head are deleted and a sync follows, then the sequence gap shows', async () => {
    const { store, dataDir } = open();
    await appendMany(store, 3);
    const db = rawDb(dataDir);
    db.prepare(`DELETE FROM audit_records WHERE seq = 3`).run();
    db.prepare(`DELETE FROM meta WHERE key IN ('audit_head', 'audit_head_seq')`).run();
    const next = await store.append(auditEntry(), []);
    expect(await store.verifyChain()).toMatchObject({ ok: false, failure: 'gap', firstBrokenSyncId: next.syncId, reason: expect.stringContaining('record 3 is missing') });
  });

  it('when the whole table is emptied, then verify says the trail is empty although records were written', async () => {
    const { store, dataDir } = open();
    await appendMany(store, 3);
    rawDb(dataDir).prepare(`DELETE FROM audit_records`).run();
    expect(await store.verifyChain()).toMatchObject({ ok: false, failure: 'emptied', records: 0 });
  });

  it('when the table and the head are emptied, then the counter still tells, before and after the next append', async () => {
    const { store, dataDir } = open();
    await appendMany(store, 3);
    const db = rawDb(dataDir);
    db.prepare(`DELETE FROM audit_records`).run();
    db.prepare(`DELETE FROM meta WHERE key LIKE 'audit_%'`).run();
    expect(await store.verifyChain()).toMatchObject({ ok: false, failure: 'emptied', reason: expect.stringContaining('3 records were written') });
    const next = await store.append(auditEntry(), []);
    expect(await store.verifyChain()).toMatchObject({ ok: false, failure: 'gap', firstBrokenSyncId: next.syncId });
  });

  it('when a record in the middle is deleted and every later record re-linked without a key, then the sequence gap still shows', async () => {
    const { store, dataDir } = open();
    const records = await appendMany(store, 4);
    const db = rawDb(dataDir);
    db.prepare(`DELETE FROM audit_records WHERE seq = 2`).run();
    // Re-seal records 3 and 4 onto record 1, as someone without a key can.
    let prev = records[0]?.hash as string;
    for (const seq of [3, 4]) {
      const { prevHash: _p, hash: _h, ...entry } = records[seq - 1] as (typeof records)[number];
      const resealed = sealRecord(entry, prev);
      db.prepare(`UPDATE audit_records SET prev_hash = ?, hash = ? WHERE seq = ?`).run(resealed.prevHash, resealed.hash, seq);
      prev = resealed.hash;
    }
    db.prepare(`UPDATE meta SET value = ? WHERE key = 'audit_head'`).run(prev);
    expect(await store.verifyChain()).toMatchObject({ ok: false, failure: 'gap', firstBrokenSyncId: records[2]?.syncId });
  });

  it('when the chain is intact, then auditHead() is the newest record and onHead hears each append', async () => {
    const heads: unknown[] = [];
    const { store } = open({ onHead: (head) => heads.push(head) });
    const records = await appendMany(store, 2);
    expect(store.auditHead()).toEqual({ seq: 2, hash: records[1]?.hash });
    expect(heads).toEqual([
      { seq: 1, hash: records[0]?.hash },
      { seq: 2, hash: records[1]?.hash },
    ]);
  });
});

describe('SQLite store: a keyed chain (AUDIT_HMAC_KEY)', () => {
  const KEY = 'audit-hmac-key-0123456789abcdef-0123';

  it('when keyed from the start, then records are HMAC-sealed and verify with the key; rewriting one without the key is caught', async () => {
    const { store, dataDir } = open({ auditKey: KEY });
    const records = await appendMany(store, 3);
    expect(records[0]?.hash).toBe(chainHash(auditEntry({ ...stripSeal(records[0]) }), GENESIS_HASH, KEY));
    expect(await store.verifyChain()).toEqual({ ok: true, records: 3 });
    // An edit re-sealed with plain SHA-256 (all an attacker without the key can do), head included.
    const db = rawDb(dataDir);
    const edited = { ...stripSeal(records[1]), actor: 'mallory' };
    const resealed = sealRecord(edited, records[0]?.hash as string);
    db.prepare(`UPDATE audit_records SET entry = ?, hash = ? WHERE seq = 2`).run(JSON.stringify(edited), resealed.hash);
    expect(await store.verifyChain()).toMatchObject({ ok: false, failure: 'edited', firstBrokenSyncId: records[1]?.syncId });
  });

  it('when a plain chain gets a key, then older records stay plain, newer ones are keyed, and the whole chain verifies', async () => {
    const dataDir = tempDir();
    const plain = openSqliteStore({ dataDir });
    const before = await appendMany(plain, 2);
    plain.close();
    const { store } = open({ dataDir, auditKey: KEY });
    const after = await store.append(auditEntry(), []);
    expect(before[1]?.hash).toBe(chainHash(stripSeal(before[1]), before[1]?.prevHash as string));
    expect(after.hash).toBe(chainHash(stripSeal(after), after.prevHash, KEY));
    expect(await store.verifyChain()).toEqual({ ok: true, records: 3 });
  });

  it('when keyed records are re-sealed as plain and the key anchor deleted (a downgrade), then verify with the key refuses', async () => {
    const { store, dataDir } = open({ auditKey: KEY });
    const records = await appendMany(store, 2);
    const db = rawDb(dataDir);
    let prev = GENESIS_HASH;
    for (const [i, record] of records.entries()) {
      const resealed = sealRecord(stripSeal(record), prev);
      db.prepare(`UPDATE audit_records SET prev_hash = ?, hash = ? WHERE seq = ?`).run(resealed.prevHash, resealed.hash, i + 1);
      prev = resealed.hash;
    }
    db.prepare(`UPDATE meta SET value = ? WHERE key = 'audit_head'`).run(prev);
    db.prepare(`DELETE FROM meta WHERE key IN ('audit_key_anchor', 'audit_head_mac')`).run();
    expect(await store.verifyChain()).toMatchObject({ ok: false, failure: 'not_keyed' });
  });

  it('when the head is moved back over deleted keyed records, then its missing seal gives it away', async () => {
    const { store, dataDir } = open({ auditKey: KEY });
    const records = await appendMany(store, 3);
    const db = rawDb(dataDir);
    db.prepare(`DELETE FROM audit_records WHERE seq = 3`).run();
    db.prepare(`UPDATE meta SET value = ? WHERE key = 'audit_head'`).run(records[1]?.hash);
    db.prepare(`UPDATE meta SET value = '2' WHERE key = 'audit_head_seq'`).run();
    expect(await store.verifyChain()).toMatchObject({ ok: false, failure: 'key_mismatch', reason: expect.stringContaining('head') });
  });

  it('when a keyed store is opened for writing without the key or with another, then opening refuses; reading it without the key checks the links only', async () => {
    const dataDir = tempDir();
    const keyed = openSqliteStore({ dataDir, auditKey: KEY });
    await appendMany(keyed, 2);
    keyed.close();
    expect(() => openSqliteStore({ dataDir })).toThrow(/keyed \(HMAC\) since record 1; set AUDIT_HMAC_KEY/);
    expect(() => openSqliteStore({ dataDir, auditKey: `${KEY}-other` })).toThrow(/AUDIT_HMAC_KEY does not match/);
    const reader = openSqliteStore({ dataDir, readonly: true });
    onTestFinished(() => reader.close());
    expect(await reader.verifyChain()).toEqual({ ok: true, records: 2, unverifiedKeyedRecords: 2 });
    const checker = openSqliteStore({ dataDir, readonly: true, auditKey: `${KEY}-other` });
    onTestFinished(() => checker.close());
    expect(await checker.verifyChain()).toMatchObject({ ok: false, failure: 'key_mismatch' });
  });
});

describe('SQLite store: audit retention', () => {
  const DAY = 86_400_000;

  it('when old records are pruned, then a checkpoint carries the hash the kept chain continues from, and the chain still verifies', async () => {
    const { store, clock } = open({ verifyChunk: 2 });
    const at = (days: number) => new Date(clock.now() + days * DAY).toISOString();
    await appendMany(store, 3, { createdAt: at(0) });
    const kept = await appendMany(store, 2, { createdAt: at(10) });
    clock.advance(40 * DAY);
    const result = await store.pruneAudit(clock.now() - 35 * DAY);
    expect(result).toMatchObject({ pruned: 3, checkpoint: { firstSeq: 4, prevHash: kept[0]?.prevHash, pruned: 3 } });
    expect(await store.verifyChain()).toMatchObject({ ok: true, records: 2, checkpoint: { firstSeq: 4, pruned: 3 } });
    await store.append(auditEntry({ createdAt: at(40) }), []);
    expect(await store.verifyChain()).toMatchObject({ ok: true, records: 3 });
    expect(await store.pruneAudit(clock.now() - 35 * DAY)).toEqual({ pruned: 0 });
  });

  it('when every record is older than the cutoff, then all are pruned and the empty trail still verifies against its head', async () => {
    const { store, clock } = open();
    await appendMany(store, 2, { createdAt: new Date(clock.now()).toISOString() });
    clock.advance(10 * DAY);
    expect(await store.pruneAudit(clock.now() - DAY)).toMatchObject({ pruned: 2 });
    expect(await store.verifyChain()).toMatchObject({ ok: true, records: 0, checkpoint: { firstSeq: 3, pruned: 2 } });
    await store.append(auditEntry(), []);
    expect(await store.verifyChain()).toMatchObject({ ok: true, records: 1 });
  });

  it('when the records to prune do not verify, then nothing is pruned (pruning never erases evidence)', async () => {
    const { store, dataDir, clock } = open();
    const [first] = await appendMany(store, 2, { createdAt: new Date(clock.now()).toISOString() });
    rawDb(dataDir).prepare(`UPDATE audit_records SET entry = json_set(entry, '$.actor', 'mallory') WHERE sync_id = ?`).run(first?.syncId);
    clock.advance(10 * DAY);
    expect(await store.pruneAudit(clock.now() - DAY)).toMatchObject({ pruned: 0, refused: expect.stringContaining('edited') });
    expect(await store.verifyChain()).toMatchObject({ ok: false, failure: 'edited' });
  });

  it('when records are deleted and a checkpoint forged in a keyed trail, then verify refuses the checkpoint', async () => {
    const { store, dataDir, clock } = open({ auditKey: 'audit-hmac-key-0123456789abcdef-0123' });
    const records = await appendMany(store, 3);
    const db = rawDb(dataDir);
    db.prepare(`DELETE FROM audit_records WHERE seq <= 2`).run();
    db.prepare(`INSERT INTO audit_checkpoints (first_seq, prev_hash, pruned, created_at, mac) VALUES (3, ?, 2, ?, NULL)`).run(records[1]?.hash, new Date(clock.now()).toISOString());
    expect(await store.verifyChain()).toMatchObject({ ok: false, failure: 'checkpoint_invalid' });
  });

  it('when a checkpoint row is deleted, then the kept records no longer begin where the chain does', async () => {
    const { store, dataDir, clock } = open();
    await appendMany(store, 3, { createdAt: new Date(clock.now()).toISOString() });
    clock.advance(10 * DAY);
    await appendMany(store, 1, { createdAt: new Date(clock.now()).toISOString() });
    await store.pruneAudit(clock.now() - DAY);
    rawDb(dataDir).prepare(`DELETE FROM audit_checkpoints`).run();
    expect(await store.verifyChain()).toMatchObject({ ok: false, failure: 'gap' });
  });
});

describe('SQLite store: audit queries', () => {
  it('when listing, then records come newest first, filtered by group and since, across pages', async () => {
    const { store } = open();
    const made = [];
    for (let i = 0; i < 7; i++) {
      made.push(await store.append(auditEntry({ groupId: i % 2 === 0 ? 'even' : 'odd', createdAt: `2026-01-0${i + 1}T00:00:00.000Z` }), []));
    }
    const all = await store.listRecords({ limit: 500 });
    expect(all.items.map((r) => r.syncId)).toEqual(made.map((r) => r.syncId).toReversed());
    expect(all.nextCursor).toBeNull();

    const even = await store.listRecords({ groupId: 'even', limit: 500 });
    expect(even.items.map((r) => r.createdAt.slice(0, 10))).toEqual(['2026-01-07', '2026-01-05', '2026-01-03', '2026-01-01']);

    const recent = await store.listRecords({ since: '2026-01-05T00:00:00Z', limit: 500 });
    expect(recent.items).toHaveLength(3);

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listRecords({ limit: 3, cursor });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((r) => r.syncId));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(all.items.map((r) => r.syncId));
  });

  it('when a cursor was not issued by the store, then listing throws InvalidCursorError', async () => {
    const { store } = open();
    await expect(store.listRecords({ limit: 10, cursor: 'bogus' })).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(store.listRecords({ limit: 10, cursor: Buffer.from('delivery:3').toString('base64url') })).rejects.toBeInstanceOf(InvalidCursorError);
  });
});

describe('SQLite store: subscriptions and outbox', () => {
  it('when a subscription is created, then its secret is a whsec_ key of 32 random bytes, returned once', async () => {
    const { store } = open();
    const created = await store.createSubscription({ url: 'https://hooks.example.com/a', events: ['group.sync.completed'], description: 'dash' });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(created.secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(() => new Webhook(created.secret)).not.toThrow();
    const listed = await store.listSubscriptions();
    expect(listed).toEqual([{ id: created.id, owner: null, url: 'https://hooks.example.com/a', events: ['group.sync.completed'], description: 'dash', createdAt: '2026-01-01T00:00:00.000Z', disabled: false }]);
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    expect(JSON.stringify(await store.getSubscription(created.id))).not.toContain(created.secret);
  });

  it('when an event is appended, then one delivery is queued per interested active subscriber and per static URL', async () => {
    const { store } = open({ staticSubscribers: ['https://static.example.com/h'] });
    const completedOnly = await store.createSubscription({ url: 'https://a.example.com/h', events: ['group.sync.completed'] });
    const failedOnly = await store.createSubscription({ url: 'https://b.example.com/h', events: ['group.sync.failed'] });
    const disabled = await store.createSubscription({ url: 'https://c.example.com/h', events: ['group.sync.completed'] });
    await store.disableSubscription(disabled.id);
    let wakes = 0;
    store.onQueued(() => wakes++);
    const entry = auditEntry();
    await store.append(entry, [domainEvent(entry)]);
    const due = await store.dueDeliveries(Date.parse('2026-01-01T00:00:00Z'), 10, new Set());
    expect(due.map((d) => [d.url, d.subscriptionId])).toEqual([
      ['https://a.example.com/h', completedOnly.id],
      ['https://static.example.com/h', null],
    ]);
    expect(due[0]).toMatchObject({ eventId: `msg_${entry.syncId}_group.sync.completed`, eventType: 'group.sync.completed', secret: completedOnly.secret, attempts: 0 });
    expect(JSON.parse(due[0]?.body ?? '')).toEqual({ type: 'group.sync.completed', timestamp: entry.createdAt, data: { syncId: entry.syncId, groupId: 'g1', status: 'applied' } });
    expect((await store.listDeliveries(failedOnly.id, { limit: 10 }))?.items).toEqual([]);
    expect(wakes).toBe(1);
  });

  it('when an attempt is recorded, then the delivery is due again only at its next attempt time, and in-flight ones are left out', async () => {
    const { store, clock } = open();
    const sub = await store.createSubscription({ url: 'https://a.example.com/h', events: ['group.sync.completed'] });
    const entries = [auditEntry(), auditEntry()];
    for (const entry of entries) await store.append(entry, [domainEvent(entry)]);
    const [first, second] = await store.dueDeliveries(clock.now(), 10, new Set());
    expect(await store.dueDeliveries(clock.now(), 10, new Set([first?.id as number]))).toEqual([second]);
    await store.recordAttempt(first?.id as number, { at: clock.now(), statusCode: 500, error: 'HTTP 500', durationMs: 7 }, { status: 'pending', nextAttemptAt: clock.now() + 5000 });
    expect((await store.dueDeliveries(clock.now(), 10, new Set())).map((d) => d.id)).toEqual([second?.id]);
    expect(await store.nextDueAt(new Set([second?.id as number]))).toBe(clock.now() + 5000);
    clock.advance(5000);
    expect(await store.dueDeliveries(clock.now(), 10, new Set())).toEqual([second, expect.objectContaining({ id: first?.id, attempts: 1 })]);
    const page = await store.listDeliveries(sub.id, { limit: 1 });
    expect(page?.items[0]).toMatchObject({ id: second?.id, status: 'pending', attempts: [] });
    const older = await store.listDeliveries(sub.id, { limit: 1, cursor: page?.nextCursor ?? undefined });
    expect(older?.items[0]).toMatchObject({
      id: first?.id,
      status: 'pending',
      nextAttemptAt: '2026-01-01T00:00:05.000Z',
      attempts: [{ attempt: 1, at: '2026-01-01T00:00:00.000Z', statusCode: 500, error: 'HTTP 500', durationMs: 7 }],
    });
    expect(older?.nextCursor).toBeNull();
  });

  it('when a subscription is disabled, then its pending deliveries fail; when deleted, they are gone', async () => {
    const { store, clock } = open();
    const sub = await store.createSubscription({ url: 'https://a.example.com/h', events: ['group.sync.completed'] });
    const entry = auditEntry();
    await store.append(entry, [domainEvent(entry)]);
    await store.disableSubscription(sub.id);
    expect(await store.getSubscription(sub.id)).toMatchObject({ disabled: true });
    expect((await store.listDeliveries(sub.id, { limit: 10 }))?.items).toEqual([expect.objectContaining({ status: 'failed', nextAttemptAt: null })]);
    expect(await store.dueDeliveries(clock.now(), 10, new Set())).toEqual([]);
    expect(await store.deleteSubscription(sub.id)).toMatchObject({ id: sub.id });
    expect(await store.deleteSubscription(sub.id)).toBeUndefined();
    expect(await store.listDeliveries(sub.id, { limit: 10 })).toBeUndefined();
  });
});

describe('SQLite store: owners', () => {
  const okta = { actor: 'okta', admin: false, requestId: 'req-okta' };
  const entra = { actor: 'entra', admin: false, requestId: 'req-entra' };
  const ops = { actor: 'ops', admin: true, requestId: 'req-ops' };

  it('when callers create subscriptions, then each sees and deletes only its own, an administrator all, and each change is a record of the chain', async () => {
    const { store } = open({ adminActors: ['ops'] });
    const a = await store.createSubscription({ url: 'https://a.example.com/h?key=secret-in-query', events: ['group.sync.completed'] }, okta);
    const b = await store.createSubscription({ url: 'https://b.example.com/h', events: ['group.sync.failed'] }, entra);
    expect(a.owner).toBe('okta');
    expect((await store.listSubscriptions(okta)).map((s) => s.id)).toEqual([a.id]);
    expect((await store.listSubscriptions(ops)).map((s) => s.id)).toEqual([a.id, b.id]);
    expect(await store.getSubscription(b.id, okta)).toBeUndefined();
    expect(await store.listDeliveries(b.id, { limit: 5 }, okta)).toBeUndefined();
    expect(await store.deleteSubscription(b.id, okta)).toBeUndefined();
    expect(await store.deleteSubscription(b.id, ops)).toMatchObject({ id: b.id, owner: 'entra' });
    const records = (await store.listRecords({ limit: 10 })).items;
    expect(records.map((r) => [r.status, r.actor])).toEqual([
      ['subscription_deleted', 'ops'],
      ['subscription_created', 'entra'],
      ['subscription_created', 'okta'],
    ]);
    expect(JSON.stringify(records)).not.toContain('secret-in-query');
    expect((await store.listRecords({ limit: 10, actor: 'okta' })).items).toHaveLength(1);
    expect(await store.verifyChain()).toEqual({ ok: true, records: 3 });
  });

  it('when a version-1 database is opened, then its subscriptions have no owner (only administrators see them; they get every event), its records get their actor, and the chain still verifies', async () => {
    const dataDir = tempDir();
    mkdirSync(dataDir, { recursive: true });
    const v1 = new Database(join(dataDir, DATABASE_FILE));
    v1.exec((MIGRATIONS[0] as { sql: string }).sql);
    v1.pragma('user_version = 1');
    const old = sealRecord(auditEntry({ actor: 'entra' }), GENESIS_HASH);
    v1.prepare(`INSERT INTO audit_records (sync_id, group_id, status, created_at, entry, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(
      old.syncId,
      old.groupId,
      old.status,
      old.createdAt,
      JSON.stringify({ ...old, prevHash: undefined, hash: undefined }),
      old.prevHash,
      old.hash,
    );
    v1.prepare(`INSERT INTO meta (key, value) VALUES ('audit_head', ?)`).run(old.hash);
    v1.prepare(`INSERT INTO subscriptions (id, url, events, description, secret, created_at) VALUES ('sub_legacy', 'https://legacy.example.com/h', '["group.sync.completed"]', NULL, 'whsec_bGVnYWN5', '2025-12-01T00:00:00.000Z')`).run();
    v1.close();

    const { store } = open({ dataDir, adminActors: ['ops'] });
    expect(rawDb(dataDir).pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(await store.listSubscriptions(okta)).toEqual([]);
    expect(await store.getSubscription('sub_legacy', okta)).toBeUndefined();
    expect(await store.deleteSubscription('sub_legacy', okta)).toBeUndefined();
    expect(await store.listSubscriptions(ops)).toEqual([expect.objectContaining({ id: 'sub_legacy', owner: null })]);
    expect(await store.verifyChain()).toEqual({ ok: true, records: 1 });
    expect((await store.listRecords({ limit: 10, actor: 'entra' })).items).toEqual([old]);
    expect((await store.listRecords({ limit: 10, actor: 'okta' })).items).toEqual([]);
    const entry = auditEntry({ actor: 'okta' });
    await store.append(entry, [domainEvent(entry)]);
    expect((await store.dueDeliveries(Date.parse('2100-01-01T00:00:00Z'), 10, new Set())).map((d) => d.subscriptionId)).toEqual(['sub_legacy']);
  });

  it("when an event is appended, then a caller's subscription gets it only for its own syncs, an administrator's for every one", async () => {
    const { store, clock } = open({ adminActors: ['ops'] });
    const a = await store.createSubscription({ url: 'https://a.example.com/h', events: ['group.sync.completed'] }, okta);
    const o = await store.createSubscription({ url: 'https://o.example.com/h', events: ['group.sync.completed'] }, ops);
    const byEntra = auditEntry({ actor: 'entra' });
    const byOkta = auditEntry({ actor: 'okta' });
    await store.append(byEntra, [domainEvent(byEntra)]);
    await store.append(byOkta, [domainEvent(byOkta)]);
    const due = await store.dueDeliveries(clock.now(), 10, new Set());
    expect(due.map((d) => [d.subscriptionId, d.eventId])).toEqual([
      [o.id, `msg_${byEntra.syncId}_group.sync.completed`],
      [a.id, `msg_${byOkta.syncId}_group.sync.completed`],
      [o.id, `msg_${byOkta.syncId}_group.sync.completed`],
    ]);
  });
});

function catchError(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}
