/**
 * The `teams` membership backend: the synced group is a CXone team, and its members are the
 * agents whose team it is. Every CXone user is in exactly one team, so adding a user
 * moves it here from its team, and removing one moves it to the fallback team
 * (TEAMS_FALLBACK_TEAM_ID). Writes are batched `PUT /agents` with `teamId` or `teamUuid`
 * (AdminApiClient.updateAgentTeams), answered agent by agent.
 *
 * - A team has two ids (./team-ref.ts): the admin API's integer `teamId` (what the sync
 *   route has always taken) and user-management's `id`, a UUID, which agents carry as
 *   `teamUuId`. Nothing published maps one to the other except an agent in the team, so
 *   the group id names the team by either, and the backend keeps to the form it was given:
 *   members are the agents whose `teamId` (or `teamUuId`) it is, and moves name the team
 *   the same way. A team's id in the SCIM front door is its UUID: user-management lists,
 *   reads and creates teams by it (listGroups, describeGroup, createGroup), and a team no
 *   agent sits in has no integer id any published call shows.
 * - A UUID id is looked up first (`GET /user-management/v3/teams/{id}`): a team that is
 *   not there is group_not_found before anything is written, and the team's displayName
 *   is its name. An integer id cannot be looked up (nothing reads a team by its integer),
 *   so its displayName is the id, and an unknown one reads as an empty team.
 *
 * - Members are SCIM users: their value is the agent's `userID` (its SCIM id), else its
 *   `userName`, else its agentId. Desired values resolve through the agent map (userID
 *   first, userName second) and are planned by the agent they name.
 * - Rename: a displayName sent for a team known by its UUID that differs from its name renames
 *   it (`PUT /user-management/v3/teams` with the fields GET answered and the new name), last,
 *   once the members are written and verified, as acd-groups renames an ACD group: a failed
 *   rename leaves the members written, and a retry only renames. A name another team has
 *   (any case) is refused in validation, before anything is written, as user-management
 *   would refuse it: UpstreamError 409 `uniqueness` (SCIM 409 uniqueness; the sync route
 *   502 upstream_error, as the scim-groups provider's 409). A team named by its integer
 *   teamId cannot be read or written by name, so a displayName sent for it is not applied:
 *   its displayName stays the id, which the answer shows (docs/cxone.md).
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
 * - Verification: the moved agents' team is read again (the agent map refreshed with
 *   updateSince): `applied` only when the team holds exactly the desired members.
 *
 * Upstream cost of a sync that adds a and removes r: 1 (the team, a map refresh; plus 1,
 * the team's lookup, for a UUID id)
 * + ceil(r / batch) + ceil(a / batch) + 1 (verification), plus one map refresh when a value
 * is not in the map; a rename adds the name's search and the PUT.
 */
import {
  describeAgentFailures,
  GroupNotFoundError,
  OutcomeUnknownError,
  RollbackFailedError,
  UpstreamError,
  ValidationFailedError,
  WriteNotAppliedError,
  type AgentFailure,
  type MemberError,
} from './errors.js';
import { canonicalSha256 } from './canonical-json.js';
import { appendRecoveryRecord, type RecoveredEntry } from './journal-recovery.js';
import { runJournaledWrite, type WriteStepResult, type WriteVerdict } from './journaled-write.js';
import type { DesiredMembership, GroupSnapshot, MemberRef } from './membership.js';
import { isInTeam, sameTeam, teamRefOf } from './team-ref.js';
import type { WriteMode } from './outcome.js';
import { compareMembers, planMembership } from './plan.js';
import type {
  AdminAgent,
  AdminApiClient,
  AgentDirectory,
  Applied,
  AuditLog,
  BatchOutcome,
  Clock,
  CxoneTeam,
  GroupListQuery,
  GroupSummary,
  JournalEntry,
  MembershipBackend,
  MembershipChange,
  MembershipJournal,
  RequestContext,
  SyncedGroups,
  TeamChange,
  TeamRef,
  WriteTrace,
} from './ports.js';

const ADMIN_API_WRITE: WriteMode = 'admin-api';

