/**
 * The `scim-groups` membership backend: a group is an RFC 7644 `/Groups` resource. It is
 * read with its ETag; members sent without a type are typed from the group, else by a user
 * or group lookup; what changes is validated (users exist and are active, groups exist and
 * nest within MAX_GROUP_DEPTH without cycles); the change is written as one PUT guarded by
 * the ETag read (RFC 7644 §3.14) or as PATCH requests (WRITE_MODE), and verified: a write
 * the provider answered as done but did not apply is never reported as applied.
 */
import { GroupNotFoundError, PreconditionFailedError, UpstreamError, UpstreamTimeoutError, UpstreamUnavailableError, ValidationFailedError, WriteNotAppliedError } from './errors.js';
import type { DesiredMembership, GroupResource, GroupSnapshot, MemberRef } from './membership.js';
import { memberIdentity } from './membership.js';
import { resolveMemberTypes, type TypedMembers } from './member-types.js';
import { loadNesting } from './nesting.js';
import type { WriteMode } from './outcome.js';
import { compareMembers, planMembership } from './plan.js';
import type { Applied, GroupWrite, MembershipBackend, MembershipChange, PatchOperation, RequestContext, ScimDirectory, UserSummary, WriteResult, WriteTrace } from './ports.js';
import { validatePlan } from './validate.js';
import { chooseWriteMode, patchRequests, type WriteModeSetting } from './write-mode.js';

export interface ScimGroupsBackendOptions {
  readonly directory: ScimDirectory;
  /** MAX_GROUP_DEPTH. */
  readonly maxDepth: number;
  readonly writeMode: WriteModeSetting;
  /** Member changes per PATCH request (WRITE_MODE patch or auto). */
  readonly patchMaxOperations: number;
}

/** The change one attempt plans here: the desired members with how their types were resolved. */
interface Change extends MembershipChange {
  readonly typed: TypedMembers;
}

export function createScimGroupsBackend(options: ScimGroupsBackendOptions): MembershipBackend {
  const { directory } = options;
  return {
    name: 'scim-groups',
    read: (groupId, ctx) => readGroup(directory, groupId, ctx),
    plan: (_groupId, desired, current, ctx) => planChange(directory, desired, current.group, ctx),
    validate: (groupId, change, ctx) => validate(options, groupId, change as Change, ctx),
    async apply(groupId, snapshot, change, ctx, trace, signal): Promise<Applied> {
      const ours = change as Change;
      // Without an ETag nothing guards the write upstream: check that nobody wrote since our
      // read (meta.version or meta.lastModified), and rely on the per-group lock in here.
      if (snapshot.etag === null && !(await unchangedSince(directory, snapshot, ctx))) return { kind: 'retry', snapshot: null };
      // Write.
      const written = await writeChange(options, groupId, signal, snapshot, ours, ctx, trace);
      if (written.kind === 'lost_race') return { kind: 'retry', snapshot: null };
      if (written.kind === 'landed') return { kind: 'applied', etag: written.etag, writeMode: written.mode };
      // Verify.
      const verdict = await verifyWrite(directory, groupId, snapshot, written.result, ours.desired, ctx);
      trace.written = { ...(trace.written as NonNullable<WriteTrace['written']>), writeMode: written.mode, etagAfter: verdict.etag };
      if (verdict.kind === 'held') return { kind: 'applied', etag: verdict.etag, writeMode: written.mode };
      if (verdict.kind === 'overtaken') return { kind: 'retry', snapshot: verdict.snapshot };
      throw verdict.error;
    },
    ...(directory.listGroups ? { listGroups: directory.listGroups.bind(directory) } : {}),
    ...(directory.createGroup ? { createGroup: (displayName: string, ctx: RequestContext) => (directory.createGroup as NonNullable<typeof directory.createGroup>)({ displayName }, ctx) } : {}),
    ...(directory.deleteGroup ? { deactivateGroup: directory.deleteGroup.bind(directory) } : {}),
    // An ETag guards a write only when the provider says it supports them (RFC 7643 §5).
    supportsEtags: async (ctx) => (await directory.capabilities(ctx)).etag,
  };
}

async function readGroup(directory: ScimDirectory, groupId: string, ctx: RequestContext): Promise<GroupSnapshot> {
  const snapshot = await directory.getGroup(groupId, ctx);
  if (!snapshot) throw new GroupNotFoundError(groupId);
  return snapshot;
}

/** The difference between the group as read and what is asked. Members sent without a type take it from the group, else from a user or group lookup. */
async function planChange(directory: ScimDirectory, request: DesiredMembership, current: GroupResource, ctx: RequestContext): Promise<Change> {
  const typed = await resolveMemberTypes(directory, current.members, request.members, ctx);
  const desired = typed.members;
  const plan = planMembership(current.members, desired);
  const displayName = request.displayName ?? current.displayName;
  return { typed, desired, plan, displayName, write: buildWrite(current, displayName, desired) };
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
async function validate(deps: ScimGroupsBackendOptions, groupId: string, { plan, typed }: Change, ctx: RequestContext): Promise<void> {
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
async function writeChange(
  deps: ScimGroupsBackendOptions,
  groupId: string,
  signal: AbortSignal | undefined,
  snapshot: GroupSnapshot,
  change: Change,
  ctx: RequestContext,
  trace: WriteTrace,
): Promise<Written> {
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
    const landed = mayHaveLanded(error, signal) ? await landedAnyway(directory, groupId, change.typed.members, change.displayName, ctx) : null;
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
  trace: WriteTrace,
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

