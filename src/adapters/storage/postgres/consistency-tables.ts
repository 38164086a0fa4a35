/**
 * The PostgreSQL side of quarantine and held changes (the same ports as ../consistency-tables.ts
 * for SQLite): tables of migrations 5 and 6 (./migrations.ts). Replicas share them:
 *
 * - A failure is counted by one statement (INSERT … ON CONFLICT DO UPDATE SET failures =
 *   failures + 1 RETURNING), never read and then written, so concurrent counts are never lost.
 * - Every transition is a conditional UPDATE (or DELETE) … RETURNING: of two replicas that
 *   try the same one, one sees the row change and emits the event; the other sees nothing.
 * - A transition's audit record and events (entering quarantine, a probe's, a release) are
 *   appended in the same transaction, after the chain's lock.
 * - A held change is decided under a row lock (FOR UPDATE) in its transaction.
 */
import type { PoolClient } from 'pg';
import type { DomainEvent } from '../../../core/audit.js';
import type { HeldChange, HeldChangeStore, HoldDecision, QuarantineNote, QuarantineStore } from '../../../core/ports.js';
import { toHealth, toHeld, type GroupHealthRow, type HeldChangeRow } from '../consistency-tables.js';
import type { PgAccess } from './cxone-tables.js';

/** What to do after a commit that appended nothing. */
const nothing = (): void => {};

export interface ConsistencyTables {
  readonly quarantine: QuarantineStore;
  readonly heldChanges: HeldChangeStore;
}

/** `appendIn` appends a note inside the transaction of `client`; answers what to do once it committed. */
export function createConsistencyTables(db: PgAccess, appendIn: (client: PoolClient, entry: QuarantineNote['entry'], events: readonly DomainEvent[]) => Promise<() => void>): ConsistencyTables {
  return { quarantine: quarantine(db, appendIn), heldChanges: heldChanges(db, appendIn) };
}

function quarantine(db: PgAccess, appendIn: Parameters<typeof createConsistencyTables>[1]): QuarantineStore {
  return {
    async health(groupId) {
      const [row] = await db.query<GroupHealthRow>('reading a group\'s quarantine', 'SELECT * FROM group_health WHERE group_id = $1', [groupId]);
      return row && toHealth(row);
    },
    async listQuarantined() {
      return (await db.query<GroupHealthRow>('listing quarantined groups', 'SELECT * FROM group_health WHERE phase IS NOT NULL ORDER BY since, group_id')).map(toHealth);
    },
    async countQuarantined() {
      const [row] = await db.query<{ n: number }>('counting quarantined groups', 'SELECT count(*)::int AS n FROM group_health WHERE phase IS NOT NULL');
      return row?.n ?? 0;
    },
    async countFailure(groupId, error, at) {
      const [row] = await db.query<GroupHealthRow>(
        'counting a failure of a group',
        `INSERT INTO group_health (group_id, failures, last_error, updated_at) VALUES ($1, 1, $2, $3)
         ON CONFLICT (group_id) DO UPDATE SET failures = group_health.failures + 1, last_error = excluded.last_error, updated_at = excluded.updated_at
         RETURNING *`,
        [groupId, error, at],
      );
      return toHealth(row as GroupHealthRow);
    },
    async enter(groupId, step, nextProbeAt, error, at, note) {
      const after = await db.transaction('quarantining a group', async (client) => {
        const { rows } = await client.query(
          `UPDATE group_health SET phase = 'quarantined', step = $1, next_probe_at = $2, last_error = $3, since = coalesce(CASE WHEN phase = 'half_open' THEN since END, $4), updated_at = $4
           WHERE group_id = $5 AND (phase IS NULL OR phase <> 'quarantined') RETURNING group_id`,
          [step, nextProbeAt, error, at, groupId],
        );
        if (rows.length === 0) return false;
        return note ? await appendIn(client, note.entry, note.events) : () => {};
      });
      if (after === false) return false;
      after();
      return true;
    },
    async halfOpen(groupId, at, note) {
      const after = await db.transaction('moving a group to half-open', async (client) => {
        const { rows } = await client.query(`UPDATE group_health SET phase = 'half_open', next_probe_at = NULL, updated_at = $1 WHERE group_id = $2 AND phase = 'quarantined' RETURNING group_id`, [at, groupId]);
        if (rows.length === 0) return false;
        return note ? await appendIn(client, note.entry, note.events) : () => {};
      });
      if (after === false) return false;
      after();
      return true;
    },
    async probeFailed(groupId, step, nextProbeAt, error, at) {
      const rows = await db.query<GroupHealthRow>(
        'recording a failed probe',
        `UPDATE group_health SET step = $1, next_probe_at = $2, last_error = $3, updated_at = $4 WHERE group_id = $5 AND phase = 'quarantined' RETURNING *`,
        [step, nextProbeAt, error, at, groupId],
      );
      return rows.length > 0;
    },
    async clear(groupId, note) {
      const { was, after } = await db.transaction('clearing a group\'s quarantine', async (client) => {
        const { rows } = await client.query<GroupHealthRow>('DELETE FROM group_health WHERE group_id = $1 RETURNING *', [groupId]);
        const row = rows[0];
        return { was: row, after: row !== undefined && row.phase !== null && note ? await appendIn(client, note.entry, note.events) : () => {} };
      });
      after();
      return was && toHealth(was);
    },
    async dueProbes(now, limit) {
      return (
        await db.query<GroupHealthRow>('listing due probes', `SELECT * FROM group_health WHERE phase = 'quarantined' AND next_probe_at <= $1 ORDER BY next_probe_at, group_id LIMIT $2`, [now, limit])
      ).map(toHealth);
    },
    async nextProbeAt() {
      const [row] = await db.query<{ at: number | null }>('reading the next probe', `SELECT min(next_probe_at) AS at FROM group_health WHERE phase = 'quarantined'`);
      return row?.at ?? null;
    },
  };
}

