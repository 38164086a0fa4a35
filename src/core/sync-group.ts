/**
 * syncGroup: make one SCIM group hold exactly the desired members.
 *
 * The story: read the group → plan the difference → validate what changes → write it
 * (one PUT guarded by the ETag read, RFC 7644 §3.14, or a sequence of PATCH requests) →
 * verify that the upstream holds the desired set. A lost race (412/428), or a verification
 * that finds the group's version moved past our own write, re-reads, re-plans and
 * re-validates, up to `maxConflictRetries` times. A write the upstream answered as done
 * but did not apply is never reported as applied (write_not_applied). Syncs of one group
 * never interleave within this process.
 */
import { syncUserAttributes, type AttributeSyncDeps } from './attribute-sync.js';
import { toAuditErrors, type AuditEntry, type AuditError, type DomainEvent } from './audit.js';
import { canonicalSha256 } from './canonical-json.js';
import {
  AuditUnavailableError,
  ConflictError,
  GroupBusyError,
  GroupNotFoundError,
  PreconditionFailedError,
  QueueTimeoutError,
  SyncDeadlineError,
  SyncError,
  UpstreamError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
  ValidationFailedError,
  WriteNotAppliedError,
  gapFields,
} from './errors.js';
import { QueueFullError, type KeyedLock } from './keyed-lock.js';
import {
  memberIdentity,
  type DesiredMembership,
  type GroupResource,
  type GroupSnapshot,
  type MemberRef,
  type MembershipPlan,
} from './membership.js';
import { resolveMemberTypes, type TypedMembers } from './member-types.js';
import { loadNesting } from './nesting.js';
import { compareMembers, consistencyRate, isEmptyPlan, planMembership } from './plan.js';
import type { AuditLog, Clock, GroupWrite, PatchOperation, RequestContext, ScimDirectory, SyncMetrics, UserSummary, WriteResult } from './ports.js';
import { chooseWriteMode, patchRequests, type WriteModeSetting } from './write-mode.js';
import { groupWriteSha256 } from './scim-group.js';
import { isFailureStatus, type AttributeSyncReport, type SyncOutcomeStatus, type SyncStatus, type WriteMode } from './outcome.js';
import { validatePlan } from './validate.js';

export interface SyncRequest {
  readonly groupId: string;
  readonly desired: DesiredMembership;
  readonly dryRun: boolean;
  readonly actor: string;
  readonly requestId: string;
  /** Aborts the sync wherever it is (deadline, shutdown): its reason is the answer. */
  readonly signal?: AbortSignal;
  /**
   * Fires when the caller went away (closed its connection). A sync still waiting behind
   * others of its group is then cancelled; one that started runs to its end, since a
   * write cut off halfway would leave the group part-way.
   */
  readonly callerGone?: AbortSignal;
}

export interface SyncResult {
  readonly syncId: string;
  readonly groupId: string;
  readonly status: SyncStatus;
  readonly added: readonly MemberRef[];
  readonly removed: readonly MemberRef[];
  readonly memberCount: number;
  readonly consistencyRate: number;
  readonly etag: string | null;
  /** How the membership was written; null when nothing was written. */
  readonly writeMode: WriteMode | null;
  readonly latencyMs: number;
  readonly upstreamRequests: number;
}

/**
 * The use case as its callers hold it (the HTTP API, the CLI): syncGroup bound to its
 * ports and limits, under its overall deadline. src/composition builds it.
 */
export interface SyncRunner {
  run(request: SyncRequest): Promise<SyncResult>;
  /** Cuts off every sync still running (the shutdown deadline passed); each is audited as interrupted. */
  interrupt(): void;
  /** Syncs running now. */
  readonly inFlight: number;
  /** The per-group queue of syncs: how many wait for a group, and a promise for when that many do. */
  readonly queue: Pick<KeyedLock, 'waiting' | 'whenWaiting'>;
}

export interface SyncGroupDeps {
  readonly directory: ScimDirectory;
  readonly clock: Clock;
  readonly locks: KeyedLock;
  readonly audit: AuditLog;
  readonly metrics: SyncMetrics;
  readonly newSyncId: () => string;
  /** Ids of emitted events (the webhook-id). */
  readonly newEventId: () => string;
  readonly maxDepth: number;
  readonly maxConflictRetries: number;
  readonly writeMode: WriteModeSetting;
  /** Member changes per PATCH request (WRITE_MODE patch or auto). */
  readonly patchMaxOperations: number;
  /** How the affected users' attributes follow an applied write. */
  readonly attributes: Omit<AttributeSyncDeps, 'directory' | 'maxConflictRetries'>;
}

