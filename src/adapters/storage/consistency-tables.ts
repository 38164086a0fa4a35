/**
 * The SQLite side of quarantine and held changes (QuarantineStore, HeldChangeStore in
 * src/core/ports.ts): tables of migrations 9 and 10 (./migrations.ts). Every change is one
 * statement, or one transaction with the audit record it appends. One process writes an
 * SQLite store, so there is nothing to share; the statements are the PostgreSQL store's
 * all the same (./postgres/consistency-tables.ts).
 */
import type { Database } from 'better-sqlite3';
import type { GroupHealth, HeldChange, HeldChangeStore, HoldDecision, QuarantineNote, QuarantineStore } from '../../core/ports.js';

/** What to do after a commit that appended nothing. */
const nothing = (): void => {};

export interface GroupHealthRow {
  group_id: string;
  failures: number;
  last_error: string | null;
  phase: string | null;
  step: number;
  since: number | null;
  next_probe_at: number | null;
  updated_at: number;
}

export function toHealth(row: GroupHealthRow): GroupHealth {
  return {
    groupId: row.group_id,
    failures: row.failures,
    lastError: row.last_error,
    phase: row.phase === 'quarantined' || row.phase === 'half_open' ? row.phase : null,
    step: row.step,
    since: row.since,
    nextProbeAt: row.next_probe_at,
    updatedAt: row.updated_at,
  };
}

export interface HeldChangeRow {
  id: string;
  group_id: string;
  actor: string;
  fingerprint: string;
  removing: number;
  of_members: number;
  state: string;
  created_at: string;
  decided_at: string | null;
  decided_by: string | null;
  expired_at: string | null;
}

export function toHeld(row: HeldChangeRow): HeldChange {
  return {
    id: row.id,
    groupId: row.group_id,
    actor: row.actor,
    fingerprint: row.fingerprint,
    removing: row.removing,
    of: row.of_members,
    state: row.state as HeldChange['state'],
    createdAt: row.created_at,
    decidedAt: row.decided_at,
    decidedBy: row.decided_by,
    expiredAt: row.expired_at ?? null,
  };
}

/**
 * `appendNote` appends a note's record and events inside the caller's transaction (the
 * store's own append, as a nested transaction) and answers what to do once it committed
 * (wake the dispatcher, report the head).
 */
export function createSqliteQuarantineStore(db: Database, appendNote: (note: QuarantineNote) => () => void): QuarantineStore {
  const sql = {
    health: db.prepare<[string], GroupHealthRow>('SELECT * FROM group_health WHERE group_id = ?'),
    list: db.prepare<[], GroupHealthRow>('SELECT * FROM group_health WHERE phase IS NOT NULL ORDER BY since, group_id'),
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM group_health WHERE phase IS NOT NULL'),
    countFailure: db.prepare<[string, string, number], GroupHealthRow>(
      `INSERT INTO group_health (group_id, failures, last_error, updated_at) VALUES (?, 1, ?, ?)
       ON CONFLICT (group_id) DO UPDATE SET failures = failures + 1, last_error = excluded.last_error, updated_at = excluded.updated_at
       RETURNING *`,
    ),
    enter: db.prepare<[number, number, string, number, number, string], GroupHealthRow>(
      `UPDATE group_health SET phase = 'quarantined', step = ?, next_probe_at = ?, last_error = ?, since = coalesce(CASE WHEN phase = 'half_open' THEN since END, ?), updated_at = ?
       WHERE group_id = ? AND (phase IS NULL OR phase <> 'quarantined') RETURNING *`,
    ),
    halfOpen: db.prepare<[number, string], GroupHealthRow>(`UPDATE group_health SET phase = 'half_open', next_probe_at = NULL, updated_at = ? WHERE group_id = ? AND phase = 'quarantined' RETURNING *`),
    probeFailed: db.prepare<[number, number, string, number, string], GroupHealthRow>(
      `UPDATE group_health SET step = ?, next_probe_at = ?, last_error = ?, updated_at = ? WHERE group_id = ? AND phase = 'quarantined' RETURNING *`,
    ),
    clear: db.prepare<[string], GroupHealthRow>('DELETE FROM group_health WHERE group_id = ? RETURNING *'),
    due: db.prepare<[number, number], GroupHealthRow>(`SELECT * FROM group_health WHERE phase = 'quarantined' AND next_probe_at <= ? ORDER BY next_probe_at, group_id LIMIT ?`),
    next: db.prepare<[], { at: number | null }>(`SELECT min(next_probe_at) AS at FROM group_health WHERE phase = 'quarantined'`),
  };
  const enterTx = db.transaction((groupId: string, step: number, nextProbeAt: number, error: string, at: number, note: QuarantineNote | undefined): (() => void) | false => {
    if (sql.enter.get(step, nextProbeAt, error, at, at, groupId) === undefined) return false;
    return note ? appendNote(note) : () => {};
  });
  const halfOpenTx = db.transaction((groupId: string, at: number, note: QuarantineNote | undefined): (() => void) | false => {
    if (sql.halfOpen.get(at, groupId) === undefined) return false;
    return note ? appendNote(note) : () => {};
  });
  const clearTx = db.transaction((groupId: string, note: QuarantineNote | undefined): { was: GroupHealthRow | undefined; after: () => void } => {
    const was = sql.clear.get(groupId);
    return { was, after: was !== undefined && was.phase !== null && note ? appendNote(note) : () => {} };
  });
  return {
    async health(groupId) {
      const row = sql.health.get(groupId);
      return row && toHealth(row);
    },
    async listQuarantined() {
      return sql.list.all().map(toHealth);
    },
    async countQuarantined() {
      return sql.count.get()?.n ?? 0;
    },
    async countFailure(groupId, error, at) {
      return toHealth(sql.countFailure.get(groupId, error, at) as GroupHealthRow);
    },
    async enter(groupId, step, nextProbeAt, error, at, note) {
      const after = enterTx.immediate(groupId, step, nextProbeAt, error, at, note);
      if (after === false) return false;
      after();
      return true;
    },
    async halfOpen(groupId, at, note) {
      const after = halfOpenTx.immediate(groupId, at, note);
      if (after === false) return false;
      after();
      return true;
    },
    async probeFailed(groupId, step, nextProbeAt, error, at) {
      return sql.probeFailed.get(step, nextProbeAt, error, at, groupId) !== undefined;
    },
    async clear(groupId, note) {
      const { was, after } = clearTx.immediate(groupId, note);
      after();
      return was && toHealth(was);
    },
    async dueProbes(now, limit) {
      return sql.due.all(now, limit).map(toHealth);
    },
    async nextProbeAt() {
      return sql.next.get()?.at ?? null;
    },
  };
}

