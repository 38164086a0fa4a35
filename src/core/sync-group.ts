/**
 * syncGroup: make one group hold exactly the desired members.
 *
 * The story, in reconcile() below: read the group → plan the difference → validate what
 * changes → write it → verify that the upstream holds the desired set; syncGroup records
 * the outcome. Each step goes through the membership backend (MembershipBackend in
 * ./ports.ts): RFC 7644 `/Groups` (./scim-groups-backend.ts) or CXone's admin API; the
 * story does not know which. A lost race, or a verification that finds another writer's
 * change, re-reads, re-plans and re-validates, up to `maxConflictRetries` times. A write
 * the upstream answered as done but did not apply is never reported as applied
 * (write_not_applied). Syncs of one group never interleave within this process.
 */
import { syncUserAttributes, type AttributeSyncDeps } from './attribute-sync.js';
import { ConflictError, GroupBusyError, ifMatchHolds, QueueTimeoutError, RemovalGuardError, SyncCancelledError, SyncDeadlineError, SyncError, VersionMismatchError } from './errors.js';
import { QueueFullError, type KeyedLock } from './keyed-lock.js';
import { applyDelta, isDelta, memberIdentity, type GroupSnapshot, type MemberRef } from './membership.js';
import type { AttributeSyncReport } from './outcome.js';
import { consistencyRate, isEmptyPlan } from './plan.js';
import type { GroupLockService, MembershipBackend, RequestContext, ScimDirectory } from './ports.js';
import { admit, afterFailure, afterSuccess, type QuarantineDeps } from './quarantine.js';
import { judgeRemovals, type RemovalGuardLimits } from './removal-guard.js';
import { createScimGroupsBackend } from './scim-groups-backend.js';
import { beginAttempt, recordFailure, recordSuccess, type Attempt, type RecordDeps, type Trace } from './sync-record.js';
import type { SyncRequest, SyncResult } from './sync-request.js';
import type { WriteModeSetting } from './write-mode.js';

export type { SyncRequest, SyncResult, SyncRunner } from './sync-request.js';

export interface SyncGroupDeps extends RecordDeps {
  /**
   * The upstream's SCIM directory: its users (the attribute sync reads and PATCHes them
   * under every backend) and, unless `backend` is given, its `/Groups` as the membership
   * backend.
   */
  readonly directory: ScimDirectory;
  /** The membership backend. Default: `chooseBackend`'s, else RFC 7644 `/Groups` of `directory` (scim-groups). */
  readonly backend?: MembershipBackend;
  /**
   * Without `backend`: the backend of each sync, asked in its group's turn (one chosen when
   * the process is already running: MEMBERSHIP_BACKEND=auto). What it throws ends the sync,
   * audited like any other failure.
   */
  readonly chooseBackend?: (ctx: RequestContext) => Promise<MembershipBackend>;
  /** The per-group queue. */
  readonly locks: KeyedLock;
  /** The per-group lock across processes, taken behind the queue for the whole run; none: this process is the only writer. */
  readonly groupLock?: GroupLockService;
  readonly maxDepth: number;
  readonly maxConflictRetries: number;
  readonly writeMode: WriteModeSetting;
  /** Member changes per PATCH request (WRITE_MODE patch or auto). */
  readonly patchMaxOperations: number;
  /** How the affected users' attributes follow an applied write. */
  readonly attributes: Omit<AttributeSyncDeps, 'directory' | 'maxConflictRetries'>;
  /** The mass-removal guard (REMOVAL_GUARD_PERCENT, REMOVAL_GUARD_MIN); none: no sync is refused for what it removes. */
  readonly removalGuard?: RemovalGuardLimits;
  /** Quarantine of groups that keep failing (./quarantine.ts); none: every sync runs. */
  readonly quarantine?: QuarantineDeps;
}

/** The backend the deps name, or scim-groups over their directory. */
export function membershipBackend(deps: SyncGroupDeps): MembershipBackend {
  return deps.backend ?? createScimGroupsBackend({ directory: deps.directory, maxDepth: deps.maxDepth, writeMode: deps.writeMode, patchMaxOperations: deps.patchMaxOperations });
}

/** The backend of one sync: the one the deps name, else the one chosen for it, else scim-groups. */
async function backendOf(deps: SyncGroupDeps, ctx: RequestContext): Promise<MembershipBackend> {
  if (deps.backend === undefined && deps.chooseBackend !== undefined) return deps.chooseBackend(ctx);
  return membershipBackend(deps);
}