export interface TeamsBackendOptions {
  readonly agents: AgentDirectory;
  /** `updateAgentTeams`; with `searchTeams`, `getTeam`, `createTeam` and `updateTeam` (user-management), teams are also listed, looked up, created and renamed. */
  readonly adminApi: Pick<AdminApiClient, 'updateAgentTeams' | 'searchTeams' | 'getTeam' | 'createTeam' | 'updateTeam'>;
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
  /**
   * Where a write a crash left open is recorded once it is finished (completed or moved
   * back), as acd-groups records its own (../core/journal-recovery.ts); without it, nothing is.
   */
  readonly audit?: AuditLog;
  /** The ids of those records and of their events. */
  readonly newSyncId?: () => string;
  readonly newEventId?: () => string;
}

/** The change one attempt plans: who each desired value is, and the agents of the team as read. */
interface TeamChangePlan extends MembershipChange {
  readonly team: TeamRef;
  /** Desired value → its agent (values without one are not here). */
  readonly resolved: ReadonlyMap<string, AdminAgent>;
  /** Members as sent whose type is Group. */
  readonly groups: readonly MemberRef[];
  /** Member value (canonical) → agent, for everyone the plan adds or removes. */
  readonly agentOf: ReadonlyMap<string, AdminAgent>;
  /** The team as user-management answered it, with the new name: a rename asked for (a UUID team whose name differs), else undefined. */
  readonly rename: CxoneTeam | undefined;
}

