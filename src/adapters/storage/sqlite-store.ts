/**
 * The embedded store: one SQLite file (better-sqlite3, WAL) under DATA_DIR, created on
 * first start and brought up to date by ./migrations.ts. It is the audit trail the core
 * appends to, the audit queries, the webhook subscriptions and the webhook outbox.
 *
 * append() is one transaction: read the chain head, seal the record, insert it, move the
 * head, write each event to the outbox with one delivery per interested subscriber. With
 * synchronous=FULL it returns only once all of that is on disk. The head lives in `meta`,
 * not only in the newest row, so deleting the newest records is detected too.
 *
 * Who hears what: a subscription belongs to the token name that created it and gets the
 * events of that name's syncs only; one owned by an administrator (`adminActors`), one
 * created before owners were recorded (no owner) and a static WEBHOOK_URLS subscriber get
 * every event. Creating and deleting a subscription appends its audit record to the same
 * chain, in the same transaction as the change.
 *
 * One process per DATA_DIR: the dispatcher assumes it is the only one sending.
 */
import { accessSync, closeSync, constants, mkdirSync, openSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { v7 as uuidv7 } from 'uuid';
import {
  chainMacs,
  ChainVerifier,
  GENESIS_HASH,
  sealRecord,
  type AuditRecord,
  type ChainCheckpoint,
  type ChainHead,
  type ChainVerdict,
  type DomainEvent,
  isSyncRecord,
  type AnyAuditEntry,
  type AnyAuditRecord,
  type SubscriptionAuditEntry,
  type SubscriptionChange,
} from '../../core/audit.js';
import { systemClock } from '../../core/clock.js';
import { createSqliteHeldChanges, createSqliteQuarantineStore } from './consistency-tables.js';
import { migrate, SCHEMA_VERSION } from './migrations.js';
import { StorageError } from '../../core/errors.js';
import {
  type IdempotencyClaim,
  type IdempotencyStore,
  type AttemptResult,
  type AuditListQuery,
  type AuditTrail,
  type ChangeAudit,
  type ChangeRequest,
  type CreatedSubscription,
  type Delivery,
  type DeliveryListQuery,
  type DeliveryNext,
  type NewSubscription,
  type Outbox,
  type Page,
  type PendingDelivery,
  type Subscription,
  type SubscriptionStore,
  type Viewer,
  type Clock,
  type AdminAgent,
  type AgentMapStore,
  type SyncedGroups,
  type BackendChoiceStore,
  type DesiredSet,
  type DriftStore,
} from '../../core/ports.js';
import { createSqliteDrift } from './drift-tables.js';
import { MEMBERSHIP_BACKENDS, type MembershipBackendName } from '../../core/outcome.js';
import type { GroupExternalIds, HeldChangeStore, JournalStep, MembershipJournal, QuarantineNote, QuarantineStore } from '../../core/ports.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { AGENT_MAP_POLL_KEY, toAgent, toEntry, toStep, type AgentRow, type JournalEntryRow, type JournalStepRow } from './cxone-rows.js';
import { chainCut, chainStart, checkChainNotes, createdBefore, nextCheckpoint, pruneRefusal, cutVerdict, eventBody, parseAnchor, parseBreaks, sees, subscribersOf, subscriptionChangeEntry, SUBSCRIPTION_COLUMNS, toDelivery, toPending, toRecord, toSubscription, toTakenClaim, toVerifiable, type AttemptRow, type AuditRow, type ChainBreak, type CheckpointRow, type DeliveryRow, type IdempotencyRow, type KeyAnchor, type PendingRow, type SubscriberRow, type SubscriptionRow, wakeListeners } from './store-rows.js';

export const DATABASE_FILE = 'cxone-scim-sync.db';

export interface SqliteStoreOptions {
  readonly dataDir: string;
  readonly clock?: Clock;
  /** Static subscribers (WEBHOOK_URLS): every event gets a delivery to each. */
  readonly staticSubscribers?: readonly string[];
  /** Rows per step of verifyChain(); between steps the event loop runs. */
  readonly verifyChunk?: number;
  /**
   * AUDIT_HMAC_KEY: records are then sealed with HMAC-SHA256. The first open with a key
   * anchors it (every record from the next one on is keyed); a store once keyed refuses to
   * be opened for writing without the key, or with another one.
   */
  readonly auditKey?: string;
  /** Open for reading only (`audit verify` while the service runs): no migration, no writes. */
  readonly readonly?: boolean;
  /** Called after each append with the new chain head (metrics, the periodic head log). */
  readonly onHead?: (head: ChainHead) => void;
  /** Names of the ADMIN_API_TOKENS: their subscriptions get every caller's events. */
  readonly adminActors?: readonly string[];
  /**
   * A new subscription's secret (the webhooks adapter's generateSecret: `whsec_` + base64 of
   * 32 random bytes). Needed only to create subscriptions; a store opened without it refuses to.
   */
  readonly newSecret?: () => string;
}

/** What one pruning did. */
export interface PruneResult {
  readonly pruned: number;
  /** The checkpoint written, when records were pruned. */
  readonly checkpoint?: ChainCheckpoint;
  /** Set when nothing was pruned because the records to prune do not verify (pruning must not erase evidence). */
  readonly refused?: string;
}

export interface SqliteStore extends AuditTrail, ChangeAudit, SubscriptionStore, Outbox, IdempotencyStore {
  /** The database file. */
  readonly file: string;
  /** The admin-API write journal (acd-groups, teams): open writes, kept across restarts. */
  readonly journal: MembershipJournal;
  /** The chain head (sequence number and hash); null before the first record. */
  auditHead(): ChainHead | null;
  /**
   * Prunes the oldest audit records created before `before` (epoch ms), at most `limit`
   * of them, after checking that they verify, and writes a checkpoint that the kept chain
   * continues from. The head is never pruned from memory: it stays in `meta`.
   */
  pruneAudit(before: number, limit?: number): Promise<PruneResult>;
  /** Resolves when the database answers (readiness). */
  ping(): Promise<void>;
  /** The membership backend chosen by MEMBERSHIP_BACKEND=auto (the block at the end of this file). */
  readonly backendChoice: BackendChoiceStore;
  close(): void;
  /** CXone's agent map (agents table, migration 5). */
  readonly agentMap: AgentMapStore;
  /** The groups this service syncs, from the audit trail (the teams backend's member_in_other_team). */
  readonly syncedGroups: SyncedGroups;
  /** The desired sets (written with the audit records) and the drift records (migration 7). */
  readonly drift: DriftStore;
  /** The SCIM front door's group externalIds (migration 8). */
  readonly groupExternalIds: GroupExternalIds;
  /** Each group's run of failures and its quarantine (migration 9). */
  readonly quarantine: QuarantineStore;
  /** Changes the mass-removal guard holds for an administrator (migration 9). */
  readonly heldChanges: HeldChangeStore;
}

/** The SQLite row of an idempotency key: its expiry is checked here, in the claim's transaction. */
interface SqliteIdempotencyRow extends IdempotencyRow {
  expires_at: number;
}

/** Opens (creating if need be) the store under `dataDir`. Throws StorageError with a one-line reason when it cannot. */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  const dir = resolve(options.dataDir);
  const file = join(dir, DATABASE_FILE);
  if (options.readonly) {
    const db = openReadonly(file);
    return createStore(db, file, options);
  }
  prepareDirectory(dir);
  const db = openDatabase(file);
  try {
    anchorKey(db, file, options.auditKey);
  } catch (error) {
    db.close();
    throw error;
  }
  return createStore(db, file, options);
}

