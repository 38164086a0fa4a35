/**
 * Versioned schema migrations of the embedded store. `PRAGMA user_version` holds the
 * version a database is at; each step runs in its own transaction together with the
 * version bump, so a crash mid-migration leaves the previous version intact. Append
 * steps, never edit one that has shipped.
 */
import type { Database } from 'better-sqlite3';
import { StorageError } from '../../core/errors.js';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'audit chain, webhook subscriptions and outbox, idempotency keys',
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      -- One row per sync attempt. entry is the JSON of the AuditEntry; the columns beside
      -- it are what queries filter on, and they are read back over the JSON, so editing
      -- either breaks the record's hash.
      CREATE TABLE audit_records (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        sync_id    TEXT NOT NULL UNIQUE,
        group_id   TEXT NOT NULL,
        status     TEXT NOT NULL,
        created_at TEXT NOT NULL,
        entry      TEXT NOT NULL,
        prev_hash  TEXT NOT NULL,
        hash       TEXT NOT NULL
      ) STRICT;
      CREATE INDEX audit_records_group ON audit_records (group_id, seq);
      CREATE INDEX audit_records_created ON audit_records (created_at);

      CREATE TABLE subscriptions (
        id          TEXT PRIMARY KEY,
        url         TEXT NOT NULL,
        events      TEXT NOT NULL,
        description TEXT,
        secret      TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        disabled_at TEXT
      ) STRICT;

      -- The outbox: each event once, written in the same transaction as its audit record.
      CREATE TABLE outbox_events (
        event_id   TEXT PRIMARY KEY,
        type       TEXT NOT NULL,
        sync_id    TEXT,
        body       TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;

      -- One row per event and subscriber. subscription_id is null for static WEBHOOK_URLS subscribers.
      CREATE TABLE deliveries (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id        TEXT NOT NULL REFERENCES outbox_events (event_id),
        subscription_id TEXT REFERENCES subscriptions (id) ON DELETE CASCADE,
        url             TEXT NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
      CREATE INDEX deliveries_subscription ON deliveries (subscription_id, id);

      CREATE TABLE delivery_attempts (
        delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
        attempt     INTEGER NOT NULL,
        at          INTEGER NOT NULL,
        status_code INTEGER,
        error       TEXT,
        duration_ms INTEGER NOT NULL,
        PRIMARY KEY (delivery_id, attempt)
      ) STRICT;

      -- For the Idempotency-Key feature (a later issue); nothing reads or writes it yet.
      CREATE TABLE idempotency_keys (
        actor       TEXT NOT NULL,
        key         TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        status      TEXT NOT NULL,
        response    TEXT,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        PRIMARY KEY (actor, key)
      ) STRICT;
      CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
    `,
  },
  {
    version: 2,
    description: 'owners: who created each subscription; the actor of each audit record as a column',
    sql: `
      -- The name of the token that created the subscription. NULL: created before owners
      -- were recorded; only administrators (ADMIN_API_TOKENS) see and manage those.
      ALTER TABLE subscriptions ADD COLUMN owner TEXT;
      CREATE INDEX subscriptions_owner ON subscriptions (owner, created_at, id);

      -- Who asked, for reads of one's own records. verifyChain reports a record whose
      -- column no longer matches its entry JSON, so editing either shows.
      ALTER TABLE audit_records ADD COLUMN actor TEXT;
      UPDATE audit_records SET actor = json_extract(entry, '$.actor') WHERE json_valid(entry);
      CREATE INDEX audit_records_actor ON audit_records (actor, seq);
    `,
  },
  {
    version: 3,
    description: 'audit chain: the head sequence number, and checkpoints of pruned records',
    sql: `
      -- The sequence number of the chain head, beside its hash (meta 'audit_head'), so that
      -- deleted newest records and an emptied trail are told from a new one.
      INSERT INTO meta (key, value)
        SELECT 'audit_head_seq', CAST(max(seq) AS TEXT) FROM audit_records HAVING max(seq) IS NOT NULL;

      -- One row per pruning (AUDIT_RETENTION_DAYS): the oldest record kept and the hash it
      -- continues from, so that the kept chain still verifies. mac: HMAC under AUDIT_HMAC_KEY.
      CREATE TABLE audit_checkpoints (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        first_seq  INTEGER NOT NULL,
        prev_hash  TEXT NOT NULL,
        pruned     INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        mac        TEXT
      ) STRICT;
    `,
  },
  {
    version: 4,
    description: 'the membership backend chosen by MEMBERSHIP_BACKEND=auto',
    sql: `
      -- At most one row: the backend the first probe chose (the first writer wins), kept so
      -- that every process on this store, and every restart, makes the same choice.
      CREATE TABLE membership_backend_choice (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        name       TEXT NOT NULL,
        chosen_at  TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 5,
    description: "CXone's agent map: each agent's ids, state and team, and the updateSince of the next refresh",
    sql: `
      -- The agent map (src/adapters/cxone/agent-map.ts): which CXone agent each SCIM user
      -- is, kept so that a restart does not page every agent again. user_id is the agent's
      -- userID (its SCIM user id). The lastPollTime of the last refresh is meta
      -- 'agent_map_last_poll_time'.
      CREATE TABLE agents (
        agent_id   INTEGER PRIMARY KEY,
        user_id    TEXT,
        user_name  TEXT,
        is_active  INTEGER,
        team_id    INTEGER
      ) STRICT;
    `,
  },
  {
    version: 6,
    description: 'the admin-API write journal: each open write of a membership backend, and its steps',
    sql: `
      -- One row per admin-API write still open (MembershipJournal): from before its first
      -- step until it is verified or undone, when the row and its steps are deleted. A row
      -- found at start is a write a crash (or a failed undo) left open. before/target: JSON.
      CREATE TABLE journal_entries (
        sync_id   TEXT PRIMARY KEY,
        backend   TEXT NOT NULL,
        group_id  TEXT NOT NULL,
        before    TEXT NOT NULL,
        target    TEXT NOT NULL,
        phase     TEXT NOT NULL,
        opened_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX journal_entries_group ON journal_entries (backend, group_id, opened_at);

      -- Each step, recorded before it is sent, and what it answered. agent_ids, failed: JSON.
      CREATE TABLE journal_steps (
        sync_id   TEXT NOT NULL REFERENCES journal_entries (sync_id) ON DELETE CASCADE,
        idx       INTEGER NOT NULL,
        action    TEXT NOT NULL,
        agent_ids TEXT NOT NULL,
        team_id   INTEGER,
        undo      INTEGER NOT NULL,
        state     TEXT NOT NULL,
        failed    TEXT,
        PRIMARY KEY (sync_id, idx)
      ) STRICT;
    `,
  },
  {
    version: 7,
    description: 'drift: the desired set each group was last synced to, and the last drift check of each group',
    sql: `
      -- The members a sync of a group last applied or found held (applied, unchanged; never a
      -- dry run), one row per backend and group, written in the same transaction as the
      -- sync's audit record. Apart from audit_records: retention never prunes it.
      -- members: JSON array of { value, type }.
      CREATE TABLE IF NOT EXISTS desired_sets (
        backend      TEXT NOT NULL,
        group_id     TEXT NOT NULL,
        members      TEXT NOT NULL,
        member_count INTEGER NOT NULL,
        sync_id      TEXT NOT NULL,
        owner        TEXT NOT NULL,
        applied_at   TEXT NOT NULL,
        PRIMARY KEY (backend, group_id)
      ) STRICT;
      CREATE INDEX IF NOT EXISTS desired_sets_applied ON desired_sets (backend, applied_at);
      CREATE INDEX IF NOT EXISTS desired_sets_group ON desired_sets (group_id, applied_at);

      -- The last drift check of each group (DriftRecord as JSON in record; the columns are what
      -- the lists and the gauges filter on). id orders the pages of GET /drift.
      CREATE TABLE IF NOT EXISTS drift_records (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        backend         TEXT NOT NULL,
        group_id        TEXT NOT NULL,
        owner           TEXT NOT NULL,
        status          TEXT NOT NULL,
        members         INTEGER NOT NULL,
        first_seen_at   TEXT,
        last_checked_at TEXT NOT NULL,
        record          TEXT NOT NULL,
        UNIQUE (backend, group_id)
      ) STRICT;
      CREATE INDEX IF NOT EXISTS drift_records_status ON drift_records (status, id);
      CREATE INDEX IF NOT EXISTS drift_records_owner ON drift_records (owner, id);
    `,
  },
  {
    version: 8,
    description: 'the externalId of each group the SCIM front door created or was told of',
    sql: `
      -- GroupExternalIds: one externalId per (backend, group), naming one group of a backend at most.
      CREATE TABLE IF NOT EXISTS scim_group_external_ids (
        backend     TEXT NOT NULL,
        group_id    TEXT NOT NULL,
        external_id TEXT NOT NULL,
        PRIMARY KEY (backend, group_id),
        UNIQUE (backend, external_id)
      ) STRICT;
    `,
  },
  {
    version: 9,
    description: "each group's run of failures and its quarantine; changes the mass-removal guard holds for an administrator",
    sql: `
      -- One row per group with failures of its own counted, or quarantined (QuarantineStore);
      -- no row: healthy. Times are epoch milliseconds.
      CREATE TABLE IF NOT EXISTS group_health (
        group_id      TEXT PRIMARY KEY,
        failures      INTEGER NOT NULL DEFAULT 0,
        last_error    TEXT,
        phase         TEXT CHECK (phase IN ('quarantined', 'half_open')),
        step          INTEGER NOT NULL DEFAULT 0,
        since         INTEGER,
        next_probe_at INTEGER,
        updated_at    INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX IF NOT EXISTS group_health_probe ON group_health (next_probe_at) WHERE phase = 'quarantined';

      -- Guarded changes the SCIM front door holds until an administrator decides (HeldChangeStore).
      CREATE TABLE IF NOT EXISTS held_changes (
        id          TEXT PRIMARY KEY,
        group_id    TEXT NOT NULL,
        actor       TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        removing    INTEGER NOT NULL,
        of_members  INTEGER NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('held', 'approved', 'rejected', 'used')),
        created_at  TEXT NOT NULL,
        decided_at  TEXT,
        decided_by  TEXT
      ) STRICT;
      CREATE INDEX IF NOT EXISTS held_changes_match ON held_changes (group_id, fingerprint, state);
      CREATE INDEX IF NOT EXISTS held_changes_created ON held_changes (created_at, id);
    `,
  },
  {
    version: 10,
    description: 'held changes expire (HELD_CHANGE_TTL): the state expired, and when',
    // SQLite cannot change a CHECK constraint: the table is rebuilt, its rows kept.
    sql: `
      CREATE TABLE held_changes_next (
        id          TEXT PRIMARY KEY,
        group_id    TEXT NOT NULL,
        actor       TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        removing    INTEGER NOT NULL,
        of_members  INTEGER NOT NULL,
        state       TEXT NOT NULL CHECK (state IN ('held', 'approved', 'rejected', 'used', 'expired')),
        created_at  TEXT NOT NULL,
        decided_at  TEXT,
        decided_by  TEXT,
        expired_at  TEXT
      ) STRICT;
      INSERT INTO held_changes_next (id, group_id, actor, fingerprint, removing, of_members, state, created_at, decided_at, decided_by)
        SELECT id, group_id, actor, fingerprint, removing, of_members, state, created_at, decided_at, decided_by FROM held_changes;
      DROP TABLE held_changes;
      ALTER TABLE held_changes_next RENAME TO held_changes;
      CREATE INDEX IF NOT EXISTS held_changes_match ON held_changes (group_id, fingerprint, state);
      CREATE INDEX IF NOT EXISTS held_changes_created ON held_changes (created_at, id);
    `,
  },
  {
    version: 11,
    description: "each agent's team by its user-management id too; a team move's target by that id",
    sql: `
      -- team_uuid: the agent's teamUuId (GET /agents), the id user-management's teams have, so
      -- that a team created or listed there is found by its agents. The agent map is paged in
      -- full once more (its updateSince forgotten), so that every kept agent gains it.
      ALTER TABLE agents ADD COLUMN team_uuid TEXT;
      -- A journaled move to a team known only by its user-management id.
      ALTER TABLE journal_steps ADD COLUMN team_uuid TEXT;
      DELETE FROM meta WHERE key = 'agent_map_last_poll_time';
    `,
  },
];

export const SCHEMA_VERSION = (MIGRATIONS.at(-1) as Migration).version;

/** Brings the database to SCHEMA_VERSION; returns the version it was at. */
export function migrate(db: Database, file: string): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new StorageError(`${file} has schema version ${current}, newer than this release understands (${SCHEMA_VERSION}); run a newer release or restore a backup`);
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
  return current;
}
