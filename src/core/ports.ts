/**
 * Ports: what the core and the service around it need from the outside world, each with
 * its error contract. Adapters implement them (src/adapters), tests use in-memory fakes
 * (test/fakes), and the composition (src/composition) plugs one into the other. Nothing
 * here does I/O.
 *
 * - The sync's own: the membership backend (ScimDirectory: the users and the groups
 *   upstream), Clock, AuditLog, SyncMetrics, and the per-group lock across replicas
 *   (GroupLockService, with STORE=postgres).
 * - The service's: reading the audit trail (AuditQueries), webhook subscriptions and
 *   their outbox, idempotency keys, and the check of a webhook target. Methods are async
 *   even where the embedded SQLite store answers synchronously, so that a server
 *   database can implement them later without touching the core or the routes.
 */
import type { AnyAuditRecord, AuditEntry, AuditRecord, ChainVerdict, DomainEvent, EventType, FrontDoorAuditEntry, QuarantineAuditEntry } from './audit.js';
import type { MemberErrorCode } from './errors.js';
import type { DesiredMembership, GroupResource, GroupSnapshot, MemberRef, MembershipPlan } from './membership.js';
import type { AttributeOutcome, MembershipBackendName, SyncOutcomeStatus, WriteMode } from './outcome.js';
import type { UserValueOperation } from './scim-user-patch.js';

// ---------------------------------------------------------------- the membership backend

/** Per-sync bookkeeping passed to every directory call. */
export interface RequestContext {
  /** Aborts outstanding upstream work (sync deadline, shutdown). */
  readonly signal?: AbortSignal;
  /** Incremented by the adapter for every upstream HTTP request it sends, retries included. */
  readonly stats: { upstreamRequests: number };
  /** The sync this work belongs to (a backend's write journal is keyed by it). */
  readonly syncId?: string;
  /**
   * Awaited by the adapter before each upstream HTTP request it sends, retries included:
   * a budget the work must keep to (the drift scheduler's DRIFT_MAX_RPS). Rejects with the
   * signal's reason when it aborts while waiting. None: requests go as soon as they can.
   */
  readonly pace?: (signal?: AbortSignal) => Promise<void>;
}

export interface UserSummary {
  readonly id: string;
  readonly active: boolean;
}

/** A group as seen by the nesting checks: which groups it holds as direct members. */
export interface GroupNode {
  readonly id: string;
  readonly displayName: string;
  readonly groupMemberIds: readonly string[];
}

/** A user's attributes that the attribute sync reads back after a membership write. */
export interface UserAttributes {
  readonly id: string;
  readonly active: boolean;
  /** Ids of the groups the provider says the user is in (RFC 7643 §4.1.2); undefined when it sends no `groups`. */
  readonly groups?: readonly string[];
  /** The values of the user's `entitlements`. */
  readonly entitlements: readonly string[];
  /** meta.version, for If-Match on a PATCH. */
  readonly version?: string;
}

/** One RFC 7644 §3.5.2 PatchOp operation. */
export interface PatchOperation {
  readonly op: 'add' | 'remove' | 'replace';
  readonly path: string;
  readonly value?: unknown;
}

/** What a full replace (PUT, RFC 7644 §3.5.1) sends. */
export interface GroupWrite {
  readonly id: string;
  readonly displayName: string;
  readonly members: readonly MemberRef[];
  /** Attributes carried over from the read (schemas, externalId, extensions). */
  readonly extra: Readonly<Record<string, unknown>>;
}

/** What the provider says it supports (RFC 7643 §5 ServiceProviderConfig). */
export interface ProviderCapabilities {
  readonly patch: boolean;
  readonly etag: boolean;
  readonly filter: boolean;
}

export interface WriteResult {
  /**
   * The resource the provider returned, when the answer holds it with its members; null
   * when there was no body, or the answer left the members out or they were not read.
   */
  readonly group: GroupResource | null;
  /** The answer's ETag header, exactly as received, or null. */
  readonly etag: string | null;
  /** The version the answer gives the group when `group` is null: the body's meta.version, else meta.lastModified. */
  readonly version?: string | null;
}

/**
 * The users of the upstream directory (SCIM /Users): looked up before they are added to a
 * group, read back and PATCHed by the attribute sync after a write. Every membership
 * backend needs them, whichever way it writes memberships.
 *
 * Errors: as ScimDirectory.
 */
export interface UserDirectory {
  /** The users among `ids` that exist, keyed by id. Batched; never one request per id when filters work. */
  findUsers(ids: readonly string[], ctx: RequestContext): Promise<Map<string, UserSummary>>;

  /** The users among `ids` that exist, with groups and entitlements. Batched like findUsers. */
  readUsers(ids: readonly string[], ctx: RequestContext): Promise<Map<string, UserAttributes>>;

  /** PATCH /Users/{id} (RFC 7644 §3.5.2), with If-Match when ifMatch is not null. */
  patchUser(id: string, operations: readonly PatchOperation[], ifMatch: string | null, ctx: RequestContext): Promise<void>;
}

/** A SCIM user as the upstream answered it (RFC 7643 §4.1): its attributes as JSON, `id` always a string. */
export type ScimUserDocument = Readonly<Record<string, unknown>> & { readonly id: string };

/** Which users to list (RFC 7644 §3.4.2): all of them page by page, or the one with a userName. */
export interface ScimUserQuery {
  /** Only the user with this userName (`filter=userName eq "…"`, the query Okta and Entra send). */
  readonly userName?: string;
  /** 1-based (RFC 7644 §3.4.2.4). */
  readonly startIndex: number;
  readonly count: number;
}

export interface ScimUserPage {
  readonly totalResults: number;
  readonly resources: readonly ScimUserDocument[];
}

/**
 * The upstream's SCIM /Users, passed through for the /scim/v2/Users routes of the service
 * (an IdP provisioning users into CXone through it). CXone's SCIM user API has GET, POST,
 * PUT and a PATCH of `{path, value}` operations, and no DELETE: a user leaves by being
 * deactivated. Every method sends what it is given as it is; checking it is the caller's.
 *
 * Errors: as ScimDirectory; a user that does not exist is null, never an error.
 */
