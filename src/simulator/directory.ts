/**
 * The CXone side of the simulator: teams, agents and ACD groups, kept in step with the SCIM
 * users. Every SCIM user is an agent whose `userID` is the SCIM id (agents without a SCIM
 * user exist too); userName, the active flag and the team agree on both sides whichever side
 * is written. Each agent is in exactly one team; ACD groups hold agents many-to-many and never
 * nest.
 *
 * Shapes follow the generated client calljacob/nice-cxone-api (src/services/admin/
 * AdminAgentsService.ts, AdminGroupsService.ts; src/services/userhub/CxoneScimService.ts for
 * the user extension `team: {value, display}`). What NICE leaves open is a behaviour knob
 * (`CxoneBehaviours`), documented with its default in README.md.
 */
import { randomUUID } from 'node:crypto';
import { NICE_USER_URN } from './filter.js';
import { isObject, type Attrs } from './schema.js';
import { ScimError } from './scim-error.js';

export { NICE_USER_URN } from './filter.js';

export interface TeamSeed {
  readonly teamId: number;
  readonly teamName: string;
  readonly teamUuId?: string;
  readonly description?: string;
  readonly isActive?: boolean;
  /** The fallback team: where users created without a team go. At most one; default the first team. */
  readonly isDefault?: boolean;
}

export interface AgentSeed {
  readonly agentId: number;
  /** The user-hub id. A SCIM user with this id makes the agent its own (names and flags come from the user). */
  readonly userID: string;
  readonly teamId: number;
  readonly userName?: string;
  readonly firstName?: string;
  readonly lastName?: string;
  readonly emailAddress?: string;
  readonly isActive?: boolean;
}

export interface AcdGroupSeed {
  readonly groupId: number;
  readonly groupName: string;
  readonly notes?: string;
  readonly isActive?: boolean;
  readonly agentIds?: readonly number[];
}

/** The CXone part of a seed; a seed without it gets one default team and an agent per user. */
export interface DirectorySeed {
  readonly teams?: readonly TeamSeed[];
  readonly agents?: readonly AgentSeed[];
  readonly acdGroups?: readonly AcdGroupSeed[];
}

export interface Agent {
  agentId: number;
  userID: string;
  userName: string;
  firstName: string;
  lastName: string;
  emailAddress: string;
  isActive: boolean;
  teamId: number;
  teamName: string;
  teamUuId: string;
  createDate: string;
  lastUpdated: string;
}

export interface Team {
  teamId: number;
  teamUuId: string;
  teamName: string;
  description: string;
  isActive: boolean;
  isDefault: boolean;
  lastUpdated: string;
}

export interface AcdGroup {
  groupId: number;
  groupName: string;
  notes: string;
  isActive: boolean;
  lastUpdated: string;
  /** Ascending. */
  agentIds: number[];
}

/**
 * What NICE's published material leaves open, as switches. README.md justifies each default.
 */
export interface CxoneBehaviours {
  /** Whether adding or removing agents moves the group's `lastUpdated`. Default false. */
  membershipMovesLastUpdated: boolean;
  /** Adding an agent that is already a member: a per-agent `error` (default) or a `success`. */
  addExisting: 'success' | 'error';
  /** Removing an agent that is not a member: a per-agent `error` (default) or a `success`. */
  removeAbsent: 'success' | 'error';
  /** An admin-API list with nothing in it: `204` No Content (default) or `200` with an empty array. */
  emptyList: 200 | 204;
}

export const DEFAULT_BEHAVIOURS: Readonly<CxoneBehaviours> = Object.freeze({ membershipMovesLastUpdated: false, addExisting: 'error', removeAbsent: 'error', emptyList: 204 });

/** Validates a partial behaviour configuration and merges it over `current`; a RangeError names the bad field. */
export function mergeBehaviours(current: CxoneBehaviours, patch: unknown): CxoneBehaviours {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw new RangeError('behaviours must be an object');
  const next = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    switch (key) {
      case 'membershipMovesLastUpdated':
        if (typeof value !== 'boolean') throw new RangeError('membershipMovesLastUpdated must be a boolean');
        next.membershipMovesLastUpdated = value;
        break;
      case 'addExisting':
      case 'removeAbsent':
        if (value !== 'success' && value !== 'error') throw new RangeError(`${key} must be "success" or "error"`);
        next[key] = value;
        break;
      case 'emptyList':
        if (value !== 200 && value !== 204) throw new RangeError('emptyList must be 200 or 204');
        next.emptyList = value;
        break;
      default:
        throw new RangeError(`unknown behaviour ${JSON.stringify(key)}; expected ${Object.keys(DEFAULT_BEHAVIOURS).join(', ')}`);
    }
  }
  return next;
}

