/**
 * Finishing admin-API writes that a sync left open: a crash (or a shutdown, or a deadline)
 * between its first step and its verification, or an undo that failed. At start
 * (recoverJournal) and in the group's turn before its next sync (the acd-groups
 * backend's prepare), each open entry is finished: completed when every step answered
 * done and the group holds the target (only the verification was missing), else rolled
 * back — the agents the write touched are put back as they were read. Each one finished
 * gets an audit record of its own (a new syncId; the interrupted sync is named in it) and
 * its event.
 *
 * The record: `applied` when the write was completed; `interrupted` with an error coded
 * `rolled_back` when it was undone; `rollback_failed` when the undo failed again (the
 * entry stays open for the next attempt).
 */
import type { AuditEntry, DomainEvent } from './audit.js';
import { canonicalSha256 } from './canonical-json.js';
import { describeAgentFailures, RollbackFailedError, type AgentFailure } from './errors.js';
import type { MemberRef } from './membership.js';
import { agentMemberValue, restoreBefore, touchedAgents, type AcdWriteDeps, type AgentRefusal } from './acd-writes.js';
import type { AdminApiClient, AgentDirectory, AuditLog, Clock, JournalEntry, MembershipJournal, RequestContext } from './ports.js';

/** Who the recovery's audit records name as their actor. */
export const RECOVERY_ACTOR = 'cxone-scim-sync';

export interface JournalRecoveryDeps {
  readonly adminApi: AdminApiClient;
  readonly agents: AgentDirectory;
  readonly journal: MembershipJournal;
  readonly batchSize: number;
  readonly clock: Clock;
  /** Where each finished entry is recorded; without it, nothing is recorded (tests of the mechanics only). */
  readonly audit?: AuditLog;
  readonly newSyncId: () => string;
  readonly newEventId: () => string;
}

export interface RecoveredEntry {
  /** The sync whose write was left open. */
  readonly syncId: string;
  readonly groupId: string;
  readonly outcome: 'completed' | 'rolled_back' | 'rollback_failed';
  /** The syncId of the audit record written for it, when one was. */
  readonly recordId?: string;
  /** rollback_failed: why. */
  readonly error?: RollbackFailedError;
}

/**
 * Finishes one open entry: completes it when only its verification was missing, else
 * rolls it back. Records it unless `record` is false. Never throws for the write's own
 * trouble: a failed undo is answered as `rollback_failed` (with its error), the entry left
 * open; storage and audit errors propagate.
 */
export async function finishEntry(deps: JournalRecoveryDeps, entry: JournalEntry, ctx: RequestContext, options: { readonly record?: boolean } = {}): Promise<RecoveredEntry> {
  const groupId = Number(entry.groupId);
  const before = new Set(entry.before.agentIds ?? []);
  const target = new Set(entry.target.agentIds ?? []);
  const writeDeps: AcdWriteDeps = { adminApi: deps.adminApi, journal: deps.journal, batchSize: deps.batchSize };
  const record = options.record ?? true;
  const touched = touchedAgents(before, target);
  const everyStepDone = entry.steps.every((s) => s.state === 'done' && !s.undo);
  let outcome: RecoveredEntry;
  try {
    if (entry.phase === 'verifying' && everyStepDone) {
      const now = await deps.adminApi.listGroupAgents(groupId, ctx);
      const present = now === null ? null : new Set(now.agents.map((a) => a.agentId));
      if (present !== null && touched.every((a) => present.has(a) === target.has(a))) {
        await deps.journal.close(entry.syncId);
        outcome = { syncId: entry.syncId, groupId: entry.groupId, outcome: 'completed' };
        return record ? await recordFinished(deps, entry, outcome, ctx) : outcome;
      }
    }
    const undo = await restoreBefore(writeDeps, entry.syncId, groupId, before, target, ctx);
    if (undo.restored) {
      await deps.journal.close(entry.syncId);
      outcome = { syncId: entry.syncId, groupId: entry.groupId, outcome: 'rolled_back' };
    } else {
      const failures = await namedFailures(deps, undo.failed, ctx);
      const members = undo.agentIds === null ? null : await namedMembers(deps, [...undo.agentIds], ctx);
      const error = new RollbackFailedError(
        `undoing the interrupted write of sync ${entry.syncId} to ACD group ${entry.groupId} failed${failures.length > 0 ? `: ${describeAgentFailures(failures)}` : undo.agentIds === null ? ': the group can no longer be read' : ''}; the journal stays open and the undo is tried again at the group's next sync and at the next start`,
        members,
        failures,
      );
      outcome = { syncId: entry.syncId, groupId: entry.groupId, outcome: 'rollback_failed', error };
    }
  } catch (caught) {
    if (caught instanceof RollbackFailedError) throw caught;
    // The admin API could not be used (unavailable, throttled, cut off): the entry stays open.
    const message = caught instanceof Error ? caught.message : String(caught);
    const error = new RollbackFailedError(
      `finishing the interrupted write of sync ${entry.syncId} to ACD group ${entry.groupId} failed (${message}); the journal stays open and it is tried again at the group's next sync and at the next start`,
      null,
      [],
      { cause: caught },
    );
    outcome = { syncId: entry.syncId, groupId: entry.groupId, outcome: 'rollback_failed', error };
  }
  return record ? await recordFinished(deps, entry, outcome, ctx) : outcome;
}

