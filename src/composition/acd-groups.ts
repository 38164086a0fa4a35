/**
 * The `acd-groups` membership backend wired from its ports: CXone's admin API, the agent
 * map, the store's write journal and the audit trail. And the recovery at start: every
 * admin-API write a crash (or a failed undo) left open is finished — completed when only
 * its verification was missing, else rolled back — audited and logged, before the service
 * takes syncs (docs/cxone.md "After a crash").
 */
import { v7 as uuidv7 } from 'uuid';
import { createAcdGroupsBackend as createBackend } from '../core/acd-groups-backend.js';
import { ACD_MAX_BATCH } from '../core/acd-writes.js';
import { systemClock } from '../core/clock.js';
import { finishEntry, type RecoveredEntry } from '../core/journal-recovery.js';
import type { AdminApiClient, AgentDirectory, AuditLog, Clock, JournalEntry, MembershipBackend, MembershipJournal, RequestContext } from '../core/ports.js';

export interface AcdGroupsParts {
  readonly adminApi: AdminApiClient;
  readonly agents: AgentDirectory;
  /** The store's journal (SqliteStore.journal). */
  readonly journal: MembershipJournal;
  /** Where a write finished by recovery is recorded: the store. */
  readonly audit: AuditLog;
  readonly clock?: Clock;
  /** Agents per batch write. Default 1,000 (the admin API's most). */
  readonly batchSize?: number;
  /** Agents per page of a group's agents, as the admin-API client reads them. Default 1,000. */
  readonly pageSize?: number;
}

const newSyncId = () => uuidv7();
const newEventId = () => `msg_${uuidv7()}`;

/** The backend for SyncGroupDeps.backend (MEMBERSHIP_BACKEND=acd-groups, or auto finding no SCIM /Groups). */
export function createAcdGroupsBackend(parts: AcdGroupsParts): MembershipBackend {
  return createBackend({ ...parts, clock: parts.clock ?? systemClock, newSyncId, newEventId });
}

export interface RecoveryLog {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

/**
 * Finishes every open acd-groups write at start, each audited (its own record and event)
 * and logged; a write whose undo fails again stays open (logged as an error) for the
 * group's next sync. Call it once the store is open and before the app listens. With
 * replicas, prefer recoverEntry under the group's lock (./membership.ts does).
 */
export async function recoverAtStart(parts: AcdGroupsParts, log: RecoveryLog): Promise<readonly RecoveredEntry[]> {
  const ctx = { stats: { upstreamRequests: 0 } };
  const finished: RecoveredEntry[] = [];
  for (const entry of await parts.journal.openEntries({ backend: 'acd-groups' })) finished.push(await recoverEntry(parts, entry, log, ctx));
  return finished;
}

/** Finishes one open acd-groups write (completed or rolled back), audited and logged. */
export async function recoverEntry(parts: AcdGroupsParts, entry: JournalEntry, log: RecoveryLog, ctx: RequestContext): Promise<RecoveredEntry> {
  const finished = await finishEntry({ ...parts, batchSize: parts.batchSize ?? ACD_MAX_BATCH, clock: parts.clock ?? systemClock, newSyncId, newEventId }, entry, ctx);
  const details = { syncId: finished.syncId, groupId: finished.groupId, outcome: finished.outcome, recordId: finished.recordId };
  if (finished.outcome === 'rollback_failed') log.error({ ...details, error: finished.error?.message }, 'an interrupted ACD group write could not be undone; its journal stays open');
  else log.info(details, finished.outcome === 'completed' ? 'an interrupted ACD group write was found complete' : 'an interrupted ACD group write was rolled back');
  return finished;
}