export interface MembershipResult {
  agentId: number;
  success: boolean;
  error: string | null;
}

export interface AgentUpdate {
  readonly agentId: number;
  readonly teamId?: number;
  readonly teamUuid?: string;
  readonly isActive?: boolean;
}

export interface AgentUpdateResult {
  agentId: string;
  success: boolean;
  error: string | null;
}

export interface LoadAcdGroupRequest {
  readonly groupId?: number;
  readonly groupName: string;
  /** Agents to create (no SCIM users); the first `memberCount` join the group. */
  readonly agentCount: number;
  readonly memberCount?: number;
  /** The last `inactiveCount` created agents are inactive. */
  readonly inactiveCount?: number;
  readonly teamId?: number;
}

export interface LoadAcdGroupResult {
  readonly groupId: number;
  readonly groupName: string;
  readonly memberCount: number;
  readonly agentIds: number[];
  readonly inactiveAgentIds: number[];
  /** Each agent's `userID` (its SCIM user id), in the order of `agentIds`. */
  readonly userIds: string[];
}

/** Direct, synchronous access to agents, teams and ACD groups, for tests. Writes here are "someone else's". */
export interface SimulatorDirectory {
  readonly agentCount: number;
  readonly fallbackTeamId: number;
  getAgent(agentId: number): Agent | undefined;
  findAgentByUserId(userId: string): Agent | undefined;
  /** An agent without a SCIM user. */
  createAgent(input: Omit<AgentSeed, 'agentId' | 'userID'> & { agentId?: number; userID?: string; userName: string }): Agent;
  /** Moves an agent to a team or (de)activates it; its SCIM user follows. */
  updateAgent(agentId: number, change: { teamId?: number; isActive?: boolean }): Agent;
  getTeam(teamId: number): Team | undefined;
  listTeams(): Team[];
  /** The agents whose team it is, ascending by agentId. */
  teamAgents(teamId: number): Agent[];
  getGroup(groupId: number): AcdGroup | undefined;
  agentGroupIds(agentId: number): number[];
  createGroup(input: { groupId?: number; groupName: string; notes?: string; isActive?: boolean }): AcdGroup;
  /** Adds agents (members are left alone); the group's lastUpdated follows membershipMovesLastUpdated. */
  addAgents(groupId: number, agentIds: readonly number[]): void;
  /** Removes agents (non-members are ignored); the group's lastUpdated follows membershipMovesLastUpdated. */
  removeAgents(groupId: number, agentIds: readonly number[]): void;
  /** A change to the group itself by someone else: its lastUpdated moves. Returns the new value. */
  touchGroup(groupId: number): string;
}

export interface AgentRecord {
  readonly agentId: number;
  userID: string;
  userName: string;
  firstName: string;
  lastName: string;
  emailAddress: string;
  isActive: boolean;
  teamId: number;
  readonly createDate: number;
  lastUpdated: number;
  /** The ACD groups holding the agent; null while there are none (spares 100,000 empty Sets in a load run). */
  groups: Set<number> | null;
}

export interface TeamRecord {
  readonly teamId: number;
  readonly teamUuId: string;
  teamName: string;
  description: string;
  isActive: boolean;
  isDefault: boolean;
  lastUpdated: number;
}

export interface GroupRecord {
  readonly groupId: number;
  groupName: string;
  notes: string;
  isActive: boolean;
  readonly createDate: number;
  lastUpdated: number;
  readonly members: Set<number>;
  /** Members ascending, made on demand. */
  sorted: number[] | null;
}

/** How the directory writes an admin-API change through to the SCIM user (its version moves). */
export interface DirectoryUsers {
  applyAgentChange(userId: string, change: { active?: boolean; team?: { value: string; display: string } }): void;
}

/** What the SCIM store calls around its user writes and seed loads. */
export interface UserHooks {
  beforeLoad(seed: DirectorySeed): void;
  afterLoad(): void;
  /** Validates and completes a user about to be written: its team (kept when not given), userName unique among agents. */
  prepare(attrs: Attrs, id: string): void;
  written(id: string, attrs: Attrs): void;
  removed(id: string): void;
}

