/**
 * The `acd-groups` membership backend: a group is a CXone ACD group, written through the
 * admin API (docs/cxone.md "The acd-groups backend").
 *
 * - Read: `GET /groups/{id}` (its `lastUpdated` is the version, its `groupName` the
 *   displayName) and the group's agents (every page; 204 is empty). Each agent is reported
 *   as a SCIM user: its `userID` from the agent map, else its `userName`, else its agentId.
 * - Plan: members without a type are users; each is resolved to its agent (userID first,
 *   userName second). The difference is planned by agent, so a user sent by userName is the
 *   same member as the one read by userID.
 * - Validate: a member of type Group is refused (`group_member_not_supported`: ACD groups do
 *   not nest); unknown users (`user_not_found`), inactive agents (`user_inactive`) and
 *   duplicates (`duplicate_member`) likewise; nothing is written before all pass.
 * - Apply: no optimistic lock here, so `lastUpdated` is read again just before writing (moved:
 *   plan again). Every step is journaled before it is sent; removals go first, then
 *   additions, in batches; every agent's result is read, a lost answer read back. Any agent
 *   failed: what this sync did is undone and verified, and the answer is a 502 naming each
 *   failed member (or rollback_failed, the journal left open, when the undo fails). Then the
 *   result is verified in proportion to the change: a few changed agents by their own group
 *   lists, a large change by the group's pages. No `applied` without that verification.
 */
import { agentMemberValue, groupAgentIds, restoreBefore, sendSteps, touchedAgents, ACD_MAX_BATCH, ACD_PAGE_SIZE, type AcdWriteDeps, type AgentRefusal } from './acd-writes.js';
import {
  describeAgentFailures,
  GroupNotFoundError,
  PreconditionFailedError,
  RollbackFailedError,
  UpstreamError,
  ValidationFailedError,
  WriteNotAppliedError,
  type AgentFailure,
  type MemberError,
} from './errors.js';
import { finishEntry, type JournalRecoveryDeps } from './journal-recovery.js';
import { runJournaledWrite, type WriteVerdict } from './journaled-write.js';
import type { DesiredMembership, GroupSnapshot, MemberRef } from './membership.js';
import { compareMembers } from './plan.js';
import type { AdminAgent, AdminApiClient, AgentDirectory, Applied, AuditLog, Clock, GroupListQuery, GroupSummary, MembershipBackend, MembershipChange, MembershipJournal, RequestContext } from './ports.js';

export interface AcdGroupsBackendOptions {
  readonly adminApi: AdminApiClient;
  readonly agents: AgentDirectory;
  readonly journal: MembershipJournal;
  readonly clock: Clock;
  /** Agents per batch write (1..1,000). Default 1,000. */
  readonly batchSize?: number;
  /** Agents per page of a group's agents, as the admin-API client reads them: sizes the verification. Default 1,000. */
  readonly pageSize?: number;
  /** Where an open entry finished before a sync is recorded (its own audit record and event). */
  readonly audit?: AuditLog;
  readonly newSyncId?: () => string;
  readonly newEventId?: () => string;
}

/** The group as this backend read it: the snapshot the use case sees, with the agents behind its members. */
interface AcdSnapshot extends GroupSnapshot {
  readonly acd: {
    readonly groupId: number;
    readonly lastUpdated: string | null;
    readonly agentIds: ReadonlySet<number>;
    /** agentId → the member it is reported as. */
    readonly members: ReadonlyMap<number, MemberRef>;
  };
}

/** The change of one attempt: the plan by member, and by agent. */
interface AcdChange extends MembershipChange {
  readonly acd: {
    readonly target: ReadonlySet<number>;
    readonly add: readonly number[];
    readonly remove: readonly number[];
    /** Desired members no agent was found for. */
    readonly unresolved: readonly MemberRef[];
    /** agentId → the member it is reported as (desired and current). */
    readonly members: ReadonlyMap<number, MemberRef>;
    /** The agents of the members added, for validation. */
    readonly agentsAdded: ReadonlyMap<number, AdminAgent>;
    /** Desired members of type Group. */
    readonly groups: readonly MemberRef[];
    /** The group's name as read: a displayName other than this renames it. */
    readonly currentName: string;
  };
}