/** Opens an existing store for reading: nothing is created, migrated or written. */
function openReadonly(file: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version !== SCHEMA_VERSION) {
      throw new StorageError(`${file} has schema version ${version}, this release reads ${SCHEMA_VERSION}; start the service (or run a sync) once to upgrade it, or use the matching release`);
    }
  } catch (error) {
    db?.close();
    if (error instanceof StorageError) throw error;
    throw new StorageError(`${file} cannot be opened for reading (${describe(error)})`, { cause: error });
  }
  return db;
}

/**
 * A keyed chain stays keyed: the first open with AUDIT_HMAC_KEY writes the key anchor
 * (from the next record on, every record is keyed), and a store with an anchor is not
 * written without the key, or with a key that does not match it.
 */
function anchorKey(db: Database.Database, file: string, key: string | undefined): void {
  const anchor = readAnchor(db);
  if (anchor === undefined) {
    if (key === undefined) return;
    const headSeq = Number(metaValue(db, 'audit_head_seq') ?? '0');
    const since = Math.max(headSeq, counterOf(db), lastRow(db)?.seq ?? 0) + 1;
    const from = newestCheckpoint(db)?.first_seq ?? 1;
    db.prepare(`INSERT INTO meta (key, value) VALUES ('audit_key_anchor', ?)`).run(JSON.stringify({ since, from, mac: chainMacs.anchor(key, since, from) }));
    return;
  }
  if (key === undefined) {
    throw new StorageError(`${file}: the audit trail is keyed (HMAC) since record ${anchor.since}; set AUDIT_HMAC_KEY to the key it was sealed with (a keyed trail is never continued without it)`);
  }
  if (anchor.mac !== chainMacs.anchor(key, anchor.since, anchor.from)) {
    throw new StorageError(`${file}: AUDIT_HMAC_KEY does not match the key the audit trail was sealed with (since record ${anchor.since})`);
  }
}

function metaValue(db: Database.Database, key: string): string | undefined {
  return db.prepare<[string], { value: string }>(`SELECT value FROM meta WHERE key = ?`).get(key)?.value;
}

function readAnchor(db: Database.Database): KeyAnchor | undefined {
  return parseAnchor(metaValue(db, 'audit_key_anchor'));
}

function newestCheckpoint(db: Database.Database): CheckpointRow | undefined {
  return db.prepare<[], CheckpointRow>(`SELECT * FROM audit_checkpoints ORDER BY id DESC LIMIT 1`).get();
}

/** The highest audit sequence number ever issued (AUTOINCREMENT's counter). */
function counterOf(db: Database.Database): number {
  return db.prepare<[], { seq: number }>(`SELECT seq FROM sqlite_sequence WHERE name = 'audit_records'`).get()?.seq ?? 0;
}

function lastRow(db: Database.Database): { seq: number; hash: string } | undefined {
  return db.prepare<[], { seq: number; hash: string }>(`SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1`).get();
}

function prepareDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StorageError(`DATA_DIR ${dir} cannot be created (${describe(error)})`, { cause: error });
  }
  if (!statSync(dir).isDirectory()) throw new StorageError(`DATA_DIR ${dir} is not a directory`);
  try {
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new StorageError(`DATA_DIR ${dir} is not writable by this process (${describe(error)})`, { cause: error });
  }
}