function heldChanges(db: PgAccess, appendIn: Parameters<typeof createConsistencyTables>[1]): HeldChangeStore {
  return {
    async holdOrPass(change, note) {
      const { decision, after } = await db.transaction('holding a guarded change', async (client): Promise<{ decision: HoldDecision; after: () => void }> => {
            // One decision per group and change at a time: the transaction-level lock of their key.
        await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`held-change/${change.groupId}/${change.fingerprint}`]);
        const { rows } = await client.query<HeldChangeRow>(
          `SELECT * FROM held_changes WHERE group_id = $1 AND fingerprint = $2 AND state IN ('approved', 'held', 'rejected')
           ORDER BY CASE state WHEN 'approved' THEN 0 WHEN 'held' THEN 1 ELSE 2 END, created_at DESC LIMIT 1 FOR UPDATE`,
          [change.groupId, change.fingerprint],
        );
        const found = rows[0];
        if (found?.state === 'approved') {
          await client.query(`UPDATE held_changes SET state = 'used' WHERE id = $1`, [found.id]);
          return { decision: { kind: 'approved', id: found.id }, after: nothing };
        }
        if (found) return { decision: { kind: found.state === 'rejected' ? 'rejected' : 'held', id: found.id, created: false }, after: nothing };
        await client.query(`INSERT INTO held_changes (id, group_id, actor, fingerprint, removing, of_members, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'held', $7)`, [
          change.id,
          change.groupId,
          change.actor,
          change.fingerprint,
          change.removing,
          change.of,
          change.createdAt,
        ]);
        return { decision: { kind: 'held', id: change.id, created: true }, after: note ? await appendIn(client, note.entry, note.events) : nothing };
      });
      after();
      return decision;
    },
    async expire(before, at, noteOf) {
      const { expired, after } = await db.transaction('expiring held changes', async (client) => {
        // Locked, and the condition checked again once a replica expiring them at once let go: each is expired once.
        const { rows } = await client.query<HeldChangeRow>(
          `SELECT * FROM held_changes WHERE (state = 'held' AND created_at < $1) OR (state = 'approved' AND decided_at < $1) ORDER BY created_at, id FOR UPDATE`,
          [before],
        );
        const done: HeldChange[] = [];
        const announce: (() => void)[] = [];
        for (const row of rows) {
          const { rowCount } = await client.query(`UPDATE held_changes SET state = 'expired', expired_at = $1 WHERE id = $2 AND state IN ('held', 'approved')`, [at, row.id]);
          if (rowCount === 0) continue;
          const change = toHeld(row);
          done.push(change);
          const note = noteOf(change);
          announce.push(await appendIn(client, note.entry, note.events));
        }
        return { expired: done, after: announce };
      });
      for (const announce of after) announce();
      return expired;
    },
    async listHeld(state, limit = 100) {
      const rows =
        state === undefined
          ? await db.query<HeldChangeRow>('listing held changes', 'SELECT * FROM held_changes ORDER BY created_at DESC, id DESC LIMIT $1', [limit])
          : await db.query<HeldChangeRow>('listing held changes', 'SELECT * FROM held_changes WHERE state = $1 ORDER BY created_at DESC, id DESC LIMIT $2', [state, limit]);
      return rows.map(toHeld);
    },
    async getHeld(id) {
      const [row] = await db.query<HeldChangeRow>('reading a held change', 'SELECT * FROM held_changes WHERE id = $1', [id]);
      return row && toHeld(row);
    },
    async decide(id, decision, by, at, note) {
      const decided = await db.transaction('deciding a held change', async (client) => {
        const { rows } = await client.query<HeldChangeRow>(`UPDATE held_changes SET state = $1, decided_at = $2, decided_by = $3 WHERE id = $4 AND state = 'held' RETURNING *`, [decision, at, by, id]);
        const row = rows[0];
        return { row, after: row && note ? await appendIn(client, note.entry, note.events) : () => {} };
      });
      decided.after();
      const changed = decided.row;
      if (changed) return toHeld(changed);
      const [row] = await db.query<HeldChangeRow>('reading a held change', 'SELECT * FROM held_changes WHERE id = $1', [id]);
      return row && toHeld(row);
    },
  };
}
