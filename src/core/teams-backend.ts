/**
 * The `teams` membership backend: the synced group is a CXone team, and its members are the
 * agents whose `teamId` it is. Every CXone user is in exactly one team, so adding a user
 * moves it here from its team, and removing one moves it to the fallback team
 * (TEAMS_FALLBACK_TEAM_ID). Writes are batched `PUT /agents` with `teamId`
 * (AdminApiClient.updateAgentTeams), answered agent by agent.
 *
 * - Members are SCIM users: their value is the agent's `userID` (its SCIM id), else its
 *   `userName`, else its agentId. Desired values resolve through the agent map (userID
 *   first, userName second) and are planned by the agent they name.
 * - The team's displayName is its id: the admin API offers no team listing, and
 *   user-management's teams (`/user-management/v3/teams/{teamId}`) are keyed by UUID, a
 *   second API and a request per sync for a name. A displayName sent with the sync is not
 *   applied (teams are not renamed here).
 * - Validation before the first write: unknown users (user_not_found), inactive agents
 *   (user_inactive), `Group` members (teams hold users), duplicates, and users who sit in
 *   another team this service also syncs (member_in_other_team: moving them would take them
 *   out of that team's synced membership) unless `moveFromOther`.
 * - All or nothing in the end: each batch is journaled before it is sent (MembershipJournal,
 *   `before.teams` = agentId → team before the sync); removals go first; every per-agent
 *   answer is read, a lost answer is read back rather than assumed. When any agent fails,
 *   the agents this sync moved are moved back to their teams, that is verified, and the
 *   sync fails with 502 naming each failed member and the provider's error; a failed undo
 *   is `rollback_failed` and leaves the journal open for prepare() to finish.
 * - Verification: the moved agents' `teamId` is read again (the agent map refreshed with
 *   updateSince): `applied` only when the team holds exactly the desired members.
 *
 * Upstream cost of a sync that adds a and removes r: 1 (the team, a map refresh)
 * + ceil(r / batch) + ceil(a / batch) + 1 (verification), plus one map refresh when a value
 * is not in the map.
 */
import { AgentWriteFailedError, describeAgentFailures, GroupNotFoundError, OutcomeUnknownError, RollbackFailedError, ValidationFailedError, WriteNotAppliedError, type AgentFailure, type MemberError } from './errors.js';
import type { DesiredMembership, GroupSnapshot, MemberRef } from './membership.js';
import type { WriteMode } from './outcome.js';
import { compareMembers, planMembership } from './plan.js';
import type {
  AdminAgent,
  AdminApiClient,
  AgentDirectory,
  Applied,
  BatchOutcome,
  Clock,
  JournalEntry,
  MembershipBackend,
  MembershipChange,
  MembershipJournal,
  RequestContext,
  SyncedGroups,
  TeamChange,
  WriteTrace,
} from './ports.js';

const ADMIN_API_WRITE: WriteMode = 'admin-api';

export interface TeamsBackendOptions {
  readonly agents: AgentDirectory;
  readonly adminApi: Pick<AdminApiClient, 'updateAgentTeams'>;
  readonly journal: MembershipJournal;
  /** Which other teams this service syncs (member_in_other_team). */
  readonly syncedGroups: SyncedGroups;
  readonly clock: Clock;
  /** TEAMS_FALLBACK_TEAM_ID: where removed users go. */
  readonly fallbackTeamId: number;
  /** TEAMS_MOVE_FROM_OTHER: take users out of other synced teams instead of refusing them. */
  readonly moveFromOther: boolean;
  /** Agents per `PUT /agents`. Default 1,000. */
  readonly batchSize?: number;
  /** A journal key when the context names no sync. */
  readonly newId?: () => string;
}

/** The change one attempt plans: who each desired value is, and the agents of the team as read. */
interface TeamChangePlan extends MembershipChange {
  readonly teamId: number;
  /** Desired value → its agent (values without one are not here). */
  readonly resolved: ReadonlyMap<string, AdminAgent>;
  /** Members as sent whose type is Group. */
  readonly groups: readonly MemberRef[];
  /** Member value (canonical) → agent, for everyone the plan adds or removes. */
  readonly agentOf: ReadonlyMap<string, AdminAgent>;
}

