/**
 * The one structured line per sync, taken from its audit entry: the audit log (a core
 * port) decorated with a logger, so that every attempt is logged whatever its outcome,
 * and only once its record is written.
 */
import type { AuditEntry } from '../../core/audit.js';
import { SYNC_STATUSES } from '../../core/outcome.js';
import type { AuditLog } from '../../core/ports.js';

/** What the sync line is written to: the service logger, or nothing. */
export interface SyncLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

const SUCCEEDED: ReadonlySet<string> = new Set(SYNC_STATUSES);

/**
 * The audit log, logging one line per sync attempt once its record is written: every
 * attempt is audited whatever its outcome, so failures get the same fields as successes.
 */
export function withSyncLog(audit: AuditLog, log: SyncLog): AuditLog {
  return {
    async append(entry, events, desired) {
      try {
        const record = await audit.append(entry, events, desired);
        // A write the provider answered as done but did not apply is a warning: the group is not as asked.
        if (entry.status === 'write_not_applied') log.warn({ ...syncLine(entry), reason: entry.errors[0]?.message }, 'sync failed: the upstream did not apply the write');
        // An admin-API write that failed and could not be undone: the group holds neither what was read nor what was asked.
        else if (entry.status === 'rollback_failed')
          log.error({ ...syncLine(entry), reason: entry.errors[0]?.message }, 'sync failed and so did its undo: the group is left in between until its next sync or the next start finishes the undo');
        else log.info(syncLine(entry), SUCCEEDED.has(entry.status) ? 'sync finished' : 'sync failed');
        return record;
      } catch (error) {
        log.error({ ...syncLine(entry), err: error }, 'sync could not be audited');
        throw error;
      }
    },
  };
}

function syncLine(entry: AuditEntry): Record<string, unknown> {
  return {
    syncId: entry.syncId,
    requestId: entry.requestId,
    groupId: entry.groupId,
    actor: entry.actor,
    status: entry.status,
    added: entry.added.length,
    removed: entry.removed.length,
    memberCount: entry.memberCount,
    upstreamRequests: entry.upstreamRequests,
    latencyMs: entry.latencyMs,
    ...(entry.errors.length > 0 ? { errorCount: entry.errors.length, errorCodes: [...new Set(entry.errors.map((e) => e.code))] } : {}),
  };
}
