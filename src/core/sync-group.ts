/**
 * syncGroup: make one SCIM group hold exactly the desired members.
 *
 * The story: read the group → plan the difference → validate what changes → write the
 * whole membership with one PUT guarded by the ETag read (RFC 7644 §3.14) → measure what
 * the upstream now holds. A lost race (412/428) re-reads, re-plans and re-validates, up to
 * `maxConflictRetries` times. Syncs of one group never interleave within this process.
 */
import { syncUserAttributes, type AttributeSyncDeps, type AttributeSyncReport } from './attribute-sync.js';
import { toAuditErrors, type AuditEntry, type AuditError, type DomainEvent, type SyncOutcomeStatus } from './audit.js';
import { canonicalSha256 } from './canonical-json.js';
import {
  AuditUnavailableError,
  ConflictError,
  GroupNotFoundError,
  PreconditionFailedError,
  SyncError,
  ValidationFailedError,
} from './errors.js';
import type { KeyedLock } from './keyed-lock.js';
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
import { consistencyRate, isEmptyPlan, planMembership } from './plan.js';
import type { AuditLog, Clock, GroupWrite, PatchOperation, RequestContext, ScimDirectory, SyncMetrics, UserSummary, WriteResult } from './ports.js';
import { chooseWriteMode, patchRequests, type WriteMode, type WriteModeSetting } from './write-mode.js';
import { groupWriteSha256 } from './scim-group.js';
import type { SyncStatus } from './sync-status.js';
import { validatePlan } from './validate.js';

export type { SyncStatus } from './sync-status.js';

export interface SyncRequest {
  readonly groupId: string;
  readonly desired: DesiredMembership;
  readonly dryRun: boolean;
  readonly actor: string;
  readonly requestId: string;
  readonly signal?: AbortSignal;
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
}

export async function syncGroup(deps: SyncGroupDeps, request: SyncRequest): Promise<SyncResult> {
  const syncId = deps.newSyncId();
  const started = deps.clock.monotonic();
  const ctx: RequestContext = { signal: request.signal, stats: { upstreamRequests: 0 } };
  const trace: Trace = { etagBefore: null, write: null };
  const elapsedMs = () => Math.round(deps.clock.monotonic() - started);

  let result: SyncResult;
  try {
    const outcome = await deps.locks.run(request.groupId, () => reconcile(deps, request, ctx, trace), request.signal);
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
    const caught = !(thrown instanceof SyncError) && reason instanceof SyncError ? reason : thrown;
    const failure = describeFailure(caught);
    const latencyMs = elapsedMs();
    const omitted = caught instanceof ValidationFailedError ? caught.errorsOmitted : 0;
    const entry: AuditEntry = {
      ...baseEntry(deps, request, syncId, trace),
      status: failure.status,
      added: [],
      removed: [],
      memberCount: request.desired.members.length,
      etagAfter: null,
      writeMode: null,
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
      data: { syncId, groupId: request.groupId, error: failure.status, message: failure.message, ...(caught instanceof ValidationFailedError ? { errors: caught.errors } : {}), ...(omitted > 0 ? { errorsOmitted: omitted } : {}) },
    };
    // The error may be shared by several syncs (one failed token fetch answers every sync
    // waiting on it): name this sync on a view of its own, never on the shared object.
    const answer = caught instanceof SyncError ? namingSync(caught, syncId) : caught;
    await record(deps, entry, request.dryRun ? [] : [failed], syncId);
    deps.metrics.observeSync({ status: failure.status, durationSeconds: latencyMs / 1000, consistencyRate: null, validationCodes: caught instanceof ValidationFailedError ? caught.codes : [], attributeOutcomes: [], groupsInconsistent: 0 });
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

function describeFailure(error: unknown): { status: SyncOutcomeStatus; message: string; errors: AuditError[] } {
  if (error instanceof ValidationFailedError) return { status: 'validation_failed', message: error.message, errors: toAuditErrors(error.errors) };
  if (error instanceof PreconditionFailedError) return { status: 'conflict', message: error.message, errors: [{ code: 'conflict', message: error.message }] };
  if (error instanceof SyncError) {
    const status = (OUTCOME_CODES as readonly string[]).includes(error.code) ? (error.code as SyncOutcomeStatus) : 'upstream_error';
    return { status, message: error.message, errors: [{ code: error.code, message: error.message }] };
  }
  return { status: 'internal_error', message: 'internal error', errors: [{ code: 'internal_error', message: 'internal error' }] };
}

const OUTCOME_CODES = ['conflict', 'group_not_found', 'upstream_error', 'upstream_unavailable', 'upstream_timeout', 'interrupted'] as const;

type Outcome = Omit<SyncResult, 'syncId' | 'groupId' | 'latencyMs' | 'upstreamRequests'>;

async function reconcile(deps: SyncGroupDeps, request: SyncRequest, ctx: RequestContext, trace: Trace): Promise<Outcome> {
  const { directory } = deps;
  for (let attempt = 0; attempt <= deps.maxConflictRetries; attempt++) {
    const snapshot = await readGroup(directory, request.groupId, ctx);
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
    const mode = chooseWriteMode(deps.writeMode, plan, Math.max(current.members.length, desired.length), deps.patchMaxOperations, capabilities);
    let written: WriteResult;
    try {
      written =
        mode === 'put'
          ? await directory.replaceGroup(write, snapshot.etag, ctx)
          : await applyPatches(directory, current.id, patchRequests(plan, displayName === current.displayName ? undefined : displayName, deps.patchMaxOperations), snapshot.etag, ctx);
    } catch (error) {
      // A lost race, also midway through a PATCH sequence: the re-read picks up what
      // landed, and the re-plan sends only what is still missing.
      if (error instanceof PreconditionFailedError) continue;
      throw error;
    }
    const actual = written.group ?? (await readGroup(directory, request.groupId, ctx)).group;
    const etag = written.etag ?? (snapshot.etag === null ? null : (actual.meta?.version ?? null));
    return { status: 'applied', ...summary, consistencyRate: consistencyRate(desired, actual.members), etag, writeMode: mode };
  }
  throw new ConflictError(deps.maxConflictRetries + 1);
}

/** Sends the PATCH requests in order, each guarded by the version the previous answer returned. */
async function applyPatches(directory: ScimDirectory, groupId: string, requests: readonly PatchOperation[][], ifMatch: string | null, ctx: RequestContext): Promise<WriteResult> {
  let guard = ifMatch;
  let last: WriteResult = { group: null, etag: null };
  for (const [index, operations] of requests.entries()) {
    const final = index === requests.length - 1;
    last = await directory.patchGroup(groupId, operations, guard, ctx, { withMembers: final });
    if (guard !== null) guard = last.etag ?? last.group?.meta?.version ?? null;
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

function versionOf(group: GroupResource): string | undefined {
  return group.meta?.version ?? group.meta?.lastModified;
}

/** The whole resource for a PUT: other attributes kept, members as desired, display names carried over. */
function buildWrite(current: GroupResource, displayName: string, desired: readonly MemberRef[]): GroupWrite {
  const displays = { User: new Map<string, string>(), Group: new Map<string, string>() };
  for (const member of current.members) if (member.display !== undefined) displays[member.type].set(member.value, member.display);
  const members = desired.map((member): MemberRef => {
    const display = member.display ?? displays[member.type].get(member.value);
    return display === undefined ? { value: member.value, type: member.type } : { value: member.value, type: member.type, display };
  });
  return { id: current.id, displayName, members, extra: current.extra };
}

