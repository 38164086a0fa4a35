/**
 * The PostgreSQL store (STORE=postgres): the same ports as the SQLite store (the audit
 * trail and its queries, webhook subscriptions, the outbox, idempotency keys), for
 * several replicas of the service on one database.
 *
 * - One audit chain: every append (a sync's record, a subscription change, a pruning)
 *   runs in a transaction that first takes one transaction-level advisory lock
 *   (pg_advisory_xact_lock on AUDIT_LOCK), so appends from all replicas are serialised:
 *   each reads the head the previous one committed (READ COMMITTED takes a new snapshot
 *   per statement, after the lock is granted) and the chain never forks. The head, its
 *   sequence number and the highest number ever issued live in `meta`, as in SQLite.
 * - The outbox: a dispatcher claims due deliveries with FOR UPDATE SKIP LOCKED and sets
 *   a lease (`deliveryLeaseMs`, longer than an attempt may take): no other replica takes
 *   them until the attempt is recorded or the lease runs out (the claimer died).
 * - Idempotency keys: a claim holds for `idempotencyLeaseMs` while its request runs
 *   (longer than SYNC_DEADLINE_MS plus the shutdown timeout), so a replica that died
 *   mid-request leaves the key to a retry after the lease; a start drops nothing that
 *   another replica may still be running.
 *
 * Times are the injected clock's, passed in as parameters (never the server's now()), so
 * the tests control them. Every failure to use the database is a StorageError whose
 * message never holds the connection string.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Pool, types as pgTypes, type PoolClient, type QueryResultRow } from 'pg';
import { v7 as uuidv7 } from 'uuid';
import {
  chainMacs,
  ChainVerifier,
  GENESIS_HASH,
  isSyncRecord,
  sealRecord,
  type AnyAuditEntry,
  type AnyAuditRecord,
  type AuditEntry,
  type AuditRecord,
  type ChainHead,
  type ChainVerdict,
  type DomainEvent,
  type SubscriptionAuditEntry,
  type SubscriptionChange,
} from '../../../core/audit.js';
import { systemClock } from '../../../core/clock.js';
import { InvalidCursorError, StorageError } from '../../../core/errors.js';
import type {
  AuditListQuery,
  AuditTrail,
  ChangeAudit,
  ChangeRequest,
  Clock,
  CreatedSubscription,
  Delivery,
  DeliveryListQuery,
  IdempotencyClaim,
  IdempotencyStore,
  NewSubscription,
  Outbox,
  Page,
  PendingDelivery,
  Subscription,
  SubscriptionStore,
  Viewer,
  DesiredSet,
  DriftStore,
} from '../../../core/ports.js';
import { createPostgresDrift, writeDesiredIn } from './drift-tables.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import type { PruneResult } from '../sqlite-store.js';
import { createConsistencyTables, type ConsistencyTables } from './consistency-tables.js';
import { createCxoneTables, type CxoneTables } from './cxone-tables.js';
import { advisoryKey } from './advisory-key.js';
import { migratePostgres } from './migrations.js';
import { chainCut, chainStart, checkChainNotes, createdBefore, nextCheckpoint, pruneRefusal, cutVerdict, eventBody, parseAnchor, parseBreaks, sees, subscribersOf, subscriptionChangeEntry, SUBSCRIPTION_COLUMNS, toDelivery, toPending, toRecord, toSubscription, toTakenClaim, toVerifiable, type AttemptRow, type AuditRow, type CheckpointRow, type DeliveryRow, type IdempotencyRow, type PendingRow, type SubscriberRow, type SubscriptionRow, wakeListeners } from '../store-rows.js';

export interface PostgresStoreOptions {
  /** DATABASE_URL. Never logged, never in an error message. */
  readonly connectionString: string;
  readonly clock?: Clock;
  readonly staticSubscribers?: readonly string[];
  readonly verifyChunk?: number;
  readonly auditKey?: string;
  readonly onHead?: (head: ChainHead) => void;
  readonly adminActors?: readonly string[];
  readonly newSecret?: () => string;
  /** Connections in the pool (the group locks use their own). Default 10. */
  readonly poolSize?: number;
  /** How long a claimed Idempotency-Key stays claimed while its request runs. Default 15 minutes. */
  readonly idempotencyLeaseMs?: number;
  /** How long a claimed delivery stays with the replica that claimed it. Default 60 s. */
  readonly deliveryLeaseMs?: number;
}