function openDatabase(file: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    // Created owner-only before SQLite touches it: it holds webhook secrets, and SQLite
    // gives the -wal and -shm files the mode of the database file.
    closeSync(openSync(file, 'wx', 0o600));
  } catch {
    // It exists already (or cannot be made, which opening reports below).
  }
  try {
    db = new Database(file);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new StorageError(`${file} cannot use write-ahead logging (journal_mode is ${String(mode)}); put DATA_DIR on a local file system`);
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new StorageError(`${file} failed its integrity check (${String(check).split('\n')[0]}); restore it from a backup`);
    migrate(db, file);
  } catch (error) {
    db?.close();
    if (error instanceof StorageError) throw error;
    throw new StorageError(explainOpenFailure(file, error), { cause: error });
  }
  return db;
}

function explainOpenFailure(file: string, error: unknown): string {
  const raw = (error as { code?: unknown }).code;
  const code = typeof raw === 'string' ? raw : '';
  // Extended result codes (SQLITE_IOERR_WRITE, SQLITE_CORRUPT_INDEX, …) share their primary code's prefix.
  const is = (...primary: string[]) => primary.some((p) => code === p || code.startsWith(`${p}_`));
  if (is('SQLITE_NOTADB', 'SQLITE_CORRUPT')) {
    return `${file} is corrupt or not a SQLite database (${describe(error)}); restore it from a backup, or move it away to start with an empty store`;
  }
  if (is('SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_PERM', 'SQLITE_IOERR', 'SQLITE_FULL')) {
    return `${file} cannot be opened for writing (${describe(error)}); check DATA_DIR's permissions and free space`;
  }
  return `${file} cannot be opened (${describe(error)})`;
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return typeof code === 'string' && !message?.includes(code) ? `${code}: ${message}` : (message ?? 'unknown error');
}