export function createAcdGroupsBackend(options: AcdGroupsBackendOptions): MembershipBackend {
  const batchSize = options.batchSize ?? ACD_MAX_BATCH;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > ACD_MAX_BATCH) throw new RangeError(`batchSize must be 1..${ACD_MAX_BATCH}`);
  const pageSize = options.pageSize ?? ACD_PAGE_SIZE;
  const { adminApi, agents, journal, clock } = options;
  const writeDeps: AcdWriteDeps = { adminApi, journal, batchSize };
  let journalIds = 0;
  const recovery: JournalRecoveryDeps = {
    adminApi,
    agents,
    journal,
    batchSize,
    clock,
    audit: options.audit,
    newSyncId: options.newSyncId ?? (() => `recovery-${clock.now()}-${++journalIds}`),
    newEventId: options.newEventId ?? (() => `msg_recovery-${clock.now()}-${++journalIds}`),
  };

  /**
   * A new name another active ACD group has (any case) is refused before anything is
   * written, as a create of that name is (the SCIM front door's uniqueness): UpstreamError
   * 409 `uniqueness` (SCIM 409; the sync route 502 naming it). The admin API publishes no
   * rule of its own about names; without a group listing the rename's answer decides.
   */
  async function checkNameFree(change: AcdChange, ctx: RequestContext): Promise<void> {
    if (adminApi.listGroups === undefined) return;
    const wanted = change.displayName.toLowerCase();
    const own = String(change.write.id);
    const holder = (await adminApi.listGroups(ctx)).find((group) => group.isActive !== false && (group.groupName ?? '').toLowerCase() === wanted && String(group.groupId) !== own);
    if (holder !== undefined) {
      throw new UpstreamError(`displayName ${JSON.stringify(change.displayName)} is taken: CXone ACD group ${holder.groupId} (${JSON.stringify(holder.groupName ?? '')}) has that name`, {
        status: 409,
        scimType: 'uniqueness',
        detail: `a group named ${JSON.stringify(holder.groupName)} exists already`,
      });
    }
  }

  return {
    name: 'acd-groups',

    /** An open journal entry of this group (a crash, a failed undo) is finished before the group is read. */
    async prepare(groupId, ctx) {
      for (const entry of await journal.openEntries({ backend: 'acd-groups', groupId })) {
        const finished = await finishEntry(recovery, entry, ctx, { record: true });
        if (finished.outcome === 'rollback_failed') throw finished.error as RollbackFailedError;
      }
    },

    read: (groupId, ctx) => readGroup(adminApi, agents, groupId, ctx),

    ...(adminApi.listGroups
      ? {
          async listGroups(query: GroupListQuery, ctx: RequestContext): Promise<readonly GroupSummary[]> {
            const groups = await (adminApi.listGroups as NonNullable<AdminApiClient['listGroups']>)(ctx);
            return groups
              .filter((group) => group.isActive !== false && (query.displayName === undefined || (group.groupName ?? '').toLowerCase() === query.displayName.toLowerCase()))
              .map((group) => ({ id: String(group.groupId), displayName: group.groupName ?? '' }));
          },
        }
      : {}),

    /** One `GET /groups/{id}`: the name without the agents' pages. */
    async describeGroup(groupId, ctx) {
      const gid = acdGroupId(groupId);
      const group = gid === null ? null : await adminApi.getGroup(gid, ctx);
      if (group === null || group.isActive === false) throw new GroupNotFoundError(groupId);
      return { id: groupId, displayName: group.groupName ?? '' };
    },

    async createGroup(displayName, ctx) {
      return { id: String(await adminApi.createGroup({ groupName: displayName }, ctx)), displayName };
    },

    async plan(_groupId, desired, current, ctx) {
      const read = current as AcdSnapshot;
      return planChange(agents, desired, read.acd ? read : await readGroup(adminApi, agents, current.group.id, ctx), ctx);
    },

    async validate(_groupId, change, ctx) {
      const ours = change as AcdChange;
      const errors = validateChange(ours);
      if (errors.length > 0) throw new ValidationFailedError(errors);
      if (ours.displayName !== ours.acd.currentName) await checkNameFree(ours, ctx);
    },

    async apply(groupId, snapshot, change, ctx, trace, signal): Promise<Applied> {
      const read = snapshot as AcdSnapshot;
      const ours = change as AcdChange;
      const gid = read.acd.groupId;
      // No optimistic lock in the admin API: has the group moved since our read?
      const now = await adminApi.getGroup(gid, ctx);
      if (now === null) throw new GroupNotFoundError(groupId);
      if ((now.lastUpdated ?? null) !== read.acd.lastUpdated) return { kind: 'retry', snapshot: null };

      const syncId = ctx.syncId ?? `write-${clock.now()}-${++journalIds}`;
      const before = read.acd.agentIds;
      const target = ours.acd.target;
      await journal.open({ syncId, backend: 'acd-groups', groupId, before: { agentIds: [...before] }, target: { agentIds: [...target] }, openedAt: new Date(clock.now()).toISOString() });
      trace.written = { added: ours.plan.added, removed: ours.plan.removed, writeMode: 'admin-api', etagAfter: null };
      const named = (refusals: readonly AgentRefusal[]) => nameFailures(refusals, ours.acd.members);

      // Remove first, then add: a failure never leaves someone with access they should have lost.
      const verdict = await runJournaledWrite({
        journal,
        syncId,
        steps: [
          async () => ({ failed: named((await sendSteps(writeDeps, syncId, gid, 'remove', ours.acd.remove, false, ctx)).failed) }),
          async () => ({ failed: named((await sendSteps(writeDeps, syncId, gid, 'add', ours.acd.add, false, ctx)).failed) }),
        ],
        undo: (failures) => undo(failures),
        async verify(): Promise<WriteVerdict> {
          const found = await verify(adminApi, gid, ours, before, pageSize, ctx);
          if (found.kind !== 'wrong') return found;
          const gap = compareMembers(ours.desired, found.actual.map((a) => ours.acd.members.get(a) ?? { value: String(a), type: 'User' as const }));
          return {
            kind: 'wrong',
            undo: true,
            error: () => {
              const message =
                `CXone answered the write as done, but the group does not hold it (${found.wrong.length} agent${found.wrong.length === 1 ? '' : 's'} not as written: ` +
                `${found.wrong.slice(0, 20).join(', ')}); what this sync wrote was undone`;
              return new WriteNotAppliedError(message, gap);
            },
          };
        },
      });
      if (verdict === 'overtaken') return { kind: 'retry', snapshot: null };
      // A new name goes last, once the members are verified: a failed rename leaves them written, and a retry only renames.
      if (ours.displayName !== read.group.displayName) await adminApi.renameGroup(gid, ours.displayName, undefined, ctx);
      return { kind: 'applied', etag: null, writeMode: 'admin-api' };

      /** Undoes what this sync wrote; rollback_failed (journal left open) when the undo fails. */
      async function undo(failures: readonly AgentFailure[]): Promise<void> {
        if (signal?.aborted) throw signal.reason;
        let result;
        try {
          result = await restoreBefore(writeDeps, syncId, gid, before, target, ctx);
        } catch (caught) {
          if (signal?.aborted) throw caught;
          throw new RollbackFailedError(
            `${failures.length > 0 ? `${describeAgentFailures(failures)}; ` : ''}undoing what this sync wrote to ACD group ${groupId} failed (${caught instanceof Error ? caught.message : String(caught)}); the group may be left in between: the journal stays open, and the next sync of the group and the next start finish the undo`,
            null,
            failures,
            { cause: caught },
          );
        }
        if (!result.restored) {
          const undoFailures = named(result.failed);
          const members = result.agentIds === null ? null : [...result.agentIds].map((a) => ours.acd.members.get(a) ?? { value: String(a), type: 'User' as const });
          throw new RollbackFailedError(
            `${failures.length > 0 ? `${describeAgentFailures(failures)}; ` : ''}undoing what this sync wrote to ACD group ${groupId} failed${undoFailures.length > 0 ? ` (${describeAgentFailures(undoFailures)})` : ''}; ` +
              `the group holds ${members === null ? 'an unknown set (it could not be read)' : `${members.length} members`}: the journal stays open, and the next sync of the group and the next start finish the undo`,
            members,
            [...failures, ...undoFailures],
          );
        }
      }
    },
  };
}