export interface ScimUserGateway {
  /** GET /Users/{id}; null on 404. */
  getUserResource(id: string, ctx: RequestContext): Promise<ScimUserDocument | null>;
  /** GET /Users with `filter=userName eq "…"` (paged here), or with startIndex and count. */
  listUserResources(query: ScimUserQuery, ctx: RequestContext): Promise<ScimUserPage>;
  /** POST /Users: the user as created. A userName taken is an UpstreamError with status 409. */
  createUserResource(user: Readonly<Record<string, unknown>>, ctx: RequestContext): Promise<ScimUserDocument>;
  /** PUT /Users/{id}; null on 404. */
  replaceUserResource(id: string, user: Readonly<Record<string, unknown>>, ctx: RequestContext): Promise<ScimUserDocument | null>;
  /** PATCH /Users/{id} with CXone's `{path, value}` operations; the user after it (read again when the answer has no body); null on 404. */
  updateUserResource(id: string, operations: readonly UserValueOperation[], ctx: RequestContext): Promise<ScimUserDocument | null>;
  /** Sets `active` to false (CXone has no user DELETE); the user after it; null on 404. */
  deactivateUser(id: string, ctx: RequestContext): Promise<ScimUserDocument | null>;
}

/**
 * The groups of the upstream directory as RFC 7644 /Groups resources: read with their
 * ETag, written whole (PUT) or as a difference (PATCH), and walked for the nesting checks.
 *
 * Errors: as ScimDirectory.
 */
export interface GroupDirectory {
  /**
   * GET /Groups/{id}. null when the group does not exist (404). `fresh`: a full read, never
   * answered from what the directory kept of an earlier read or write (no If-None-Match).
   */
  getGroup(id: string, ctx: RequestContext, options?: { readonly fresh?: boolean }): Promise<GroupSnapshot | null>;

  /** PUT /Groups/{id} with If-Match when ifMatch is not null. */
  replaceGroup(group: GroupWrite, ifMatch: string | null, ctx: RequestContext): Promise<WriteResult>;

  /**
   * PATCH /Groups/{id} (RFC 7644 §3.5.2) with If-Match when ifMatch is not null. The
   * answer's ETag (or the returned resource's meta.version) guards the next PATCH.
   * `withMembers: false`: the members of the answer are not needed (in the middle of a
   * sequence only its version matters), so they are not parsed; the group is null then.
   * Nothing is asked of the provider: `attributes`/`excludedAttributes` on a PATCH is
   * read by some providers as the part of the resource to patch and write back (RFC 7644
   * §3.9 read the wrong way), which would drop every member the PATCH does not name.
   */
  patchGroup(id: string, operations: readonly PatchOperation[], ifMatch: string | null, ctx: RequestContext, options?: { readonly withMembers?: boolean }): Promise<WriteResult>;

  /** GET /ServiceProviderConfig, read once and remembered; all false when the provider has none. */
  capabilities(ctx: RequestContext): Promise<ProviderCapabilities>;

  /** The groups among `ids` that exist, keyed by id, with their group-typed members. */
  getGroups(ids: readonly string[], ctx: RequestContext): Promise<Map<string, GroupNode>>;

  /** For each id, the ids of the groups that hold it as a direct member. Every id is a key. */
  findParentGroups(ids: readonly string[], ctx: RequestContext): Promise<Map<string, string[]>>;
}

/** A group as a listing names it: no members. */
export interface GroupSummary {
  readonly id: string;
  readonly displayName: string;
  /** The provider's own externalId, where it keeps one. */
  readonly externalId?: string;
}

/** What a listing of groups asks for: all of them, or those of one displayName (RFC 7644 §3.4.2.2 `displayName eq`). */
export interface GroupListQuery {
  readonly displayName?: string;
}

/**
 * The groups of the directory as a collection (RFC 7644 §3.3 create, §3.4.2 list, §3.6
 * delete), for the SCIM front door: a provider may offer them or not.
 *
 * Errors: as ScimDirectory.
 */
export interface GroupCatalog {
  /** GET /Groups, every page, ids and displayNames only; `displayName` filters upstream. */
  listGroups(query: GroupListQuery, ctx: RequestContext): Promise<readonly GroupSummary[]>;
  /** POST /Groups of an empty group. */
  createGroup(group: { readonly displayName: string; readonly externalId?: string }, ctx: RequestContext): Promise<GroupSummary>;
  /** DELETE /Groups/{id}; false when there was no such group (404). */
  deleteGroup(id: string, ctx: RequestContext): Promise<boolean>;
}

/**
 * A SCIM 2.0 service provider's Users and Groups, as the sync needs them: the membership
 * backend of the sync today (RFC 7644 /Groups). Another backend (a provider that keeps
 * memberships outside SCIM) would keep the UserDirectory and bring its own group side.
 *
 * Errors: implementations throw the classes in ./errors.ts — PreconditionFailedError for
 * 412/428 (and for a 409 that is not a uniqueness clash), UpstreamError for other error
 * answers, UpstreamUnavailableError when 429/503 outlast the retry budget,
 * UpstreamTimeoutError when the upstream does not answer in time.
 */
export interface ScimDirectory extends UserDirectory, GroupDirectory, Partial<GroupCatalog> {}

/**
 * What one attempt of a sync plans, whichever backend runs it. A backend may extend it with
 * what its own write needs (the agent ids of the users, say); the use case only reads these
 * fields.
 */
export interface MembershipChange {
  /** The desired members, each with its type, in request order (duplicates kept: validation names them). */
  readonly desired: readonly MemberRef[];
  /** The difference between the group as read and `desired`. */
  readonly plan: MembershipPlan;
  /** The group's name after the write. */
  readonly displayName: string;
  /** The group as it is to be written: its canonical digest is the audit record's payloadSha256. */
  readonly write: GroupWrite;
}

/** What the audit record learns of a write while it runs: the last write sent, its mode, and the group's version read back after it. */
export interface WriteTrace {
  written: { added: readonly MemberRef[]; removed: readonly MemberRef[]; writeMode: WriteMode; etagAfter: string | null } | null;
}

/** How a backend's write of one attempt ended, when it did not throw. */
export type Applied =
  /** Written, and verified: the upstream holds the desired members. */
  | { readonly kind: 'applied'; readonly etag: string | null; readonly writeMode: WriteMode }
  /** Another writer got in (before our write, or during it): plan again from a fresh read, or from `snapshot` when the backend read one already. */
  | { readonly kind: 'retry'; readonly snapshot: GroupSnapshot | null };

/**
 * The membership of one group upstream, as one backend reads and writes it: the port the
 * use case (./sync-group.ts) runs read → plan → validate → write → verify through, without
 * knowing which backend it is. RFC 7644 `/Groups` is one (./scim-groups-backend.ts).
 *
 * Errors: the sync's own (./errors.ts) — GroupNotFoundError from read, ValidationFailedError
 * from validate (before anything is written), WriteNotAppliedError when the verification
 * finds the upstream not holding what was written, and the upstream errors as ScimDirectory.
 */