/** What the attempt learned on its way, for the audit record whatever the outcome. */
interface Trace {
  etagBefore: string | null;
  write: GroupWrite | null;
  /** The last write sent: its difference and mode, and the group's ETag as read back after it. */
  written: { added: readonly MemberRef[]; removed: readonly MemberRef[]; writeMode: WriteMode; etagAfter: string | null } | null;
}

export async function syncGroup(deps: SyncGroupDeps, request: SyncRequest): Promise<SyncResult> {
  const syncId = deps.newSyncId();
  const started = deps.clock.monotonic();
  const ctx: RequestContext = { signal: request.signal, stats: { upstreamRequests: 0 } };
  const trace: Trace = { etagBefore: null, write: null, written: null };
  const elapsedMs = () => Math.round(deps.clock.monotonic() - started);

  let result: SyncResult;
  let running = false;
  const queueSignal = request.callerGone && request.signal ? AbortSignal.any([request.signal, request.callerGone]) : (request.callerGone ?? request.signal);
  try {
    const outcome = await deps.locks.run(
      request.groupId,
      async () => {
        // Its turn came, but its deadline (or its caller) went while it waited.
        if (queueSignal?.aborted) throw queueSignal.reason;
        running = true;
        return reconcile(deps, request, ctx, trace);
      },
      queueSignal,
    );
    result = {
      syncId,
      groupId: request.groupId,
      ...outcome,
      added: outcome.added.map(memberIdentity),
      removed: outcome.removed.map(memberIdentity),
      latencyMs: elapsedMs(),
      upstreamRequests: ctx.stats.upstreamRequests,
    };
  } catch (thrown) {
    // An abort (deadline, shutdown) surfaces wherever the sync was waiting; name it by its reason.
    const reason: unknown = request.signal?.aborted ? request.signal.reason : undefined;
    const named = !(thrown instanceof SyncError) && reason instanceof SyncError ? reason : thrown;
    const caught = running ? named : queueFailure(named, deps.locks.maxWaiting, elapsedMs());
    const failure = describeFailure(caught);
    const latencyMs = elapsedMs();
    // A write the upstream did not apply as sent: the record says what was written, and how.
    const wrong = caught instanceof WriteNotAppliedError ? trace.written : null;
    const omitted = caught instanceof ValidationFailedError ? caught.errorsOmitted : 0;
    const entry: AuditEntry = {
      ...baseEntry(deps, request, syncId, trace),
      status: failure.status,
      added: wrong ? wrong.added.map(memberIdentity) : [],
      removed: wrong ? wrong.removed.map(memberIdentity) : [],
      memberCount: request.desired.members.length,
      etagAfter: wrong ? wrong.etagAfter : null,
      writeMode: wrong ? wrong.writeMode : null,
      latencyMs,
      upstreamRequests: ctx.stats.upstreamRequests,
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
      },
    };
    // The error may be shared by several syncs (one failed token fetch answers every sync
    // waiting on it): name this sync on a view of its own, never on the shared object.
    const answer = caught instanceof SyncError ? namingSync(caught, syncId) : caught;
    await record(deps, entry, request.dryRun ? [] : [failed], syncId);
    deps.metrics.observeSync({ status: failure.status, durationSeconds: latencyMs / 1000, consistencyRate: caught instanceof WriteNotAppliedError ? caught.gap.consistencyRate : null, validationCodes: caught instanceof ValidationFailedError ? caught.codes : [], attributeOutcomes: [], groupsInconsistent: 0 });
    throw answer;
  }

  const attributes = result.status === 'applied' ? await followAttributes(deps, request, result, trace) : null;
  const entry: AuditEntry = {
    ...baseEntry(deps, request, syncId, trace),
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
  await record(deps, entry, events, syncId);
  deps.metrics.observeSync({ status: result.status, durationSeconds: result.latencyMs / 1000, consistencyRate: result.status === 'applied' ? result.consistencyRate : null, validationCodes: [], attributeOutcomes: attributes?.users.map((u) => u.entitlements) ?? [], groupsInconsistent: attributes?.groupsInconsistent ?? 0 });
  return result;
}

const userIds = (members: readonly MemberRef[]) => members.filter((m) => m.type === 'User').map((m) => m.value);

