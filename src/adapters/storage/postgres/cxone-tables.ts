/**
 * The PostgreSQL side of what the CXone membership backends keep (the same ports as the
 * SQLite store's, ../sqlite-store.ts): the backend MEMBERSHIP_BACKEND=auto chose, the agent
 * map, the groups this service syncs (from the audit trail), and the admin-API write
 * journal. Tables: migration 2 (./migrations.ts).
 *
 * Replicas share them: the choice is one row whose first insert wins; the agent map is
 * upserted in one transaction per refresh (a replica that refreshes later only brings it
 * further); a journal entry belongs to the sync that opened it, and that sync's group is
 * held by one replica at a time (the group lock).
 */
import type { PoolClient, QueryResultRow } from 'pg';
import { StorageError } from '../../../core/errors.js';
import { MEMBERSHIP_BACKENDS, type MembershipBackendName } from '../../../core/outcome.js';
import type { AgentMapStore, BackendChoiceStore, Clock, GroupExternalIds, JournalStep, MembershipJournal, SyncedGroups } from '../../../core/ports.js';
import { AGENT_MAP_POLL_KEY, toAgent, toEntry, toStep, type AgentRow, type JournalEntryRow, type JournalStepRow } from '../cxone-rows.js';

export interface CxoneTables {
  readonly backendChoice: BackendChoiceStore;
  readonly agentMap: AgentMapStore;
  readonly syncedGroups: SyncedGroups;
  readonly journal: MembershipJournal;
  /** The SCIM front door's group externalIds (migration 4). */
  readonly groupExternalIds: GroupExternalIds;
}

/** How the store runs a statement and a transaction, each failure a StorageError without the connection string. */
export interface PgAccess {
  query<R extends QueryResultRow>(what: string, text: string, values?: unknown[]): Promise<R[]>;
  transaction<T>(what: string, work: (client: PoolClient) => Promise<T>): Promise<T>;
}

/** Agents per upsert statement (5 parameters each, well under PostgreSQL's 65,535). */
const AGENT_UPSERT_CHUNK = 1000;

export function createCxoneTables(db: PgAccess, clock: Clock): CxoneTables {
  return { backendChoice: backendChoice(db, clock), agentMap: agentMap(db), syncedGroups: syncedGroups(db), journal: journal(db), groupExternalIds: groupExternalIds(db) };
}

function groupExternalIds(db: PgAccess): GroupExternalIds {
  return {
    async get(backend, groupId) {
      const rows = await db.query<{ external_id: string }>('reading a group externalId', 'SELECT external_id FROM scim_group_external_ids WHERE backend = $1 AND group_id = $2', [backend, groupId]);
      return rows[0]?.external_id;
    },
    async find(backend, externalId) {
      const rows = await db.query<{ group_id: string }>('finding a group by externalId', 'SELECT group_id FROM scim_group_external_ids WHERE backend = $1 AND external_id = $2', [backend, externalId]);
      return rows[0]?.group_id;
    },
    async set(backend, groupId, externalId) {
      if (externalId === null) {
        await db.query('forgetting a group externalId', 'DELETE FROM scim_group_external_ids WHERE backend = $1 AND group_id = $2', [backend, groupId]);
        return true;
      }
      const rows = await db.query<{ group_id: string }>(
        'keeping a group externalId',
        `INSERT INTO scim_group_external_ids (backend, group_id, external_id) VALUES ($1, $2, $3)
         ON CONFLICT (backend, group_id) DO UPDATE SET external_id = EXCLUDED.external_id
         WHERE NOT EXISTS (SELECT 1 FROM scim_group_external_ids o WHERE o.backend = $1 AND o.external_id = $3 AND o.group_id <> $2)
         RETURNING group_id`,
        [backend, groupId, externalId],
      ).catch((error: unknown) => {
        // The UNIQUE (backend, external_id) of another group's row: refused, nothing kept.
        if (error instanceof StorageError && /unique|duplicate/i.test(String((error.cause as { message?: string } | undefined)?.message ?? error.message))) return [];
        throw error;
      });
      return rows.length > 0;
    },
  };
}

function backendChoice(db: PgAccess, clock: Clock): BackendChoiceStore {
  const known: ReadonlySet<string> = new Set(MEMBERSHIP_BACKENDS);
  const checked = (name: string | undefined): MembershipBackendName | undefined => {
    if (name === undefined) return undefined;
    if (!known.has(name)) {
      throw new StorageError(`the store keeps the membership backend ${JSON.stringify(name)}, which is not one this release knows (${MEMBERSHIP_BACKENDS.join(', ')}); set MEMBERSHIP_BACKEND explicitly`);
    }
    return name as MembershipBackendName;
  };
  const read = async () => checked((await db.query<{ name: string }>('reading the membership backend choice', 'SELECT name FROM membership_backend_choice WHERE id = 1'))[0]?.name);
  return {
    get: read,
    async choose(name) {
      await db.query('keeping the membership backend choice', 'INSERT INTO membership_backend_choice (id, name, chosen_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING', [
        name,
        new Date(clock.now()).toISOString(),
      ]);
      return (await read()) ?? name;
    },
  };
}