export interface MembershipBackend {
  readonly name: MembershipBackendName;
  /**
   * In the group's turn, before its first read: finish what an earlier sync of this group
   * left open (an interrupted write is completed or undone first). Optional.
   */
  prepare?(groupId: string, ctx: RequestContext): Promise<void>;
  /** The group with its current members, and its version where the backend has one. GroupNotFoundError when there is no such group. */
  read(groupId: string, ctx: RequestContext): Promise<GroupSnapshot>;
  /** Types and resolves the desired members, and plans the difference from the group as read. Writes nothing. */
  plan(groupId: string, desired: DesiredMembership, current: GroupSnapshot, ctx: RequestContext): Promise<MembershipChange>;
  /** Checks what changes (users exist and are active, groups nest within the limits, …): ValidationFailedError names every member refused. */
  validate(groupId: string, change: MembershipChange, ctx: RequestContext): Promise<void>;
  /**
   * Writes the change so that its final state is all or nothing, then verifies that the
   * upstream holds the desired members. `signal` is the sync's own (deadline, shutdown).
   */
  apply(groupId: string, current: GroupSnapshot, change: MembershipChange, ctx: RequestContext, trace: WriteTrace, signal?: AbortSignal): Promise<Applied>;
  /**
   * The groups there are (ids and names, no members), for SCIM GET /Groups. Optional: a
   * backend without it cannot list (the teams backend lists user-management's teams, and
   * only with a CXone client that can search them).
   */
  listGroups?(query: GroupListQuery, ctx: RequestContext): Promise<readonly GroupSummary[]>;
  /** The group's id and name without its members (a SCIM read with excludedAttributes=members); GroupNotFoundError when there is none. Optional: without it, `read` serves. */
  describeGroup?(groupId: string, ctx: RequestContext): Promise<GroupSummary>;
  /** Creates an empty group of that name (SCIM POST /Groups); its id. Optional: without it, groups are not created here. */
  createGroup?(displayName: string, ctx: RequestContext): Promise<GroupSummary>;
  /** Removes the group for good, once it is empty (SCIM DELETE with SCIM_GROUP_DELETE=deactivate); false when there was none. Optional. */
  deactivateGroup?(groupId: string, ctx: RequestContext): Promise<boolean>;
  /** Whether a group's version (`GroupSnapshot.etag`) is an ETag the provider checks on writes (If-Match). Optional: absent is no. */
  supportsEtags?(ctx: RequestContext): Promise<boolean>;
}

/**
 * The externalId an identity provider gives each group it creates through the SCIM front
 * door (RFC 7643 §3.1), kept by the service for every backend (CXone's groups have none),
 * per backend and group id. An externalId names one group of a backend at most.
 */
export interface GroupExternalIds {
  /** The externalId of the group, if one is kept. */
  get(backend: MembershipBackendName, groupId: string): Promise<string | undefined>;
  /** The group that has this externalId, if any. */
  find(backend: MembershipBackendName, externalId: string): Promise<string | undefined>;
  /** Keeps (or, with null, forgets) the group's externalId. Answers false, keeping nothing, when another group of the backend has it. */
  set(backend: MembershipBackendName, groupId: string, externalId: string | null): Promise<boolean>;
}

// ---------------------------------------------------------------- CXone's admin API and its agents

/**
 * CXone's admin API, as the acd-groups and teams backends use it: agents, ACD groups and
 * their agents, agents' teams. Implemented by src/adapters/cxone/admin-api.ts, which says
 * where each shape comes from. `groupId`, `agentId` and `teamId` are integers; an agent's
 * `userID` is its SCIM user id.
 *
 * Errors: as ScimDirectory; a batch write whose outcome is unknown (a dropped connection,
 * no answer in time, a 5xx) is never sent again but thrown as OutcomeUnknownError
 * (./errors.ts), for the caller to re-read.
 */
/** An agent as `GET /agents` lists it; with `fields`, only the fields asked for are there. */
export interface AdminAgent {
  readonly agentId: number;
  readonly userName?: string;
  /** `userID`: the agent's user-hub id, which is its SCIM user id. */
  readonly userId?: string;
  readonly emailAddress?: string;
  readonly isActive?: boolean;
  readonly teamId?: number;
  /** `teamUuId`: the same team's user-management id (a UUID), the `id` user-management's teams have. */
  readonly teamUuId?: string;
  readonly lastUpdated?: string;
}

/** An ACD group (`GET /groups/{groupId}`, `GET /agents/{agentId}/groups`). */
export interface AdminGroup {
  readonly groupId: number;
  readonly groupName?: string;
  readonly isActive?: boolean;
  readonly notes?: string;
  /** When the group last changed, as the API says it (whether assignments move it is for a real tenant to confirm). */
  readonly lastUpdated?: string;
}

export interface AgentsQuery {
  readonly skip?: number;
  readonly top?: number;
  /** Fields to return (`fields=agentId,userID,…`); default: all. */
  readonly fields?: readonly string[];
  /** Only agents changed since then (ISO 8601, as `lastPollTime` gave it). */
  readonly updateSince?: string;
  readonly isActive?: boolean;
}

export interface AgentsPage {
  readonly agents: readonly AdminAgent[];
  /** Agents matching the query in all, when the answer says. */
  readonly totalRecords: number | undefined;
  /** The server's time of this read: the `updateSince` of the next refresh. */
  readonly lastPollTime: string | undefined;
}

export interface GroupAgents {
  /** Each agent once, in the order the pages gave them. */
  readonly agents: readonly AdminAgent[];
  readonly totalRecords: number;
  /** Requests the read took. */
  readonly pages: number;
}

/** What a batch write answered, agent by agent. */
export interface BatchOutcome {
  readonly status: number;
  /** `errorCount` as answered (at least the failures listed). */
  readonly errorCount: number;
  readonly succeeded: readonly number[];
  readonly failed: readonly { readonly agentId: number; readonly error: string }[];
  /** Sent, but the answer says nothing of them: read them back before relying on either outcome. */
  readonly unreported: readonly number[];
}

/**
 * One agent's move (`PUT /agents`): to the team of an integer `teamId`, or to the team of a
 * user-management id (`teamUuid`, as the published request spells it).
 */
export type TeamChange = { readonly agentId: number; readonly teamId: number; readonly teamUuid?: undefined } | { readonly agentId: number; readonly teamUuid: string; readonly teamId?: undefined };

/** A team as the teams backend names it: its integer `teamId`, or its user-management id (a string, a UUID in practice). */
export type TeamRef = number | string;