function createStore(db: Database.Database, file: string, options: SqliteStoreOptions): SqliteStore {
  const clock = options.clock ?? systemClock;
  const staticSubscribers = options.staticSubscribers ?? [];
  const verifyChunk = options.verifyChunk ?? 1000;
  const adminActors = new Set(options.adminActors ?? []);
  const listeners = new Set<() => void>();

  const auditKey = options.auditKey;
  const anchor = readAnchor(db);
  /** The key a record with this sequence number is sealed with: from the anchor on, when there is one. */
  const keyFor = (seq: number) => (anchor !== undefined && seq >= anchor.since ? auditKey : undefined);
  let verifying = 0;

  const sql = {
    head: db.prepare<[], { value: string }>(`SELECT value FROM meta WHERE key = 'audit_head'`),
    headSeq: db.prepare<[], { value: string }>(`SELECT value FROM meta WHERE key = 'audit_head_seq'`),
    headMac: db.prepare<[], { value: string }>(`SELECT value FROM meta WHERE key = 'audit_head_mac'`),
    breaks: db.prepare<[], { value: string }>(`SELECT value FROM meta WHERE key = 'audit_breaks'`),
    setMeta: db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
    lastRecord: db.prepare<[], { seq: number; hash: string }>(`SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1`),
    counter: db.prepare<[], { seq: number }>(`SELECT seq FROM sqlite_sequence WHERE name = 'audit_records'`),
    checkpoint: db.prepare<[], CheckpointRow>(`SELECT * FROM audit_checkpoints ORDER BY id DESC LIMIT 1`),
    insertCheckpoint: db.prepare(`INSERT INTO audit_checkpoints (first_seq, prev_hash, pruned, created_at, mac) VALUES (?, ?, ?, ?, ?)`),
    oldestFrom: db.prepare<[number, number], AuditRow>(`SELECT * FROM audit_records WHERE seq >= ? ORDER BY seq LIMIT ?`),
    deleteThrough: db.prepare(`DELETE FROM audit_records WHERE seq <= ?`),
    insertRecord: db.prepare(
      `INSERT INTO audit_records (seq, sync_id, group_id, status, created_at, entry, prev_hash, hash, actor) VALUES (@seq, @syncId, @groupId, @status, @createdAt, @entry, @prevHash, @hash, @actor)`,
    ),
    recordBySyncId: db.prepare<[string], AuditRow>(`SELECT * FROM audit_records WHERE sync_id = ?`),
    lastSeq: db.prepare<[], { seq: number | null }>(`SELECT max(seq) AS seq FROM audit_records`),
    recordsFrom: db.prepare<[number, number, number], AuditRow>(`SELECT * FROM audit_records WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`),
    activeSubscriptions: db.prepare<[], SubscriberRow>(`SELECT id, url, events, owner FROM subscriptions WHERE disabled_at IS NULL`),
    insertEvent: db.prepare(`INSERT INTO outbox_events (event_id, type, sync_id, body, created_at) VALUES (?, ?, ?, ?, ?)`),
    insertDelivery: db.prepare(
      `INSERT INTO deliveries (event_id, subscription_id, url, status, attempts, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)`,
    ),
    insertSubscription: db.prepare(`INSERT INTO subscriptions (id, url, events, description, secret, created_at, owner) VALUES (?, ?, ?, ?, ?, ?, ?)`),
    subscriptions: db.prepare<[], SubscriptionRow>(`SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY created_at, id`),
    subscriptionsOf: db.prepare<[string], SubscriptionRow>(`SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE owner = ? ORDER BY created_at, id`),
    subscription: db.prepare<[string], SubscriptionRow>(`SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = ?`),
    deleteSubscription: db.prepare(`DELETE FROM subscriptions WHERE id = ?`),
    disableSubscription: db.prepare(`UPDATE subscriptions SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL`),
    failPendingOf: db.prepare(`UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, updated_at = ? WHERE subscription_id = ? AND status = 'pending'`),
    deliveriesOf: db.prepare<[string, number, number], DeliveryRow>(
      `SELECT d.id, d.event_id, e.type, d.status, d.next_attempt_at, d.created_at FROM deliveries d JOIN outbox_events e ON e.event_id = d.event_id
       WHERE d.subscription_id = ? AND d.id < ? ORDER BY d.id DESC LIMIT ?`,
    ),
    attemptsOf: db.prepare<[string], AttemptRow>(`SELECT * FROM delivery_attempts WHERE delivery_id IN (SELECT value FROM json_each(?)) ORDER BY delivery_id, attempt`),
    due: db.prepare<[number, number], PendingRow>(
      `SELECT d.id, d.event_id, e.type, e.body, d.url, d.subscription_id, s.secret, d.attempts
       FROM deliveries d JOIN outbox_events e ON e.event_id = d.event_id LEFT JOIN subscriptions s ON s.id = d.subscription_id
       WHERE d.status = 'pending' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?`,
    ),
    nextDue: db.prepare<[number], { id: number; next_attempt_at: number }>(
      `SELECT id, next_attempt_at FROM deliveries WHERE status = 'pending' ORDER BY next_attempt_at, id LIMIT ?`,
    ),
    insertAttempt: db.prepare(
      `INSERT INTO delivery_attempts (delivery_id, attempt, at, status_code, error, duration_ms) SELECT id, attempts + 1, ?, ?, ?, ? FROM deliveries WHERE id = ?`,
    ),
    updateDelivery: db.prepare(`UPDATE deliveries SET attempts = attempts + 1, status = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?`),
    idempotencyRow: db.prepare<[string, string], SqliteIdempotencyRow>(`SELECT fingerprint, status, response, expires_at FROM idempotency_keys WHERE actor = ? AND key = ?`),
    claimKey: db.prepare(
      `INSERT INTO idempotency_keys (actor, key, fingerprint, status, response, created_at, expires_at) VALUES (?, ?, ?, 'processing', NULL, ?, ?)
       ON CONFLICT (actor, key) DO UPDATE SET fingerprint = excluded.fingerprint, status = 'processing', response = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at`,
    ),
    completeKey: db.prepare(`UPDATE idempotency_keys SET status = 'completed', response = ? WHERE actor = ? AND key = ? AND status = 'processing'`),
    releaseKey: db.prepare(`DELETE FROM idempotency_keys WHERE actor = ? AND key = ? AND status = 'processing'`),
    releaseAbandoned: db.prepare(`DELETE FROM idempotency_keys WHERE status = 'processing'`),
    expireKeys: db.prepare(`DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE expires_at <= ? LIMIT 100)`),
  };

  const claimTx = db.transaction((actor: string, key: string, fingerprint: string, ttlMs: number): IdempotencyClaim => {
    const now = clock.now();
    sql.expireKeys.run(now);
    const row = sql.idempotencyRow.get(actor, key);
    if (row && row.expires_at > now) return toTakenClaim(row);
    sql.claimKey.run(actor, key, fingerprint, now, now + ttlMs);
    return { claimed: true };
  });

  const readBreaks = (): ChainBreak[] => parseBreaks(sql.breaks.get()?.value);

  const appendTx = db.transaction((entry: AnyAuditEntry, events: readonly DomainEvent[], desired?: DesiredSet) => {
    // The chain continues from the remembered head. The next sequence number is past every
    // number ever issued (head, newest row, AUTOINCREMENT's counter), so deleted newest
    // records leave a gap. A missing head is never a silent restart from the genesis: the
    // chain continues from what is left, and the cut is recorded for verification.
    const headHash = sql.head.get()?.value;
    const last = sql.lastRecord.get();
    const counter = sql.counter.get()?.seq ?? 0;
    const seq = Math.max(Number(sql.headSeq.get()?.value ?? 0), last?.seq ?? 0, counter) + 1;
    let prevHash = headHash;
    let cut: ChainBreak | undefined;
    if (prevHash === undefined) {
      const checkpoint = sql.checkpoint.get();
      prevHash = last?.hash ?? checkpoint?.prev_hash ?? GENESIS_HASH;
      if (last !== undefined || counter > 0 || checkpoint !== undefined) {
        cut = chainCut(seq, last, counter);
        sql.setMeta.run('audit_breaks', JSON.stringify([...readBreaks(), cut]));
      }
    }
    const key = keyFor(seq);
    const record = sealRecord(entry, prevHash, key);
    // A subscription change has no group: its group_id is empty, and never read back.
    const groupId = 'groupId' in record ? record.groupId : '';
    sql.insertRecord.run({ seq, syncId: record.syncId, groupId, actor: record.actor, status: record.status, createdAt: record.createdAt, entry: JSON.stringify(entry), prevHash: record.prevHash, hash: record.hash });
    sql.setMeta.run('audit_head', record.hash);
    sql.setMeta.run('audit_head_seq', String(seq));
    if (key !== undefined) sql.setMeta.run('audit_head_mac', chainMacs.head(key, { seq, hash: record.hash }));
    if (desired !== undefined) drift.writeDesired(desired);
    const queued = queueEvents(events, entry.actor, entry.syncId);
    return { record, queued, head: { seq, hash: record.hash }, cut };
  });

  /**
   * Writes events to the outbox with one delivery per interested subscriber, in the caller's
   * transaction: a caller's subscription hears of what concerns that caller (`actor`: its
   * syncs, the drift of its groups) only; an administrator's, or one without an owner, of
   * everything; so does every static subscriber.
   */
  function queueEvents(events: readonly DomainEvent[], actor: string, syncId: string | null): number {
    let queued = 0;
    if (events.length === 0) return queued;
    const now = clock.now();
    const subscribers = subscribersOf(sql.activeSubscriptions.all(), actor, adminActors);
    for (const event of events) {
      sql.insertEvent.run(event.id, event.type, syncId, eventBody(event), now);
      for (const subscriber of subscribers) {
        if (!subscriber.events.includes(event.type)) continue;
        sql.insertDelivery.run(event.id, subscriber.id, subscriber.url, now, now, now);
        queued++;
      }
      for (const url of staticSubscribers) {
        sql.insertDelivery.run(event.id, null, url, now, now, now);
        queued++;
      }
    }
    return queued;
  }

  /** Tells the dispatcher that deliveries were queued. */
  function notifyQueued(): void {
    wakeListeners(listeners);
  }

  const drift = createSqliteDrift(db, (events, actor) => queueEvents(events, actor, null), notifyQueued);

  const pruneTx = db.transaction((cutoff: string, limit: number): PruneResult => {
    const previous = sql.checkpoint.get();
    const start = chainStart(previous);
    const old = createdBefore(sql.oldestFrom.all(start.seq, limit), cutoff);
    const newest = old.at(-1);
    if (newest === undefined) return { pruned: 0 };
    // Pruning must not erase evidence: the records to prune must verify first.
    const refused = pruneRefusal(old, start, anchor?.since, auditKey);
    if (refused !== undefined) return { pruned: 0, refused };
    sql.deleteThrough.run(newest.seq);
    const checkpoint = nextCheckpoint(previous, newest, old.length, clock.now());
    sql.insertCheckpoint.run(checkpoint.firstSeq, checkpoint.prevHash, checkpoint.pruned, checkpoint.createdAt, auditKey === undefined ? null : chainMacs.checkpoint(auditKey, checkpoint));
    return { pruned: old.length, checkpoint };
  });

  const recordAttemptTx = db.transaction((id: number, result: AttemptResult, next: DeliveryNext) => {
    sql.insertAttempt.run(result.at, result.statusCode, result.error, Math.round(result.durationMs), id);
    sql.updateDelivery.run(next.status, next.status === 'pending' ? next.nextAttemptAt : null, clock.now(), id);
  });

  /** The audit record of a subscription change; the URL only as its origin and its hash (its query, path or credentials may be secret). */
  const subscriptionChange = (status: SubscriptionChange, subscription: Subscription, by: ChangeRequest): SubscriptionAuditEntry => subscriptionChangeEntry(status, subscription, by, clock.now());

  const createSubscriptionTx = db.transaction((input: NewSubscription, by: ChangeRequest | undefined): CreatedSubscription => {
    const id = `sub_${uuidv7()}`;
    if (!options.newSecret) throw new Error('this store was opened without newSecret, so it cannot create subscriptions');
    const secret = options.newSecret();
    const createdAt = new Date(clock.now()).toISOString();
    const owner = by?.actor ?? null;
    sql.insertSubscription.run(id, input.url, JSON.stringify(input.events), input.description ?? null, secret, createdAt, owner);
    const created: CreatedSubscription = { id, owner, url: input.url, events: [...input.events], description: input.description ?? null, createdAt, disabled: false, secret };
    if (by) appendTx(subscriptionChange('subscription_created', created, by), []);
    return created;
  });

  const deleteSubscriptionTx = db.transaction((id: string, by: ChangeRequest | undefined): Subscription | undefined => {
    const row = sql.subscription.get(id);
    if (!row || !sees(by, row.owner)) return undefined;
    const subscription = toSubscription(row);
    sql.deleteSubscription.run(id);
    if (by) appendTx(subscriptionChange('subscription_deleted', subscription, by), []);
    return subscription;
  });

  const disableTx = db.transaction((id: string) => {
    const now = clock.now();
    sql.disableSubscription.run(new Date(now).toISOString(), id);
    sql.failPendingOf.run(now, id);
  });

  /** After an append committed: the new head to its observer, and the dispatcher woken when deliveries were queued. */
  const announce = (head: ChainHead, queued: number) => {
    try {
      options.onHead?.(head);
    } catch {
      // Metrics and logging must not fail a sync that is recorded.
    }
    if (queued > 0) notifyQueued();
  };

  /** A note of the quarantine or held-change tables, appended inside their transaction; what to do once it committed. */
  const appendNote = (note: QuarantineNote) => {
    const { head, queued } = appendTx(note.entry, note.events);
    return () => announce(head, queued);
  };

  return {
    file,
    backendChoice: createBackendChoice(db, clock),
    quarantine: createSqliteQuarantineStore(db, appendNote),
    heldChanges: createSqliteHeldChanges(db, appendNote),

    agentMap: createAgentMapStore(db),
    syncedGroups: createSyncedGroups(db),
    journal: journalMethods(db),
    drift: drift.store,
    groupExternalIds: createGroupExternalIds(db),

    auditHead() {
      const hash = sql.head.get()?.value;
      return hash === undefined ? null : { seq: Number(sql.headSeq.get()?.value ?? sql.counter.get()?.seq ?? 0), hash };
    },

    async pruneAudit(before, limit = 10_000) {
      if (verifying > 0) return { pruned: 0, refused: 'a verification of the chain is running' };
      return pruneTx.immediate(new Date(before).toISOString(), limit);
    },

    async appendChange(entry) {
      const { queued, head } = appendTx.immediate(entry, []);
      announce(head, queued);
    },

    async append(entry, events, desired) {
      const { record, queued, head } = appendTx.immediate(entry, events, desired);
      announce(head, queued);
      return record as AuditRecord; // sealed from an AuditEntry
    },

    async findSync(syncId) {
      const row = sql.recordBySyncId.get(syncId);
      if (!row || !isSyncRecord(row.status)) return undefined;
      return toRecord(row) as AuditRecord;
    },

    async listRecords(query: AuditListQuery): Promise<Page<AnyAuditRecord>> {
      const conditions = ['seq < @before'];
      if (query.actor !== undefined) conditions.push('actor = @actor');
      if (query.groupId !== undefined) conditions.push('group_id = @groupId');
      if (query.since !== undefined) conditions.push('created_at >= @since');
      const params: Record<string, string | number> = {
        before: query.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeCursor('audit', query.cursor),
        limit: query.limit + 1,
      };
      if (query.actor !== undefined) params.actor = query.actor;
      if (query.groupId !== undefined) params.groupId = query.groupId;
      if (query.since !== undefined) params.since = new Date(query.since).toISOString();
      const rows = db.prepare<Record<string, string | number>, AuditRow>(`SELECT * FROM audit_records WHERE ${conditions.join(' AND ')} ORDER BY seq DESC LIMIT @limit`).all(params);
      const items = rows.slice(0, query.limit);
      const last = items.at(-1);
      return { items: items.map(toRecord), nextCursor: rows.length > query.limit && last ? encodeCursor('audit', last.seq) : null };
    },

    async verifyChain(): Promise<ChainVerdict> {
      // A consistent snapshot: the newest row, the head, the counters and the checkpoint are
      // read in the same synchronous step, and only rows up to that one are walked, so
      // appends during the walk don't count (and pruning waits for the walk).
      const end = sql.lastSeq.get()?.seq ?? 0;
      const headHash = sql.head.get()?.value;
      const headSeq = sql.headSeq.get()?.value;
      const headMac = sql.headMac.get()?.value;
      const counter = sql.counter.get()?.seq ?? 0;
      const checkpointRow = sql.checkpoint.get();
      const storedAnchor = readAnchor(db);
      const breaks = readBreaks();

      const notes = checkChainNotes({ anchor: storedAnchor, checkpointRow, headHash, headSeq, headMac, counter }, auditKey);
      if ('verdict' in notes) return notes.verdict;
      const { checkpoint, head } = notes;

      const verifier = new ChainVerifier({ start: checkpoint && { seq: checkpoint.firstSeq, prevHash: checkpoint.prevHash }, keyedSince: storedAnchor?.since, key: auditKey });
      verifying++;
      try {
        let after = 0;
        for (;;) {
          const rows = sql.recordsFrom.all(after, end, verifyChunk);
          for (const row of rows) if (!verifier.add(toVerifiable(row), row.seq)) return verifier.verdict();
          if (rows.length < verifyChunk) break;
          after = (rows.at(-1) as AuditRow).seq;
          await yieldToEventLoop();
        }
      } finally {
        verifying--;
      }
      const verdict = verifier.verdict(head, counter);
      if (!verdict.ok) return verdict;
      const cut = breaks[0];
      if (cut) {
        const row = db.prepare<[number], { sync_id: string }>(`SELECT sync_id FROM audit_records WHERE seq = ?`).get(cut.seq);
        return cutVerdict(cut, verdict.records, row?.sync_id);
      }
      return checkpoint ? { ...verdict, checkpoint } : verdict;
    },

    async createSubscription(input: NewSubscription, by?: ChangeRequest): Promise<CreatedSubscription> {
      return createSubscriptionTx.immediate(input, by);
    },

    async listSubscriptions(viewer?: Viewer) {
      const rows = viewer === undefined || viewer.admin ? sql.subscriptions.all() : sql.subscriptionsOf.all(viewer.actor);
      return rows.map(toSubscription);
    },

    async getSubscription(id, viewer?: Viewer) {
      const row = sql.subscription.get(id);
      return row && sees(viewer, row.owner) ? toSubscription(row) : undefined;
    },

    async deleteSubscription(id, by?: ChangeRequest) {
      return deleteSubscriptionTx.immediate(id, by);
    },

    async listDeliveries(subscriptionId: string, query: DeliveryListQuery, viewer?: Viewer): Promise<Page<Delivery> | undefined> {
      const subscription = sql.subscription.get(subscriptionId);
      if (!subscription || !sees(viewer, subscription.owner)) return undefined;
      const before = query.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeCursor('delivery', query.cursor);
      const rows = sql.deliveriesOf.all(subscriptionId, before, query.limit + 1);
      const page = rows.slice(0, query.limit);
      const attempts = new Map<number, AttemptRow[]>();
      for (const attempt of sql.attemptsOf.all(JSON.stringify(page.map((r) => r.id)))) {
        attempts.set(attempt.delivery_id, [...(attempts.get(attempt.delivery_id) ?? []), attempt]);
      }
      const items = page.map((row) => toDelivery(row, attempts.get(row.id) ?? []));
      const last = page.at(-1);
      return { items, nextCursor: rows.length > query.limit && last ? encodeCursor('delivery', last.id) : null };
    },

    async dueDeliveries(now, limit, exclude): Promise<PendingDelivery[]> {
      return sql.due
        .all(now, limit + exclude.size)
        .filter((row) => !exclude.has(row.id))
        .slice(0, limit)
        .map(toPending);
    },

    async nextDueAt(exclude) {
      return sql.nextDue.all(exclude.size + 1).find((row) => !exclude.has(row.id))?.next_attempt_at ?? null;
    },

    async recordAttempt(id, result, next) {
      recordAttemptTx.immediate(id, result, next);
    },

    async disableSubscription(id) {
      disableTx.immediate(id);
    },

    onQueued(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async claim(actor, key, fingerprint, ttlMs) {
      return claimTx(actor, key, fingerprint, ttlMs);
    },

    async complete(actor, key, response) {
      sql.completeKey.run(JSON.stringify(response), actor, key);
    },

    async release(actor, key) {
      sql.releaseKey.run(actor, key);
    },

    async releaseAbandoned() {
      return sql.releaseAbandoned.run().changes;
    },

    async ping() {
      db.prepare('SELECT 1').get();
    },

    close() {
      listeners.clear();
      if (db.open) db.close();
    },
  };
}

// ---------------------------------------------------------------- CXone's agent map

/** The agent map's store: the agents table and the lastPollTime of the last refresh (meta), written in one transaction. Statements are prepared at first use. */
function createAgentMapStore(db: Database.Database): AgentMapStore {
  let statements:
    | {
        all: Database.Statement<[], AgentRow>;
        poll: Database.Statement<[string], { value: string }>;
        upsert: Database.Statement<AgentRow>;
        setPoll: Database.Statement<[string, string]>;
        save: Database.Transaction<(agents: readonly AdminAgent[], lastPollTime: string | undefined) => void>;
      }
    | undefined;
  const prepared = () => {
    if (statements) return statements;
    const upsert = db.prepare<AgentRow>(
      `INSERT INTO agents (agent_id, user_id, user_name, is_active, team_id, team_uuid) VALUES (@agent_id, @user_id, @user_name, @is_active, @team_id, @team_uuid)
       ON CONFLICT (agent_id) DO UPDATE SET user_id = excluded.user_id, user_name = excluded.user_name, is_active = excluded.is_active, team_id = excluded.team_id, team_uuid = excluded.team_uuid`,
    );
    const setPoll = db.prepare<[string, string]>(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
    statements = {
      all: db.prepare<[], AgentRow>(`SELECT agent_id, user_id, user_name, is_active, team_id, team_uuid FROM agents ORDER BY agent_id`),
      poll: db.prepare<[string], { value: string }>(`SELECT value FROM meta WHERE key = ?`),
      upsert,
      setPoll,
      save: db.transaction((agents: readonly AdminAgent[], lastPollTime: string | undefined) => {
        for (const agent of agents) {
          upsert.run({
            agent_id: agent.agentId,
            user_id: agent.userId ?? null,
            user_name: agent.userName ?? null,
            is_active: agent.isActive === undefined ? null : agent.isActive ? 1 : 0,
            team_id: agent.teamId ?? null,
            team_uuid: agent.teamUuId ?? null,
          });
        }
        if (lastPollTime !== undefined) setPoll.run(AGENT_MAP_POLL_KEY, lastPollTime);
      }),
    };
    return statements;
  };
  return {
    async load() {
      const sql = prepared();
      const agents = sql.all.all().map(toAgent);
      return { agents, lastPollTime: sql.poll.get(AGENT_MAP_POLL_KEY)?.value };
    },
    async save(agents, lastPollTime) {
      prepared().save.immediate(agents, lastPollTime);
    },
  };
}

// ---------------------------------------------------------------- the groups this service syncs

/**
 * A group counts as synced under a backend when the audit trail holds an applied or
 * unchanged sync of it. Records name their backend once the selection records it
 * (`backend` in the entry); older records, which name none, count for every backend.
 */
function createSyncedGroups(db: Database.Database): SyncedGroups {
  let statement: Database.Statement<{ ids: string; backend: string }, { group_id: string }> | undefined;
  return {
    async synced(backend, groupIds) {
      if (groupIds.length === 0) return new Set();
      statement ??= db.prepare<{ ids: string; backend: string }, { group_id: string }>(
        `SELECT DISTINCT g.value AS group_id FROM json_each(@ids) g
         WHERE EXISTS (SELECT 1 FROM audit_records r WHERE r.group_id = g.value AND r.status IN ('applied', 'unchanged')
                       AND coalesce(json_extract(r.entry, '$.backend'), @backend) = @backend)`,
      );
      return new Set(statement.all({ ids: JSON.stringify(groupIds), backend }).map((row) => row.group_id));
    },
  };
}

// ---------------------------------------------------------------- the kept membership backend choice

interface BackendChoiceRow {
  name: string;
}

/**
 * The backend MEMBERSHIP_BACKEND=auto chose (migration 4): one row, inserted by the first
 * choice and never replaced, so that every process on this store makes the same one. A name
 * this release does not know (written by a later one) is refused, not guessed at.
 */
function createBackendChoice(db: Database.Database, clock: Clock): BackendChoiceStore {
  const known: ReadonlySet<string> = new Set(MEMBERSHIP_BACKENDS);
  const read = (): MembershipBackendName | undefined => {
    const row = db.prepare<[], BackendChoiceRow>(`SELECT name FROM membership_backend_choice WHERE id = 1`).get();
    if (row === undefined) return undefined;
    if (!known.has(row.name)) {
      throw new StorageError(`the store keeps the membership backend ${JSON.stringify(row.name)}, which is not one this release knows (${MEMBERSHIP_BACKENDS.join(', ')}); set MEMBERSHIP_BACKEND explicitly`);
    }
    return row.name as MembershipBackendName;
  };
  const chooseTx = db.transaction((name: MembershipBackendName): MembershipBackendName => {
    db.prepare(`INSERT INTO membership_backend_choice (id, name, chosen_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING`).run(name, new Date(clock.now()).toISOString());
    return read() ?? name;
  });
  return {
    async get() {
      return read();
    },
    async choose(name) {
      return chooseTx.immediate(name);
    },
  };
}

// ---------------------------------------------------------------- the admin-API write journal

/**
 * MembershipJournal on the store (migration 6): each step is on disk (synchronous=FULL)
 * before the write it records is sent, so that a crash at any point leaves the entry for
 * the next start to finish.
 */
function journalMethods(db: Database.Database): MembershipJournal {
  const sql = {
    open: db.prepare(`INSERT INTO journal_entries (sync_id, backend, group_id, before, target, phase, opened_at) VALUES (?, ?, ?, ?, ?, 'writing', ?)`),
    nextIndex: db.prepare<[string], { next: number }>(`SELECT coalesce(max(idx) + 1, 0) AS next FROM journal_steps WHERE sync_id = ?`),
    begin: db.prepare(`INSERT INTO journal_steps (sync_id, idx, action, agent_ids, team_id, team_uuid, undo, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')`),
    end: db.prepare(`UPDATE journal_steps SET state = ?, failed = ? WHERE sync_id = ? AND idx = ?`),
    phase: db.prepare(`UPDATE journal_entries SET phase = ? WHERE sync_id = ?`),
    closeSteps: db.prepare(`DELETE FROM journal_steps WHERE sync_id = ?`),
    closeEntry: db.prepare(`DELETE FROM journal_entries WHERE sync_id = ?`),
    entries: db.prepare<[], JournalEntryRow>(`SELECT * FROM journal_entries ORDER BY opened_at, rowid`),
    steps: db.prepare<[string], JournalStepRow>(`SELECT * FROM journal_steps WHERE sync_id = ? ORDER BY idx`),
  };
  const exists = db.prepare<[string], { one: number }>(`SELECT 1 AS one FROM journal_entries WHERE sync_id = ?`);
  const mustExist = (syncId: string) => {
    if (!exists.get(syncId)) throw new StorageError(`no open journal entry ${syncId}`);
  };
  const beginTx = db.transaction((syncId: string, step: Omit<JournalStep, 'state' | 'failed'>): number => {
    mustExist(syncId);
    const index = (sql.nextIndex.get(syncId) as { next: number }).next;
    sql.begin.run(syncId, index, step.action, JSON.stringify(step.agentIds), step.teamId ?? null, step.teamUuid ?? null, step.undo ? 1 : 0);
    return index;
  });
  const closeTx = db.transaction((syncId: string) => {
    sql.closeSteps.run(syncId);
    sql.closeEntry.run(syncId);
  });
  return {
    async open(entry) {
      sql.open.run(entry.syncId, entry.backend, entry.groupId, JSON.stringify(entry.before), JSON.stringify(entry.target), entry.openedAt);
    },
    async begin(syncId, step) {
      return beginTx.immediate(syncId, step);
    },
    async end(syncId, index, state, failed) {
      const changed = sql.end.run(state, failed === undefined ? null : JSON.stringify(failed), syncId, index).changes;
      if (changed === 0) throw new StorageError(`no step ${index} in open journal entry ${syncId}`);
    },
    async setPhase(syncId, phase) {
      if (sql.phase.run(phase, syncId).changes === 0) throw new StorageError(`no open journal entry ${syncId}`);
    },
    async close(syncId) {
      closeTx.immediate(syncId);
    },
    async openEntries(filter) {
      return sql.entries
        .all()
        .filter((row) => (filter?.backend === undefined || row.backend === filter.backend) && (filter?.groupId === undefined || row.group_id === filter.groupId))
        .map((row) => toEntry(row, sql.steps.all(row.sync_id).map(toStep)));
    },
  };
}

/** The SCIM front door's group externalIds (migration 8): one per (backend, group), unique within a backend. */
function createGroupExternalIds(db: Database.Database): GroupExternalIds {
  const setTx = db.transaction((backend: string, groupId: string, externalId: string): boolean => {
    const other = db.prepare<[string, string, string], { group_id: string }>(`SELECT group_id FROM scim_group_external_ids WHERE backend = ? AND external_id = ? AND group_id <> ?`).get(backend, externalId, groupId);
    if (other !== undefined) return false;
    db.prepare(`INSERT INTO scim_group_external_ids (backend, group_id, external_id) VALUES (?, ?, ?) ON CONFLICT (backend, group_id) DO UPDATE SET external_id = excluded.external_id`).run(backend, groupId, externalId);
    return true;
  });
  return {
    async get(backend, groupId) {
      return db.prepare<[string, string], { external_id: string }>(`SELECT external_id FROM scim_group_external_ids WHERE backend = ? AND group_id = ?`).get(backend, groupId)?.external_id;
    },
    async find(backend, externalId) {
      return db.prepare<[string, string], { group_id: string }>(`SELECT group_id FROM scim_group_external_ids WHERE backend = ? AND external_id = ?`).get(backend, externalId)?.group_id;
    },
    async set(backend, groupId, externalId) {
      if (externalId === null) {
        db.prepare(`DELETE FROM scim_group_external_ids WHERE backend = ? AND group_id = ?`).run(backend, groupId);
        return true;
      }
      return setTx.immediate(backend, groupId, externalId);
    },
  };
}