/** The ACD group's id as the admin API takes it: a positive integer. */
function acdGroupId(groupId: string): number | null {
  if (!/^[1-9][0-9]{0,15}$/.test(groupId)) return null;
  const id = Number(groupId);
  return Number.isSafeInteger(id) ? id : null;
}

/** Reads of a group's agents tried again when its pages changed while they were read (PagesChangedError). */
const PAGE_READ_ATTEMPTS = 3;

/** The group's agents; read again when the pages disagree (another writer changed the group between pages), up to PAGE_READ_ATTEMPTS times. */
async function listSettled(adminApi: AdminApiClient, gid: number, ctx: RequestContext) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await adminApi.listGroupAgents(gid, ctx);
    } catch (error) {
      if (!(error instanceof PreconditionFailedError) || attempt >= PAGE_READ_ATTEMPTS) throw error;
    }
  }
}

async function readGroup(adminApi: AdminApiClient, agents: AgentDirectory, groupId: string, ctx: RequestContext): Promise<AcdSnapshot> {
  const gid = acdGroupId(groupId);
  if (gid === null) throw new GroupNotFoundError(groupId);
  const group = await adminApi.getGroup(gid, ctx);
  if (group === null) throw new GroupNotFoundError(groupId);
  const list = await listSettled(adminApi, gid, ctx);
  if (list === null) throw new GroupNotFoundError(groupId);
  const ids = list.agents.map((a) => a.agentId);
  const known = ids.length > 0 ? await agents.byAgentIds(ids, ctx) : new Map<number, AdminAgent>();
  const members = new Map<number, MemberRef>();
  for (const listed of list.agents) members.set(listed.agentId, { value: agentMemberValue({ ...listed, ...known.get(listed.agentId) }), type: 'User' });
  const lastUpdated = group.lastUpdated ?? null;
  return {
    group: { id: groupId, displayName: group.groupName ?? '', members: [...members.values()], meta: lastUpdated === null ? {} : { version: lastUpdated }, extra: {} },
    etag: null,
    acd: { groupId: gid, lastUpdated, agentIds: new Set(ids), members },
  };
}