export interface AdminApiClient {
  /** One page of `GET /agents` (`skip`, `top`, `fields`, `updateSince`); 204 is an empty page. */
  listAgents(query: AgentsQuery, ctx: RequestContext): Promise<AgentsPage>;
  /** Every page of `GET /agents` from the start, each agent once; `lastPollTime` is the first page's. */
  listAllAgents(query: Omit<AgentsQuery, 'skip' | 'top'>, ctx: RequestContext): Promise<AgentsPage & { readonly pages: number }>;
  /** `GET /groups/{groupId}`; null when there is no such group. */
  getGroup(groupId: number, ctx: RequestContext): Promise<AdminGroup | null>;
  /**
   * `GET /groups/{groupId}/agents?assigned=true&top=…`, following `_links.next` (else `skip`/`top` while
   * `totalRecords` says more are left); 204 is an empty group; null when there is no such
   * group. Pages that disagree with `totalRecords`, or with each other, mean the group
   * changed while it was read: PagesChangedError (a lost race: read again).
   */
  listGroupAgents(groupId: number, ctx: RequestContext): Promise<GroupAgents | null>;
  /** `POST /groups/{groupId}/agents`: adds the agents, answering per agent. */
  addGroupAgents(groupId: number, agentIds: readonly number[], ctx: RequestContext): Promise<BatchOutcome>;
  /** `DELETE /groups/{groupId}/agents`: removes the agents, answering per agent. */
  removeGroupAgents(groupId: number, agentIds: readonly number[], ctx: RequestContext): Promise<BatchOutcome>;
  /** `GET /agents/{agentId}/groups`; 204 is none; null when there is no such agent. */
  getAgentGroups(agentId: number, ctx: RequestContext): Promise<readonly AdminGroup[] | null>;
  /** `PUT /agents` with each agent's new `teamId` (or `teamUuid`), answering per agent. */
  updateAgentTeams(changes: readonly TeamChange[], ctx: RequestContext): Promise<BatchOutcome>;
  /** `POST /groups`: creates an active ACD group; its new groupId. */
  createGroup(group: { readonly groupName: string; readonly notes?: string }, ctx: RequestContext): Promise<number>;
  /** `PUT /groups/{groupId}?groupName=…&notes=…`. */
  renameGroup(groupId: number, groupName: string, notes: string | undefined, ctx: RequestContext): Promise<void>;
  /** Every page of `GET /groups` (`skip`, `top`). Optional (clients made before it). */
  listGroups?(ctx: RequestContext): Promise<readonly AdminGroup[]>;
  /**
   * User-management's teams (`/user-management/…` at the API origin, not under the admin
   * API's path). Every page of `POST /user-management/v4/teams/search` (`skip`, `top`;
   * `filter.name` with operation `EQ` when `name` is given). Optional.
   */
  searchTeams?(query: { readonly name?: string }, ctx: RequestContext): Promise<readonly CxoneTeam[]>;
  /** `GET /user-management/v3/teams/{teamId}` by the team's UUID id; null when there is none (404). Optional. */
  getTeam?(teamUuid: string, ctx: RequestContext): Promise<CxoneTeam | null>;
  /** `POST /user-management/v3/teams` `{name, status: "ACTIVE"}`: the new team. Optional. */
  createTeam?(name: string, ctx: RequestContext): Promise<CxoneTeam>;
  /**
   * `PUT /user-management/v3/teams` (TeamRequestUpdate: `id`, `name`, `status`, with
   * `description` and `leadUserId` when given): the team as sent, so pass the fields GET
   * answered with what changes. A name another team has is an UpstreamError with status 409
   * and scimType `uniqueness`; an unknown id one with status 404. Optional.
   */
  updateTeam?(team: CxoneTeam, ctx: RequestContext): Promise<CxoneTeam>;
}

/** A team as user-management answers it (TeamV3, GetTeamResponse.team, TeamCreateUpdateResponse): its `id` is a UUID, the `teamUuId` agents carry. */
export interface CxoneTeam {
  readonly id: string;
  readonly name: string;
  readonly status?: 'ACTIVE' | 'INACTIVE';
  readonly description?: string;
  /** The team lead's user id (GetTeamResponse.team.leadUserId). */
  readonly leadUserId?: string;
  readonly isDefault?: boolean;
}

/**
 * The agent map: which CXone agent each SCIM user is. IdPs send SCIM user ids (some send
 * userNames); the admin API takes integer agentIds. Kept in the store, so that a restart
 * does not page every agent again, and brought up to date with `updateSince`: one request
 * when little changed. Shared by every sync; its requests are counted in the ctx passed.
 */
export interface AgentDirectory {
  /**
   * The agent of each value, matched on `userID` first and `userName` second. Values not
   * in the map cause one refresh (updateSince) before they are left out of the answer:
   * absent means no such agent (user_not_found).
   */
  resolve(values: readonly string[], ctx: RequestContext): Promise<Map<string, AdminAgent>>;
  /** The agents with these ids, refreshing once for ids the map does not hold; absent: no such agent. */
  byAgentIds(agentIds: readonly number[], ctx: RequestContext): Promise<Map<number, AdminAgent>>;
  /** The agents whose team is `team` (an integer: their `teamId`; a string: their `teamUuId`, without regard to case), after bringing the map up to date. */
  inTeam(team: TeamRef, ctx: RequestContext): Promise<readonly AdminAgent[]>;
  /** Brings the map up to date: every agent when it is empty, else those changed since the last refresh. */
  refresh(ctx: RequestContext): Promise<void>;
}

/** Where the agent map is kept (the store): the agents, and the `updateSince` of the next refresh. */
export interface AgentMapStore {
  /** Every agent kept, and the `lastPollTime` of the last refresh (undefined: never loaded). */
  load(): Promise<{ readonly agents: readonly AdminAgent[]; readonly lastPollTime: string | undefined }>;
  /** Inserts or replaces these agents and records the refresh's `lastPollTime`, in one transaction. */
  save(agents: readonly AdminAgent[], lastPollTime: string | undefined): Promise<void>;
}

/** Where the membership backend chosen by MEMBERSHIP_BACKEND=auto is kept, so that every replica makes the same choice. */
export interface BackendChoiceStore {
  /** The backend chosen before, if any. */
  get(): Promise<MembershipBackendName | undefined>;
  /** Keeps `name` unless a choice is kept already; answers the choice kept (first writer wins). */
  choose(name: MembershipBackendName): Promise<MembershipBackendName>;
}

/**
 * One step of an admin-API write, in the journal before it is sent: agents removed from or
 * added to an ACD group, or moved to a team.
 */
export interface JournalStep {
  readonly action: 'remove' | 'add' | 'team';
  readonly agentIds: readonly number[];
  /** `team`: the team the agents move to (its integer id)… */
  readonly teamId?: number;
  /** …or its user-management id, for a team no agent's integer id is known of. */
  readonly teamUuid?: string;
  /** Part of undoing the sync's earlier steps. */
  readonly undo: boolean;
  /** `pending` until its answer is recorded; `unknown` when the answer was lost (read back, never assumed). */
  readonly state: 'pending' | 'done' | 'failed' | 'unknown';
  /** Agents the answer reported failed, with the provider's error. */
  readonly failed?: readonly { readonly agentId: number; readonly error: string }[];
}

