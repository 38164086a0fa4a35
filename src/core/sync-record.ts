/**
 * What a sync leaves behind, whatever its outcome: one audit record, the events it emits
 * (appended with the record, in the same transaction: the webhook outbox) and one metrics
 * observation. syncGroup (./sync-group.ts) begins an attempt, lets it learn what it wrote
 * on its way (its Trace), and ends it with recordSuccess or recordFailure.
 */
import type { AuditEntry, AuditError, DomainEvent } from './audit.js';
import { toAuditErrors } from './audit.js';
import { canonicalSha256 } from './canonical-json.js';
import { AgentWriteFailedError, answerCode, AuditUnavailableError, gapFields, RemovalGuardError, removalGuardFields, RollbackFailedError, SyncError, ValidationFailedError, WriteNotAppliedError, type AgentFailure } from './errors.js';
import { isDelta, MemberSet, memberIdentity, type MemberRef } from './membership.js';
import { isFailureStatus, type AttributeSyncReport, type MembershipBackendName, type SyncOutcomeStatus, type WriteMode } from './outcome.js';
import type { AuditLog, Clock, DesiredSet, GroupWrite, RequestContext, SyncMetrics } from './ports.js';
import { groupWriteSha256 } from './scim-group.js';
import type { SyncRequest, SyncResult } from './sync-request.js';

/** What the attempt learned on its way, for the audit record whatever the outcome. */
export interface Trace {
  /** The membership backend, once the sync has one. */
  backend: MembershipBackendName | null;
  etagBefore: string | null;
  write: GroupWrite | null;
  /** The last write sent: its difference and mode, and the group's ETag as read back after it. */
  written: { added: readonly MemberRef[]; removed: readonly MemberRef[]; writeMode: WriteMode; etagAfter: string | null } | null;
  /** The desired members as planned (typed), once planned: recorded as the group's desired set when the sync applies them or finds them held. */
  desired: readonly MemberRef[] | null;
}

/** One sync attempt, from its start: its id, its upstream bookkeeping and what it learned. */
export interface Attempt {
  readonly syncId: string;
  /** Passed to every directory call: the abort signal and the upstream request count. */
  readonly ctx: RequestContext;
  readonly trace: Trace;
  /** Milliseconds since the attempt began. */
  elapsedMs(): number;
}

export interface RecordDeps {
  readonly clock: Clock;
  readonly audit: AuditLog;
  readonly metrics: SyncMetrics;
  readonly newSyncId: () => string;
  /** Ids of emitted events (the webhook-id). */
  readonly newEventId: () => string;
}

export function beginAttempt(deps: RecordDeps, request: SyncRequest): Attempt {
  const syncId = deps.newSyncId();
  const started = deps.clock.monotonic();
  return {
    syncId,
    ctx: { signal: request.signal, stats: { upstreamRequests: 0 }, syncId },
    trace: { backend: null, etagBefore: null, write: null, written: null, desired: null },
    elapsedMs: () => Math.round(deps.clock.monotonic() - started),
  };
}

/** Records a sync that succeeded (applied, unchanged, dry_run) with what the attribute sync did after it. */
export async function recordSuccess(deps: RecordDeps, request: SyncRequest, attempt: Attempt, result: SyncResult, attributes: AttributeSyncReport | null, extraEvents: readonly DomainEvent[] = []): Promise<void> {
  const { syncId } = attempt;
  const entry: AuditEntry = {
    ...baseEntry(deps, request, attempt),
    status: result.status,
    added: result.added,
    removed: result.removed,
    memberCount: result.memberCount,
    etagAfter: result.etag,
    writeMode: result.writeMode,
    latencyMs: result.latencyMs,
    upstreamRequests: result.upstreamRequests,
    errors: [],
    attributes,
  };
  const completed: DomainEvent = {
    id: deps.newEventId(),
    type: 'group.sync.completed',
    timestamp: entry.createdAt,
    data: {
      syncId,
      groupId: result.groupId,
      status: result.status,
      added: result.added,
      removed: result.removed,
      memberCount: result.memberCount,
      consistencyRate: result.consistencyRate,
      latencyMs: result.latencyMs,
      backend: result.backend,
    },
  };
  const events = result.status === 'dry_run' ? [] : [completed];
  if (attributes) {
    events.push({
      id: deps.newEventId(),
      type: 'user.attributes.synced',
      timestamp: entry.createdAt,
      data: { syncId, groupId: result.groupId, users: attributes.users, groupsInconsistent: attributes.groupsInconsistent, entitlementsUpdated: attributes.entitlementsUpdated, failed: attributes.failed },
    });
  }
  events.push(...extraEvents);
  await record(deps, entry, events, syncId, desiredSet(request, attempt, result, entry.createdAt));
  deps.metrics.observeSync({
    status: result.status,
    durationSeconds: result.latencyMs / 1000,
    consistencyRate: result.status === 'applied' ? result.consistencyRate : null,
    validationCodes: [],
    attributeOutcomes: attributes?.users.map((u) => u.entitlements) ?? [],
    groupsInconsistent: attributes?.groupsInconsistent ?? 0,
  });
}