export interface PostgresStore extends AuditTrail, ChangeAudit, SubscriptionStore, Outbox, IdempotencyStore, CxoneTables, ConsistencyTables {
  /** What the log says the store is: the host and database, never the credentials. */
  readonly file: string;
  /** The desired sets (written with the audit records) and the drift records (migration 3). */
  readonly drift: DriftStore;
  auditHead(): Promise<ChainHead | null>;
  pruneAudit(before: number, limit?: number): Promise<PruneResult>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The transaction-level advisory lock every append to the chain takes first. */
export const AUDIT_LOCK = advisoryKey('cxone-scim-sync/audit-chain');

const INT8 = 20;
/** bigint columns as numbers (sequence numbers and epoch milliseconds fit): so the rows are those SQLite returns, and ../store-rows.ts maps both. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8 ? (value: string) => Number(value) : pgTypes.getTypeParser(oid, format))) as typeof pgTypes.getTypeParser,
};

/** The database a connection string names, for logs: host, port and database only. */
export function describeDatabase(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    return `postgres://${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
  } catch {
    return 'postgres (DATABASE_URL)';
  }
}

/** One line about a failure, without the connection string. */
export function describePgError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

function storageError(what: string, error: unknown): Error {
  if (error instanceof StorageError || error instanceof InvalidCursorError) return error;
  return new StorageError(`PostgreSQL: ${what} failed (${describePgError(error)})`, { cause: error });
}

type Meta = Map<string, string>;

const META_KEYS = ['audit_head', 'audit_head_seq', 'audit_head_mac', 'audit_breaks', 'audit_key_anchor', 'audit_counter'];

async function readMeta(client: PoolClient | Pool): Promise<Meta> {
  const { rows } = await client.query<{ key: string; value: string }>('SELECT key, value FROM meta WHERE key = ANY($1)', [META_KEYS]);
  return new Map(rows.map((r) => [r.key, r.value]));
}

async function setMeta(client: PoolClient, key: string, value: string): Promise<void> {
  await client.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
}

async function newestCheckpoint(client: PoolClient | Pool): Promise<CheckpointRow | undefined> {
  return (await client.query<CheckpointRow>('SELECT * FROM audit_checkpoints ORDER BY id DESC LIMIT 1')).rows[0];
}

async function lastRecord(client: PoolClient | Pool): Promise<{ seq: number; hash: string } | undefined> {
  return (await client.query<{ seq: number; hash: string }>('SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1')).rows[0];
}

/** Opens the store: connects, migrates under the migration lock, anchors AUDIT_HMAC_KEY. Throws StorageError with a one-line reason. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const pool = new Pool({ connectionString: options.connectionString, max: options.poolSize ?? 10, types, keepAlive: true, connectionTimeoutMillis: 10_000 });
  // An idle connection that breaks must not end the process; the next query reports it.
  pool.on('error', () => {});
  try {
    await migratePostgres(pool);
    await anchorKey(pool, options.auditKey);
  } catch (error) {
    await pool.end().catch(() => {});
    throw storageError('opening the database', error);
  }
  return createStore(pool, options);
}

/** As in the SQLite store: the first open with AUDIT_HMAC_KEY anchors it; a keyed trail is never written without it, or with another key. */
async function anchorKey(pool: Pool, key: string | undefined): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
    const meta = await readMeta(client);
    const anchor = parseAnchor(meta.get('audit_key_anchor'));
    if (anchor === undefined) {
      if (key !== undefined) {
        const since = Math.max(Number(meta.get('audit_head_seq') ?? '0'), Number(meta.get('audit_counter') ?? '0'), (await lastRecord(client))?.seq ?? 0) + 1;
        const from = (await newestCheckpoint(client))?.first_seq ?? 1;
        await setMeta(client, 'audit_key_anchor', JSON.stringify({ since, from, mac: chainMacs.anchor(key, since, from) }));
      }
    } else if (key === undefined) {
      throw new StorageError(`the audit trail is keyed (HMAC) since record ${anchor.since}; set AUDIT_HMAC_KEY to the key it was sealed with (a keyed trail is never continued without it)`);
    } else if (anchor.mac !== chainMacs.anchor(key, anchor.since, anchor.from)) {
      throw new StorageError(`AUDIT_HMAC_KEY does not match the key the audit trail was sealed with (since record ${anchor.since})`);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

function createStore(pool: Pool, options: PostgresStoreOptions): PostgresStore {
  const clock = options.clock ?? systemClock;
  const staticSubscribers = options.staticSubscribers ?? [];
  const verifyChunk = options.verifyChunk ?? 1000;
  const adminActors = new Set(options.adminActors ?? []);
  const auditKey = options.auditKey;
  const idempotencyLeaseMs = options.idempotencyLeaseMs ?? 15 * 60_000;
  const deliveryLeaseMs = options.deliveryLeaseMs ?? 60_000;
  const listeners = new Set<() => void>();
  let verifying = 0;

  async function transaction<T>(what: string, work: (client: PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw storageError(what, error);
    }
    try {
      await client.query(begin);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw storageError(what, error);
    } finally {
      client.release();
    }
  }

  async function query<R extends QueryResultRow>(what: string, text: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await pool.query<R>(text, values)).rows;
    } catch (error) {
      throw storageError(what, error);
    }
  }

  /** Appends one record (and its events' deliveries) to the chain, inside `client`'s transaction, after taking the chain's lock. */
  async function appendIn(client: PoolClient, entry: AnyAuditEntry, events: readonly DomainEvent[], desired?: DesiredSet) {
    await client.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
    const meta = await readMeta(client);
    const anchor = parseAnchor(meta.get('audit_key_anchor'));
    if (anchor !== undefined && auditKey === undefined) throw new StorageError(`the audit trail is keyed (HMAC) since record ${anchor.since}; set AUDIT_HMAC_KEY on every replica`);
    const headHash = meta.get('audit_head');
    const last = await lastRecord(client);
    const counter = Number(meta.get('audit_counter') ?? '0');
    const seq = Math.max(Number(meta.get('audit_head_seq') ?? '0'), last?.seq ?? 0, counter) + 1;
    let prevHash = headHash;
    if (prevHash === undefined) {
      const checkpoint = await newestCheckpoint(client);
      prevHash = last?.hash ?? checkpoint?.prev_hash ?? GENESIS_HASH;
      if (last !== undefined || counter > 0 || checkpoint !== undefined) {
        const cut = chainCut(seq, last, counter);
        await setMeta(client, 'audit_breaks', JSON.stringify([...parseBreaks(meta.get('audit_breaks')), cut]));
      }
    }
    const key = anchor !== undefined && seq >= anchor.since ? auditKey : undefined;
    const record = sealRecord(entry, prevHash, key);
    const groupId = 'groupId' in record ? record.groupId : '';
    await client.query('INSERT INTO audit_records (seq, sync_id, group_id, status, created_at, entry, prev_hash, hash, actor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)', [
      seq,
      record.syncId,
      groupId,
      record.status,
      record.createdAt,
      JSON.stringify(entry),
      record.prevHash,
      record.hash,
      record.actor,
    ]);
    await setMeta(client, 'audit_head', record.hash);
    await setMeta(client, 'audit_head_seq', String(seq));
    await setMeta(client, 'audit_counter', String(seq));
    if (key !== undefined) await setMeta(client, 'audit_head_mac', chainMacs.head(key, { seq, hash: record.hash }));
    if (desired !== undefined) await writeDesiredIn(client, desired);
    const queued = await queueIn(client, events, entry.actor, entry.syncId);
    return { record, queued, head: { seq, hash: record.hash } };
  }

  /**
   * Writes events to the outbox with one delivery per interested subscriber, inside
   * `client`'s transaction: a caller's subscription hears of what concerns that caller
   * (`actor`) only; an administrator's, one without an owner, and every static subscriber
   * of everything.
   */
  async function queueIn(client: PoolClient, events: readonly DomainEvent[], actor: string, syncId: string | null): Promise<number> {
    let queued = 0;
    if (events.length === 0) return queued;
    const now = clock.now();
    const { rows } = await client.query<SubscriberRow>('SELECT id, url, events, owner FROM subscriptions WHERE disabled_at IS NULL');
    const subscribers = subscribersOf(rows, actor, adminActors);
    for (const event of events) {
      await client.query('INSERT INTO outbox_events (event_id, type, sync_id, body, created_at) VALUES ($1, $2, $3, $4, $5)', [
        event.id,
        event.type,
        syncId,
        eventBody(event),
        now,
      ]);
      const targets: { id: string | null; url: string }[] = [...subscribers.filter((s) => s.events.includes(event.type)), ...staticSubscribers.map((url) => ({ id: null, url }))];
      for (const target of targets) {
        await client.query(`INSERT INTO deliveries (event_id, subscription_id, url, status, attempts, next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, 'pending', 0, $4, $4, $4)`, [
          event.id,
          target.id,
          target.url,
          now,
        ]);
        queued++;
      }
    }
    return queued;
  }

  function notifyQueued(): void {
    wakeListeners(listeners);
  }

  const subscriptionChange = (status: SubscriptionChange, subscription: Subscription, by: ChangeRequest): SubscriptionAuditEntry => subscriptionChangeEntry(status, subscription, by, clock.now());

  /** After an append committed: the new head to its observer, and the dispatcher woken when deliveries were queued. */
  const announce = (head: ChainHead, queued: number) => {
    try {
      options.onHead?.(head);
    } catch {
      // Metrics and logging must not fail a sync that is recorded.
    }
    if (queued > 0) notifyQueued();
  };

  return {
    file: describeDatabase(options.connectionString),
    ...createCxoneTables({ query, transaction: (what, work) => transaction(what, work) }, clock),
    ...createConsistencyTables({ query, transaction: (what, work) => transaction(what, work) }, async (client, entry, events) => {
      const { head, queued } = await appendIn(client, entry, events);
      return () => announce(head, queued);
    }),

    async auditHead() {
      const meta = await readMeta(pool).catch((error: unknown) => {
        throw storageError('reading the chain head', error);
      });
      const hash = meta.get('audit_head');
      return hash === undefined ? null : { seq: Number(meta.get('audit_head_seq') ?? meta.get('audit_counter') ?? 0), hash };
    },

    async appendChange(entry) {
      const { queued, head } = await transaction('appending to the audit trail', (client) => appendIn(client, entry, []));
      announce(head, queued);
    },

    async append(entry: AuditEntry, events: readonly DomainEvent[], desired?: DesiredSet): Promise<AuditRecord> {
      const { record, queued, head } = await transaction('appending to the audit trail', (client) => appendIn(client, entry, events, desired));
      announce(head, queued);
      return record as AuditRecord;
    },

    drift: createPostgresDrift({ query, transaction: (what, work) => transaction(what, work) }, queueIn, notifyQueued),

    async findSync(syncId) {
      const [row] = await query<AuditRow>('finding a sync', 'SELECT * FROM audit_records WHERE sync_id = $1', [syncId]);
      if (!row || !isSyncRecord(row.status)) return undefined;
      return toRecord(row) as AuditRecord;
    },

    async listRecords(query_: AuditListQuery): Promise<Page<AnyAuditRecord>> {
      const values: unknown[] = [query_.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeCursor('audit', query_.cursor)];
      const conditions = ['seq < $1'];
      if (query_.actor !== undefined) conditions.push(`actor = $${values.push(query_.actor)}`);
      if (query_.groupId !== undefined) conditions.push(`group_id = $${values.push(query_.groupId)}`);
      if (query_.since !== undefined) conditions.push(`created_at >= $${values.push(new Date(query_.since).toISOString())}`);
      const rows = await query<AuditRow>('listing the audit trail', `SELECT * FROM audit_records WHERE ${conditions.join(' AND ')} ORDER BY seq DESC LIMIT $${values.push(query_.limit + 1)}`, values);
      const items = rows.slice(0, query_.limit);
      const last = items.at(-1);
      return { items: items.map(toRecord), nextCursor: rows.length > query_.limit && last ? encodeCursor('audit', last.seq) : null };
    },

    async verifyChain(): Promise<ChainVerdict> {
      verifying++;
      try {
        // One snapshot (REPEATABLE READ): appends by any replica during the walk do not count.
        return await transaction(
          'verifying the audit trail',
          async (client) => {
            const end = (await lastRecord(client))?.seq ?? 0;
            const meta = await readMeta(client);
            const headHash = meta.get('audit_head');
            const headSeq = meta.get('audit_head_seq');
            const headMac = meta.get('audit_head_mac');
            const counter = Number(meta.get('audit_counter') ?? '0');
            const checkpointRow = await newestCheckpoint(client);
            const storedAnchor = parseAnchor(meta.get('audit_key_anchor'));
            const breaks = parseBreaks(meta.get('audit_breaks'));
            const notes = checkChainNotes({ anchor: storedAnchor, checkpointRow, headHash, headSeq, headMac, counter }, auditKey);
            if ('verdict' in notes) return notes.verdict;
            const { checkpoint, head } = notes;
            const verifier = new ChainVerifier({ start: checkpoint && { seq: checkpoint.firstSeq, prevHash: checkpoint.prevHash }, keyedSince: storedAnchor?.since, key: auditKey });
            let after = 0;
            for (;;) {
              const { rows } = await client.query<AuditRow>('SELECT * FROM audit_records WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3', [after, end, verifyChunk]);
              for (const row of rows) if (!verifier.add(toVerifiable(row), row.seq)) return verifier.verdict();
              if (rows.length < verifyChunk) break;
              after = (rows.at(-1) as AuditRow).seq;
              await yieldToEventLoop();
            }
            const verdict = verifier.verdict(head, counter);
            if (!verdict.ok) return verdict;
            const cut = breaks[0];
            if (cut) {
              const { rows } = await client.query<{ sync_id: string }>('SELECT sync_id FROM audit_records WHERE seq = $1', [cut.seq]);
              return cutVerdict(cut, verdict.records, rows[0]?.sync_id);
            }
            return checkpoint ? { ...verdict, checkpoint } : verdict;
          },
          'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
        );
      } finally {
        verifying--;
      }
    },

    async pruneAudit(before, limit = 10_000): Promise<PruneResult> {
      if (verifying > 0) return { pruned: 0, refused: 'a verification of the chain is running' };
      const cutoff = new Date(before).toISOString();
      return transaction('pruning the audit trail', async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK]);
        const previous = await newestCheckpoint(client);
        const start = chainStart(previous);
        const { rows: candidates } = await client.query<AuditRow>('SELECT * FROM audit_records WHERE seq >= $1 ORDER BY seq LIMIT $2', [start.seq, limit]);
        const old = createdBefore(candidates, cutoff);
        const newest = old.at(-1);
        if (newest === undefined) return { pruned: 0 };
        const anchor = parseAnchor((await readMeta(client)).get('audit_key_anchor'));
        const refused = pruneRefusal(old, start, anchor?.since, auditKey);
        if (refused !== undefined) return { pruned: 0, refused };
        await client.query('DELETE FROM audit_records WHERE seq <= $1', [newest.seq]);
        const checkpoint = nextCheckpoint(previous, newest, old.length, clock.now());
        await client.query('INSERT INTO audit_checkpoints (first_seq, prev_hash, pruned, created_at, mac) VALUES ($1, $2, $3, $4, $5)', [
          checkpoint.firstSeq,
          checkpoint.prevHash,
          checkpoint.pruned,
          checkpoint.createdAt,
          auditKey === undefined ? null : chainMacs.checkpoint(auditKey, checkpoint),
        ]);
        return { pruned: old.length, checkpoint };
      });
    },

    async createSubscription(input: NewSubscription, by?: ChangeRequest): Promise<CreatedSubscription> {
      if (!options.newSecret) throw new Error('this store was opened without newSecret, so it cannot create subscriptions');
      const secret = options.newSecret();
      const id = `sub_${uuidv7()}`;
      const createdAt = new Date(clock.now()).toISOString();
      const owner = by?.actor ?? null;
      const created: CreatedSubscription = { id, owner, url: input.url, events: [...input.events], description: input.description ?? null, createdAt, disabled: false, secret };
      await transaction('creating a subscription', async (client) => {
        await client.query('INSERT INTO subscriptions (id, url, events, description, secret, created_at, owner) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          id,
          input.url,
          JSON.stringify(input.events),
          input.description ?? null,
          secret,
          createdAt,
          owner,
        ]);
        if (by) await appendIn(client, subscriptionChange('subscription_created', created, by), []);
      });
      return created;
    },

    async listSubscriptions(viewer?: Viewer) {
      const rows =
        viewer === undefined || viewer.admin
          ? await query<SubscriptionRow>('listing subscriptions', `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY created_at, id`)
          : await query<SubscriptionRow>('listing subscriptions', `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE owner = $1 ORDER BY created_at, id`, [viewer.actor]);
      return rows.map(toSubscription);
    },

    async getSubscription(id, viewer?: Viewer) {
      const [row] = await query<SubscriptionRow>('reading a subscription', `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1`, [id]);
      return row && sees(viewer, row.owner) ? toSubscription(row) : undefined;
    },

    async deleteSubscription(id, by?: ChangeRequest) {
      return transaction('deleting a subscription', async (client) => {
        const { rows } = await client.query<SubscriptionRow>(`SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1 FOR UPDATE`, [id]);
        const row = rows[0];
        if (!row || !sees(by, row.owner)) return undefined;
        const subscription = toSubscription(row);
        await client.query('DELETE FROM subscriptions WHERE id = $1', [id]);
        if (by) await appendIn(client, subscriptionChange('subscription_deleted', subscription, by), []);
        return subscription;
      });
    },

    async listDeliveries(subscriptionId: string, query_: DeliveryListQuery, viewer?: Viewer): Promise<Page<Delivery> | undefined> {
      const [subscription] = await query<SubscriptionRow>('reading a subscription', `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE id = $1`, [subscriptionId]);
      if (!subscription || !sees(viewer, subscription.owner)) return undefined;
      const before = query_.cursor === undefined ? Number.MAX_SAFE_INTEGER : decodeCursor('delivery', query_.cursor);
      const rows = await query<DeliveryRow>(
        'listing deliveries',
        `SELECT d.id, d.event_id, e.type, d.status, d.next_attempt_at, d.created_at FROM deliveries d JOIN outbox_events e ON e.event_id = d.event_id
         WHERE d.subscription_id = $1 AND d.id < $2 ORDER BY d.id DESC LIMIT $3`,
        [subscriptionId, before, query_.limit + 1],
      );
      const page = rows.slice(0, query_.limit);
      const attempts = await query<AttemptRow>(
        'listing delivery attempts',
        'SELECT * FROM delivery_attempts WHERE delivery_id = ANY($1::bigint[]) ORDER BY delivery_id, attempt',
        [page.map((r) => r.id)],
      );
      const items = page.map((row) => toDelivery(row, attempts.filter((a) => a.delivery_id === row.id)));
      const last = page.at(-1);
      return { items, nextCursor: rows.length > query_.limit && last ? encodeCursor('delivery', last.id) : null };
    },

    async dueDeliveries(now, limit, exclude): Promise<PendingDelivery[]> {
      if (limit <= 0) return [];
      // Claimed with a lease: rows another replica is claiming right now are skipped, rows
      // it holds under a lease are not due; after the lease anyone may take them again.
      const rows = await query<PendingRow>(
        'claiming due deliveries',
        `WITH claimable AS (
           SELECT id FROM deliveries
           WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1) AND NOT (id = ANY($3::bigint[]))
           ORDER BY next_attempt_at, id LIMIT $2
           FOR UPDATE SKIP LOCKED
         ), claimed AS (
           UPDATE deliveries d SET lease_until = $4 FROM claimable c WHERE d.id = c.id
           RETURNING d.id, d.event_id, d.url, d.subscription_id, d.attempts, d.next_attempt_at
         )
         SELECT c.id, c.event_id, e.type, e.body, c.url, c.subscription_id, s.secret, c.attempts
         FROM claimed c JOIN outbox_events e ON e.event_id = c.event_id LEFT JOIN subscriptions s ON s.id = c.subscription_id
         ORDER BY c.next_attempt_at, c.id`,
        [now, limit, [...exclude], now + deliveryLeaseMs],
      );
      return rows.map(toPending);
    },

    async nextDueAt(exclude) {
      const [row] = await query<{ due: number | null }>(
        'reading the outbox',
        `SELECT min(greatest(next_attempt_at, coalesce(lease_until, 0))) AS due FROM deliveries WHERE status = 'pending' AND NOT (id = ANY($1::bigint[]))`,
        [[...exclude]],
      );
      return row?.due ?? null;
    },

    async recordAttempt(id, result, next) {
      await transaction('recording a delivery attempt', async (client) => {
        await client.query('INSERT INTO delivery_attempts (delivery_id, attempt, at, status_code, error, duration_ms) SELECT id, attempts + 1, $1, $2, $3, $4 FROM deliveries WHERE id = $5', [
          result.at,
          result.statusCode,
          result.error,
          Math.round(result.durationMs),
          id,
        ]);
        await client.query('UPDATE deliveries SET attempts = attempts + 1, status = $1, next_attempt_at = $2, lease_until = NULL, updated_at = $3 WHERE id = $4', [
          next.status,
          next.status === 'pending' ? next.nextAttemptAt : null,
          clock.now(),
          id,
        ]);
      });
    },

    async disableSubscription(id) {
      await transaction('disabling a subscription', async (client) => {
        const now = clock.now();
        await client.query('UPDATE subscriptions SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL', [new Date(now).toISOString(), id]);
        await client.query(`UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, lease_until = NULL, updated_at = $1 WHERE subscription_id = $2 AND status = 'pending'`, [now, id]);
      });
    },

    onQueued(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async claim(actor, key, fingerprint, ttlMs): Promise<IdempotencyClaim> {
      const now = clock.now();
      await query('expiring idempotency keys', `DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM idempotency_keys WHERE expires_at <= $1 AND (status = 'completed' OR lease_until <= $1) LIMIT 100)`, [now]);
      for (;;) {
        // Atomic across replicas: the row is taken when absent, expired, or a claim whose lease ran out.
        const claimed = await query(
          'claiming an idempotency key',
          `INSERT INTO idempotency_keys (actor, key, fingerprint, status, response, created_at, expires_at, lease_until) VALUES ($1, $2, $3, 'processing', NULL, $4, $5, $6)
           ON CONFLICT (actor, key) DO UPDATE SET fingerprint = excluded.fingerprint, status = 'processing', response = NULL, created_at = excluded.created_at, expires_at = excluded.expires_at, lease_until = excluded.lease_until
           WHERE idempotency_keys.expires_at <= $4 OR (idempotency_keys.status = 'processing' AND idempotency_keys.lease_until <= $4)
           RETURNING 1`,
          [actor, key, fingerprint, now, now + ttlMs, now + idempotencyLeaseMs],
        );
        if (claimed.length > 0) return { claimed: true };
        const [row] = await query<IdempotencyRow>('reading an idempotency key', 'SELECT fingerprint, status, response FROM idempotency_keys WHERE actor = $1 AND key = $2', [actor, key]);
        if (row === undefined) continue; // released in between: try again
        return toTakenClaim(row);
      }
    },

    async complete(actor, key, response) {
      await query('storing an idempotent answer', `UPDATE idempotency_keys SET status = 'completed', response = $1, lease_until = NULL WHERE actor = $2 AND key = $3 AND status = 'processing'`, [JSON.stringify(response), actor, key]);
    },

    async release(actor, key) {
      await query('releasing an idempotency key', `DELETE FROM idempotency_keys WHERE actor = $1 AND key = $2 AND status = 'processing'`, [actor, key]);
    },

    async releaseAbandoned() {
      // Other replicas may be running their claims: only those whose lease ran out are abandoned.
      const rows = await query('releasing abandoned idempotency keys', `DELETE FROM idempotency_keys WHERE status = 'processing' AND lease_until <= $1 RETURNING 1`, [clock.now()]);
      return rows.length;
    },

    async ping() {
      await query('ping', 'SELECT 1');
    },

    async close() {
      listeners.clear();
      await pool.end().catch(() => {});
    },
  };
}