/** What an undo restores: the agents the ACD group held when read, or each moved agent's team before the sync. */
export interface JournalBefore {
  readonly agentIds?: readonly number[];
  /** agentId → team: an integer teamId, or a user-management id (a string). */
  readonly teams?: Readonly<Record<string, TeamRef>>;
}

/** An admin-API write of one sync, from before its first step until it is verified or undone. */
export interface JournalEntry {
  readonly syncId: string;
  readonly backend: MembershipBackendName;
  readonly groupId: string;
  readonly before: JournalBefore;
  /** The agents the group should hold when the write is complete (ACD groups), or agentId → teamId (teams). */
  readonly target: JournalBefore;
  /** `writing` while the steps go out; `undoing` once an undo began; `verifying` once every step answered. */
  readonly phase: 'writing' | 'undoing' | 'verifying';
  readonly steps: readonly JournalStep[];
  /** ISO 8601. */
  readonly openedAt: string;
}

/**
 * The journal of admin-API writes (the store). CXone's admin API writes a group's
 * membership in separate batches, so a sync records every step before it sends it; a sync
 * cut off midway (a crash, a lost connection, a failed undo) leaves its entry open, and the
 * next start, or the next sync of that group, completes or undoes it first.
 */
export interface MembershipJournal {
  open(entry: Omit<JournalEntry, 'phase' | 'steps'>): Promise<void>;
  /** Records a step before it is sent; answers its index. */
  begin(syncId: string, step: Omit<JournalStep, 'state' | 'failed'>): Promise<number>;
  /** Records what the step answered. */
  end(syncId: string, index: number, state: JournalStep['state'], failed?: JournalStep['failed']): Promise<void>;
  setPhase(syncId: string, phase: JournalEntry['phase']): Promise<void>;
  /** The write is verified or undone: the entry is closed (kept no longer). */
  close(syncId: string): Promise<void>;
  /** Entries still open, oldest first; only those of one backend's group when given. */
  openEntries(filter?: { readonly backend?: MembershipBackendName; readonly groupId?: string }): Promise<readonly JournalEntry[]>;
}

/**
 * The groups this service syncs under one backend, as its own records show: a group with a
 * sync recorded as applied or unchanged in the audit trail. The teams backend asks it
 * before it moves a user out of another team (member_in_other_team); it also counts a
 * team with an open journal entry (MembershipJournal) as synced.
 */
export interface SyncedGroups {
  /** Those of `groupIds` this service has synced under `backend`. */
  synced(backend: MembershipBackendName, groupIds: readonly string[]): Promise<ReadonlySet<string>>;
}

// ---------------------------------------------------------------- the sync's other ports

/** Time, injectable so that tests never sleep on the wall clock. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** A monotonic reading in milliseconds, for durations. */
  monotonic(): number;
  /** Resolves after `ms` milliseconds (or rejects when the signal aborts). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** A group's lock, held across processes. */
export interface HeldGroupLock {
  /**
   * Aborts when the lock is lost while held (its database connection dropped): another
   * process may take it now, so the holder must stop before its next write. Its reason is
   * the error to end the sync with.
   */
  readonly lost: AbortSignal;
  /** Gives the lock back; never throws. */
  release(): Promise<void>;
}

/**
 * The per-group lock across the replicas of the service (STORE=postgres), taken by a sync
 * once its turn in the in-process queue has come, and held for its whole run, so that two
 * replicas never interleave syncs of one group, whatever the provider offers (ETags or not).
 */
export interface GroupLockService {
  /**
   * Waits for the lock of `groupId`. Rejects with the signal's reason when it aborts while
   * waiting, and with SyncInterruptedError (./errors.ts) when the lock cannot be had.
   */
  acquire(groupId: string, signal?: AbortSignal): Promise<HeldGroupLock>;
}

/**
 * Names held exclusively across the replicas of the service (STORE=postgres) around a
 * check-and-create: the SCIM front door's create of a group holds the name of its
 * displayName (case-insensitive) and of its externalId from the uniqueness check until the
 * group and its externalId are kept, so that two replicas never both create one group.
 * None: this process is the only one that creates (it serialises its own creates).
 */
export interface NameLockService {
  /**
   * Waits for the lock of every name, taken in one order (two callers never wait on each
   * other in a cycle); the lock given back releases them all. Rejects with the signal's
   * reason when it aborts while waiting, and with SyncInterruptedError when a lock cannot
   * be had. `lost` aborts when one of them is lost while held.
   */
  acquire(names: readonly string[], signal?: AbortSignal): Promise<HeldGroupLock>;
}

/**
 * The audit trail. append() writes the record and, in the same transaction, the events
 * it causes (the webhook outbox) and, for a sync that applied its desired set or found it
 * held, that desired set (the drift scheduler's reference; DriftStore), and resolves only
 * once all of it is durable: a sync is never answered as done before it is recorded. A
 * trail that keeps no desired sets (in memory) ignores `desired`.
 */
export interface AuditLog {
  append(entry: AuditEntry, events: readonly DomainEvent[], desired?: DesiredSet): Promise<AuditRecord>;
}

/**
 * The records of what the SCIM front door changes outside a sync (FrontDoorAuditEntry),
 * appended to the same chain as the syncs' (durable before it resolves).
 * Errors: StorageError when the trail cannot take it.
 */
export interface ChangeAudit {
  appendChange(entry: FrontDoorAuditEntry): Promise<void>;
}

export function isChangeAudit(audit: object): audit is ChangeAudit {
  return typeof (audit as Partial<ChangeAudit>).appendChange === 'function';
}

export interface SyncObservation {
  readonly status: SyncOutcomeStatus;
  readonly durationSeconds: number;
  /** Of applied syncs only. */
  readonly consistencyRate: number | null;
  readonly validationCodes: readonly MemberErrorCode[];
  /** Per user touched by the attribute sync after an applied write: what happened to its entitlements. */
  readonly attributeOutcomes: readonly AttributeOutcome[];
  /** Users whose provider-computed `groups` disagreed with the write. */
  readonly groupsInconsistent: number;
}

/** What the sync tells the metrics (Prometheus in production). */
export interface SyncMetrics {
  observeSync(observation: SyncObservation): void;
}

// ---------------------------------------------------------------- the service's ports

/** The most records one page of GET /audit holds. */
export const AUDIT_PAGE_MAX = 500;

