/**
 * The sync runner: the use case (src/core/sync-group.ts) bound to its ports and to the
 * limits the configuration sets, and run under its overall deadline. The service and the
 * CLI both run what this builds, so that a sync from either is the same sync: the same
 * limits, conflict retries, write mode, attribute sync, audit trail and sync log line.
 */
import { v7 as uuidv7 } from 'uuid';
import { withSyncLog, type SyncLog } from '../adapters/logging/sync-log.js';
import type { Config } from '../config.js';
import { systemClock } from '../core/clock.js';
import { SyncDeadlineError, SyncInterruptedError } from '../core/errors.js';
import { KeyedLock } from '../core/keyed-lock.js';
import type { AuditLog, Clock, GroupLockService, MembershipBackend, QuarantineStore, RequestContext, ScimDirectory, SyncMetrics } from '../core/ports.js';
import type { QuarantineObserver } from '../core/quarantine.js';
import { syncGroup, type SyncGroupDeps } from '../core/sync-group.js';
import { YieldedToSyncError, type SyncRequest, type SyncResult, type SyncRunner } from '../core/sync-request.js';

/** Conflict retries after the first attempt (docs/api.md: "up to 3 times"). */
export const MAX_CONFLICT_RETRIES = 3;

/** User PATCHes in flight at once during the attribute sync that follows a write. */
export const ATTRIBUTE_SYNC_CONCURRENCY = 8;

export type SyncRunnerConfig = Pick<Config, 'maxGroupDepth' | 'writeMode' | 'patchMaxOperations' | 'entitlementMap' | 'groupQueueMax' | 'syncDeadlineMs' | 'removalGuardPercent' | 'removalGuardMin'> &
  Partial<Pick<Config, 'quarantineAfter' | 'quarantineBackoff'>>;

export interface SyncRunnerPorts {
  /** The upstream's SCIM directory: the users under every backend, and the groups of scim-groups. */
  readonly directory: ScimDirectory;
  /**
   * The membership backend of each sync, asked in its group's turn (./membership.ts
   * backendSource: MEMBERSHIP_BACKEND, or what `auto` chose, made first if need be). The
   * runner is built before the choice is made; a sync that finds none fails 503. Default:
   * scim-groups over `directory`.
   */
  readonly backend?: (ctx: RequestContext) => Promise<MembershipBackend>;
  readonly audit: AuditLog;
  readonly metrics: SyncMetrics;
  /** Where each sync writes its line once audited. Default: nowhere. */
  readonly log?: SyncLog;
  readonly clock?: Clock;
  /** The per-group lock across replicas (STORE=postgres); none: the in-process queue alone orders a group's syncs. */
  readonly groupLock?: GroupLockService;
  /** Where each group's failures and quarantine are kept (QUARANTINE_AFTER); none: no group is quarantined. */
  readonly quarantine?: QuarantineStore;
  /** Told of each group entering and leaving quarantine (the metrics). */
  readonly quarantineObserver?: QuarantineObserver;
}

const SILENT: SyncLog = { info() {}, warn() {}, error() {} };

const newEventId = () => `msg_${uuidv7()}`;

/** syncGroup's dependencies, from the configuration and the ports: one per-group queue for the process. */
function syncDeps(config: SyncRunnerConfig, ports: SyncRunnerPorts, locks: KeyedLock): SyncGroupDeps {
  const clock = ports.clock ?? systemClock;
  const after = config.quarantineAfter ?? 0;
  return {
    directory: ports.directory,
    chooseBackend: ports.backend,
    clock,
    locks,
    audit: withSyncLog(ports.audit, ports.log ?? SILENT),
    metrics: ports.metrics,
    newSyncId: () => uuidv7(),
    newEventId,
    maxDepth: config.maxGroupDepth,
    maxConflictRetries: MAX_CONFLICT_RETRIES,
    writeMode: config.writeMode,
    patchMaxOperations: config.patchMaxOperations,
    attributes: { entitlementMap: config.entitlementMap, concurrency: ATTRIBUTE_SYNC_CONCURRENCY },
    removalGuard: { percent: config.removalGuardPercent, min: config.removalGuardMin },
    quarantine:
      ports.quarantine && after > 0
        ? { store: ports.quarantine, policy: { after, backoff: config.quarantineBackoff ?? [60_000] }, clock, newEventId, newRecordId: () => uuidv7(), observer: reportingStoreFailures(ports.quarantineObserver, ports.log ?? SILENT) }
        : undefined,
  };
}