/** The attribute sync after an applied write: never fails the sync, reports per user. */
async function followAttributes(deps: SyncGroupDeps, request: SyncRequest, result: SyncResult, trace: Trace): Promise<AttributeSyncReport | null> {
  const addedUserIds = userIds(result.added);
  const removedUserIds = userIds(result.removed);
  if (addedUserIds.length === 0 && removedUserIds.length === 0) return null;
  return syncUserAttributes(
    { ...deps.attributes, directory: deps.directory, maxConflictRetries: deps.maxConflictRetries },
    { groupId: request.groupId, addedUserIds, removedUserIds, useIfMatch: trace.etagBefore !== null, signal: request.signal },
  );
}

function baseEntry(deps: SyncGroupDeps, request: SyncRequest, syncId: string, trace: Trace) {
  const payloadSha256 = payloadDigest(request, trace);
  return {
    syncId,
    requestId: request.requestId,
    actor: request.actor,
    groupId: request.groupId,
    payloadSha256,
    etagBefore: trace.etagBefore,
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
    const members = request.desired.members.map(({ value, type, display }) => ({ value, type, display }));
    return canonicalSha256({ displayName: request.desired.displayName, members });
  } catch {
    return 'unavailable';
  }
}

/** `error` as one sync's answer: everything inherited from it, with this sync's id as its own. */
function namingSync(error: SyncError, syncId: string): SyncError {
  return Object.assign(Object.create(error) as SyncError, { syncId });
}

/** Writes the audit record (and its events); a sync that cannot be recorded is not reported as done. */
async function record(deps: SyncGroupDeps, entry: AuditEntry, events: readonly DomainEvent[], syncId: string): Promise<void> {
  try {
    await deps.audit.append(entry, events);
  } catch (cause) {
    const error = new AuditUnavailableError('the sync could not be recorded in the audit trail; it may have been applied upstream: retry the request', { cause });
    error.syncId = syncId;
    throw error;
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
  if (error instanceof PreconditionFailedError) return { status: 'conflict', message: error.message, errors: [{ code: 'conflict', message: error.message }] };
  if (error instanceof SyncError) {
    const status: SyncOutcomeStatus = isFailureStatus(error.code) ? error.code : 'upstream_error';
    return { status, message: error.message, errors: [{ code: error.code, message: error.message }] };
  }
  return { status: 'internal_error', message: 'internal error', errors: [{ code: 'internal_error', message: 'internal error' }] };
}

type Outcome = Omit<SyncResult, 'syncId' | 'groupId' | 'latencyMs' | 'upstreamRequests'>;

async function reconcile(deps: SyncGroupDeps, request: SyncRequest, ctx: RequestContext, trace: Trace): Promise<Outcome> {
  const { directory } = deps;
  /** A fresh read the next attempt starts from (a verification found another writer's version). */
  let next: GroupSnapshot | null = null;
  for (let attempt = 0; attempt <= deps.maxConflictRetries; attempt++) {
    const snapshot = next ?? (await readGroup(directory, request.groupId, ctx));
    next = null;
    const current = snapshot.group;
    trace.etagBefore = snapshot.etag;
    // Members sent without a type take it from the group, else from a user or group lookup.
    const typed = await resolveMemberTypes(directory, current.members, request.desired.members, ctx);
    const desired = typed.members;
    const plan = planMembership(current.members, desired);
    const displayName = request.desired.displayName ?? current.displayName;
    const write = buildWrite(current, displayName, desired);
    trace.write = write;
    await validate(deps, request.groupId, plan, typed, ctx);

    const summary = { added: plan.added, removed: plan.removed, memberCount: desired.length };
    if (isEmptyPlan(plan) && displayName === current.displayName) {
      return { status: 'unchanged', ...summary, consistencyRate: consistencyRate(desired, current.members), etag: snapshot.etag, writeMode: null };
    }
    if (request.dryRun) {
      return { status: 'dry_run', ...summary, consistencyRate: consistencyRate(desired, current.members), etag: snapshot.etag, writeMode: null };
    }
    // Without an ETag nothing guards the write upstream: check that nobody wrote since our
    // read (meta.version or meta.lastModified), and rely on the per-group lock in here.
    if (snapshot.etag === null && !(await unchangedSince(directory, snapshot, ctx))) continue;

    const capabilities = deps.writeMode === 'auto' ? await directory.capabilities(ctx) : null;
    const chosen = chooseWriteMode(deps.writeMode, plan, Math.max(current.members.length, desired.length), deps.patchMaxOperations, capabilities);
    const patches = () => patchRequests(plan, displayName === current.displayName ? undefined : displayName, deps.patchMaxOperations);
    trace.written = { added: plan.added, removed: plan.removed, writeMode: chosen, etagAfter: null };
    let sent: { written: WriteResult; mode: WriteMode };
    try {
      sent = await writeGroup(directory, chosen, write, patches, snapshot.etag, ctx, trace);
    } catch (error) {
      // A lost race, also midway through a PATCH sequence: the re-read picks up what
      // landed, and the re-plan sends only what is still missing.
      if (error instanceof PreconditionFailedError) continue;
      // Our own write failed, but it may have landed before it did (a 500 after the
      // commit, a lost answer): look before answering, and answer with the provider's own
      // error when it did not, never with a conflict made of our own failed attempts.
      const landed = mayHaveLanded(error, request.signal) ? await landedAnyway(directory, request.groupId, desired, displayName, ctx) : null;
      if (landed === null) throw error;
      return { status: 'applied', ...summary, consistencyRate: 1, etag: landed.etag, writeMode: trace.written.writeMode };
    }

    const verdict = await verifyWrite(directory, request.groupId, snapshot, sent.written, desired, ctx);
    trace.written = { ...trace.written, writeMode: sent.mode, etagAfter: verdict.etag };
    if (verdict.kind === 'held') return { status: 'applied', ...summary, consistencyRate: 1, etag: verdict.etag, writeMode: sent.mode };
    if (verdict.kind === 'overtaken') {
      next = verdict.snapshot;
      continue;
    }
    throw verdict.error;
  }
  throw new ConflictError(deps.maxConflictRetries + 1);
}

/**
 * Sends the write in the mode chosen. A PUT the provider refuses as too large (413) goes
 * out as PATCH requests instead when the provider says it supports PATCH.
 */
async function writeGroup(
  directory: ScimDirectory,
  mode: WriteMode,
  write: GroupWrite,
  patches: () => PatchOperation[][],
  ifMatch: string | null,
  ctx: RequestContext,
  trace: Trace,
): Promise<{ written: WriteResult; mode: WriteMode }> {
  if (mode === 'patch') return { written: await applyPatches(directory, write.id, patches(), ifMatch, ctx), mode };
  try {
    return { written: await directory.replaceGroup(write, ifMatch, ctx), mode };
  } catch (error) {
    if (!(error instanceof UpstreamError) || error instanceof PreconditionFailedError || error.status !== 413) throw error;
    if (!(await directory.capabilities(ctx)).patch) throw error;
    if (trace.written) trace.written = { ...trace.written, writeMode: 'patch' };
    return { written: await applyPatches(directory, write.id, patches(), ifMatch, ctx), mode: 'patch' };
  }
}

/** Whether a failed write may have been applied all the same: the provider failed after the fact, or its answer was lost. */
function mayHaveLanded(error: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted) return false;
  if (error instanceof UpstreamUnavailableError) return error.status !== 429;
  if (error instanceof UpstreamTimeoutError) return true;
  if (error instanceof UpstreamError) return error.status >= 500 || error.status === 0;
  return false;
}

