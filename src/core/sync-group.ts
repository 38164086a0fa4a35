/**
 * syncGroup: make one SCIM group hold exactly the desired members.
 *
 * The story, in reconcile() below: read the group → plan the difference → validate what
 * changes → write it (one PUT guarded by the ETag read, RFC 7644 §3.14, or a sequence of
 * PATCH requests) → verify that the upstream holds the desired set; syncGroup records the
 * outcome. A lost race (412/428), or a verification that finds the group's version moved
 * past our own write, re-reads, re-plans and re-validates, up to `maxConflictRetries`
 * times. A write the upstream answered as done but did not apply is never reported as
 * applied (write_not_applied). Syncs of one group never interleave within this process.
 */
import { syncUserAttributes, type AttributeSyncDeps } from './attribute-sync.js';
import {
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
} from './errors.js';
import { QueueFullError, type KeyedLock } from './keyed-lock.js';
import { memberIdentity, type GroupResource, type GroupSnapshot, type MemberRef, type MembershipPlan } from './membership.js';
import { resolveMemberTypes, type TypedMembers } from './member-types.js';
import { loadNesting } from './nesting.js';
import type { AttributeSyncReport, WriteMode } from './outcome.js';
import { compareMembers, consistencyRate, isEmptyPlan, planMembership } from './plan.js';
import type { GroupLockService, GroupWrite, PatchOperation, RequestContext, ScimDirectory, UserSummary, WriteResult } from './ports.js';
import { beginAttempt, recordFailure, recordSuccess, type Attempt, type RecordDeps, type Trace } from './sync-record.js';
import type { SyncRequest, SyncResult } from './sync-request.js';
import { validatePlan } from './validate.js';
import { chooseWriteMode, patchRequests, type WriteModeSetting } from './write-mode.js';

export type { SyncRequest, SyncResult, SyncRunner } from './sync-request.js';

export interface SyncGroupDeps extends RecordDeps {
  /** The membership backend. */
  readonly directory: ScimDirectory;
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
}

/** Runs one sync in its group's turn and records it (./sync-record.ts), whatever its outcome. */
export async function syncGroup(deps: SyncGroupDeps, request: SyncRequest): Promise<SyncResult> {
  const attempt = beginAttempt(deps, request);
  let result: SyncResult;
  try {
    const outcome = await inTurn(deps, request, attempt, () => reconcile(deps, request, attempt.ctx, attempt.trace));
    result = {
      syncId: attempt.syncId,
      groupId: request.groupId,
      ...outcome,
      added: outcome.added.map(memberIdentity),
      removed: outcome.removed.map(memberIdentity),
      latencyMs: attempt.elapsedMs(),
      upstreamRequests: attempt.ctx.stats.upstreamRequests,
    };
  } catch (caught) {
    throw await recordFailure(deps, request, attempt, caught);
  }
  const attributes = result.status === 'applied' ? await followAttributes(deps, request, result, attempt.trace) : null;
  await recordSuccess(deps, request, attempt, result, attributes);
  return result;
}

type Outcome = Omit<SyncResult, 'syncId' | 'groupId' | 'latencyMs' | 'upstreamRequests'>;

/** The change one attempt plans: the desired members with their types, the difference, and the resource a PUT would send. */
interface Change {
  readonly typed: TypedMembers;
  readonly plan: MembershipPlan;
  readonly displayName: string;
  readonly write: GroupWrite;
  /** The answer's added, removed and memberCount. */
  readonly summary: Pick<Outcome, 'added' | 'removed' | 'memberCount'>;
}

/** The story of one sync: read → plan → validate → write → verify, again from a fresh read after a lost race. */
async function reconcile(deps: SyncGroupDeps, request: SyncRequest, ctx: RequestContext, trace: Trace): Promise<Outcome> {
  /** A fresh read the next attempt starts from (a verification found another writer's version). */
  let reread: GroupSnapshot | null = null;
  for (let attempt = 0; attempt <= deps.maxConflictRetries; attempt++) {
    // Read.
    const snapshot = reread ?? (await readGroup(deps.directory, request.groupId, ctx));
    reread = null;
    trace.etagBefore = snapshot.etag;
    // Plan.
    const change = await planChange(deps.directory, request, snapshot.group, ctx);
    trace.write = change.write;
    // Validate.
    await validate(deps, request.groupId, change, ctx);

    const current = snapshot.group;
    if (isEmptyPlan(change.plan) && change.displayName === current.displayName) {
      return { status: 'unchanged', ...change.summary, consistencyRate: consistencyRate(change.typed.members, current.members), etag: snapshot.etag, writeMode: null };
    }
    if (request.dryRun) {
      return { status: 'dry_run', ...change.summary, consistencyRate: consistencyRate(change.typed.members, current.members), etag: snapshot.etag, writeMode: null };
    }
    // Without an ETag nothing guards the write upstream: check that nobody wrote since our
    // read (meta.version or meta.lastModified), and rely on the per-group lock in here.
    if (snapshot.etag === null && !(await unchangedSince(deps.directory, snapshot, ctx))) continue;

    // Write.
    const written = await writeChange(deps, request, snapshot, change, ctx, trace);
    if (written.kind === 'lost_race') continue;
    if (written.kind === 'landed') return { status: 'applied', ...change.summary, consistencyRate: 1, etag: written.etag, writeMode: written.mode };

    // Verify.
    const verdict = await verifyWrite(deps.directory, request.groupId, snapshot, written.result, change.typed.members, ctx);
    trace.written = { ...(trace.written as NonNullable<Trace['written']>), writeMode: written.mode, etagAfter: verdict.etag };
    if (verdict.kind === 'held') return { status: 'applied', ...change.summary, consistencyRate: 1, etag: verdict.etag, writeMode: written.mode };
    if (verdict.kind === 'overtaken') {
      reread = verdict.snapshot;
      continue;
    }
    throw verdict.error;
  }
  throw new ConflictError(deps.maxConflictRetries + 1);
}