/**
 * The quarantine observer, with the store's failures during a sync's bookkeeping logged
 * (warn: the group, the step and the error's codes, never its message) besides counted.
 */
export function reportingStoreFailures(observer: QuarantineObserver | undefined, log: SyncLog): QuarantineObserver {
  return {
    entered: () => observer?.entered(),
    left: () => observer?.left(),
    storeFailed(groupId, step, error) {
      observer?.storeFailed?.(groupId, step, error);
      log.warn({ groupId, step, code: errorCode(error), cause: errorCode(error instanceof Error ? error.cause : undefined) ?? null }, "quarantine: the store failed the group's quarantine bookkeeping; the sync's answer stands");
    },
  };
}

/** A stable code of an error (its `code`: storage_unavailable, SQLITE_BUSY, a PostgreSQL SQLSTATE…), never its message. */
function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code } = error as { code?: unknown };
  if (typeof code === 'string' || typeof code === 'number') return String(code);
  return error instanceof Error ? error.name : undefined;
}

/**
 * The runner of this process. Every sync runs under one AbortSignal: its deadline
 * (SYNC_DEADLINE_MS) fires it with SyncDeadlineError (answered 504, or 503 queue_timeout
 * while it still waited for its group), interrupt() with SyncInterruptedError (503, a
 * shutdown past its own deadline), and a signal the caller passes (Ctrl-C in the CLI)
 * with its own reason. The SCIM client, the limiter and the per-group queue all stop
 * waiting on it. Build one per process: it owns the per-group queue (GROUP_QUEUE_MAX).
 */
export function createSyncRunner(config: SyncRunnerConfig, ports: SyncRunnerPorts): SyncRunner {
  const locks = new KeyedLock(config.groupQueueMax);
  const deps = syncDeps(config, ports, locks);
  const running = new Set<AbortController>();
  const run = async (request: SyncRequest): Promise<SyncResult> => {
    const controller = new AbortController();
    running.add(controller);
    const timer = setTimeout(() => controller.abort(new SyncDeadlineError(config.syncDeadlineMs)), config.syncDeadlineMs);
    try {
      const runDeps = ports.groupLock ? { ...deps, groupLock: stoppingOnLoss(ports.groupLock, controller) } : deps;
      return await syncGroup(runDeps, { ...request, signal: request.signal ? AbortSignal.any([request.signal, controller.signal]) : controller.signal });
    } finally {
      clearTimeout(timer);
      running.delete(controller);
    }
  };
  const exclusive: SyncRunner['exclusive'] = async (groupId, work, signal) => {
    // Never behind syncs: a group with a sync running or waiting is left alone.
    if (locks.busy(groupId)) return { ran: false };
    return locks.run(
      groupId,
      async () => {
        const yielded = new AbortController();
        // A sync that comes to wait for this group ends the unit: it gives way.
        const stopListening = locks.onWaiting(groupId, (count) => {
          if (count > 0) yielded.abort(new YieldedToSyncError(groupId));
        });
        try {
          const held = await ports.groupLock?.acquire(groupId, signal ? AbortSignal.any([signal, yielded.signal]) : yielded.signal);
          try {
            const signals = [yielded.signal, ...(signal ? [signal] : []), ...(held ? [held.lost] : [])];
            return { ran: true as const, value: await work(AbortSignal.any(signals)) };
          } finally {
            await held?.release();
          }
        } finally {
          stopListening();
        }
      },
      signal,
    );
  };
  return {
    run,
    exclusive,
    interrupt() {
      for (const controller of running) controller.abort(new SyncInterruptedError());
    },
    get inFlight() {
      return running.size;
    },
    queue: locks,
  };
}

/**
 * The group lock for one sync: when the lock is lost while held (its connection dropped),
 * the sync's own signal aborts with the lock's reason, so it stops before its next write
 * (every upstream request waits on that signal).
 */
function stoppingOnLoss(locks: GroupLockService, controller: AbortController): GroupLockService {
  return {
    async acquire(groupId, signal) {
      const held = await locks.acquire(groupId, signal);
      const stop = () => controller.abort(held.lost.reason);
      if (held.lost.aborted) stop();
      else held.lost.addEventListener('abort', stop, { once: true });
      return {
        lost: held.lost,
        async release() {
          held.lost.removeEventListener('abort', stop);
          await held.release();
        },
      };
    },
  };
}