/** What the HTTP layer needs beyond the public face. */
export interface DirectoryEngine extends SimulatorDirectory {
  readonly hooks: UserHooks;
  readonly behaviours: Readonly<CxoneBehaviours>;
  setBehaviours(patch: unknown): CxoneBehaviours;
  attachUsers(users: DirectoryUsers): void;
  /** All agents, ascending by agentId. */
  agents(): readonly AgentRecord[];
  agentRecord(agentId: number): AgentRecord | undefined;
  agentRecordByUserId(userId: string): AgentRecord | undefined;
  teamRecord(teamId: number): TeamRecord | undefined;
  teamRecords(): readonly TeamRecord[];
  groupRecord(groupId: number): GroupRecord | undefined;
  /** All groups, ascending by groupId. */
  groupRecords(): readonly GroupRecord[];
  /** The group's members, ascending. */
  members(group: GroupRecord): readonly number[];
  /** POST/DELETE /groups/{id}/agents: one result per agent, in order; `fail` injects a per-agent error. */
  assign(group: GroupRecord, agentIds: readonly number[], op: 'add' | 'remove', fail: (agentId: number) => string | null): MembershipResult[];
  /** PUT /agents: one result per agent; also the teams whose membership changed. */
  updateAgents(updates: readonly AgentUpdate[], fail: (agentId: number) => string | null): { results: AgentUpdateResult[]; teams: Set<number> };
  /** POST /groups. */
  createGroups(inputs: readonly { groupName: string; notes?: string; isActive?: boolean }[]): { success: boolean; groupId: number | null; error: string | null }[];
  /** PUT /groups/{id}: null when done, else why not. */
  renameGroup(group: GroupRecord, groupName: string, notes: string | undefined): string | null;
  /** POST /user-management/v3/teams: a new team (a free integer teamId and a new teamUuId), or why not (a name another team has). */
  createTeam(input: { teamName: string; description?: string; isActive: boolean }): TeamRecord | string;
  /** PUT /user-management/v3/teams: null when done, else why not (a name another team has). */
  updateTeam(team: TeamRecord, change: { teamName: string; description?: string; isActive: boolean }): string | null;
  createLoadGroup(request: LoadAcdGroupRequest): LoadAcdGroupResult;
}

function invalidValue(detail: string): ScimError {
  return ScimError.of('invalidValue', detail);
}

const iso = (ms: number): string => new Date(ms).toISOString();

function seedError(detail: string): Error {
  return new Error(detail);
}

function isId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