function agentMap(db: PgAccess): AgentMapStore {
  return {
    async load() {
      const rows = await db.query<AgentRow>('reading the agent map', 'SELECT agent_id, user_id, user_name, is_active, team_id, team_uuid FROM agents ORDER BY agent_id');
      const poll = await db.query<{ value: string }>('reading the agent map', 'SELECT value FROM meta WHERE key = $1', [AGENT_MAP_POLL_KEY]);
      return { agents: rows.map(toAgent), lastPollTime: poll[0]?.value };
    },
    async save(agents, lastPollTime) {
      await db.transaction('saving the agent map', async (client) => {
        for (let i = 0; i < agents.length; i += AGENT_UPSERT_CHUNK) {
          const chunk = agents.slice(i, i + AGENT_UPSERT_CHUNK);
          const values: unknown[] = [];
          const rows = chunk.map((agent, j) => {
            values.push(agent.agentId, agent.userId ?? null, agent.userName ?? null, agent.isActive ?? null, agent.teamId ?? null, agent.teamUuId ?? null);
            const b = j * 6;
            return `($${b + 1}::bigint, $${b + 2}::text, $${b + 3}::text, $${b + 4}::boolean, $${b + 5}::bigint, $${b + 6}::text)`;
          });
          await client.query(
            `INSERT INTO agents (agent_id, user_id, user_name, is_active, team_id, team_uuid) VALUES ${rows.join(', ')}
             ON CONFLICT (agent_id) DO UPDATE SET user_id = excluded.user_id, user_name = excluded.user_name, is_active = excluded.is_active, team_id = excluded.team_id, team_uuid = excluded.team_uuid`,
            values,
          );
        }
        if (lastPollTime !== undefined) {
          await client.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [AGENT_MAP_POLL_KEY, lastPollTime]);
        }
      });
    },
  };
}

/** As in SQLite: an applied or unchanged sync of the group under `backend` (records that name no backend count for every one). */
function syncedGroups(db: PgAccess): SyncedGroups {
  return {
    async synced(backend, groupIds) {
      if (groupIds.length === 0) return new Set();
      const rows = await db.query<{ group_id: string }>(
        'reading which groups are synced',
        `SELECT DISTINCT g AS group_id FROM unnest($1::text[]) g
         WHERE EXISTS (SELECT 1 FROM audit_records r WHERE r.group_id = g AND r.status IN ('applied', 'unchanged')
                       AND coalesce(r.entry::jsonb ->> 'backend', $2) = $2)`,
        [groupIds, backend],
      );
      return new Set(rows.map((row) => row.group_id));
    },
  };
}

/** Each step is committed before the write it records is sent (synchronous_commit as the server has it: on by default). */
function journal(db: PgAccess): MembershipJournal {
  return {
    async open(entry) {
      await db.query(
        'opening a journal entry',
        `INSERT INTO journal_entries (sync_id, backend, group_id, before, target, phase, opened_at) VALUES ($1, $2, $3, $4, $5, 'writing', $6)`,
        [entry.syncId, entry.backend, entry.groupId, JSON.stringify(entry.before), JSON.stringify(entry.target), entry.openedAt],
      );
    },
    async begin(syncId, step) {
      return db.transaction('journaling a step', async (client) => {
        // The entry's row, locked: steps of one entry get their indexes one at a time.
        const entry = await client.query('SELECT 1 FROM journal_entries WHERE sync_id = $1 FOR UPDATE', [syncId]);
        if (entry.rowCount === 0) throw new StorageError(`no open journal entry ${syncId}`);
        const next = await client.query<{ next: number }>('SELECT coalesce(max(idx) + 1, 0)::integer AS next FROM journal_steps WHERE sync_id = $1', [syncId]);
        const index = (next.rows[0] as { next: number }).next;
        await client.query(`INSERT INTO journal_steps (sync_id, idx, action, agent_ids, team_id, team_uuid, undo, state) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')`, [
          syncId,
          index,
          step.action,
          JSON.stringify(step.agentIds),
          step.teamId ?? null,
          step.teamUuid ?? null,
          step.undo,
        ]);
        return index;
      });
    },
    async end(syncId, index, state, failed) {
      const done = await db.transaction('journaling a step', async (client) =>
        client.query('UPDATE journal_steps SET state = $1, failed = $2 WHERE sync_id = $3 AND idx = $4', [state, failed === undefined ? null : JSON.stringify(failed), syncId, index]),
      );
      if (done.rowCount === 0) throw new StorageError(`no step ${index} in open journal entry ${syncId}`);
    },
    async setPhase(syncId, phase) {
      const done = await db.transaction('journaling a phase', async (client) => client.query('UPDATE journal_entries SET phase = $1 WHERE sync_id = $2', [phase, syncId]));
      if (done.rowCount === 0) throw new StorageError(`no open journal entry ${syncId}`);
    },
    async close(syncId) {
      // journal_steps goes with its entry (ON DELETE CASCADE).
      await db.query('closing a journal entry', 'DELETE FROM journal_entries WHERE sync_id = $1', [syncId]);
    },
    async openEntries(filter) {
      const entries = await db.query<JournalEntryRow>(
        'reading the journal',
        `SELECT sync_id, backend, group_id, before, target, phase, opened_at FROM journal_entries
         WHERE ($1::text IS NULL OR backend = $1) AND ($2::text IS NULL OR group_id = $2) ORDER BY opened_at, seq`,
        [filter?.backend ?? null, filter?.groupId ?? null],
      );
      if (entries.length === 0) return [];
      const steps = await db.query<JournalStepRow>('reading the journal', 'SELECT * FROM journal_steps WHERE sync_id = ANY($1::text[]) ORDER BY sync_id, idx', [entries.map((e) => e.sync_id)]);
      const bySync = new Map<string, JournalStep[]>();
      for (const row of steps) bySync.set(row.sync_id, [...(bySync.get(row.sync_id) ?? []), toStep(row)]);
      return entries.map((row) => toEntry(row, bySync.get(row.sync_id) ?? []));
    },
  };
}

