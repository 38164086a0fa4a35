/**
 * Drift on the embedded store (migration 7): the desired set each group was last synced to
 * (`desired_sets`, written by the audit append in its transaction) and the last drift check
 * of each group (`drift_records`, written with its events in one transaction). Neither is
 * part of the audit trail: retention never prunes them.
 */
import type Database from 'better-sqlite3';
import type { DomainEvent } from '../../core/audit.js';
import type { MemberRef } from '../../core/membership.js';
import type { MembershipBackendName } from '../../core/outcome.js';
import type { DesiredSet, DesiredSetSummary, DriftRecord, DriftStore, DriftTotals } from '../../core/ports.js';
import { decodeCursor, encodeCursor } from './cursor.js';

export interface DesiredRow {
  backend: string;
  group_id: string;
  members?: string;
  member_count: number;
  sync_id: string;
  owner: string;
  applied_at: string;
}

export interface DriftRow {
  id: number;
  record: string;
}

export function toDesiredSummary(row: DesiredRow): DesiredSetSummary {
  return { backend: row.backend as MembershipBackendName, groupId: row.group_id, syncId: row.sync_id, owner: row.owner, appliedAt: row.applied_at, memberCount: row.member_count };
}

export function toDesiredSet(row: DesiredRow): DesiredSet {
  const { memberCount: _count, ...summary } = toDesiredSummary(row);
  return { ...summary, members: JSON.parse(row.members ?? '[]') as MemberRef[] };
}

export function toDriftRecord(row: DriftRow): DriftRecord {
  return JSON.parse(row.record) as DriftRecord;
}

/** The columns of a drift record beside its JSON. */
export function driftColumns(record: DriftRecord) {
  return {
    backend: record.backend,
    groupId: record.groupId,
    owner: record.owner,
    status: record.status,
    members: record.status === 'drifted' ? record.missingCount + record.extraCount : 0,
    firstSeenAt: record.firstSeenAt,
    lastCheckedAt: record.lastCheckedAt,
    record: JSON.stringify(record),
  };
}

export interface SqliteDrift {
  readonly store: DriftStore;
  /** In the audit append's transaction. */
  writeDesired(desired: DesiredSet): void;
}

/**
 * `queue` writes events to the outbox for the subscribers that hear `actor`, in the
 * caller's transaction, and answers how many deliveries it queued; `notify` wakes the
 * dispatcher afterwards.
 */
