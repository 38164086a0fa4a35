/**
 * syncGroup: make one SCIM group hold exactly the desired members.
 *
 * The story: read the group → plan the difference → validate what changes → write the
 * whole membership with one PUT guarded by the ETag read (RFC 7644 §3.14) → measure what
 * the upstream now holds. A lost race (412/428) re-reads, re-plans and re-validates, up to
 * `maxConflictRetries` times. Syncs of one group never interleave within this process.
 */
import {
  ConflictError,
  GroupNotFoundError,
  isOperational,
  PreconditionFailedError,
  ValidationFailedError,
} from './errors.js';
import type { KeyedLock } from './keyed-lock.js';
import {
  memberIdentity,
  memberKey,
  type DesiredMembership,
  type GroupResource,
  type GroupSnapshot,
  type MemberRef,
  type MembershipPlan,
} from './membership.js';
import { loadNesting } from './nesting.js';
import { consistencyRate, isEmptyPlan, planMembership } from './plan.js';
import type { Clock, GroupWrite, RequestContext, ScimDirectory, UserSummary } from './ports.js';
import { validatePlan } from './validate.js';

export type SyncStatus = 'applied' | 'unchanged' | 'dry_run';

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
  readonly latencyMs: number;
  readonly upstreamRequests: number;
}

export interface SyncGroupDeps {
  readonly directory: ScimDirectory;
  readonly clock: Clock;
  readonly locks: KeyedLock;
  readonly newSyncId: () => string;
  readonly maxDepth: number;
  readonly maxConflictRetries: number;
}

export async function syncGroup(deps: SyncGroupDeps, request: SyncRequest): Promise<SyncResult> {
  const syncId = deps.newSyncId();
  const started = deps.clock.monotonic();
  const ctx: RequestContext = { signal: request.signal, stats: { upstreamRequests: 0 } };
  try {
    const outcome = await deps.locks.run(request.groupId, () => reconcile(deps, request, ctx));
    return {
      syncId,
      groupId: request.groupId,
      ...outcome,
      added: outcome.added.map(memberIdentity),
      removed: outcome.removed.map(memberIdentity),
      latencyMs: Math.round(deps.clock.monotonic() - started),
      upstreamRequests: ctx.stats.upstreamRequests,
    };
  } catch (error) {
    if (isOperational(error)) error.syncId = syncId;
    throw error;
  }
}

type Outcome = Omit<SyncResult, 'syncId' | 'groupId' | 'latencyMs' | 'upstreamRequests'>;

async function reconcile(deps: SyncGroupDeps, request: SyncRequest, ctx: RequestContext): Promise<Outcome> {
  const { directory } = deps;
  const desired = request.desired.members;
  for (let attempt = 0; attempt <= deps.maxConflictRetries; attempt++) {
    const snapshot = await readGroup(directory, request.groupId, ctx);
    const current = snapshot.group;
    const plan = planMembership(current.members, desired);
    await validate(deps, request.groupId, plan, ctx);

    const displayName = request.desired.displayName ?? current.displayName;
    const summary = { added: plan.added, removed: plan.removed, memberCount: desired.length };
    if (isEmptyPlan(plan) && displayName === current.displayName) {
      return { status: 'unchanged', ...summary, consistencyRate: consistencyRate(desired, current.members), etag: snapshot.etag };
    }
    if (request.dryRun) {
      return { status: 'dry_run', ...summary, consistencyRate: consistencyRate(desired, current.members), etag: snapshot.etag };
    }
    // Without an ETag nothing guards the write upstream: check that nobody wrote since our
    // read (meta.version or meta.lastModified), and rely on the per-group lock in here.
    if (snapshot.etag === null && !(await unchangedSince(directory, snapshot, ctx))) continue;

    const write = buildWrite(current, displayName, desired);
    let written;
    try {
      written = await directory.replaceGroup(write, snapshot.etag, ctx);
    } catch (error) {
      if (error instanceof PreconditionFailedError) continue;
      throw error;
    }
    const actual = written.group ?? (await readGroup(directory, request.groupId, ctx)).group;
    const etag = written.etag ?? (snapshot.etag === null ? null : (actual.meta?.version ?? null));
    return { status: 'applied', ...summary, consistencyRate: consistencyRate(desired, actual.members), etag };
  }
  throw new ConflictError(deps.maxConflictRetries + 1);
}

async function readGroup(directory: ScimDirectory, groupId: string, ctx: RequestContext): Promise<GroupSnapshot> {
  const snapshot = await directory.getGroup(groupId, ctx);
  if (!snapshot) throw new GroupNotFoundError(groupId);
  return snapshot;
}

async function validate(deps: SyncGroupDeps, groupId: string, plan: MembershipPlan, ctx: RequestContext): Promise<void> {
  const addedUsers = plan.added.filter((m) => m.type === 'User').map((m) => m.value);
  const addedGroups = plan.added.filter((m) => m.type === 'Group').map((m) => m.value);
  const [users, nesting] = await Promise.all([
    addedUsers.length > 0 ? deps.directory.findUsers(addedUsers, ctx) : new Map<string, UserSummary>(),
    loadNesting(deps.directory, groupId, addedGroups, deps.maxDepth, ctx),
  ]);
  const errors = validatePlan({ targetId: groupId, plan, users, nesting, maxDepth: deps.maxDepth });
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
  const displays = new Map<string, string>();
  for (const member of current.members) if (member.display !== undefined) displays.set(memberKey(member), member.display);
  const members = desired.map((member): MemberRef => {
    const display = member.display ?? displays.get(memberKey(member));
    return display === undefined ? { value: member.value, type: member.type } : { value: member.value, type: member.type, display };
  });
  return { id: current.id, displayName, members, extra: current.extra };
}