/** After a failed write: the group as read now, when it holds what was written; null otherwise (or when it cannot be read). */
async function landedAnyway(directory: ScimDirectory, groupId: string, desired: readonly MemberRef[], displayName: string, ctx: RequestContext): Promise<GroupSnapshot | null> {
  let fresh: GroupSnapshot | null;
  try {
    fresh = await directory.getGroup(groupId, ctx, { fresh: true });
  } catch {
    return null;
  }
  if (fresh === null || fresh.group.displayName !== displayName || !compareMembers(desired, fresh.group.members).equal) return null;
  return fresh;
}

type Verdict =
  | { readonly kind: 'held'; readonly etag: string | null }
  | { readonly kind: 'overtaken'; readonly snapshot: GroupSnapshot; readonly etag: string | null }
  | { readonly kind: 'wrong'; readonly error: WriteNotAppliedError; readonly etag: string | null };

/**
 * Does the upstream hold the desired members after our write? The write's own answer
 * says so when it holds the members and an ETag guards the group; otherwise (no body,
 * members left out, no ETags: another process may have overwritten it already) a fresh
 * read does. When they differ, a fresh read decides: a version other than the one our
 * write answered means another writer got in after us (re-plan); the same version means
 * the provider applied our write wrong.
 */
async function verifyWrite(directory: ScimDirectory, groupId: string, before: GroupSnapshot, written: WriteResult, desired: readonly MemberRef[], ctx: RequestContext): Promise<Verdict> {
  const answered = written.group;
  if (answered !== null && before.etag !== null && compareMembers(desired, answered.members).equal) {
    return { kind: 'held', etag: written.etag ?? answered.meta?.version ?? null };
  }
  const fresh = await directory.getGroup(groupId, ctx, { fresh: true });
  if (fresh === null) throw new GroupNotFoundError(groupId);
  const gap = compareMembers(desired, fresh.group.members);
  if (gap.equal) return { kind: 'held', etag: fresh.etag };
  const ours = written.etag ?? written.version ?? versionOf(answered);
  const now = fresh.etag ?? versionOf(fresh.group);
  if (ours !== undefined && ours !== null && now !== undefined && !sameVersion(ours, now)) return { kind: 'overtaken', snapshot: fresh, etag: fresh.etag };
  const why =
    ours === undefined || ours === null || now === undefined
      ? 'the provider gives the group no version, so whether another writer intervened cannot be told'
      : `the group's version is still ${now}, the one our write answered: the provider did not apply the write as sent`;
  const message =
    `the upstream does not hold what was written: ${gap.missingCount} of the ${new Set(desired.map((m) => m.value)).size} desired members are missing and ${gap.extraCount} other members are present ` +
    `(consistencyRate ${Math.round(gap.consistencyRate * 1000) / 1000}); ${why}`;
  return { kind: 'wrong', error: new WriteNotAppliedError(message, gap), etag: fresh.etag };
}