export interface AuditListQuery {
  /** Only the records of this actor (a caller reads its own; an administrator passes none). */
  readonly actor?: string;
  readonly groupId?: string;
  /** ISO 8601: records created at or after this instant. */
  readonly since?: string;
  /** 1..AUDIT_PAGE_MAX. */
  readonly limit: number;
  /** An opaque cursor from a previous page's nextCursor. */
  readonly cursor?: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

/** Reading the audit trail: GET /syncs/{syncId}, GET /audit, GET /audit/verify. Errors: InvalidCursorError (./errors.ts) for a cursor the store did not issue; StorageError when storage cannot be used. */
export interface AuditQueries {
  /** The record of a sync (a subscription change is not one). */
  findSync(syncId: string): Promise<AuditRecord | undefined>;
  /** Newest first: syncs and subscription changes. Throws InvalidCursorError for a cursor this store did not issue. */
  listRecords(query: AuditListQuery): Promise<Page<AnyAuditRecord>>;
  /** Walks the whole chain, oldest first, without holding it in memory. */
  verifyChain(): Promise<ChainVerdict>;
}

/** An audit trail that can also be read: what the audit routes are served from. */
export interface AuditTrail extends AuditLog, AuditQueries {}

export function isAuditTrail(audit: AuditLog): audit is AuditTrail {
  const candidate = audit as Partial<AuditQueries>;
  return typeof candidate.findSync === 'function' && typeof candidate.listRecords === 'function' && typeof candidate.verifyChain === 'function';
}

export interface Subscription {
  readonly id: string;
  /** The name of the token that created it; null when it was created before owners were recorded (administrators only see it). */
  readonly owner: string | null;
  readonly url: string;
  readonly events: readonly EventType[];
  readonly description: string | null;
  /** ISO 8601. */
  readonly createdAt: string;
  /** True once the receiver answered 410 Gone: nothing more is delivered to it. */
  readonly disabled: boolean;
}

export interface NewSubscription {
  readonly url: string;
  readonly events: readonly EventType[];
  readonly description?: string;
}

/** Only the answer to a create carries the secret; nothing returns it afterwards. */
export interface CreatedSubscription extends Subscription {
  /** `whsec_` + base64 of 32 random bytes (Standard Webhooks). */
  readonly secret: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryAttempt {
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** ISO 8601. */
  readonly at: string;
  /** The receiver's HTTP status, or null when no answer came (network error, timeout, refused target). */
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
}

/** One event on its way to one subscriber, with its attempts so far. */
export interface Delivery {
  readonly id: number;
  /** The webhook-id of every attempt. */
  readonly eventId: string;
  readonly eventType: EventType;
  readonly status: DeliveryStatus;
  /** ISO 8601 of the next attempt while pending, else null. */
  readonly nextAttemptAt: string | null;
  readonly createdAt: string;
  readonly attempts: readonly DeliveryAttempt[];
}

export interface DeliveryListQuery {
  readonly limit: number;
  readonly cursor?: string;
}

/**
 * Who reads or manages subscriptions: a caller its own (those it created), an
 * administrator (ADMIN_API_TOKENS) every one, ownerless ones included.
 */
export interface Viewer {
  readonly actor: string;
  readonly admin: boolean;
}

/** Who asks for a change, and in which request: what its audit record says. */
export interface ChangeRequest extends Viewer {
  readonly requestId: string;
}

/**
 * The /subscriptions API. Secrets are stored, returned once by create, never again.
 * Reads take the viewer: what it may not see is answered exactly like what does not exist.
 * Without a viewer they see everything (the service's own use, tools and tests).
 */
export interface SubscriptionStore {
  /**
   * Creates it, owned by `by.actor`, and appends its audit record to the chain in the same
   * transaction. Without `by`: an ownerless subscription, not audited (tools and tests).
   */
  createSubscription(input: NewSubscription, by?: ChangeRequest): Promise<CreatedSubscription>;
  listSubscriptions(viewer?: Viewer): Promise<readonly Subscription[]>;
  getSubscription(id: string, viewer?: Viewer): Promise<Subscription | undefined>;
  /**
   * Deletes it with its deliveries and, with `by`, appends its audit record in the same
   * transaction; answers what was deleted, or undefined when there was no such
   * subscription that `by` may manage.
   */
  deleteSubscription(id: string, by?: ChangeRequest): Promise<Subscription | undefined>;
  /** Newest first; undefined when there is no such subscription (that the viewer may see). */
  listDeliveries(subscriptionId: string, query: DeliveryListQuery, viewer?: Viewer): Promise<Page<Delivery> | undefined>;
}

/** A delivery that is due, with what the dispatcher needs to send it. */
export interface PendingDelivery {
  readonly id: number;
  readonly eventId: string;
  readonly eventType: EventType;
  /** The exact JSON body to send: `{ type, timestamp, data }`. */
  readonly body: string;
  readonly url: string;
  /** The subscription's secret; null for a static WEBHOOK_URLS subscriber (signed with WEBHOOK_SECRET). */
  readonly secret: string | null;
  /** null for a static subscriber. */
  readonly subscriptionId: string | null;
  /** Attempts already made. */
  readonly attempts: number;
}

export interface AttemptResult {
  /** Epoch milliseconds. */
  readonly at: number;
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
}

export type DeliveryNext = { readonly status: 'delivered' } | { readonly status: 'failed' } | { readonly status: 'pending'; readonly nextAttemptAt: number };

/** The durable webhook outbox: rows written by AuditLog.append in the same transaction as the record. */
export interface Outbox {
  /** Pending deliveries due at `now`, oldest first, leaving out those in `exclude` (in flight). */
  dueDeliveries(now: number, limit: number, exclude: ReadonlySet<number>): Promise<PendingDelivery[]>;
  /** When the earliest pending delivery outside `exclude` falls due (epoch ms), or null when none is pending. */
  nextDueAt(exclude: ReadonlySet<number>): Promise<number | null>;
  /** Records one attempt and what happens next, in one transaction. */
  recordAttempt(deliveryId: number, result: AttemptResult, next: DeliveryNext): Promise<void>;
  /** 410 Gone: turns the subscription off and fails its pending deliveries. */
  disableSubscription(subscriptionId: string): Promise<void>;
  /** Called after an append queued deliveries, so the dispatcher need not poll. Returns an unsubscribe. */
  onQueued(listener: () => void): () => void;
}

/** The answer stored for an Idempotency-Key, replayed to retries. */
export interface StoredResponse {
  readonly statusCode: number;
  readonly contentType: string;
  readonly body: string;
}

export type IdempotencyClaim =
  | { readonly claimed: true }
  | { readonly claimed: false; readonly fingerprint: string; readonly state: 'processing' }
  | { readonly claimed: false; readonly fingerprint: string; readonly state: 'completed'; readonly response: StoredResponse };

/**
 * Idempotency keys (IETF httpapi Idempotency-Key draft), scoped to the caller: the first
 * answer for a key is kept for a while and replayed to retries with the same request.
 */
export interface IdempotencyStore {
  /** Claims (actor, key) for a new request, atomically; or tells what is already there. Expired entries count as absent. */
  claim(actor: string, key: string, fingerprint: string, ttlMs: number): Promise<IdempotencyClaim>;
  /** Stores the answer of a claimed request. */
  complete(actor: string, key: string, response: StoredResponse): Promise<void>;
  /** Forgets a claim (a transient answer, so a retry runs again). */
  release(actor: string, key: string): Promise<void>;
  /** Forgets every claim still processing: at start, they belong to a process that died. Returns how many. */
  releaseAbandoned(): Promise<number>;
}

/** Why a URL may not receive webhooks: `reason` may be shown to whoever chose the URL; `detail` goes to the log only. */
export interface TargetRefusal {
  readonly reason: string;
  /** May name what the host resolved to and the class of the address. */
  readonly detail: string;
}

/** The SSRF rules, as POST /subscriptions asks them before it stores a URL. */
export interface WebhookTargetCheck {
  /** Why `url` may not be a webhook target, by the URL itself and by what its host resolves to now; null when it may. */
  checkTarget(url: string): Promise<TargetRefusal | null>;
}

// ---------------------------------------------------------------- drift: the groups as last synced, and as they are

/**
 * The members a sync of a group last applied, or found already held (applied or unchanged;
 * never a dry run): what the drift scheduler compares the upstream with. One per group and
 * membership backend, replaced by every such sync, kept apart from the audit trail (its
 * retention never prunes it).
 */
export interface DesiredSet {
  readonly backend: MembershipBackendName;
  readonly groupId: string;
  /** Typed, each member once, identity fields only. */
  readonly members: readonly MemberRef[];
  /** The sync that recorded it. */
  readonly syncId: string;
  /** Whose it is: the caller of that sync (a drift heal keeps the owner of the set it re-applies). Drift events go to this caller's subscribers. */
  readonly owner: string;
  /** ISO 8601. */
  readonly appliedAt: string;
}

/** A desired set without its members: what the drift routes show of it. */
export type DesiredSetSummary = Omit<DesiredSet, 'members'> & { readonly memberCount: number };

/** What the last heal of a drifted group did. */
export interface HealReport {
  readonly outcome: 'applied' | 'failed';
  /** The heal's sync (its audit record, actor drift-heal); null when it ended before it had one. */
  readonly syncId: string | null;
  /** ISO 8601. */
  readonly at: string;
  /** The error code of a failed heal. */
  readonly error?: string;
  readonly message?: string;
  /**
   * A failed heal that a retry cannot fix (validation_failed, group_not_found, …): the
   * group is not healed again until a sync records another desired set. A transient
   * failure (upstream_unavailable, a timeout, …) is tried again at the next cycle.
   */
  readonly retryable?: boolean;
  /** The desired set it re-applied (the sync that recorded it). */
  readonly desiredSyncId: string;
}

export type DriftStatus = 'drifted' | 'in_sync';

/** The last drift check of a group: how the upstream differed from its desired set. */
export interface DriftRecord {
  readonly backend: MembershipBackendName;
  readonly groupId: string;
  /** The desired set's owner: who sees the record (besides administrators) and whose subscribers hear its events. */
  readonly owner: string;
  readonly status: DriftStatus;
  /** The group itself is gone upstream (every desired member is then missing). */
  readonly groupMissing: boolean;
  /** Desired members the upstream does not hold (the first 100). */
  readonly missing: readonly MemberRef[];
  /** Members the upstream holds that are not desired (the first 100). */
  readonly extra: readonly MemberRef[];
  readonly missingCount: number;
  readonly extraCount: number;
  /** ISO 8601: when this drift was first seen; null while in sync. */
  readonly firstSeenAt: string | null;
  /** ISO 8601: the last read of the group by the drift scheduler. */
  readonly lastCheckedAt: string;
  /** ISO 8601: when the last drift was found gone (healed, synced, or put right upstream); null if never. */
  readonly resolvedAt: string | null;
  /** The desired set compared with (the sync that recorded it). */
  readonly desiredSyncId: string;
  readonly heal: HealReport | null;
}

export interface DriftListQuery {
  /** Only the groups of this owner (a caller reads its own; an administrator passes none). */
  readonly owner?: string;
  /** drifted (default): the groups drifted now; all: every group checked. */
  readonly status?: 'drifted' | 'all';
  /** 1..AUDIT_PAGE_MAX. */
  readonly limit: number;
  readonly cursor?: string;
}

/** Across every group: what the drift gauges show. */
export interface DriftTotals {
  readonly groups: number;
  /** Missing plus extra members, over every drifted group. */
  readonly members: number;
  /** ISO 8601 of the oldest drift still open; null when none is. */
  readonly oldestFirstSeenAt: string | null;
}

/**
 * The desired sets (written by AuditLog.append) and the drift records (the store).
 * Errors: StorageError; InvalidCursorError for a cursor the store did not issue.
 */
export interface DriftStore {
  /** The groups whose desired set under `backend` was recorded at or after `since` (ISO 8601), by group id. */
  recentlySynced(backend: MembershipBackendName, since: string): Promise<readonly string[]>;
  desiredSet(backend: MembershipBackendName, groupId: string): Promise<DesiredSet | undefined>;
  drift(backend: MembershipBackendName, groupId: string): Promise<DriftRecord | undefined>;
  /** Writes the record and, in the same transaction, its events to the outbox (for the subscribers that hear `record.owner`). */
  saveDrift(record: DriftRecord, events: readonly DomainEvent[]): Promise<void>;
  /** The newest desired set of the group (of `backend`, when given) and the drift check against it, if any. */
  groupDrift(groupId: string, backend?: MembershipBackendName): Promise<{ readonly desired: DesiredSetSummary; readonly drift: DriftRecord | undefined } | undefined>;
  /** By group, in a stable order. */
  listDrift(query: DriftListQuery): Promise<Page<DriftRecord>>;
  driftTotals(): Promise<DriftTotals>;
}

/**
 * Who runs the drift scheduler when several replicas share a store (STORE=postgres): the
 * one that holds this lease. None: this process is the only one.
 */
export interface SchedulerLease {
  /** The lease, or null when another process holds it now. `lost` aborts when it is lost while held. */
  tryAcquire(): Promise<HeldGroupLock | null>;
}

/** What the drift scheduler tells the metrics. */
export interface DriftMetrics {
  /** A group read: in_sync, drifted, skipped (a sync ran or waited), discarded (a sync overlapped it), failed. */
  observeCheck(outcome: 'in_sync' | 'drifted' | 'skipped' | 'discarded' | 'failed'): void;
  observeHeal(outcome: 'applied' | 'failed'): void;
  /** Seconds the scheduler runs behind its schedule (0: on time). */
  setLag(seconds: number): void;
  /** A cycle ended: how long it took, and the upstream requests its reads sent. */
  observeCycle(durationSeconds: number, upstreamRequests: number): void;
}

// ---------------------------------------------------------------- quarantine and held changes

/** Where a group stands in quarantine: refused (`quarantined`) or on trial (`half_open`: the next sync runs). */
export type QuarantinePhase = 'quarantined' | 'half_open';

/** A group's run of failures and its quarantine, as the store keeps them (no row: healthy). */
export interface GroupHealth {
  readonly groupId: string;
  /** Consecutive failures of the group with errors of its own (./quarantine.ts belongsToGroup). */
  readonly failures: number;
  /** The code of the last of them. */
  readonly lastError: string | null;
  /** null: counting failures, not quarantined. */
  readonly phase: QuarantinePhase | null;
  /** The step of QUARANTINE_BACKOFF the current quarantine is at (0: the first delay). */
  readonly step: number;
  /** When the group was quarantined (epoch ms); null when it is not. */
  readonly since: number | null;
  /** When it is next probed (epoch ms); null unless quarantined. */
  readonly nextProbeAt: number | null;
  /** Epoch ms of the last change. */
  readonly updatedAt: number;
}

/** What a quarantine or held-change transition appends to the audit trail with it (its record, its events to the outbox), in the same transaction. */
export interface QuarantineNote {
  readonly entry: QuarantineAuditEntry;
  readonly events: readonly DomainEvent[];
}

/**
 * Each group's run of failures and its quarantine (the store: both survive a restart and are
 * shared by the replicas of one database). Every change is one statement, or one transaction
 * with its note, so replicas never lose a count; the transitions are conditional (they answer
 * whether they happened), so that one replica emits each event.
 */
export interface QuarantineStore {
  health(groupId: string): Promise<GroupHealth | undefined>;
  /** Groups quarantined or half-open, longest quarantined first. */
  listQuarantined(): Promise<readonly GroupHealth[]>;
  /** How many groups are quarantined or half-open. */
  countQuarantined(): Promise<number>;
  /** Counts one more failure of the group, atomically (one statement); answers the state after it. */
  countFailure(groupId: string, error: string, at: number): Promise<GroupHealth>;
  /**
   * Quarantines the group at backoff `step` unless it is quarantined already; true when it
   * was not. The note (its record and group.quarantined) is appended in the same
   * transaction, only when this call quarantined it: both happen or neither does.
   */
  enter(groupId: string, step: number, nextProbeAt: number, error: string, at: number, note?: QuarantineNote): Promise<boolean>;
  /** A good probe: quarantined → half-open (with the note); false when it was not quarantined. */
  halfOpen(groupId: string, at: number, note?: QuarantineNote): Promise<boolean>;
  /** A failed probe: stays quarantined, at `step`, probed again at `nextProbeAt`; false when it was not quarantined. */
  probeFailed(groupId: string, step: number, nextProbeAt: number, error: string, at: number): Promise<boolean>;
  /**
   * Forgets the group's failures and quarantine (a good sync, a release by hand), answering
   * what they were; the note is appended, in the same transaction, only when the group was
   * quarantined or half-open.
   */
  clear(groupId: string, note?: QuarantineNote): Promise<GroupHealth | undefined>;
  /** Quarantined groups whose probe is due at `now`, soonest first. */
  dueProbes(now: number, limit: number): Promise<readonly GroupHealth[]>;
  /** When the next probe falls due (epoch ms), or null when no group is quarantined. */
  nextProbeAt(): Promise<number | null>;
}

/** A guarded change the SCIM front door holds for an administrator (the IdP cannot add allowMassRemoval). */
export interface HeldChange {
  readonly id: string;
  readonly groupId: string;
  /** Who sent it (the token's name). */
  readonly actor: string;
  /** SHA-256 of the change (./held-changes.ts changeFingerprint): the IdP's retry of the same change matches it. */
  readonly fingerprint: string;
  readonly removing: number;
  readonly of: number;
  /**
   * `held` until decided; `approved` lets the next matching retry through once (then `used`);
   * `rejected` keeps refusing it; `expired`: not decided (or, approved, not used) within
   * HELD_CHANGE_TTL (./held-changes.ts), after which the same change is held afresh.
   */
  readonly state: 'held' | 'approved' | 'rejected' | 'used' | 'expired';
  /** ISO 8601. */
  readonly createdAt: string;
  readonly decidedAt: string | null;
  readonly decidedBy: string | null;
  /** ISO 8601: when it expired (state `expired`). */
  readonly expiredAt: string | null;
}

/** What holdOrPass answers the front door: go ahead (an approval is used up), or still held/rejected under `id`. */
export type HoldDecision = { readonly kind: 'approved'; readonly id: string } | { readonly kind: 'held' | 'rejected'; readonly id: string; readonly created: boolean };

/** The held changes (the store). */
export interface HeldChangeStore {
  /**
   * In one transaction: an approved change of this group with this fingerprint is used up
   * (answers approved); else a held or rejected one is answered as it is; else a new one is
   * held with `id`, and the note (its record, group.change.held) appended with it.
   */
  holdOrPass(change: Omit<HeldChange, 'state' | 'decidedAt' | 'decidedBy' | 'expiredAt'>, note?: QuarantineNote): Promise<HoldDecision>;
  /** Newest first; only those in `state` when given. */
  listHeld(state?: HeldChange['state'], limit?: number): Promise<readonly HeldChange[]>;
  getHeld(id: string): Promise<HeldChange | undefined>;
  /**
   * held → approved or rejected; undefined when there is no such change, the change as it is
   * when it was decided already. The note (its audit record) is appended in the same
   * transaction, only when this call decided it.
   */
  decide(id: string, decision: 'approved' | 'rejected', by: string, at: string, note?: QuarantineNote): Promise<HeldChange | undefined>;
  /**
   * Expires, in one transaction, every change held (created) before `before` and every
   * approval given (decided) before `before` and not used (ISO 8601), marking them expired
   * at `at` and appending each one's note (`noteOf` the change as it was). Answers them as
   * they were, oldest first; each is expired once, whichever replica gets there first.
   */
  expire(before: string, at: string, noteOf: (change: HeldChange) => QuarantineNote): Promise<readonly HeldChange[]>;
}