export function createTeamsBackend(options: TeamsBackendOptions): MembershipBackend {
  const batchSize = options.batchSize ?? 1000;
  const { agents, journal } = options;
  /** The agents of each team as read, by member value: for the plan's removals. */
  const readAgents = new WeakMap<GroupSnapshot, ReadonlyMap<string, AdminAgent>>();
  /** The team of each snapshot of a UUID id, as user-management answered it: what a rename sends back. */
  const readTeamOf = new WeakMap<GroupSnapshot, CxoneTeam>();
  let counter = 0;
  const newId = options.newId ?? (() => `teams-${options.clock.now()}-${++counter}`);
  const recordIds = options.newSyncId ?? (() => `recovery-${options.clock.now()}-${++counter}`);
  const eventIds = options.newEventId ?? (() => `msg_recovery-${options.clock.now()}-${++counter}`);

  /**
   * The team's name: a UUID id is looked up (GroupNotFoundError when user-management has no
   * such team, or when the client cannot look it up); an integer id is its own name.
   */
  async function nameOf(groupId: string, team: TeamRef, ctx: RequestContext): Promise<string> {
    return (await lookUp(groupId, team, ctx))?.name ?? groupId;
  }

  /** The team as user-management answers it for a UUID id (GroupNotFoundError when there is none); undefined for an integer id. */
  async function lookUp(groupId: string, team: TeamRef, ctx: RequestContext): Promise<CxoneTeam | undefined> {
    if (typeof team === 'number') return undefined;
    if (options.adminApi.getTeam === undefined) throw new GroupNotFoundError(groupId);
    const found = await options.adminApi.getTeam(team, ctx);
    if (found === null) throw new GroupNotFoundError(groupId);
    return found;
  }

  async function read(groupId: string, ctx: RequestContext): Promise<GroupSnapshot> {
    const team = teamOf(groupId);
    const found = await lookUp(groupId, team, ctx);
    const displayName = found?.name ?? groupId;
    const members = await agents.inTeam(team, ctx);
    const byValue = new Map<string, AdminAgent>();
    for (const agent of members) byValue.set(memberValue(agent), agent);
    const snapshot: GroupSnapshot = {
      group: { id: groupId, displayName, members: [...byValue.keys()].map((value) => ({ value, type: 'User' as const })), extra: {} },
      etag: null,
    };
    readAgents.set(snapshot, byValue);
    if (found !== undefined) readTeamOf.set(snapshot, found);
    return snapshot;
  }

  async function plan(groupId: string, desired: DesiredMembership, current: GroupSnapshot, ctx: RequestContext): Promise<TeamChangePlan> {
    const team = teamOf(groupId);
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
    // A new name for a team known by its UUID (integer ids cannot be renamed: they keep their name, the id).
    const known = readTeamOf.get(current);
    const asked = desired.displayName;
    const rename = known !== undefined && asked !== undefined && asked !== known.name ? { ...known, name: asked } : undefined;
    const displayName = rename?.name ?? current.group.displayName;
    return {
      team,
      desired: members,
      plan: membership,
      displayName,
      write: { id: groupId, displayName, members: members.map((m) => ({ value: m.value, type: m.type })), extra: {} },
      resolved,
      groups,
      agentOf,
      rename,
    };
  }

  async function validate(_groupId: string, change: MembershipChange, ctx: RequestContext): Promise<void> {
    const ours = change as TeamChangePlan;
    const errors: MemberError[] = [];
    for (const member of ours.plan.duplicates) {
      errors.push({ code: 'duplicate_member', member, message: `member ${JSON.stringify(member.value)} is listed more than once (or names the same agent twice)` });
    }
    const groupValues = new Set(ours.groups.map((g) => g.value));
    /** Other teams (by integer teamId) → their user-management id when known, and the members in them. */
    const others = new Map<number, { uuid: string | undefined; members: MemberRef[] }>();
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
      } else if (!options.moveFromOther && agent.teamId !== undefined && !isInTeam(agent, ours.team) && agent.teamId !== options.fallbackTeamId) {
        const other = others.get(agent.teamId) ?? { uuid: agent.teamUuId, members: [] };
        other.members.push(member);
        others.set(agent.teamId, other);
      }
    }
    if (others.size > 0) {
      const synced = await syncedTeams(others);
      for (const [otherTeam, { members }] of others) {
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
    if (ours.rename !== undefined) await checkNameFree(ours.rename, ctx);
  }

  /**
   * A new name another team has (any case) is refused before anything is written, as
   * user-management refuses it (409): the check spares the members a write that the rename
   * would then fail. Without a search the PUT's own 409 is the check.
   */
  async function checkNameFree(team: CxoneTeam, ctx: RequestContext): Promise<void> {
    if (options.adminApi.searchTeams === undefined) return;
    const wanted = team.name.toLowerCase();
    const holder = (await options.adminApi.searchTeams({ name: team.name }, ctx)).find((other) => other.name.toLowerCase() === wanted && other.id.toLowerCase() !== team.id.toLowerCase());
    if (holder !== undefined) {
      throw new UpstreamError(`displayName ${JSON.stringify(team.name)} is taken: CXone team ${holder.id} has that name, and team names are unique`, {
        status: 409,
        scimType: 'uniqueness',
        detail: `a team named ${JSON.stringify(holder.name)} exists already`,
      });
    }
  }

  /** The teams among `teams` that this service syncs under either id: in the audit trail, or with a write journaled. */
  async function syncedTeams(teams: ReadonlyMap<number, { readonly uuid: string | undefined }>): Promise<Set<number>> {
    const ids = [...teams].flatMap(([teamId, { uuid }]) => (uuid === undefined ? [String(teamId)] : [String(teamId), uuid]));
    const [recorded, open] = await Promise.all([options.syncedGroups.synced('teams', ids), journal.openEntries({ backend: 'teams' })]);
    const known = new Set([...recorded, ...open.map((entry) => entry.groupId)].map((id) => id.toLowerCase()));
    return new Set([...teams].filter(([teamId, { uuid }]) => known.has(String(teamId)) || (uuid !== undefined && known.has(uuid.toLowerCase()))).map(([teamId]) => teamId));
  }

  async function apply(groupId: string, _snapshot: GroupSnapshot, change: MembershipChange, ctx: RequestContext, trace: WriteTrace): Promise<Applied> {
    const ours = change as TeamChangePlan;
    const team = ours.team;
    const syncId = ctx.syncId ?? newId();
    const removals = ours.plan.removed.map((member) => ({ member, agent: ours.agentOf.get(member.value) as AdminAgent }));
    const additions = ours.plan.added.map((member) => ({ member, agent: ours.agentOf.get(member.value) as AdminAgent }));
    const before: Record<string, TeamRef> = {};
    const target: Record<string, TeamRef> = {};
    for (const { agent } of removals) {
      before[agent.agentId] = team;
      target[agent.agentId] = options.fallbackTeamId;
    }
    for (const { agent } of additions) {
      before[agent.agentId] = agent.teamId ?? options.fallbackTeamId;
      target[agent.agentId] = team;
    }
    trace.written = { added: ours.plan.added, removed: ours.plan.removed, writeMode: ADMIN_API_WRITE, etagAfter: null };
    await journal.open({ syncId, backend: 'teams', groupId, before: { teams: before }, target: { teams: target }, openedAt: new Date(options.clock.now()).toISOString() });

    // Write: removals first (nobody keeps access they should lose), each batch journaled before it is sent.
    const memberOf = new Map<number, MemberRef>([...removals, ...additions].map(({ member, agent }) => [agent.agentId, member]));
    const sent: number[] = [];
    const removing = new Set(removals.map(({ agent }) => agent.agentId));
    /** One `PUT /agents` of a batch; an error it throws stops the write (the batch was not applied: a refusal without per-agent results, a 429 that outlasted the retries), and the earlier batches are undone. */
    const step = (batch: readonly number[], toTeam: TeamRef) => async (): Promise<WriteStepResult> => {
      let outcome: BatchOutcome;
      try {
        outcome = await moveAgents(syncId, batch, toTeam, false, ctx);
      } catch (error) {
        return { failed: [], thrown: error };
      }
      sent.push(...batch);
      return {
        failed: outcome.failed.map((failure) => ({
          member: memberOf.get(failure.agentId) as MemberRef,
          agentId: failure.agentId,
          action: removing.has(failure.agentId) ? 'remove' : 'add',
          error: failure.error,
          ...(outcome.status > 0 ? { status: outcome.status } : {}),
        })),
      };
    };
    function* steps() {
      for (const batch of chunks(removals.map((m) => m.agent.agentId), batchSize)) yield step(batch, options.fallbackTeamId);
      for (const batch of chunks(additions.map((m) => m.agent.agentId), batchSize)) yield step(batch, team);
    }

    await runJournaledWrite({
      journal,
      syncId,
      steps: steps(),
      undo: async (failed, thrown) => {
        const failedIds = new Set(failed.map((f) => f.agentId));
        await undo(syncId, team, sent.filter((id) => !failedIds.has(id)), before, ctx, thrown, memberOf, failed);
      },
      // Verify: the team as CXone now says it is.
      async verify(): Promise<WriteVerdict> {
        const held = await agents.inTeam(team, ctx);
        const gap = compareMembers(
          ours.desired.filter((m) => m.type === 'User'),
          held.map((agent) => ({ value: memberValue(agent), type: 'User' as const })),
        );
        if (gap.equal) return { kind: 'held' };
        return {
          kind: 'wrong',
          undo: false,
          error: () =>
            new WriteNotAppliedError(
              `team ${team} does not hold what was written: ${gap.missingCount} desired members are missing and ${gap.extraCount} other members are present (consistencyRate ${Math.round(gap.consistencyRate * 1000) / 1000}); the admin API gives teams no version, so another writer cannot be told apart`,
              gap,
            ),
        };
      },
    });
    // A new name goes last, once the members are verified: a failed rename leaves them written, and a retry only renames.
    if (ours.rename !== undefined) {
      if (options.adminApi.updateTeam === undefined) throw new UpstreamError(`team ${team} cannot be renamed: this client has no PUT /user-management/v3/teams`, { status: 501 });
      await options.adminApi.updateTeam(ours.rename, ctx);
    }
    return { kind: 'applied', etag: null, writeMode: ADMIN_API_WRITE };
  }

  /**
   * One journaled `PUT /agents`. An agent the answer does not report, or a batch whose
   * answer was lost, is read back: moved counts as done, not moved as failed.
   */
  async function moveAgents(syncId: string, agentIds: readonly number[], toTeam: TeamRef, isUndo: boolean, ctx: RequestContext): Promise<BatchOutcome> {
    const index = await journal.begin(syncId, { action: 'team', agentIds, ...(typeof toTeam === 'number' ? { teamId: toTeam } : { teamUuid: toTeam }), undo: isUndo });
    let outcome: BatchOutcome;
    let lost = false;
    try {
      outcome = await options.adminApi.updateAgentTeams(
        agentIds.map((agentId): TeamChange => (typeof toTeam === 'number' ? { agentId, teamId: toTeam } : { agentId, teamUuid: toTeam })),
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
      const moved = outcome.unreported.filter((id) => isInTeam(now.get(id), toTeam));
      const notMoved = outcome.unreported.filter((id) => !isInTeam(now.get(id), toTeam));
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

  /** Each agent as the admin API says now (the map refreshed once): its team by `teamId` and `teamUuId`. */
  async function readTeams(agentIds: readonly number[], ctx: RequestContext): Promise<Map<number, AdminAgent | undefined>> {
    await agents.refresh(ctx);
    const found = await agents.byAgentIds(agentIds, ctx);
    return new Map(agentIds.map((id) => [id, found.get(id)]));
  }

  /** Moves `agentIds` back to their team in `before`, then checks that they are there. */
  async function undo(
    syncId: string,
    team: TeamRef,
    agentIds: readonly number[],
    before: Readonly<Record<string, TeamRef>>,
    ctx: RequestContext,
    writeError?: unknown,
    memberOf: ReadonlyMap<number, MemberRef> = new Map(),
    writeFailures: readonly AgentFailure[] = [],
  ): Promise<void> {
    await journal.setPhase(syncId, 'undoing');
    if (agentIds.length === 0) return;
    const byTeam = new Map<TeamRef, number[]>();
    for (const id of agentIds) {
      const back = before[id];
      if (back === undefined) continue;
      const key = [...byTeam.keys()].find((known) => sameTeam(known, back)) ?? back;
      byTeam.set(key, [...(byTeam.get(key) ?? []), id]);
    }
    let cause: unknown;
    try {
      for (const [back, ids] of byTeam) for (const batch of chunks(ids, batchSize)) await moveAgents(syncId, batch, back, true, ctx);
    } catch (error) {
      cause = error;
    }
    const failed = (misplaced: readonly { agentId: number; teamId: TeamRef | undefined }[], reason: string, members: readonly MemberRef[] | null, errorCause: unknown): RollbackFailedError => {
      const undoFailures = misplaced.map(
        ({ agentId, teamId: now }): AgentFailure => ({
          member: memberOf.get(agentId) ?? { value: String(agentId), type: 'User' },
          agentId,
          action: sameTeam(before[agentId], team) ? 'remove' : 'add',
          error: `not back in team ${before[agentId]} (in team ${now ?? 'unknown'})`,
        }),
      );
      const all = [...writeFailures, ...undoFailures];
      return new RollbackFailedError(
        `${writeFailures.length > 0 ? `${describeAgentFailures(writeFailures)}; ` : ''}undoing what this sync wrote to team ${team} failed (${reason}); agents may sit in the wrong team: the journal stays open, and the next sync of this team and the next start finish the undo`,
        members,
        all,
        errorCause === undefined ? undefined : { cause: errorCause },
      );
    };
    let now: Map<number, AdminAgent | undefined>;
    try {
      now = await readTeams(agentIds, ctx);
    } catch (error) {
      throw failed([], `the teams could not be read back: ${error instanceof Error ? error.message : String(error)}`, null, cause ?? error ?? writeError);
    }
    const misplaced = agentIds
      .filter((id) => before[id] !== undefined && !isInTeam(now.get(id), before[id]))
      .map((id) => ({ agentId: id, teamId: now.get(id)?.teamId ?? now.get(id)?.teamUuId }));
    if (misplaced.length > 0 || cause !== undefined) {
      let members: MemberRef[] | null = null;
      try {
        members = (await agents.inTeam(team, ctx)).map((agent) => ({ value: memberValue(agent), type: 'User' as const }));
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
    const team = teamOf(entry.groupId);
    const before = entry.before.teams ?? {};
    const target = entry.target.teams ?? {};
    const agentIds = Object.keys(before).map(Number);
    const now = await readTeams(agentIds, ctx);
    const at = (id: number, where: TeamRef | undefined) => where !== undefined && isInTeam(now.get(id), where);
    if (entry.phase === 'verifying' && agentIds.every((id) => at(id, target[id]))) {
      // Every step answered and every agent is where it was sent: the write stands.
      await journal.close(entry.syncId);
      await recordRecovery(entry, { syncId: entry.syncId, groupId: entry.groupId, outcome: 'completed' }, ctx);
      return;
    }
    try {
      await undo(entry.syncId, team, agentIds.filter((id) => !at(id, before[id])), before, ctx);
    } catch (error) {
      // The entry stays open for the next attempt; the failure is recorded as acd-groups records its own.
      if (error instanceof RollbackFailedError) await recordRecovery(entry, { syncId: entry.syncId, groupId: entry.groupId, outcome: 'rollback_failed', error }, ctx);
      throw error;
    }
    await journal.close(entry.syncId);
    await recordRecovery(entry, { syncId: entry.syncId, groupId: entry.groupId, outcome: 'rolled_back' }, ctx);
  }

  /**
   * The record of a finished entry: the agents the completed write moved into the team
   * (added) and out of it (removed), none when it was undone; the team's size after.
   */
  async function recordRecovery(entry: JournalEntry, outcome: RecoveredEntry, ctx: RequestContext): Promise<void> {
    if (options.audit === undefined) return;
    const team = teamOf(entry.groupId);
    const before = entry.before.teams ?? {};
    const target = entry.target.teams ?? {};
    const ids = Object.keys(before).map(Number);
    const completed = outcome.outcome === 'completed';
    const into = completed ? ids.filter((id) => sameTeam(target[id], team) && !sameTeam(before[id], team)) : [];
    const outOf = completed ? ids.filter((id) => sameTeam(before[id], team) && !sameTeam(target[id], team)) : [];
    const known = await agents.byAgentIds([...into, ...outOf], ctx);
    const named = (list: readonly number[]) => list.map((agentId) => ({ value: memberValue(known.get(agentId) ?? ({ agentId } as AdminAgent)), type: 'User' as const }));
    await appendRecoveryRecord(
      { audit: options.audit, clock: options.clock, newSyncId: recordIds, newEventId: eventIds },
      entry,
      outcome,
      {
        added: named(into),
        removed: named(outOf),
        memberCount: (await agents.inTeam(team, ctx)).length,
        payloadSha256: canonicalSha256({ recovery: entry.syncId, before, target }),
      },
      ctx,
    );
  }

  const { searchTeams, getTeam, createTeam } = options.adminApi;
  return {
    name: 'teams',
    prepare,
    read,
    plan,
    validate,
    apply: (groupId, snapshot, change, ctx, trace) => apply(groupId, snapshot, change, ctx, trace),
    // user-management's teams, by their UUID ids: listed, looked up and created where the client can.
    ...(searchTeams === undefined
      ? {}
      : {
          listGroups: async (query: GroupListQuery, ctx: RequestContext): Promise<readonly GroupSummary[]> =>
            (await searchTeams(query.displayName === undefined ? {} : { name: query.displayName }, ctx)).map((team) => ({ id: team.id, displayName: team.name })),
        }),
    ...(getTeam === undefined
      ? {}
      : {
          describeGroup: async (groupId: string, ctx: RequestContext): Promise<GroupSummary> => ({ id: groupId, displayName: await nameOf(groupId, teamOf(groupId), ctx) }),
        }),
    ...(createTeam === undefined
      ? {}
      : {
          createGroup: async (displayName: string, ctx: RequestContext): Promise<GroupSummary> => {
            const team = await createTeam(displayName, ctx);
            return { id: team.id, displayName: team.name };
          },
        }),
  };
}

/** The team a group id names: an integer teamId or a user-management id; anything else names no team. */
function teamOf(groupId: string): TeamRef {
  const team = teamRefOf(groupId);
  if (team === undefined) throw new GroupNotFoundError(groupId);
  return team;
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