/** Runs one sync in its group's turn and records it (./sync-record.ts), whatever its outcome. */
export async function syncGroup(deps: SyncGroupDeps, request: SyncRequest): Promise<SyncResult> {
  const attempt = beginAttempt(deps, request);
  let result: SyncResult;
  try {
    const { backend, outcome } = await inTurn(deps, request, attempt, async () => {
      // A quarantined group is refused here, in its turn, before anything is sent upstream.
      const health = deps.quarantine ? await admit(deps.quarantine, request.groupId) : undefined;
      const context = { syncId: attempt.syncId, requestId: request.requestId, actor: request.actor, at: new Date(deps.clock.now()).toISOString() };
      let done: { backend: MembershipBackend; outcome: Outcome };
      try {
        const chosen = await backendOf(deps, attempt.ctx);
        attempt.trace.backend = chosen.name;
        done = { backend: chosen, outcome: await reconcile(deps, chosen, request, attempt.ctx, attempt.trace) };
      } catch (error) {
        // Counted (and the group quarantined, with its own record and event) in the group's turn; never changes the answer.
        if (deps.quarantine) await afterFailure(deps.quarantine, request.groupId, health, error, context);
        throw error;
      }
      if (deps.quarantine) await afterSuccess(deps.quarantine, request.groupId, health, context);
      return done;
    });
    result = {
      syncId: attempt.syncId,
      groupId: request.groupId,
      ...outcome,
      added: outcome.added.map(memberIdentity),
      removed: outcome.removed.map(memberIdentity),
      latencyMs: attempt.elapsedMs(),
      upstreamRequests: attempt.ctx.stats.upstreamRequests,
      backend: backend.name,
    };
  } catch (caught) {
    throw await recordFailure(deps, request, attempt, caught);
  }
  const attributes = result.status === 'applied' ? await followAttributes(deps, request, result, attempt.trace) : null;
  await recordSuccess(deps, request, attempt, result, attributes);
  return result;
}

type Outcome = Omit<SyncResult, 'syncId' | 'groupId' | 'latencyMs' | 'upstreamRequests' | 'backend'>;

/** The story of one sync: read → plan → validate → write → verify, again from a fresh read after a lost race. */
async function reconcile(deps: SyncGroupDeps, backend: MembershipBackend, request: SyncRequest, ctx: RequestContext, trace: Trace): Promise<Outcome> {
  await backend.prepare?.(request.groupId, ctx);
  // If-Match: only where the group's version is an ETag the provider checks on writes.
  const expected = request.expectedVersion !== undefined && ((await backend.supportsEtags?.(ctx)) ?? false) ? request.expectedVersion : undefined;
  /** A fresh read the next attempt starts from (the backend read one while finding another writer's change). */
  let reread: GroupSnapshot | null = null;
  for (let attempt = 0; attempt <= deps.maxConflictRetries; attempt++) {
    // Read.
    const snapshot = reread ?? (await backend.read(request.groupId, ctx));
    reread = null;
    trace.etagBefore = snapshot.etag;
    // The caller's version, compared with the one read in the group's turn (and, after a
    // write the provider refused or another writer overtook, with the one read again):
    // the write below is guarded by this same version upstream.
    if (expected !== undefined && !ifMatchHolds(expected, snapshot.etag)) throw new VersionMismatchError(request.groupId, expected, snapshot.etag);
    // Plan: a delta is applied to the group as read, so a retry after a lost race applies it again to what won.
    const desired = isDelta(request.desired) ? applyDelta(snapshot.group.members, request.desired) : request.desired;
    const change = await backend.plan(request.groupId, desired, snapshot, ctx);
    trace.write = change.write;
    trace.desired = change.desired;
    const summary = { added: change.plan.added, removed: change.plan.removed, memberCount: change.desired.length };
    // Guard: judged on every attempt's plan (a re-plan after a lost race is judged again), before anything is validated or written.
    // A delta names each member it removes: removing the last ones by name is not an empty desired set.
    const verdict = deps.removalGuard ? judgeRemovals(deps.removalGuard, change.plan, { named: isDelta(request.desired) }) : null;
    const guarded = verdict !== null && verdict.wouldTrip && request.allowMassRemoval !== true;
    if (guarded && !request.dryRun) throw new RemovalGuardError(verdict.removing, verdict.of, verdict.percent, deps.removalGuard as RemovalGuardLimits, verdict.emptying);
    const guard = request.dryRun && verdict !== null ? { removalGuard: { wouldTrip: guarded, removing: verdict.removing, of: verdict.of } } : {};
    // Validate.
    await backend.validate(request.groupId, change, ctx);

    const current = snapshot.group;
    if (isEmptyPlan(change.plan) && change.displayName === current.displayName) {
      return { status: 'unchanged', ...summary, consistencyRate: consistencyRate(change.desired, current.members), etag: snapshot.etag, writeMode: null, ...guard, group: { displayName: current.displayName, members: current.members } };
    }
    if (request.dryRun) {
      return { status: 'dry_run', ...summary, consistencyRate: consistencyRate(change.desired, current.members), etag: snapshot.etag, writeMode: null, ...guard };
    }
    // Write, and verify.
    const applied = await backend.apply(request.groupId, snapshot, change, ctx, trace, request.signal);
    if (applied.kind === 'retry') {
      reread = applied.snapshot;
      continue;
    }
    // Verified: the upstream holds the desired members under the new name.
    return { status: 'applied', ...summary, consistencyRate: 1, etag: applied.etag, writeMode: applied.writeMode, group: { displayName: change.displayName, members: change.desired } };
  }
  throw new ConflictError(deps.maxConflictRetries + 1);
}