/** `appendNote` as for the quarantine store: a decision's audit record, in the decision's transaction. */
export function createSqliteHeldChanges(db: Database, appendNote: (note: QuarantineNote) => () => void): HeldChangeStore {
  const sql = {
    match: db.prepare<[string, string], HeldChangeRow>(
      `SELECT * FROM held_changes WHERE group_id = ? AND fingerprint = ? AND state IN ('approved', 'held', 'rejected')
       ORDER BY CASE state WHEN 'approved' THEN 0 WHEN 'held' THEN 1 ELSE 2 END, created_at DESC LIMIT 1`,
    ),
    use: db.prepare<[string]>(`UPDATE held_changes SET state = 'used' WHERE id = ? AND state = 'approved'`),
    insert: db.prepare(`INSERT INTO held_changes (id, group_id, actor, fingerprint, removing, of_members, state, created_at) VALUES (?, ?, ?, ?, ?, ?, 'held', ?)`),
    get: db.prepare<[string], HeldChangeRow>('SELECT * FROM held_changes WHERE id = ?'),
    list: db.prepare<[number], HeldChangeRow>('SELECT * FROM held_changes ORDER BY created_at DESC, id DESC LIMIT ?'),
    listIn: db.prepare<[string, number], HeldChangeRow>('SELECT * FROM held_changes WHERE state = ? ORDER BY created_at DESC, id DESC LIMIT ?'),
    decide: db.prepare<[string, string, string, string], HeldChangeRow>(`UPDATE held_changes SET state = ?, decided_at = ?, decided_by = ? WHERE id = ? AND state = 'held' RETURNING *`),
    due: db.prepare<[string, string], HeldChangeRow>(
      `SELECT * FROM held_changes WHERE (state = 'held' AND created_at < ?) OR (state = 'approved' AND decided_at < ?) ORDER BY created_at, id`,
    ),
    expire: db.prepare<[string, string]>(`UPDATE held_changes SET state = 'expired', expired_at = ? WHERE id = ? AND state IN ('held', 'approved')`),
  };
  const expireTx = db.transaction((before: string, at: string, noteOf: (change: HeldChange) => QuarantineNote): { expired: HeldChange[]; after: (() => void)[] } => {
    const expired: HeldChange[] = [];
    const after: (() => void)[] = [];
    for (const row of sql.due.all(before, before)) {
      if (sql.expire.run(at, row.id).changes === 0) continue;
      const change = toHeld(row);
      expired.push(change);
      after.push(appendNote(noteOf(change)));
    }
    return { expired, after };
  });
  const decideTx = db.transaction((id: string, decision: string, by: string, at: string, note: QuarantineNote | undefined): { row: HeldChangeRow | undefined; after: () => void } => {
    const decided = sql.decide.get(decision, at, by, id);
    if (decided) return { row: decided, after: note ? appendNote(note) : () => {} };
    return { row: sql.get.get(id), after: () => {} };
  });
  const holdTx = db.transaction((change: Parameters<HeldChangeStore['holdOrPass']>[0], note: QuarantineNote | undefined): { decision: HoldDecision; after: () => void } => {
    const found = sql.match.get(change.groupId, change.fingerprint);
    if (found?.state === 'approved') {
      sql.use.run(found.id);
      return { decision: { kind: 'approved', id: found.id }, after: nothing };
    }
    if (found) return { decision: { kind: found.state === 'rejected' ? 'rejected' : 'held', id: found.id, created: false }, after: nothing };
    sql.insert.run(change.id, change.groupId, change.actor, change.fingerprint, change.removing, change.of, change.createdAt);
    return { decision: { kind: 'held', id: change.id, created: true }, after: note ? appendNote(note) : nothing };
  });
  return {
    async holdOrPass(change, note) {
      const { decision, after } = holdTx.immediate(change, note);
      after();
      return decision;
    },
    async expire(before, at, noteOf) {
      const { expired, after } = expireTx.immediate(before, at, noteOf);
      for (const announce of after) announce();
      return expired;
    },
    async listHeld(state, limit = 100) {
      return (state === undefined ? sql.list.all(limit) : sql.listIn.all(state, limit)).map(toHeld);
    },
    async getHeld(id) {
      const row = sql.get.get(id);
      return row && toHeld(row);
    },
    async decide(id, decision, by, at, note) {
      const { row, after } = decideTx.immediate(id, decision, by, at, note);
      after();
      return row && toHeld(row);
    },
  };
}