/**
 * The difference by agent. A displayName asked for renames the ACD group (`PUT
 * /groups/{id}?groupName=`, once the members are written and verified); none keeps its name. A desired member is reported as the agent's own member value, so
 * the answer and the audit record name the same user whether it was sent by id or userName.
 */
async function planChange(agents: AgentDirectory, request: DesiredMembership, current: AcdSnapshot, ctx: RequestContext): Promise<AcdChange> {
  const groups: MemberRef[] = [];
  const userValues: string[] = [];
  for (const member of request.members) {
    if (member.type === 'Group') groups.push({ value: member.value, type: 'Group' });
    else userValues.push(member.value);
  }
  const resolved = userValues.length > 0 ? await agents.resolve([...new Set(userValues)], ctx) : new Map<string, AdminAgent>();
  const members = new Map(current.acd.members);
  const desired: MemberRef[] = [];
  const unresolved: MemberRef[] = [];
  const unresolvedValues = new Set<string>();
  const duplicates: MemberRef[] = [];
  const target = new Set<number>();
  const agentsAdded = new Map<number, AdminAgent>();
  const added: MemberRef[] = [];
  for (const value of userValues) {
    const agent = resolved.get(value);
    if (agent === undefined) {
      const ref: MemberRef = { value, type: 'User' };
      desired.push(ref);
      if (unresolvedValues.has(value)) duplicates.push(ref);
      else {
        unresolvedValues.add(value);
        unresolved.push(ref);
        added.push(ref);
      }
      continue;
    }
    const ref = members.get(agent.agentId) ?? { value: agentMemberValue(agent), type: 'User' as const };
    members.set(agent.agentId, ref);
    desired.push(ref);
    if (target.has(agent.agentId)) {
      duplicates.push({ value, type: 'User' });
      continue;
    }
    target.add(agent.agentId);
    if (!current.acd.agentIds.has(agent.agentId)) {
      agentsAdded.set(agent.agentId, agent);
      added.push(ref);
    }
  }
  desired.push(...groups);
  added.push(...groups);
  const add = [...agentsAdded.keys()];
  const remove = [...current.acd.agentIds].filter((a) => !target.has(a));
  const removed = remove.map((a) => members.get(a) as MemberRef);
  const displayName = request.displayName ?? current.group.displayName;
  return {
    desired,
    plan: { added, removed, unchangedCount: target.size - add.length, duplicates },
    displayName,
    write: { id: current.group.id, displayName, members: desired, extra: {} },
    acd: { target, add, remove, unresolved, members, agentsAdded, groups, currentName: current.group.displayName },
  };
}