/**
 * Records a sync that failed with `caught`, and returns what to answer: the error, named
 * after this sync. An audit trail that cannot take the record turns the answer into
 * audit_unavailable.
 */
export async function recordFailure(deps: RecordDeps, request: SyncRequest, attempt: Attempt, caught: unknown, extraEvents: readonly DomainEvent[] = []): Promise<unknown> {
  const { syncId, trace } = attempt;
  const failure = describeFailure(caught);
  const latencyMs = attempt.elapsedMs();
  // A write the upstream did not apply as sent: the record says what was written, and how.
  const wrong = caught instanceof WriteNotAppliedError ? trace.written : null;
  const omitted = caught instanceof ValidationFailedError ? caught.errorsOmitted : 0;
  const entry: AuditEntry = {
    ...baseEntry(deps, request, attempt),
    status: failure.status,
    added: wrong ? wrong.added.map(memberIdentity) : [],
    removed: wrong ? wrong.removed.map(memberIdentity) : [],
    memberCount: isDelta(request.desired) ? (trace.write?.members.length ?? request.desired.add.length) : request.desired.members.length,
    etagAfter: wrong ? wrong.etagAfter : null,
    writeMode: wrong ? wrong.writeMode : null,
    latencyMs,
    upstreamRequests: attempt.ctx.stats.upstreamRequests,
    errors: failure.errors,
    ...(omitted > 0 ? { errorsOmitted: omitted } : {}),
    attributes: null,
  };
  const failed: DomainEvent = {
    id: deps.newEventId(),
    type: 'group.sync.failed',
    timestamp: entry.createdAt,
    data: {
      syncId,
      groupId: request.groupId,
      error: failure.status,
      message: failure.message,
      ...(caught instanceof ValidationFailedError ? { errors: caught.errors } : {}),
      ...(omitted > 0 ? { errorsOmitted: omitted } : {}),
      ...(caught instanceof WriteNotAppliedError ? gapFields(caught.gap) : {}),
      ...(trace.backend !== null ? { backend: trace.backend } : {}),
      ...(caught instanceof AgentWriteFailedError || caught instanceof RollbackFailedError ? { failed: caught.failures } : {}),
      ...(caught instanceof RollbackFailedError ? { members: caught.members } : {}),
      ...(caught instanceof RemovalGuardError ? removalGuardFields(caught) : {}),
    },
  };
  // The error may be shared by several syncs (one failed token fetch answers every sync
  // waiting on it): name this sync on a view of its own, never on the shared object.
  const answer = caught instanceof SyncError ? namingSync(caught, syncId) : caught;
  await record(deps, entry, [...(request.dryRun ? [] : [failed]), ...extraEvents], syncId);
  deps.metrics.observeSync({
    status: failure.status,
    durationSeconds: latencyMs / 1000,
    consistencyRate: caught instanceof WriteNotAppliedError ? caught.gap.consistencyRate : null,
    validationCodes: caught instanceof ValidationFailedError ? caught.codes : [],
    attributeOutcomes: [],
    groupsInconsistent: 0,
  });
  return answer;
}

function baseEntry(deps: RecordDeps, request: SyncRequest, attempt: Attempt) {
  const payloadSha256 = payloadDigest(request, attempt.trace);
  return {
    syncId: attempt.syncId,
    requestId: request.requestId,
    actor: request.actor,
    groupId: request.groupId,
    payloadSha256,
    etagBefore: attempt.trace.etagBefore,
    ...(attempt.trace.backend !== null ? { backend: attempt.trace.backend } : {}),
    createdAt: new Date(deps.clock.now()).toISOString(),
  };
}