/** Finishes every open entry of the acd-groups backend, oldest first, and records each. Run at start, before the service takes syncs. */
export async function recoverJournal(deps: JournalRecoveryDeps, ctx: RequestContext = { stats: { upstreamRequests: 0 } }): Promise<readonly RecoveredEntry[]> {
  const entries = await deps.journal.openEntries({ backend: 'acd-groups' });
  const finished: RecoveredEntry[] = [];
  for (const entry of entries) finished.push(await finishEntry(deps, entry, ctx));
  return finished;
}

async function recordFinished(deps: JournalRecoveryDeps, entry: JournalEntry, outcome: RecoveredEntry, ctx: RequestContext): Promise<RecoveredEntry> {
  if (!deps.audit) return outcome;
  const before = new Set(entry.before.agentIds ?? []);
  const target = new Set(entry.target.agentIds ?? []);
  const completed = outcome.outcome === 'completed';
  return appendRecoveryRecord(
    { ...deps, audit: deps.audit },
    entry,
    outcome,
    {
      added: completed ? await namedMembers(deps, [...target].filter((a) => !before.has(a)), ctx) : [],
      removed: completed ? await namedMembers(deps, [...before].filter((a) => !target.has(a)), ctx) : [],
      memberCount: (completed ? target : before).size,
      payloadSha256: canonicalSha256({ recovery: entry.syncId, before: [...before].toSorted((a, b) => a - b), target: [...target].toSorted((a, b) => a - b) }),
    },
    ctx,
  );
}

/** Where a backend's recovery records what it finished, and how it names the records and their events. */
export interface RecoveryRecordDeps {
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly newSyncId: () => string;
  readonly newEventId: () => string;
}

/**
 * The audit record (and its event) of one finished entry, for every admin-API backend:
 * `applied` (group.sync.completed) when the write was completed, `interrupted` when it was
 * rolled back and `rollback_failed` when the undo failed again (group.sync.failed), by
 * RECOVERY_ACTOR with the request id `recovery:<the interrupted sync>`. `added`/`removed`
 * are what the completed write changed (none when it was undone).
 */
export async function appendRecoveryRecord(
  deps: RecoveryRecordDeps,
  entry: JournalEntry,
  outcome: RecoveredEntry,
  parts: { readonly added: readonly MemberRef[]; readonly removed: readonly MemberRef[]; readonly memberCount: number; readonly payloadSha256: string },
  ctx: RequestContext,
): Promise<RecoveredEntry> {
  const recordId = deps.newSyncId();
  const createdAt = new Date(deps.clock.now()).toISOString();
  const completed = outcome.outcome === 'completed';
  const what =
    outcome.outcome === 'completed'
      ? `the write of sync ${entry.syncId}, interrupted before its verification, was found complete and verified`
      : outcome.outcome === 'rolled_back'
        ? `the write of sync ${entry.syncId}, left open (${describeSteps(entry)}), was rolled back: the agents it touched are as they were before it`
        : (outcome.error?.message ?? 'rollback failed');
  const status: AuditEntry['status'] = completed ? 'applied' : outcome.outcome === 'rolled_back' ? 'interrupted' : 'rollback_failed';
  const code = completed ? 'completed' : outcome.outcome;
  const added = [...parts.added];
  const removed = [...parts.removed];
  const audit: AuditEntry = {
    syncId: recordId,
    requestId: `recovery:${entry.syncId}`,
    actor: RECOVERY_ACTOR,
    groupId: entry.groupId,
    status,
    added,
    removed,
    memberCount: parts.memberCount,
    payloadSha256: parts.payloadSha256,
    etagBefore: null,
    etagAfter: null,
    writeMode: completed ? 'admin-api' : null,
    latencyMs: 0,
    upstreamRequests: ctx.stats.upstreamRequests,
    errors: completed ? [] : [{ code, message: what }],
    attributes: null,
    createdAt,
  };
  const data = { syncId: recordId, groupId: entry.groupId, recoveredSyncId: entry.syncId, message: what };
  const event: DomainEvent = completed
    ? { id: deps.newEventId(), type: 'group.sync.completed', timestamp: createdAt, data: { ...data, status: 'applied', added, removed, memberCount: parts.memberCount, consistencyRate: 1, latencyMs: 0 } }
    : { id: deps.newEventId(), type: 'group.sync.failed', timestamp: createdAt, data: { ...data, error: status, ...(outcome.error ? { members: outcome.error.members, failed: outcome.error.failures } : {}) } };
  await deps.audit.append(audit, [event]);
  return { ...outcome, recordId };
}

function describeSteps(entry: JournalEntry): string {
  const sent = entry.steps.length;
  return `phase ${entry.phase}, ${sent} step${sent === 1 ? '' : 's'} journaled`;
}

async function namedMembers(deps: JournalRecoveryDeps, agentIds: readonly number[], ctx: RequestContext): Promise<MemberRef[]> {
  if (agentIds.length === 0) return [];
  const known = await deps.agents.byAgentIds(agentIds, ctx);
  return agentIds.map((agentId) => ({ value: agentMemberValue(known.get(agentId) ?? { agentId }), type: 'User' as const }));
}

async function namedFailures(deps: JournalRecoveryDeps, refusals: readonly AgentRefusal[], ctx: RequestContext): Promise<AgentFailure[]> {
  if (refusals.length === 0) return [];
  const members = await namedMembers(
    deps,
    refusals.map((r) => r.agentId),
    ctx,
  );
  return refusals.map((r, i) => ({ member: members[i] as MemberRef, agentId: r.agentId, action: r.action, error: r.error, ...(r.status === undefined ? {} : { status: r.status }) }));
}