/**
 * Runs `work` in the group's turn: syncs of one group run one at a time, in the order they
 * came. A sync that ends before its turn (a full queue, its deadline, its caller gone) ends
 * with the queue's own error; an abort surfaces wherever the sync was waiting, and is named
 * by its reason.
 */
async function inTurn(deps: SyncGroupDeps, request: SyncRequest, attempt: Attempt, work: () => Promise<Outcome>): Promise<Outcome> {
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

async function readGroup(directory: ScimDirectory, groupId: string, ctx: RequestContext): Promise<GroupSnapshot> {
  const snapshot = await directory.getGroup(groupId, ctx);
  if (!snapshot) throw new GroupNotFoundError(groupId);
  return snapshot;
}

/** The difference between the group as read and what is asked. Members sent without a type take it from the group, else from a user or group lookup. */
async function planChange(directory: ScimDirectory, request: SyncRequest, current: GroupResource, ctx: RequestContext): Promise<Change> {
  const typed = await resolveMemberTypes(directory, current.members, request.desired.members, ctx);
  const desired = typed.members;
  const plan = planMembership(current.members, desired);
  const displayName = request.desired.displayName ?? current.displayName;
  return { typed, plan, displayName, write: buildWrite(current, displayName, desired), summary: { added: plan.added, removed: plan.removed, memberCount: desired.length } };
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

/** Only what changes is checked: added users exist and are active, added groups exist and nest within the limits. */
async function validate(deps: SyncGroupDeps, groupId: string, { plan, typed }: Change, ctx: RequestContext): Promise<void> {
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

type Written =
  /** The provider answered the write as done: verify it. */
  | { readonly kind: 'sent'; readonly result: WriteResult; readonly mode: WriteMode }
  /** Another writer got in first (also midway through a PATCH sequence): re-read and re-plan. */
  | { readonly kind: 'lost_race' }
  /** The write failed, but a fresh read shows the group as desired: it landed all the same. */
  | { readonly kind: 'landed'; readonly etag: string | null; readonly mode: WriteMode };

/** Writes the change in the mode WRITE_MODE (and, for auto, the provider) chooses. */
async function writeChange(deps: SyncGroupDeps, request: SyncRequest, snapshot: GroupSnapshot, change: Change, ctx: RequestContext, trace: Trace): Promise<Written> {
  const { directory } = deps;
  const current = snapshot.group;
  const capabilities = deps.writeMode === 'auto' ? await directory.capabilities(ctx) : null;
  const chosen = chooseWriteMode(deps.writeMode, change.plan, Math.max(current.members.length, change.typed.members.length), deps.patchMaxOperations, capabilities);
  const patches = () => patchRequests(change.plan, change.displayName === current.displayName ? undefined : change.displayName, deps.patchMaxOperations);
  trace.written = { added: change.plan.added, removed: change.plan.removed, writeMode: chosen, etagAfter: null };
  try {
    const sent = await writeGroup(directory, chosen, change.write, patches, snapshot.etag, ctx, trace);
    return { kind: 'sent', result: sent.written, mode: sent.mode };
  } catch (error) {
    // A lost race, also midway through a PATCH sequence: the re-read picks up what
    // landed, and the re-plan sends only what is still missing.
    if (error instanceof PreconditionFailedError) return { kind: 'lost_race' };
    // Our own write failed, but it may have landed before it did (a 500 after the
    // commit, a lost answer): look before answering, and answer with the provider's own
    // error when it did not, never with a conflict made of our own failed attempts.
    const landed = mayHaveLanded(error, request.signal) ? await landedAnyway(directory, request.groupId, change.typed.members, change.displayName, ctx) : null;
    if (landed === null) throw error;
    return { kind: 'landed', etag: landed.etag, mode: trace.written.writeMode };
  }
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

function versionOf(group: GroupResource | null): string | undefined {
  return group?.meta?.version ?? group?.meta?.lastModified;
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