/**
 * The write's own body when there was one (its digest was taken as it was sent), else what
 * was asked for: the member attributes the sync reads, never anything else a caller put in a
 * member. Building the audit record must not fail: a sync that reached the use case is
 * recorded whatever it was given, its digest marked "unavailable" if it cannot be computed.
 */
function payloadDigest(request: SyncRequest, trace: Trace): string {
  try {
    if (trace.write) return groupWriteSha256(trace.write);
    const { desired } = request;
    if (isDelta(desired)) return canonicalSha256({ displayName: desired.displayName, add: desired.add.map(pick), remove: desired.remove.map(pick) });
    return canonicalSha256({ displayName: desired.displayName, members: desired.members.map(pick) });
  } catch {
    return 'unavailable';
  }
}

/** The member attributes the sync reads, never anything else a caller put in a member. */
const pick = ({ value, type, display }: { value: string; type?: string; display?: string }) => ({ value, type, display });

/** `error` as one sync's answer: everything inherited from it, with this sync's id as its own. */
function namingSync(error: SyncError, syncId: string): SyncError {
  return Object.assign(Object.create(error) as SyncError, { syncId });
}

/**
 * The desired set a sync leaves as the group's reference for drift: the members it applied,
 * or found held (never a dry run's), each once, under its backend.
 */
function desiredSet(request: SyncRequest, attempt: Attempt, result: SyncResult, at: string): DesiredSet | undefined {
  if (result.status !== 'applied' && result.status !== 'unchanged') return undefined;
  const planned = attempt.trace.desired;
  if (planned === null) return undefined;
  const seen = new MemberSet();
  const members = planned.filter((member) => seen.add(member)).map(memberIdentity);
  return { backend: result.backend, groupId: result.groupId, members, syncId: attempt.syncId, owner: request.onBehalfOf ?? request.actor, appliedAt: at };
}

/** Writes the audit record (and its events, and the desired set it leaves); a sync that cannot be recorded is not reported as done. */
async function record(deps: RecordDeps, entry: AuditEntry, events: readonly DomainEvent[], syncId: string, desired?: DesiredSet): Promise<void> {
  try {
    await deps.audit.append(entry, events, desired);
  } catch (cause) {
    const error = new AuditUnavailableError('the sync could not be recorded in the audit trail; it may have been applied upstream: retry the request', { cause });
    error.syncId = syncId;
    throw error;
  }
}

/** The status, message and errors of a failed sync's record: its answer's code, or upstream_error for a code that is no status. */
function describeFailure(error: unknown): { status: SyncOutcomeStatus; message: string; errors: AuditError[] } {
  if (error instanceof ValidationFailedError) return { status: 'validation_failed', message: error.message, errors: toAuditErrors(error.errors) };
  if (error instanceof WriteNotAppliedError) {
    const { missing, extra } = error.gap;
    const errors: AuditError[] = [
      { code: error.code, message: error.message },
      ...missing.map((member) => ({ code: 'member_missing', member, message: `${member.type} ${JSON.stringify(member.value)} was written but is not in the group upstream` })),
      ...extra.map((member) => ({ code: 'member_extra', member, message: `${member.type} ${JSON.stringify(member.value)} is in the group upstream but was not desired` })),
    ];
    return { status: 'write_not_applied', message: error.message, errors };
  }
  if (error instanceof AgentWriteFailedError || error instanceof RollbackFailedError) {
    const code = error instanceof RollbackFailedError ? error.code : 'upstream_error';
    return { status: code, message: error.message, errors: [{ code, message: error.message }, ...error.failures.map(agentError)] };
  }
  if (error instanceof SyncError) {
    const code = answerCode(error);
    return { status: isFailureStatus(code) ? code : 'upstream_error', message: error.message, errors: [{ code, message: error.message }] };
  }
  return { status: 'internal_error', message: 'internal error', errors: [{ code: 'internal_error', message: 'internal error' }] };
}

/** One agent CXone refused, as the audit record lists it. */
function agentError(failure: AgentFailure): AuditError {
  return { code: 'agent_failed', member: failure.member, message: `${failure.action} of agent ${failure.agentId} failed: ${failure.error}` };
}
