/**
 * Versioned schema migrations of the PostgreSQL store. They run at start, by every
 * replica, under a session-level advisory lock, so that replicas starting together run
 * each step once: the first takes the lock and migrates, the others wait and find nothing
 * left to do. `schema_migrations` holds one row per applied step; each step runs in its
 * own transaction together with its row. Append steps, never edit one that has shipped.
 *
 * The tables are those of the SQLite store (../migrations.ts) with two additions for
 * several replicas: a delivery's claim lease (`deliveries.lease_until`) and an
 * Idempotency-Key's lease while its request runs (`idempotency_keys.lease_until`). Migration 2
 * holds what the CXone membership backends keep (./cxone-tables.ts).
 */
import type { Pool } from 'pg';
import { StorageError } from '../../../core/errors.js';
import { advisoryKey } from './advisory-key.js';

export interface PostgresMigration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    description: 'audit chain with checkpoints, webhook subscriptions and outbox with claim leases, idempotency keys with leases',
    sql: `
      CREATE TABLE meta (
        key   text PRIMARY KEY,
        value text NOT NULL
      );

      -- One row per audit record. entry is the JSON of the entry; the columns beside it are
      -- what queries filter on, read back over the JSON, so editing either breaks the hash.
      CREATE TABLE audit_records (
        seq        bigint PRIMARY KEY,
        sync_id    text NOT NULL UNIQUE,
        group_id   text NOT NULL,
        status     text NOT NULL,
        created_at text NOT NULL,
        entry      text NOT NULL,
        prev_hash  text NOT NULL,
        hash       text NOT NULL,
        actor      text
      );
      CREATE INDEX audit_records_group ON audit_records (group_id, seq);
      CREATE INDEX audit_records_created ON audit_records (created_at);
      CREATE INDEX audit_records_actor ON audit_records (actor, seq);

      CREATE TABLE audit_checkpoints (
        id         bigserial PRIMARY KEY,
        first_seq  bigint NOT NULL,
        prev_hash  text NOT NULL,
        pruned     bigint NOT NULL,
        created_at text NOT NULL,
        mac        text
      );

      CREATE TABLE subscriptions (
        id          text PRIMARY KEY,
        owner       text,
        url         text NOT NULL,
        events      text NOT NULL,
        description text,
        secret      text NOT NULL,
        created_at  text NOT NULL,
        disabled_at text
      );
      CREATE INDEX subscriptions_owner ON subscriptions (owner, created_at, id);

      CREATE TABLE outbox_events (
        event_id   text PRIMARY KEY,
        type       text NOT NULL,
        sync_id    text,
        body       text NOT NULL,
        created_at bigint NOT NULL
      );

      -- lease_until: the replica that claimed the delivery has it until then (epoch ms);
      -- after that, another may claim it (the first died mid-delivery).
      CREATE TABLE deliveries (
        id              bigserial PRIMARY KEY,
        event_id        text NOT NULL REFERENCES outbox_events (event_id),
        subscription_id text REFERENCES subscriptions (id) ON DELETE CASCADE,
        url             text NOT NULL,
        status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at bigint,
        lease_until     bigint,
        created_at      bigint NOT NULL,
        updated_at      bigint NOT NULL
      );
      CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
      CREATE INDEX deliveries_subscription ON deliveries (subscription_id, id);

      CREATE TABLE delivery_attempts (
        delivery_id bigint NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
        attempt     integer NOT NULL,
        at          bigint NOT NULL,
        status_code integer,
        error       text,
        duration_ms integer NOT NULL,
        PRIMARY KEY (delivery_id, attempt)
      );

      -- lease_until: while 'processing', the claim holds until then (epoch ms), longer than
      -- a sync can run; a replica that died mid-request leaves the key to a retry after it.
      CREATE TABLE idempotency_keys (
        actor       text NOT NULL,
        key         text NOT NULL,
        fingerprint text NOT NULL,
        status      text NOT NULL,
        response    text,
        created_at  bigint NOT NULL,
        expires_at  bigint NOT NULL,
        lease_until bigint,
        PRIMARY KEY (actor, key)
      );
      CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
    `,
  },
  {
    version: 2,
    description: 'the CXone membership backends: the kept backend choice, the agent map, the admin-API write journal',
    sql: `
      -- At most one row: the backend MEMBERSHIP_BACKEND=auto chose first (the first insert wins).
      CREATE TABLE membership_backend_choice (
        id        integer PRIMARY KEY CHECK (id = 1),
        name      text NOT NULL,
        chosen_at text NOT NULL
      );

      -- The agent map: which CXone agent each SCIM user is (user_id: the agent's userID).
      -- The lastPollTime of the last refresh is meta 'agent_map_last_poll_time'.
      CREATE TABLE agents (
        agent_id  bigint PRIMARY KEY,
        user_id   text,
        user_name text,
        is_active boolean,
        team_id   bigint
      );

      -- One row per admin-API write still open, until it is verified or undone; its steps,
      -- each recorded before it is sent. before/target/agent_ids/failed: JSON text.
      CREATE TABLE journal_entries (
        sync_id   text PRIMARY KEY,
        seq       bigserial,
        backend   text NOT NULL,
        group_id  text NOT NULL,
        before    text NOT NULL,
        target    text NOT NULL,
        phase     text NOT NULL,
        opened_at text NOT NULL
      );
      CREATE INDEX journal_entries_group ON journal_entries (backend, group_id, opened_at);

      CREATE TABLE journal_steps (
        sync_id   text NOT NULL REFERENCES journal_entries (sync_id) ON DELETE CASCADE,
        idx       integer NOT NULL,
        action    text NOT NULL,
        agent_ids text NOT NULL,
        team_id   bigint,
        undo      boolean NOT NULL,
        state     text NOT NULL,
        failed    text,
        PRIMARY KEY (sync_id, idx)
      );
    `,
  },
  {
    version: 3,
    description: 'drift: the desired set each group was last synced to, and the last drift check of each group',
    sql: `
      -- As in the SQLite store (../migrations.ts, drift): written with the sync's audit
      -- record, never pruned by retention.
      CREATE TABLE IF NOT EXISTS desired_sets (
        backend      text NOT NULL,
        group_id     text NOT NULL,
        members      text NOT NULL,
        member_count integer NOT NULL,
        sync_id      text NOT NULL,
        owner        text NOT NULL,
        applied_at   text NOT NULL,
        PRIMARY KEY (backend, group_id)
      );
      CREATE INDEX IF NOT EXISTS desired_sets_applied ON desired_sets (backend, applied_at);
      CREATE INDEX IF NOT EXISTS desired_sets_group ON desired_sets (group_id, applied_at);

      CREATE TABLE IF NOT EXISTS drift_records (
        id              bigserial PRIMARY KEY,
        backend         text NOT NULL,
        group_id        text NOT NULL,
        owner           text NOT NULL,
        status          text NOT NULL,
        members         integer NOT NULL,
        first_seen_at   text,
        last_checked_at text NOT NULL,
        record          text NOT NULL,
        UNIQUE (backend, group_id)
      );
      CREATE INDEX IF NOT EXISTS drift_records_status ON drift_records (status, id);
      CREATE INDEX IF NOT EXISTS drift_records_owner ON drift_records (owner, id);
    `,
  },
  {
    version: 4,
    description: 'the externalId of each group the SCIM front door created or was told of',
    sql: `
      -- GroupExternalIds: one externalId per (backend, group), naming one group of a backend at most.
      CREATE TABLE IF NOT EXISTS scim_group_external_ids (
        backend     text NOT NULL,
        group_id    text NOT NULL,
        external_id text NOT NULL,
        PRIMARY KEY (backend, group_id),
        UNIQUE (backend, external_id)
      );
    `,
  },
  {
    version: 5,
    description: "each group's run of failures and its quarantine; changes the mass-removal guard holds for an administrator",
    sql: `
      CREATE TABLE IF NOT EXISTS group_health (
        group_id      text PRIMARY KEY,
        failures      integer NOT NULL DEFAULT 0,
        last_error    text,
        phase         text CHECK (phase IN ('quarantined', 'half_open')),
        step          integer NOT NULL DEFAULT 0,
        since         bigint,
        next_probe_at bigint,
        updated_at    bigint NOT NULL
      );
      CREATE INDEX IF NOT EXISTS group_health_probe ON group_health (next_probe_at) WHERE phase = 'quarantined';

      CREATE TABLE IF NOT EXISTS held_changes (
        id          text PRIMARY KEY,
        group_id    text NOT NULL,
        actor       text NOT NULL,
        fingerprint text NOT NULL,
        removing    integer NOT NULL,
        of_members  integer NOT NULL,
        state       text NOT NULL CHECK (state IN ('held', 'approved', 'rejected', 'used')),
        created_at  text NOT NULL,
        decided_at  text,
        decided_by  text
      );
      CREATE INDEX IF NOT EXISTS held_changes_match ON held_changes (group_id, fingerprint, state);
      CREATE INDEX IF NOT EXISTS held_changes_created ON held_changes (created_at, id);
    `,
  },
  {
    version: 6,
    description: 'held changes expire (HELD_CHANGE_TTL): the state expired, and when',
    sql: `
      ALTER TABLE held_changes DROP CONSTRAINT IF EXISTS held_changes_state_check;
      ALTER TABLE held_changes ADD CONSTRAINT held_changes_state_check CHECK (state IN ('held', 'approved', 'rejected', 'used', 'expired'));
      ALTER TABLE held_changes ADD COLUMN IF NOT EXISTS expired_at text;
    `,
  },
  {
    version: 7,
    description: "each agent's team by its user-management id too; a team move's target by that id",
    sql: `
      -- As SQLite's version 10: the agent's teamUuId, a journaled move's team by that id, and
      -- the agent map paged in full once more so that every kept agent gains it.
      ALTER TABLE agents ADD COLUMN IF NOT EXISTS team_uuid text;
      ALTER TABLE journal_steps ADD COLUMN IF NOT EXISTS team_uuid text;
      DELETE FROM meta WHERE key = 'agent_map_last_poll_time';
    `,
  },
];

export const POSTGRES_SCHEMA_VERSION = (POSTGRES_MIGRATIONS.at(-1) as PostgresMigration).version;

const MIGRATION_LOCK = advisoryKey('cxone-scim-sync/migrations');

/** Brings the database to POSTGRES_SCHEMA_VERSION under the migration lock; returns the version it was at. */
export async function migratePostgres(pool: Pool): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version     integer PRIMARY KEY,
        description text NOT NULL,
        applied_at  timestamptz NOT NULL DEFAULT now()
      )`);
      const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
      const current = rows[0]?.version ?? 0;
      if (current > POSTGRES_SCHEMA_VERSION) {
        throw new StorageError(`the database has schema version ${current}, newer than this release understands (${POSTGRES_SCHEMA_VERSION}); run a newer release`);
      }
      for (const migration of POSTGRES_MIGRATIONS) {
        if (migration.version <= current) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, description) VALUES ($1, $2)', [migration.version, migration.description]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
      }
      return current;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