function validateChange(change: AcdChange): MemberError[] {
  const errors: MemberError[] = [];
  for (const member of change.acd.groups) {
    errors.push({ code: 'group_member_not_supported', member, message: `Group ${JSON.stringify(member.value)} cannot be a member: CXone ACD groups hold agents only and do not nest` });
  }
  for (const member of change.acd.unresolved) {
    errors.push({ code: 'user_not_found', member, message: `User ${JSON.stringify(member.value)} matches no CXone agent (by userID or userName)` });
  }
  for (const [agentId, agent] of change.acd.agentsAdded) {
    if (agent.isActive === false) {
      const member = change.acd.members.get(agentId) as MemberRef;
      errors.push({ code: 'user_inactive', member, message: `User ${JSON.stringify(member.value)} (agent ${agentId}) is not active` });
    }
  }
  for (const member of change.plan.duplicates) {
    errors.push({ code: 'duplicate_member', member, message: `${member.type} ${JSON.stringify(member.value)} appears more than once in members` });
  }
  return errors;
}

function nameFailures(refusals: readonly AgentRefusal[], members: ReadonlyMap<number, MemberRef>): AgentFailure[] {
  return refusals.map((r) => ({
    member: members.get(r.agentId) ?? { value: String(r.agentId), type: 'User' },
    agentId: r.agentId,
    action: r.action,
    error: r.error,
    ...(r.status === undefined ? {} : { status: r.status }),
  }));
}

type Verdict = Exclude<WriteVerdict, { readonly kind: 'wrong' }> | { readonly kind: 'wrong'; readonly wrong: readonly number[]; readonly actual: readonly number[] };

/**
 * Does CXone hold what was written? In proportion to the change: when fewer agents changed
 * than the group has pages, each changed agent's own group list (`GET /agents/{id}/groups`);
 * otherwise the group's pages, which also show another writer's change.
 */
async function verify(adminApi: AdminApiClient, gid: number, change: AcdChange, before: ReadonlySet<number>, pageSize: number, ctx: RequestContext): Promise<Verdict> {
  const { target, add, remove } = change.acd;
  const changed = [...remove, ...add];
  if (changed.length === 0) return { kind: 'held' };
  const pages = Math.max(1, Math.ceil(target.size / pageSize));
  if (changed.length < pages) {
    const lists = await Promise.all(changed.map((agentId) => adminApi.getAgentGroups(agentId, ctx)));
    const wrong = changed.filter((agentId, i) => (lists[i]?.some((g) => g.groupId === gid) ?? false) !== target.has(agentId));
    if (wrong.length === 0) return { kind: 'held' };
    const actual = [...target].filter((a) => !wrong.includes(a)).concat(wrong.filter((a) => !target.has(a)));
    return { kind: 'wrong', wrong, actual };
  }
  const present = await groupAgentIds(adminApi, gid, ctx);
  if (present === null) throw new GroupNotFoundError(String(gid));
  const touched = touchedAgents(before, target);
  const wrong = touched.filter((a) => present.has(a) !== target.has(a));
  if (wrong.length > 0) return { kind: 'wrong', wrong, actual: [...present] };
  const equal = present.size === target.size && [...target].every((a) => present.has(a));
  return equal ? { kind: 'held' } : { kind: 'overtaken' };
}

/** Upstream requests of a sync that writes without trouble: the issue's formula, for tests and the benchmark. */
export function expectedCost(n: number, added: number, removed: number, verifications: number, page = ACD_PAGE_SIZE, batch = ACD_MAX_BATCH): number {
  return 2 + Math.max(1, Math.ceil(n / page)) + Math.ceil(added / batch) + Math.ceil(removed / batch) + verifications;
}

/** The verification reads this backend makes for a change: the changed agents' lists when fewer than the target's pages, else the target's pages. */
export function verificationReads(targetSize: number, changed: number, page = ACD_PAGE_SIZE): number {
  if (changed === 0) return 0;
  const pages = Math.max(1, Math.ceil(targetSize / page));
  return changed < pages ? changed : pages;
}