export function createSqliteDrift(db: Database.Database, queue: (events: readonly DomainEvent[], actor: string) => number, notify: () => void): SqliteDrift {
  let sql:
    | {
        upsertDesired: Database.Statement;
        recent: Database.Statement<[string, string], { group_id: string }>;
        desired: Database.Statement<[string, string], DesiredRow>;
        drift: Database.Statement<[string, string], DriftRow>;
        upsertDrift: Database.Statement;
        newestDesired: Database.Statement<[string], DesiredRow>;
        desiredOf: Database.Statement<[string, string], DesiredRow>;
        totals: Database.Statement<[], { groups: number; members: number | null; oldest: string | null }>;
      }
    | undefined;
  // Prepared at first use: a store opened read-only at an older schema never needs them.
  const prepared = () =>
    (sql ??= {
      upsertDesired: db.prepare(
        `INSERT INTO desired_sets (backend, group_id, members, member_count, sync_id, owner, applied_at) VALUES (@backend, @groupId, @members, @memberCount, @syncId, @owner, @appliedAt)
         ON CONFLICT (backend, group_id) DO UPDATE SET members = excluded.members, member_count = excluded.member_count, sync_id = excluded.sync_id, owner = excluded.owner, applied_at = excluded.applied_at`,
      ),
      recent: db.prepare(`SELECT group_id FROM desired_sets WHERE backend = ? AND applied_at >= ? ORDER BY group_id`),
      desired: db.prepare(`SELECT * FROM desired_sets WHERE backend = ? AND group_id = ?`),
      drift: db.prepare(`SELECT id, record FROM drift_records WHERE backend = ? AND group_id = ?`),
      upsertDrift: db.prepare(
        `INSERT INTO drift_records (backend, group_id, owner, status, members, first_seen_at, last_checked_at, record) VALUES (@backend, @groupId, @owner, @status, @members, @firstSeenAt, @lastCheckedAt, @record)
         ON CONFLICT (backend, group_id) DO UPDATE SET owner = excluded.owner, status = excluded.status, members = excluded.members, first_seen_at = excluded.first_seen_at, last_checked_at = excluded.last_checked_at, record = excluded.record`,
      ),
      newestDesired: db.prepare(`SELECT backend, group_id, member_count, sync_id, owner, applied_at FROM desired_sets WHERE group_id = ? ORDER BY applied_at DESC, backend LIMIT 1`),
      desiredOf: db.prepare(`SELECT backend, group_id, member_count, sync_id, owner, applied_at FROM desired_sets WHERE backend = ? AND group_id = ?`),
      totals: db.prepare(`SELECT count(*) AS groups, sum(members) AS members, min(first_seen_at) AS oldest FROM drift_records WHERE status = 'drifted'`),
    });

  const saveTx = db.transaction((record: DriftRecord, events: readonly DomainEvent[]): number => {
    prepared().upsertDrift.run(driftColumns(record));
    return queue(events, record.owner);
  });

  const store: DriftStore = {
    async recentlySynced(backend, since) {
      return prepared()
        .recent.all(backend, since)
        .map((row) => row.group_id);
    },
    async desiredSet(backend, groupId) {
      const row = prepared().desired.get(backend, groupId);
      return row && toDesiredSet(row);
    },
    async drift(backend, groupId) {
      const row = prepared().drift.get(backend, groupId);
      return row && toDriftRecord(row);
    },
    async saveDrift(record, events) {
      if (saveTx.immediate(record, events) > 0) notify();
    },
    async groupDrift(groupId, backend) {
      const statements = prepared();
      const row = backend === undefined ? statements.newestDesired.get(groupId) : statements.desiredOf.get(backend, groupId);
      if (row === undefined) return undefined;
      const drift = statements.drift.get(row.backend, groupId);
      return { desired: toDesiredSummary(row), drift: drift && toDriftRecord(drift) };
    },
    async listDrift(query) {
      prepared();
      const conditions = ['id > @after'];
      const params: Record<string, string | number> = { after: query.cursor === undefined ? 0 : decodeCursor('drift', query.cursor), limit: query.limit + 1 };
      if ((query.status ?? 'drifted') === 'drifted') conditions.push(`status = 'drifted'`);
      if (query.owner !== undefined) {
        conditions.push('owner = @owner');
        params.owner = query.owner;
      }
      const rows = db.prepare<Record<string, string | number>, DriftRow>(`SELECT id, record FROM drift_records WHERE ${conditions.join(' AND ')} ORDER BY id LIMIT @limit`).all(params);
      const items = rows.slice(0, query.limit);
      const last = items.at(-1);
      return { items: items.map(toDriftRecord), nextCursor: rows.length > query.limit && last ? encodeCursor('drift', last.id) : null };
    },
    async driftTotals(): Promise<DriftTotals> {
      const row = prepared().totals.get();
      return { groups: row?.groups ?? 0, members: row?.members ?? 0, oldestFirstSeenAt: row?.oldest ?? null };
    },
  };

  return {
    store,
    writeDesired(desired) {
      prepared().upsertDesired.run({
        backend: desired.backend,
        groupId: desired.groupId,
        members: JSON.stringify(desired.members),
        memberCount: desired.members.length,
        syncId: desired.syncId,
        owner: desired.owner,
        appliedAt: desired.appliedAt,
      });
    },
  };
}