export function createTeamsBackend(options: TeamsBackendOptions): MembershipBackend {
  const batchSize = options.batchSize ?? 1000;
  const { agents, journal } = options;
  /** The agents of each team as read, by member value: for the plan's removals. */
  const readAgents = new WeakMap<GroupSnapshot, ReadonlyMap<string, AdminAgent>>();
  let counter = 0;
  const newId = options.newId ?? (() => `teams-${options.clock.now()}-${++counter}`);

  async function read(groupId: string, ctx: RequestContext): Promise<GroupSnapshot> {
    const teamId = teamIdOf(groupId);
    const members = await agents.inTeam(teamId, ctx);
    const byValue = new Map<string, AdminAgent>();
    for (const agent of members) byValue.set(memberValue(agent), agent);
    const snapshot: GroupSnapshot = {
      group: { id: groupId, displayName: String(teamId), members: [...byValue.keys()].map((value) => ({ value, type: 'User' as const })), extra: {} },
      etag: null,
    };
    readAgents.set(snapshot, byValue);
    return snapshot;
  }

  async function plan(groupId: string, desired: DesiredMembership, current: GroupSnapshot, ctx: RequestContext): Promise<TeamChangePlan> {
    const teamId = teamIdOf(groupId);
    const groups = desired.members.filter((m) => m.type === 'Group').map((m) => ({ value: m.value, type: 'Group' as const }));
    const values = desired.members.filter((m) => m.type !== 'Group').map((m) => m.value);
    const resolved = values.length > 0 ? await agents.resolve([...new Set(values)], ctx) : new Map<string, AdminAgent>();
    // Planned by agent: a user sent by userName is the same member as by userID.
    const members: MemberRef[] = desired.members.map((m) => {
      if (m.type === 'Group') return { value: m.value, type: 'Group' };
      const agent = resolved.get(m.value);
      return { value: agent === undefined ? m.value : memberValue(agent), type: 'User' };
    });
    const membership = planMembership(current.group.members, members);
    const agentOf = new Map<string, AdminAgent>(readAgents.get(current) ?? []);
    for (const agent of resolved.values()) agentOf.set(memberValue(agent), agent);
    const displayName = current.group.displayName;
    return {
      teamId,
      desired: members,
      plan: membership,
      displayName,
      write: { id: groupId, displayName, members: members.map((m) => ({ value: m.value, type: m.type })), extra: {} },
      resolved,
      groups,
      agentOf,
    };
  }

  async function validate(_groupId: string, change: MembershipChange, _ctx: RequestContext): Promise<void> {
    const ours = change as TeamChangePlan;
    const errors: MemberError[] = [];
    for (const member of ours.plan.duplicates) {
      errors.push({ code: 'duplicate_member', member, message: `member ${JSON.stringify(member.value)} is listed more than once (or names the same agent twice)` });
    }
    const groupValues = new Set(ours.groups.map((g) => g.value));
    const others = new Map<number, MemberRef[]>();
    for (const member of ours.plan.added) {
      if (member.type === 'Group' || groupValues.has(member.value)) {
        errors.push({ code: 'group_member_not_supported', member, message: `teams hold users only and do not nest: ${JSON.stringify(member.value)} is a Group member` });
        continue;
      }
      const agent = ours.agentOf.get(member.value);
      if (agent === undefined) {
        errors.push({ code: 'user_not_found', member, message: `user ${JSON.stringify(member.value)} is no CXone agent (no agent has it as userID or userName)` });
      } else if (agent.isActive === false) {
        errors.push({ code: 'user_inactive', member, message: `user ${JSON.stringify(member.value)} (agent ${agent.agentId}) is inactive` });
      } else if (!options.moveFromOther && agent.teamId !== undefined && agent.teamId !== ours.teamId && agent.teamId !== options.fallbackTeamId) {
        others.set(agent.teamId, [...(others.get(agent.teamId) ?? []), member]);
      }
    }
    if (others.size > 0) {
      const synced = await syncedTeams([...others.keys()]);
      for (const [otherTeam, members] of others) {
        if (!synced.has(otherTeam)) continue;
        for (const member of members) {
          errors.push({
            code: 'member_in_other_team',
            member,
            message: `user ${JSON.stringify(member.value)} is in team ${otherTeam}, which this service also syncs; moving it here would take it out of that team (TEAMS_MOVE_FROM_OTHER=true allows it)`,
          });
        }
      }
    }
    if (errors.length > 0) throw new ValidationFailedError(errors);
  }

  /** The teams among `teamIds` that this service syncs: in the audit trail, or with a write journaled. */
  async function syncedTeams(teamIds: readonly number[]): Promise<Set<number>> {
    const [recorded, open] = await Promise.all([options.syncedGroups.synced('teams', teamIds.map(String)), journal.openEntries({ backend: 'teams' })]);
    const journaled = new Set(open.map((entry) => entry.groupId));
    return new Set(teamIds.filter((id) => recorded.has(String(id)) || journaled.has(String(id))));
  }

  async function apply(groupId: string, _snapshot: GroupSnapshot, change: MembershipChange, ctx: RequestContext, trace: WriteTrace): Promise<Applied> {
    const ours = change as TeamChangePlan;
    const teamId = ours.teamId;
    const syncId = ctx.syncId ?? newId();
    const removals = ours.plan.removed.map((member) => ({ member, agent: ours.agentOf.get(member.value) as AdminAgent }));
    const additions = ours.plan.added.map((member) => ({ member, agent: ours.agentOf.get(member.value) as AdminAgent }));
    const before: Record<string, number> = {};
    const target: Record<string, number> = {};
    for (const { agent } of removals) {
      before[agent.agentId] = teamId;
      target[agent.agentId] = options.fallbackTeamId;
    }
    for (const { agent } of additions) {
      before[agent.agentId] = agent.teamId ?? options.fallbackTeamId;
      target[agent.agentId] = teamId;
    }
    trace.written = { added: ours.plan.added, removed: ours.plan.removed, writeMode: ADMIN_API_WRITE, etagAfter: null };
    await journal.open({ syncId, backend: 'teams', groupId, before: { teams: before }, target: { teams: target }, openedAt: new Date(options.clock.now()).toISOString() });

    // Write: removals first (nobody keeps access they should lose), each batch journaled before it is sent.
    const memberOf = new Map<number, MemberRef>([...removals, ...additions].map(({ member, agent }) => [agent.agentId, member]));
    const sent: number[] = [];
    const failed: AgentFailure[] = [];
    const removing = new Set(removals.map(({ agent }) => agent.agentId));
    let thrown: unknown;
    try {
      for (const [moves, toTeam] of [
        [removals, options.fallbackTeamId],
        [additions, teamId],
      ] as const) {
        for (const batch of chunks(moves.map((m) => m.agent.agentId), batchSize)) {
          if (failed.length > 0) break;
          const outcome = await moveAgents(syncId, batch, toTeam, false, ctx);
          sent.push(...batch);
          for (const failure of outcome.failed) {
            failed.push({
              member: memberOf.get(failure.agentId) as MemberRef,
              agentId: failure.agentId,
              action: removing.has(failure.agentId) ? 'remove' : 'add',
              error: failure.error,
              ...(outcome.status > 0 ? { status: outcome.status } : {}),
            });
          }
        }
      }
    } catch (error) {
      // The batch that threw was not applied (a refusal without per-agent results, a 429 that outlasted the retries); the earlier ones are undone.
      thrown = error;
    }

    if (failed.length > 0 || thrown !== undefined) {
      const failedIds = new Set(failed.map((f) => f.agentId));
      await undo(syncId, teamId, sent.filter((id) => !failedIds.has(id)), before, ctx, thrown, memberOf, failed);
      await journal.close(syncId);
      if (thrown !== undefined) throw thrown;
      throw new AgentWriteFailedError(failed);
    }

    // Verify: the team as CXone now says it is.
    await journal.setPhase(syncId, 'verifying');
    const held = await agents.inTeam(teamId, ctx);
    const gap = compareMembers(
      ours.desired.filter((m) => m.type === 'User'),
      held.map((agent) => ({ value: memberValue(agent), type: 'User' as const })),
    );
    await journal.close(syncId);
    if (!gap.equal) {
      throw new WriteNotAppliedError(
        `team ${teamId} does not hold what was written: ${gap.missingCount} desired members are missing and ${gap.extraCount} other members are present (consistencyRate ${Math.round(gap.consistencyRate * 1000) / 1000}); the admin API gives teams no version, so another writer cannot be told apart`,
        gap,
      );
    }
    return { kind: 'applied', etag: null, writeMode: ADMIN_API_WRITE };
  }

  /**
   * One journaled `PUT /agents`. An agent the answer does not report, or a batch whose
   * answer was lost, is read back: moved counts as done, not moved as failed.
   */
  async function moveAgents(syncId: string, agentIds: readonly number[], toTeam: number, isUndo: boolean, ctx: RequestContext): Promise<BatchOutcome> {
    const index = await journal.begin(syncId, { action: 'team', agentIds, teamId: toTeam, undo: isUndo });
    let outcome: BatchOutcome;
    let lost = false;
    try {
      outcome = await options.adminApi.updateAgentTeams(
        agentIds.map((agentId): TeamChange => ({ agentId, teamId: toTeam })),
        ctx,
      );
    } catch (error) {
      if (!(error instanceof OutcomeUnknownError)) {
        await journal.end(syncId, index, 'failed');
        throw error;
      }
      lost = true;
      outcome = { status: 0, errorCount: 0, succeeded: [], failed: [], unreported: [...agentIds] };
    }
    if (outcome.unreported.length > 0) {
      const now = await readTeams(outcome.unreported, ctx);
      const moved = outcome.unreported.filter((id) => now.get(id) === toTeam);
      const notMoved = outcome.unreported.filter((id) => now.get(id) !== toTeam);
      outcome = {
        ...outcome,
        succeeded: [...outcome.succeeded, ...moved],
        failed: [...outcome.failed, ...notMoved.map((agentId) => ({ agentId, error: lost ? 'the answer was lost, and the agent is not in the team' : 'not reported by CXone, and the agent is not in the team' }))],
        unreported: [],
      };
    }
    await journal.end(syncId, index, outcome.failed.length > 0 ? 'failed' : lost ? 'unknown' : 'done', outcome.failed.length > 0 ? outcome.failed : undefined);
    return outcome;
  }

  /** Each agent's team as the admin API says now (the map refreshed once). */
  async function readTeams(agentIds: readonly number[], ctx: RequestContext): Promise<Map<number, number | undefined>> {
    await agents.refresh(ctx);
    const found = await agents.byAgentIds(agentIds, ctx);
    return new Map(agentIds.map((id) => [id, found.get(id)?.teamId]));
  }

  /** Moves `agentIds` back to their team in `before`, then checks that they are there. */
  async function undo(
    syncId: string,
    teamId: number,
    agentIds: readonly number[],
    before: Readonly<Record<string, number>>,
    ctx: RequestContext,
    writeError?: unknown,
    memberOf: ReadonlyMap<number, MemberRef> = new Map(),
    writeFailures: readonly AgentFailure[] = [],
  ): Promise<void> {
    await journal.setPhase(syncId, 'undoing');
    if (agentIds.length === 0) return;
    const byTeam = new Map<number, number[]>();
    for (const id of agentIds) {
      const back = before[id];
      if (back === undefined) continue;
      byTeam.set(back, [...(byTeam.get(back) ?? []), id]);
    }
    let cause: unknown;
    try {
      for (const [back, ids] of byTeam) for (const batch of chunks(ids, batchSize)) await moveAgents(syncId, batch, back, true, ctx);
    } catch (error) {
      cause = error;
    }
    const failed = (misplaced: readonly { agentId: number; teamId: number | undefined }[], reason: string, members: readonly MemberRef[] | null, errorCause: unknown): RollbackFailedError => {
      const undoFailures = misplaced.map(
        ({ agentId, teamId: now }): AgentFailure => ({
          member: memberOf.get(agentId) ?? { value: String(agentId), type: 'User' },
          agentId,
          action: before[agentId] === teamId ? 'remove' : 'add',
          error: `not back in team ${before[agentId]} (in team ${now ?? 'unknown'})`,
        }),
      );
      const all = [...writeFailures, ...undoFailures];
      return new RollbackFailedError(
        `${writeFailures.length > 0 ? `${describeAgentFailures(writeFailures)}; ` : ''}undoing what this sync wrote to team ${teamId} failed (${reason}); agents may sit in the wrong team: the journal stays open, and the next sync of this team and the next start finish the undo`,
        members,
        all,
        errorCause === undefined ? undefined : { cause: errorCause },
      );
    };
    let now: Map<number, number | undefined>;
    try {
      now = await readTeams(agentIds, ctx);
    } catch (error) {
      throw failed([], `the teams could not be read back: ${error instanceof Error ? error.message : String(error)}`, null, cause ?? error ?? writeError);
    }
    const misplaced = agentIds.filter((id) => before[id] !== undefined && now.get(id) !== before[id]).map((id) => ({ agentId: id, teamId: now.get(id) }));
    if (misplaced.length > 0 || cause !== undefined) {
      let members: MemberRef[] | null = null;
      try {
        members = (await agents.inTeam(teamId, ctx)).map((agent) => ({ value: memberValue(agent), type: 'User' as const }));
      } catch {
        // The team as it stands could not be read: the answer says so (members: null).
      }
      const reason = misplaced.length > 0 ? `${misplaced.length} agent${misplaced.length === 1 ? ' is' : 's are'} not back in their team` : `a move back failed: ${cause instanceof Error ? cause.message : String(cause)}`;
      throw failed(misplaced, reason, members, cause);
    }
  }

  /**
   * Before the team's first read: a write an earlier sync left open is finished. When all
   * its steps answered (verifying) and every agent is where it was sent, it stands;
   * otherwise every agent it names goes back to its team before that sync.
   */
  async function prepare(groupId: string, ctx: RequestContext): Promise<void> {
    const open = await journal.openEntries({ backend: 'teams', groupId });
    for (const entry of open) await recover(entry, ctx);
  }

  async function recover(entry: JournalEntry, ctx: RequestContext): Promise<void> {
    const teamId = teamIdOf(entry.groupId);
    const before = entry.before.teams ?? {};
    const target = entry.target.teams ?? {};
    const agentIds = Object.keys(before).map(Number);
    const now = await readTeams(agentIds, ctx);
    if (entry.phase === 'verifying' && agentIds.every((id) => now.get(id) === target[id])) {
      // Every step answered and every agent is where it was sent: the write stands.
      await journal.close(entry.syncId);
      return;
    }
    await undo(entry.syncId, teamId, agentIds.filter((id) => now.get(id) !== before[id]), before, ctx);
    await journal.close(entry.syncId);
  }

  return {
    name: 'teams',
    prepare,
    read,
    plan,
    validate,
    apply: (groupId, snapshot, change, ctx, trace) => apply(groupId, snapshot, change, ctx, trace),
  };
}

/** A team id: a positive integer; anything else names no team. */
function teamIdOf(groupId: string): number {
  if (!/^[1-9]\d{0,14}$/.test(groupId)) throw new GroupNotFoundError(groupId);
  return Number(groupId);
}

/** An agent as a SCIM member: its userID (the SCIM id), else its userName, else its agentId. */
export function memberValue(agent: AdminAgent): string {
  if (agent.userId !== undefined && agent.userId !== '') return agent.userId;
  if (agent.userName !== undefined && agent.userName !== '') return agent.userName;
  return String(agent.agentId);
}

/** Splits `items` into batches of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
