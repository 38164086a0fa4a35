/**
 * Drift on PostgreSQL (migration 3): the same tables as the SQLite store's
 * (../drift-tables.ts). The desired set is upserted in the audit append's transaction; a
 * drift record with its events in one transaction. Replicas share them: only the replica
 * holding the scheduler's lease writes drift records, and a group's desired set is written
 * by the sync holding the group's lock.
 */
import type { PoolClient } from 'pg';
import type { DomainEvent } from '../../../core/audit.js';
import type { DesiredSet, DriftStore, DriftTotals } from '../../../core/ports.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { driftColumns, toDesiredSet, toDesiredSummary, toDriftRecord, type DesiredRow, type DriftRow } from '../drift-tables.js';
import type { PgAccess } from './cxone-tables.js';

/** In the audit append's transaction. */
export async function writeDesiredIn(client: PoolClient, desired: DesiredSet): Promise<void> {
  await client.query(
    `INSERT INTO desired_sets (backend, group_id, members, member_count, sync_id, owner, applied_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (backend, group_id) DO UPDATE SET members = excluded.members, member_count = excluded.member_count, sync_id = excluded.sync_id, owner = excluded.owner, applied_at = excluded.applied_at`,
    [desired.backend, desired.groupId, JSON.stringify(desired.members), desired.members.length, desired.syncId, desired.owner, desired.appliedAt],
  );
}

const SUMMARY = 'backend, group_id, member_count, sync_id, owner, applied_at';

/** `queue` writes events to the outbox in the caller's transaction for the subscribers that hear `actor`; `notify` wakes the dispatcher after the commit. */
export function createPostgresDrift(
  db: PgAccess,
  queue: (client: PoolClient, events: readonly DomainEvent[], actor: string, syncId: string | null) => Promise<number>,
  notify: () => void,
): DriftStore {
  return {
    async recentlySynced(backend, since) {
      const rows = await db.query<{ group_id: string }>('listing the recently synced groups', 'SELECT group_id FROM desired_sets WHERE backend = $1 AND applied_at >= $2 ORDER BY group_id', [backend, since]);
      return rows.map((row) => row.group_id);
    },
    async desiredSet(backend, groupId) {
      const [row] = await db.query<DesiredRow>('reading a desired set', 'SELECT * FROM desired_sets WHERE backend = $1 AND group_id = $2', [backend, groupId]);
      return row && toDesiredSet(row);
    },
    async drift(backend, groupId) {
      const [row] = await db.query<DriftRow>('reading a drift record', 'SELECT id, record FROM drift_records WHERE backend = $1 AND group_id = $2', [backend, groupId]);
      return row && toDriftRecord(row);
    },
    async saveDrift(record, events) {
      const c = driftColumns(record);
      const queued = await db.transaction('writing a drift record', async (client) => {
        await client.query(
          `INSERT INTO drift_records (backend, group_id, owner, status, members, first_seen_at, last_checked_at, record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (backend, group_id) DO UPDATE SET owner = excluded.owner, status = excluded.status, members = excluded.members, first_seen_at = excluded.first_seen_at, last_checked_at = excluded.last_checked_at, record = excluded.record`,
          [c.backend, c.groupId, c.owner, c.status, c.members, c.firstSeenAt, c.lastCheckedAt, c.record],
        );
        return queue(client, events, record.owner, null);
      });
      if (queued > 0) notify();
    },
    async groupDrift(groupId, backend) {
      const [row] =
        backend === undefined
          ? await db.query<DesiredRow>('reading a desired set', `SELECT ${SUMMARY} FROM desired_sets WHERE group_id = $1 ORDER BY applied_at DESC, backend LIMIT 1`, [groupId])
          : await db.query<DesiredRow>('reading a desired set', `SELECT ${SUMMARY} FROM desired_sets WHERE backend = $1 AND group_id = $2`, [backend, groupId]);
      if (row === undefined) return undefined;
      const [drift] = await db.query<DriftRow>('reading a drift record', 'SELECT id, record FROM drift_records WHERE backend = $1 AND group_id = $2', [row.backend, groupId]);
      return { desired: toDesiredSummary(row), drift: drift && toDriftRecord(drift) };
    },
    async listDrift(query) {
      const values: unknown[] = [query.cursor === undefined ? 0 : decodeCursor('drift', query.cursor)];
      const conditions = ['id > $1'];
      if ((query.status ?? 'drifted') === 'drifted') conditions.push(`status = 'drifted'`);
      if (query.owner !== undefined) conditions.push(`owner = $${values.push(query.owner)}`);
      const rows = await db.query<DriftRow>('listing drift records', `SELECT id, record FROM drift_records WHERE ${conditions.join(' AND ')} ORDER BY id LIMIT $${values.push(query.limit + 1)}`, values);
      const items = rows.slice(0, query.limit);
      const last = items.at(-1);
      return { items: items.map(toDriftRecord), nextCursor: rows.length > query.limit && last ? encodeCursor('drift', last.id) : null };
    },
    async driftTotals(): Promise<DriftTotals> {
      const [row] = await db.query<{ groups: number; members: number | null; oldest: string | null }>(
        'counting drift',
        `SELECT count(*)::int AS groups, sum(members)::int AS members, min(first_seen_at) AS oldest FROM drift_records WHERE status = 'drifted'`,
      );
      return { groups: row?.groups ?? 0, members: row?.members ?? 0, oldestFirstSeenAt: row?.oldest ?? null };
    },
  };
}