export function createDirectory(options: { now: () => number; behaviours?: unknown }): DirectoryEngine {
  const { now } = options;
  let behaviours = mergeBehaviours({ ...DEFAULT_BEHAVIOURS }, options.behaviours ?? {});
  let users: DirectoryUsers | null = null;
  let teams = new Map<number, TeamRecord>();
  let teamsByUuid = new Map<string, TeamRecord>();
  let agents = new Map<number, AgentRecord>();
  let agentsByUser = new Map<string, AgentRecord>();
  /** lower-cased userName → agent (userName is unique, case-insensitively, as SCIM's is) */
  let agentsByName = new Map<string, AgentRecord>();
  let groups = new Map<number, GroupRecord>();
  let sortedAgents: AgentRecord[] | null = null;
  let sortedGroups: GroupRecord[] | null = null;
  let fallbackTeamId = 0;
  let maxAgentId = 0;

  // ---- records -------------------------------------------------------------------------

  function teamOf(agent: AgentRecord): TeamRecord {
    return teams.get(agent.teamId) as TeamRecord;
  }

  function agentView(rec: AgentRecord): Agent {
    const team = teamOf(rec);
    return {
      agentId: rec.agentId,
      userID: rec.userID,
      userName: rec.userName,
      firstName: rec.firstName,
      lastName: rec.lastName,
      emailAddress: rec.emailAddress,
      isActive: rec.isActive,
      teamId: rec.teamId,
      teamName: team.teamName,
      teamUuId: team.teamUuId,
      createDate: iso(rec.createDate),
      lastUpdated: iso(rec.lastUpdated),
    };
  }

  function teamView(rec: TeamRecord): Team {
    return { ...rec, lastUpdated: iso(rec.lastUpdated) };
  }

  function members(group: GroupRecord): readonly number[] {
    group.sorted ??= [...group.members].toSorted((a, b) => a - b);
    return group.sorted;
  }

  function groupView(rec: GroupRecord): AcdGroup {
    return { groupId: rec.groupId, groupName: rec.groupName, notes: rec.notes, isActive: rec.isActive, lastUpdated: iso(rec.lastUpdated), agentIds: [...members(rec)] };
  }

  function addTeam(seed: TeamSeed, time: number): void {
    if (!isId(seed.teamId) || teams.has(seed.teamId)) throw seedError(`team ${String(seed.teamId)}: teamId must be a unique integer > 0`);
    if (typeof seed.teamName !== 'string' || seed.teamName.trim() === '') throw seedError(`team ${seed.teamId}: teamName is required`);
    const teamUuId = seed.teamUuId ?? randomUUID();
    if (teamsByUuid.has(teamUuId.toLowerCase())) throw seedError(`team ${seed.teamId}: teamUuId ${teamUuId} is taken`);
    const rec: TeamRecord = {
      teamId: seed.teamId,
      teamUuId,
      teamName: seed.teamName,
      description: seed.description ?? '',
      isActive: seed.isActive ?? true,
      isDefault: seed.isDefault ?? false,
      lastUpdated: time,
    };
    teams.set(rec.teamId, rec);
    teamsByUuid.set(teamUuId.toLowerCase(), rec);
  }

  function nextAgentId(): number {
    return maxAgentId + 1;
  }

  function nextGroupId(): number {
    let max = 0;
    for (const id of groups.keys()) if (id > max) max = id;
    return max + 1;
  }

  function indexName(rec: AgentRecord): void {
    if (rec.userName !== '') agentsByName.set(rec.userName.toLowerCase(), rec);
  }

  function unindexName(rec: AgentRecord): void {
    if (agentsByName.get(rec.userName.toLowerCase()) === rec) agentsByName.delete(rec.userName.toLowerCase());
  }

  function insertAgent(seed: AgentSeed, time: number): AgentRecord {
    if (!isId(seed.agentId) || agents.has(seed.agentId)) throw new RangeError(`agentId ${String(seed.agentId)} must be a unique integer > 0`);
    if (typeof seed.userID !== 'string' || seed.userID === '' || agentsByUser.has(seed.userID)) throw new RangeError(`agent ${seed.agentId}: userID must be a unique non-empty string`);
    if (!teams.has(seed.teamId)) throw new RangeError(`agent ${seed.agentId}: team ${String(seed.teamId)} does not exist`);
    const userName = seed.userName ?? '';
    if (userName !== '' && agentsByName.has(userName.toLowerCase())) throw new RangeError(`agent ${seed.agentId}: userName ${JSON.stringify(userName)} is taken`);
    const rec: AgentRecord = {
      agentId: seed.agentId,
      userID: seed.userID,
      userName,
      firstName: seed.firstName ?? '',
      lastName: seed.lastName ?? '',
      emailAddress: seed.emailAddress ?? userName,
      isActive: seed.isActive ?? true,
      teamId: seed.teamId,
      createDate: time,
      lastUpdated: time,
      groups: null,
    };
    agents.set(rec.agentId, rec);
    maxAgentId = Math.max(maxAgentId, rec.agentId);
    agentsByUser.set(rec.userID, rec);
    indexName(rec);
    sortedAgents = null;
    return rec;
  }

  function insertGroup(input: { groupId: number; groupName: string; notes?: string; isActive?: boolean }, time: number): GroupRecord {
    const rec: GroupRecord = {
      groupId: input.groupId,
      groupName: input.groupName,
      notes: input.notes ?? '',
      isActive: input.isActive ?? true,
      createDate: time,
      lastUpdated: time,
      members: new Set(),
      sorted: null,
    };
    groups.set(rec.groupId, rec);
    sortedGroups = null;
    return rec;
  }

  function link(group: GroupRecord, agent: AgentRecord): void {
    group.members.add(agent.agentId);
    (agent.groups ??= new Set()).add(group.groupId);
    group.sorted = null;
  }

  function unlink(group: GroupRecord, agent: AgentRecord): void {
    group.members.delete(agent.agentId);
    agent.groups?.delete(group.groupId);
    group.sorted = null;
  }

  function membershipChanged(group: GroupRecord): void {
    if (behaviours.membershipMovesLastUpdated) group.lastUpdated = now();
  }

  /** Team names are unique without regard to case (an assumption: NICE publishes no rule). */
  function teamNameTaken(teamName: string, except: number | null): boolean {
    const wanted = teamName.trim().toLowerCase();
    for (const team of teams.values()) if (team.teamId !== except && team.teamName.trim().toLowerCase() === wanted) return true;
    return false;
  }

  function nameTaken(groupName: string, except: number | null): boolean {
    const lower = groupName.trim().toLowerCase();
    for (const group of groups.values()) if (group.groupId !== except && group.groupName.trim().toLowerCase() === lower) return true;
    return false;
  }

  /** A team by its integer id (also written as a string) or its UUID. */
  function resolveTeam(value: string): TeamRecord | undefined {
    if (/^\d+$/.test(value)) return teams.get(Number(value));
    return teamsByUuid.get(value.toLowerCase());
  }

  function teamRef(team: TeamRecord): { value: string; display: string } {
    return { value: team.teamUuId, display: team.teamName };
  }

  function writeThrough(agent: AgentRecord, change: { active?: boolean; team?: TeamRecord }): void {
    users?.applyAgentChange(agent.userID, { active: change.active, team: change.team === undefined ? undefined : teamRef(change.team) });
  }

  // ---- loading -------------------------------------------------------------------------

  function load(seed: DirectorySeed): void {
    teams = new Map();
    teamsByUuid = new Map();
    agents = new Map();
    agentsByUser = new Map();
    agentsByName = new Map();
    groups = new Map();
    sortedAgents = null;
    sortedGroups = null;
    maxAgentId = 0;
    const time = now();
    const teamSeeds = seed.teams !== undefined && seed.teams.length > 0 ? seed.teams : [{ teamId: 1, teamName: 'Default Team', isDefault: true }];
    for (const team of teamSeeds) addTeam(team, time);
    const defaults = teamSeeds.filter((team) => team.isDefault === true);
    if (defaults.length > 1) throw seedError('at most one team may be isDefault');
    fallbackTeamId = (defaults[0] ?? teamSeeds[0])?.teamId as number;
    for (const agent of seed.agents ?? []) {
      try {
        insertAgent(agent, time);
      } catch (error) {
        throw seedError((error as Error).message);
      }
    }
    for (const group of seed.acdGroups ?? []) {
      if (!isId(group.groupId) || groups.has(group.groupId)) throw seedError(`ACD group ${String(group.groupId)}: groupId must be a unique integer > 0`);
      if (typeof group.groupName !== 'string' || group.groupName.trim() === '' || nameTaken(group.groupName, null)) {
        throw seedError(`ACD group ${group.groupId}: groupName must be non-empty and unique`);
      }
      const rec = insertGroup(group, time);
      for (const agentId of group.agentIds ?? []) {
        const agent = agents.get(agentId);
        if (agent === undefined) throw seedError(`ACD group ${group.groupId}: agent ${agentId} does not exist`);
        link(rec, agent);
      }
    }
  }

  function finishLoad(): void {
    for (const agent of agents.values()) {
      if (agent.userName === '') throw seedError(`agent ${agent.agentId} has no SCIM user and no userName`);
    }
  }

  // ---- SCIM hooks ----------------------------------------------------------------------

  const hooks: UserHooks = {
    beforeLoad: load,
    afterLoad: finishLoad,
    prepare(attrs, id) {
      const ext = attrs[NICE_USER_URN];
      if (ext !== undefined && !isObject(ext)) throw invalidValue(`"${NICE_USER_URN}" must be an object`);
      const input = isObject(ext) ? ext.team : undefined;
      let team: TeamRecord | undefined;
      if (input === undefined || input === null) {
        const agent = agentsByUser.get(id);
        team = teams.get(agent?.teamId ?? fallbackTeamId);
      } else {
        const raw = isObject(input) ? input.value : input;
        const value = typeof raw === 'string' ? raw.trim() : typeof raw === 'number' ? String(raw) : undefined;
        if (value === undefined || value === '') throw invalidValue(`"${NICE_USER_URN}:team" must be {"value": "<team id>"} or a team id`);
        team = resolveTeam(value);
        if (team === undefined) throw invalidValue(`"${NICE_USER_URN}:team.value" ${JSON.stringify(value)} names no team`);
      }
      attrs[NICE_USER_URN] = { ...(isObject(ext) ? ext : {}), team: teamRef(team as TeamRecord) };
      const holder = agentsByName.get((attrs.userName as string).toLowerCase());
      if (holder !== undefined && holder.userID !== id) {
        throw ScimError.of('uniqueness', `userName ${JSON.stringify(attrs.userName)} is already taken by agent ${holder.agentId}`);
      }
    },
    written(id, attrs) {
      const name = isObject(attrs.name) ? attrs.name : {};
      const emails = Array.isArray(attrs.emails) ? attrs.emails.filter(isObject) : [];
      const email = (emails.find((e) => e.primary === true) ?? emails[0])?.value;
      const ext = attrs[NICE_USER_URN] as { team: { value: string } };
      const fields = {
        userName: attrs.userName as string,
        firstName: typeof name.givenName === 'string' ? name.givenName : '',
        lastName: typeof name.familyName === 'string' ? name.familyName : '',
        emailAddress: typeof email === 'string' ? email : '',
        isActive: attrs.active as boolean,
        teamId: (resolveTeam(ext.team.value) as TeamRecord).teamId,
      };
      const agent = agentsByUser.get(id);
      if (agent === undefined) {
        insertAgent({ agentId: nextAgentId(), userID: id, ...fields }, now());
        return;
      }
      const changed = (Object.keys(fields) as (keyof typeof fields)[]).filter((key) => agent[key] !== fields[key]);
      if (changed.length === 0) return;
      unindexName(agent);
      Object.assign(agent, fields);
      indexName(agent);
      agent.lastUpdated = now();
    },
    removed(id) {
      // CXone does not delete employees: the agent stays, deactivated.
      const agent = agentsByUser.get(id);
      if (agent === undefined || !agent.isActive) return;
      agent.isActive = false;
      agent.lastUpdated = now();
    },
  };

  // ---- writes --------------------------------------------------------------------------

  function assign(group: GroupRecord, agentIds: readonly number[], op: 'add' | 'remove', fail: (agentId: number) => string | null): MembershipResult[] {
    let changed = false;
    const results = agentIds.map((agentId): MembershipResult => {
      const agent = agents.get(agentId);
      if (agent === undefined) return { agentId, success: false, error: `Agent ${agentId} was not found` };
      const injected = fail(agentId);
      if (injected !== null) return { agentId, success: false, error: injected };
      const member = group.members.has(agentId);
      if (op === 'add') {
        if (member) return behaviours.addExisting === 'error' ? { agentId, success: false, error: `Agent ${agentId} is already assigned to this group` } : { agentId, success: true, error: null };
        link(group, agent);
      } else {
        if (!member) return behaviours.removeAbsent === 'error' ? { agentId, success: false, error: `Agent ${agentId} is not assigned to this group` } : { agentId, success: true, error: null };
        unlink(group, agent);
      }
      changed = true;
      return { agentId, success: true, error: null };
    });
    if (changed) membershipChanged(group);
    return results;
  }

  function updateAgents(updates: readonly AgentUpdate[], fail: (agentId: number) => string | null): { results: AgentUpdateResult[]; teams: Set<number> } {
    const touched = new Set<number>();
    const results = updates.map((update): AgentUpdateResult => {
      const key = String(update.agentId);
      const agent = agents.get(update.agentId);
      if (agent === undefined) return { agentId: key, success: false, error: `Agent ${update.agentId} was not found` };
      const byId = update.teamId === undefined ? undefined : teams.get(update.teamId);
      const byUuid = update.teamUuid === undefined ? undefined : teamsByUuid.get(update.teamUuid.toLowerCase());
      if (update.teamId !== undefined && byId === undefined) return { agentId: key, success: false, error: `Team ${update.teamId} was not found` };
      if (update.teamUuid !== undefined && byUuid === undefined) return { agentId: key, success: false, error: `Team ${update.teamUuid} was not found` };
      if (byId !== undefined && byUuid !== undefined && byId !== byUuid) return { agentId: key, success: false, error: 'teamId and teamUuid name different teams' };
      const injected = fail(update.agentId);
      if (injected !== null) return { agentId: key, success: false, error: injected };
      const team = byId ?? byUuid;
      const change: { active?: boolean; team?: TeamRecord } = {};
      if (team !== undefined && team.teamId !== agent.teamId) {
        touched.add(agent.teamId).add(team.teamId);
        agent.teamId = team.teamId;
        change.team = team;
      }
      if (update.isActive !== undefined && update.isActive !== agent.isActive) {
        agent.isActive = update.isActive;
        change.active = update.isActive;
      }
      if (change.team !== undefined || change.active !== undefined) {
        agent.lastUpdated = now();
        writeThrough(agent, change);
      }
      return { agentId: key, success: true, error: null };
    });
    return { results, teams: touched };
  }

  function createGroups(inputs: readonly { groupName: string; notes?: string; isActive?: boolean }[]): { success: boolean; groupId: number | null; error: string | null }[] {
    return inputs.map((input) => {
      if (typeof input.groupName !== 'string' || input.groupName.trim() === '') return { success: false, groupId: null, error: 'groupName is required' };
      if (nameTaken(input.groupName, null)) return { success: false, groupId: null, error: `A group named ${JSON.stringify(input.groupName)} already exists` };
      const rec = insertGroup({ groupId: nextGroupId(), groupName: input.groupName, notes: input.notes, isActive: input.isActive }, now());
      return { success: true, groupId: rec.groupId, error: null };
    });
  }

  function createLoadGroup(request: LoadAcdGroupRequest): LoadAcdGroupResult {
    const { groupName, agentCount } = request;
    const memberCount = request.memberCount ?? agentCount;
    const inactiveCount = request.inactiveCount ?? 0;
    if (typeof groupName !== 'string' || groupName.trim() === '') throw new RangeError('"groupName" must be a non-empty string');
    if (!Number.isSafeInteger(agentCount) || agentCount < 0 || agentCount > 2_000_000) throw new RangeError('"agentCount" must be an integer from 0 to 2000000');
    if (!Number.isSafeInteger(memberCount) || memberCount < 0 || memberCount > agentCount) throw new RangeError('"memberCount" must be an integer from 0 to agentCount');
    if (!Number.isSafeInteger(inactiveCount) || inactiveCount < 0 || inactiveCount > agentCount) throw new RangeError('"inactiveCount" must be an integer from 0 to agentCount');
    const teamId = request.teamId ?? fallbackTeamId;
    if (!teams.has(teamId)) throw new RangeError(`"teamId": team ${String(teamId)} does not exist`);
    if (request.groupId !== undefined && (!isId(request.groupId) || groups.has(request.groupId))) throw new RangeError('"groupId" must be a free integer > 0');
    if (nameTaken(groupName, null)) throw new RangeError(`"groupName": a group named ${JSON.stringify(groupName)} already exists`);
    const time = now();
    const group = insertGroup({ groupId: request.groupId ?? nextGroupId(), groupName }, time);
    const first = nextAgentId();
    const agentIds: number[] = [];
    const inactiveAgentIds: number[] = [];
    const userIdOf = new Map<number, string>();
    for (let i = 0; i < agentCount; i++) {
      const agentId = first + i;
      const active = i < agentCount - inactiveCount;
      const candidate = `load${group.groupId}.${i + 1}@agents.example.com`;
      const userName = agentsByName.has(candidate) ? `load.${agentId}@agents.example.com` : candidate;
      const userID = randomUUID();
      userIdOf.set(agentId, userID);
      const rec = insertAgent({ agentId, userID, userName, firstName: 'Load', lastName: `Agent ${i + 1}`, isActive: active, teamId }, time);
      (active ? agentIds : inactiveAgentIds).push(agentId);
      if (i < memberCount) link(group, rec);
    }
    const all = [...agentIds, ...inactiveAgentIds];
    return { groupId: group.groupId, groupName, memberCount: group.members.size, agentIds: all, inactiveAgentIds, userIds: all.map((id) => userIdOf.get(id) as string) };
  }

  // ---- the public face -----------------------------------------------------------------

  function agentOrThrow(agentId: number): AgentRecord {
    const agent = agents.get(agentId);
    if (agent === undefined) throw new RangeError(`agent ${agentId} does not exist`);
    return agent;
  }

  function groupOrThrow(groupId: number): GroupRecord {
    const group = groups.get(groupId);
    if (group === undefined) throw new RangeError(`ACD group ${groupId} does not exist`);
    return group;
  }

  return {
    hooks,
    get behaviours() {
      return { ...behaviours };
    },
    setBehaviours(patch) {
      behaviours = mergeBehaviours(behaviours, patch);
      return { ...behaviours };
    },
    attachUsers(next) {
      users = next;
    },
    get agentCount() {
      return agents.size;
    },
    get fallbackTeamId() {
      return fallbackTeamId;
    },
    getAgent: (agentId) => {
      const rec = agents.get(agentId);
      return rec === undefined ? undefined : agentView(rec);
    },
    findAgentByUserId: (userId) => {
      const rec = agentsByUser.get(userId);
      return rec === undefined ? undefined : agentView(rec);
    },
    createAgent(input) {
      const agentId = input.agentId ?? nextAgentId();
      const userID = input.userID ?? randomUUID();
      if (typeof input.userName !== 'string' || input.userName.trim() === '') throw new RangeError('userName is required');
      return agentView(insertAgent({ ...input, agentId, userID, teamId: input.teamId ?? fallbackTeamId }, now()));
    },
    updateAgent(agentId, change) {
      agentOrThrow(agentId);
      const { results } = updateAgents([{ agentId, teamId: change.teamId, isActive: change.isActive }], () => null);
      const result = results[0] as AgentUpdateResult;
      if (!result.success) throw new RangeError(result.error ?? 'update failed');
      return agentView(agentOrThrow(agentId));
    },
    getTeam: (teamId) => {
      const rec = teams.get(teamId);
      return rec === undefined ? undefined : teamView(rec);
    },
    listTeams: () => [...teams.values()].toSorted((a, b) => a.teamId - b.teamId).map(teamView),
    teamAgents: (teamId) => [...agents.values()].filter((agent) => agent.teamId === teamId).toSorted((a, b) => a.agentId - b.agentId).map(agentView),
    getGroup: (groupId) => {
      const rec = groups.get(groupId);
      return rec === undefined ? undefined : groupView(rec);
    },
    agentGroupIds: (agentId) => [...(agents.get(agentId)?.groups ?? [])].toSorted((a, b) => a - b),
    createGroup(input) {
      if (typeof input.groupName !== 'string' || input.groupName.trim() === '' || nameTaken(input.groupName, null)) throw new RangeError('groupName must be non-empty and unique');
      if (input.groupId !== undefined && (!isId(input.groupId) || groups.has(input.groupId))) throw new RangeError('groupId must be a free integer > 0');
      return groupView(insertGroup({ ...input, groupId: input.groupId ?? nextGroupId() }, now()));
    },
    addAgents(groupId, agentIds) {
      const group = groupOrThrow(groupId);
      const list = agentIds.map(agentOrThrow);
      const before = group.members.size;
      for (const agent of list) link(group, agent);
      if (group.members.size !== before) membershipChanged(group);
    },
    removeAgents(groupId, agentIds) {
      const group = groupOrThrow(groupId);
      let changed = false;
      for (const agentId of agentIds) {
        const agent = agents.get(agentId);
        if (agent !== undefined && group.members.has(agentId)) {
          unlink(group, agent);
          changed = true;
        }
      }
      if (changed) membershipChanged(group);
    },
    touchGroup(groupId) {
      const group = groupOrThrow(groupId);
      group.lastUpdated = now();
      return iso(group.lastUpdated);
    },

    agents() {
      sortedAgents ??= [...agents.values()].toSorted((a, b) => a.agentId - b.agentId);
      return sortedAgents;
    },
    agentRecord: (agentId) => agents.get(agentId),
    agentRecordByUserId: (userId) => agentsByUser.get(userId),
    teamRecord: (teamId) => teams.get(teamId),
    teamRecords: () => [...teams.values()].toSorted((a, b) => a.teamId - b.teamId),
    groupRecord: (groupId) => groups.get(groupId),
    groupRecords() {
      sortedGroups ??= [...groups.values()].toSorted((a, b) => a.groupId - b.groupId);
      return sortedGroups;
    },
    members,
    assign,
    updateAgents,
    createGroups,
    renameGroup(group, groupName, notes) {
      if (groupName.trim() === '') return 'groupName is required';
      if (nameTaken(groupName, group.groupId)) return `A group named ${JSON.stringify(groupName)} already exists`;
      group.groupName = groupName;
      if (notes !== undefined) group.notes = notes;
      group.lastUpdated = now();
      return null;
    },
    createLoadGroup,
    createTeam(input) {
      if (teamNameTaken(input.teamName, null)) return `A team named ${JSON.stringify(input.teamName)} already exists`;
      let teamId = 0;
      for (const id of teams.keys()) if (id > teamId) teamId = id;
      addTeam({ teamId: teamId + 1, teamName: input.teamName, description: input.description ?? '', isActive: input.isActive }, now());
      return teams.get(teamId + 1) as TeamRecord;
    },
    updateTeam(team, change) {
      if (teamNameTaken(change.teamName, team.teamId)) return `A team named ${JSON.stringify(change.teamName)} already exists`;
      team.teamName = change.teamName;
      if (change.description !== undefined) team.description = change.description;
      team.isActive = change.isActive;
      team.lastUpdated = now();
      return null;
    },
  };
}