/**
 * Runs `work` in the group's turn: syncs of one group run one at a time, in the order they
 * came. A sync that ends before its turn (a full queue, its deadline, its caller gone) ends
 * with the queue's own error; an abort surfaces wherever the sync was waiting, and is named
 * by its reason.
 */
async function inTurn<T>(deps: SyncGroupDeps, request: SyncRequest, attempt: Attempt, work: () => Promise<T>): Promise<T> {
  let running = false;
  const queueSignal = request.callerGone && request.signal ? AbortSignal.any([request.signal, request.callerGone]) : (request.callerGone ?? request.signal);
  try {
    return await deps.locks.run(
      request.groupId,
      async () => {
        // Its turn came, but its deadline (or its caller) went while it waited.
        if (queueSignal?.aborted) throw queueSignal.reason;
        const held = await deps.groupLock?.acquire(request.groupId, queueSignal);
        try {
          if (request.stillWanted && !(await request.stillWanted())) throw new SyncCancelledError('the sync was called off in its turn: what it was to apply is no longer wanted (a newer sync of the group came first); nothing was written');
          running = true;
          return await work();
        } finally {
          await held?.release();
        }
      },
      queueSignal,
    );
  } catch (thrown) {
    const reason: unknown = request.signal?.aborted ? request.signal.reason : undefined;
    const named = !(thrown instanceof SyncError) && reason instanceof SyncError ? reason : thrown;
    throw running ? named : queueFailure(named, deps.locks.maxWaiting, attempt.elapsedMs());
  }
}

/** Seconds a caller is asked to wait before retrying a sync the queue refused or timed out. */
export const QUEUE_RETRY_AFTER_SECONDS = 5;

/**
 * A sync that ended before it started, in the per-group queue: a full queue is group_busy;
 * a deadline that passed while waiting is queue_timeout, not an upstream timeout (nothing
 * was sent upstream); a caller that went away is cancelled; a shutdown stays interrupted.
 */
function queueFailure(error: unknown, maxWaiting: number, waitedMs: number): unknown {
  if (error instanceof QueueFullError) return new GroupBusyError(maxWaiting, QUEUE_RETRY_AFTER_SECONDS);
  if (error instanceof SyncDeadlineError) return new QueueTimeoutError(waitedMs, QUEUE_RETRY_AFTER_SECONDS);
  return error;
}

const userIds = (members: readonly MemberRef[]) => members.filter((m) => m.type === 'User').map((m) => m.value);

/**
 * The attribute sync after an applied write: never fails the sync, reports per user. Only
 * under scim-groups: it checks the users' SCIM `groups`, which never name an ACD group or a
 * team, and its ENTITLEMENT_MAP is keyed by SCIM group id.
 */
async function followAttributes(deps: SyncGroupDeps, request: SyncRequest, result: SyncResult, trace: Trace): Promise<AttributeSyncReport | null> {
  if (result.backend !== 'scim-groups') return null;
  const addedUserIds = userIds(result.added);
  const removedUserIds = userIds(result.removed);
  if (addedUserIds.length === 0 && removedUserIds.length === 0) return null;
  return syncUserAttributes(
    { ...deps.attributes, directory: deps.directory, maxConflictRetries: deps.maxConflictRetries },
    { groupId: request.groupId, addedUserIds, removedUserIds, useIfMatch: trace.etagBefore !== null, signal: request.signal },
  );
}