/** Entity tags compared weakly (RFC 9110 §8.8.3.2): `W/"3"` and `"3"` are the same version. */
function sameVersion(a: string, b: string): boolean {
  return a.replace(/^W\//, '') === b.replace(/^W\//, '');
}

/** Sends the PATCH requests in order, each guarded by the version the previous answer returned. */
async function applyPatches(directory: ScimDirectory, groupId: string, requests: readonly PatchOperation[][], ifMatch: string | null, ctx: RequestContext): Promise<WriteResult> {
  let guard = ifMatch;
  let last: WriteResult = { group: null, etag: null };
  for (const [index, operations] of requests.entries()) {
    const final = index === requests.length - 1;
    last = await directory.patchGroup(groupId, operations, guard, ctx, { withMembers: final });
    if (guard !== null) guard = last.etag ?? last.version ?? last.group?.meta?.version ?? null;
  }
  return last;
}

async function readGroup(directory: ScimDirectory, groupId: string, ctx: RequestContext): Promise<GroupSnapshot> {
  const snapshot = await directory.getGroup(groupId, ctx);
  if (!snapshot) throw new GroupNotFoundError(groupId);
  return snapshot;
}

async function validate(deps: SyncGroupDeps, groupId: string, plan: MembershipPlan, typed: TypedMembers, ctx: RequestContext): Promise<void> {
  const addedUsers = plan.added.filter((m) => m.type === 'User' && !typed.users.has(m.value) && !typed.unresolved.has(m.value)).map((m) => m.value);
  const addedGroups = plan.added.filter((m) => m.type === 'Group').map((m) => m.value);
  const [found, nesting] = await Promise.all([
    addedUsers.length > 0 ? deps.directory.findUsers(addedUsers, ctx) : new Map<string, UserSummary>(),
    loadNesting(deps.directory, groupId, addedGroups, deps.maxDepth, ctx),
  ]);
  const users = typed.users.size > 0 ? new Map([...typed.users, ...found]) : found;
  const errors = validatePlan({ targetId: groupId, plan, users, nesting, maxDepth: deps.maxDepth, unresolved: typed.unresolved });
  if (errors.length > 0) throw new ValidationFailedError(errors);
}

async function unchangedSince(directory: ScimDirectory, snapshot: GroupSnapshot, ctx: RequestContext): Promise<boolean> {
  const before = versionOf(snapshot.group);
  if (before === undefined) return true;
  const fresh = await readGroup(directory, snapshot.group.id, ctx);
  return versionOf(fresh.group) === before;
}

function versionOf(group: GroupResource | null): string | undefined {
  return group?.meta?.version ?? group?.meta?.lastModified;
}

/**
 * The whole resource for a PUT: other attributes kept, members as desired, each as `value`
 * and `type` only. A member's `display` is the provider's to compute from the member
 * resource; echoing it for every member only makes the body larger (a third of it at
 * 100,000 members) and can push it over the provider's body limit.
 */
function buildWrite(current: GroupResource, displayName: string, desired: readonly MemberRef[]): GroupWrite {
  return { id: current.id, displayName, members: desired.map(memberIdentity), extra: current.extra };
}

