/**
 * CXone's admin API (`/incontactapi/services/vNN.0/…`, NN from 26 to 34) and the teams of its
 * user-management API, over the directory of agents, teams and ACD groups.
 *
 * Sources of the shapes (the generated client calljacob/nice-cxone-api, made from the OpenAPI
 * documents NICE publishes), cited again at each route:
 * - src/services/admin/AdminAgentsService.ts: GET /agents, GET /agents/{agentId|userId},
 *   PUT /agents, GET /agents/{agentId}/groups;
 * - src/services/admin/AdminGroupsService.ts: GET /groups, POST /groups, GET /groups/{groupId},
 *   PUT /groups/{groupId}?groupName=&notes=, GET/POST/DELETE /groups/{groupId}/agents;
 * - src/services/userhub/CxoneUsermanagementService.ts: POST /user-management/v4/teams/search,
 *   GET /user-management/v3/teams/{teamId}, POST and PUT /user-management/v3/teams.
 * What they leave open (status codes of writes, error bodies, paging defaults, `_links.next`
 * at the end) is an assumption, listed in README.md; what NICE leaves open about behaviour is
 * a knob (directory.ts, CxoneBehaviours).
 */
import type { IncomingMessage } from 'node:http';
import type { AgentRecord, AgentUpdate, DirectoryEngine, GroupRecord, TeamRecord } from './directory.js';
import { readBody } from './http.js';
import { ScimError } from './scim-error.js';

export const ADMIN_API_PREFIX = '/incontactapi/services/';
export const ADMIN_API_VERSIONS = { min: 26, max: 34 } as const;

export interface AdminRoute {
  /** `admin`: answers {error, errorDescription}; `um` (user-management): {code, details}. */
  readonly family: 'admin' | 'um';
  /** Statistics resource, e.g. "admin/groups/{groupId}/agents"; "admin/unknown" when nothing matched. */
  readonly resource: string;
  readonly methods: readonly string[];
  readonly params: Readonly<Record<string, string>>;
}

export interface AdminExchange {
  readonly req: IncomingMessage;
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** Sends JSON (no body for 204). */
  send(status: number, body?: unknown, headers?: Record<string, string>): void;
}

export interface AdminLimits {
  /** Page size when `top` is absent. */
  readonly pageSize: number;
  /** Largest `top` honoured; a larger one is capped. */
  readonly maxPageSize: number;
  /** Most agents (or groups) one write may carry; more is 400. */
  readonly maxBatch: number;
  readonly maxRequestBytes: number;
}

export interface AdminApiContext {
  readonly directory: DirectoryEngine;
  readonly now: () => number;
  /** The simulator's origin, for `_links`. */
  readonly origin: () => string;
  readonly limits: AdminLimits;
  readonly businessUnitId: number;
  /** A per-agent failure to inject into this write, or null. */
  agentFailure(op: 'add' | 'remove' | 'update', agentId: number): string | null;
  /** A page of this group's agents was made and has a next page: a shifting-page fault may change the group now. */
  pageServed(group: GroupRecord): void;
  /** A write landed on these keys (`acd:<groupId>`, `team:<teamId>`): a held answer to an earlier one may go. */
  landed(keys: readonly string[]): void;
  /** Keeps this write's answer back while a hold armed for it waits. */
  hold(keys: readonly string[], method: string): Promise<void>;
}

/** An admin-API failure: `code` is the error name in the body. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

/**
 * The error body of each family: {error, errorDescription} for the admin API (the only error
 * type the generated client publishes near it is AuthenticationGlobalauthentication_ERROR in
 * src/services/auth/AuthenticationGlobalauthenticationService.ts; an assumption), and the
 * user-management API's ErrorResponse {code, details} (CxoneUsermanagementService.ts).
 */
export function adminErrorBody(family: AdminRoute['family'], code: string, message: string): Record<string, string> {
  return family === 'um' ? { code, details: message } : { error: code, errorDescription: message };
}

const badRequest = (message: string): AdminError => new AdminError(400, 'InvalidRequest', message);
const notFound = (message: string): AdminError => new AdminError(404, 'NotFound', message);

interface Pattern {
  readonly segments: readonly string[];
  readonly resource: string;
  readonly methods: readonly string[];
}

const ADMIN_PATTERNS: readonly Pattern[] = [
  { segments: ['agents'], resource: 'admin/agents', methods: ['GET', 'PUT'] },
  { segments: ['agents', '{agentId}'], resource: 'admin/agents/{agentId}', methods: ['GET'] },
  { segments: ['agents', '{agentId}', 'groups'], resource: 'admin/agents/{agentId}/groups', methods: ['GET'] },
  { segments: ['groups'], resource: 'admin/groups', methods: ['GET', 'POST'] },
  { segments: ['groups', '{groupId}'], resource: 'admin/groups/{groupId}', methods: ['GET', 'PUT'] },
  { segments: ['groups', '{groupId}', 'agents'], resource: 'admin/groups/{groupId}/agents', methods: ['GET', 'POST', 'DELETE'] },
];

const UM_PATTERNS: readonly Pattern[] = [
  { segments: ['user-management', 'v3', 'teams'], resource: 'user-management/teams', methods: ['POST', 'PUT'] },
  { segments: ['user-management', 'v4', 'teams', 'search'], resource: 'user-management/teams/search', methods: ['POST'] },
  { segments: ['user-management', 'v3', 'teams', '{teamId}'], resource: 'user-management/teams/{teamId}', methods: ['GET'] },
];

function matchPattern(patterns: readonly Pattern[], segments: readonly string[]): { pattern: Pattern; params: Record<string, string> } | null {
  for (const pattern of patterns) {
    if (pattern.segments.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const want = pattern.segments[i] as string;
      const have = segments[i] as string;
      if (want.startsWith('{')) {
        try {
          params[want.slice(1, -1)] = decodeURIComponent(have);
        } catch {
          ok = false;
        }
        if (have === '') ok = false;
      } else if (want !== have.toLowerCase()) ok = false;
    }
    if (ok) return { pattern, params };
  }
  return null;
}

/** The admin or user-management route of a path; null when the path belongs to neither. */
export function matchAdminRoute(path: string): AdminRoute | null {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  if (trimmed.toLowerCase().startsWith('/user-management/')) {
    const found = matchPattern(UM_PATTERNS, trimmed.slice(1).split('/'));
    return found === null
      ? { family: 'um', resource: 'user-management/unknown', methods: [], params: {} }
      : { family: 'um', resource: found.pattern.resource, methods: found.pattern.methods, params: found.params };
  }
  if (!trimmed.toLowerCase().startsWith(ADMIN_API_PREFIX)) return null;
  const unknown: AdminRoute = { family: 'admin', resource: 'admin/unknown', methods: [], params: {} };
  const [version, ...rest] = trimmed.slice(ADMIN_API_PREFIX.length).split('/');
  const match = /^v(\d+)\.0$/i.exec(version ?? '');
  const number = match === null ? Number.NaN : Number(match[1]);
  if (!(number >= ADMIN_API_VERSIONS.min && number <= ADMIN_API_VERSIONS.max)) return { ...unknown, params: { version: version ?? '' } };
  const found = matchPattern(ADMIN_PATTERNS, rest);
  return found === null ? unknown : { family: 'admin', resource: found.pattern.resource, methods: found.pattern.methods, params: found.params };
}

// ---- input -------------------------------------------------------------------------------

function integerParam(query: URLSearchParams, name: string, fallback: number, min: number): number {
  const text = query.get(name);
  if (text === null || text.trim() === '') return fallback;
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || !Number.isSafeInteger(Number(text))) throw badRequest(`${name} must be an integer >= ${min}`);
  return Number(text);
}

function booleanParam(query: URLSearchParams, name: string): boolean | undefined {
  const text = query.get(name);
  if (text === null || text.trim() === '') return undefined;
  if (/^true$/i.test(text.trim())) return true;
  if (/^false$/i.test(text.trim())) return false;
  throw badRequest(`${name} must be true or false`);
}

function idParam(text: string | undefined, name: string): number {
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < 1) throw badRequest(`${name} must be an integer > 0`);
  return Number(text);
}

/** An integer written as a JSON number or a string of digits (the generated types say string for PUT /agents). */
function integerValue(value: unknown): number | undefined {
  if (Number.isSafeInteger(value) && (value as number) > 0) return value as number;
  if (typeof value === 'string' && /^\d+$/.test(value) && Number.isSafeInteger(Number(value)) && Number(value) > 0) return Number(value);
  return undefined;
}

async function readJson(ex: AdminExchange, limit: number, required: boolean): Promise<unknown> {
  let raw: Buffer;
  try {
    raw = await readBody(ex.req, limit);
  } catch (error) {
    if (error instanceof ScimError) throw new AdminError(error.status, 'PayloadTooLarge', error.message, error.headers);
    throw error;
  }
  if (raw.length === 0 && !required) return {};
  const mediaType = ex.req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== undefined && mediaType !== 'application/json') throw new AdminError(415, 'UnsupportedMediaType', `Content-Type ${JSON.stringify(mediaType)} is not supported; send application/json`);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw badRequest('the request body is not valid JSON');
  }
}

function objectOf(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function listOf(body: Record<string, unknown>, name: string, max: number): Record<string, unknown>[] {
  const list = body[name];
  if (!Array.isArray(list) || list.length === 0) throw badRequest(`"${name}" must be a non-empty array`);
  if (list.length > max) throw badRequest(`"${name}" holds ${list.length} entries; at most ${max} per request`);
  return list.map((item, index) => objectOf(item, `${name}[${index}]`));
}

/** {"agents": [{"agentId": n}, …]}, as POST and DELETE /groups/{groupId}/agents take it. */
function agentIdsOf(body: unknown, max: number): number[] {
  return listOf(objectOf(body, 'the request body'), 'agents', max).map((item, index) => {
    const agentId = integerValue(item.agentId);
    if (agentId === undefined) throw badRequest(`agents[${index}].agentId must be an integer > 0`);
    return agentId;
  });
}

// ---- output ------------------------------------------------------------------------------

const iso = (ms: number): string => new Date(ms).toISOString();

/** `fields=a,b`: a function keeping only those (case-insensitively); absent or empty: everything. */
function narrower(fields: string | null): (item: Record<string, unknown>) => Record<string, unknown> {
  if (fields === null || fields.trim() === '') return (item) => item;
  const wanted = new Set(fields.split(',').map((field) => field.trim().toLowerCase()).filter((field) => field !== ''));
  return (item) => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(item)) if (wanted.has(key.toLowerCase())) out[key] = value;
    return out;
  };
}

function renderGroup(group: GroupRecord): Record<string, unknown> {
  return { groupId: group.groupId, groupName: group.groupName, notes: group.notes, isActive: group.isActive, lastUpdated: iso(group.lastUpdated) };
}

function renderTeam(team: TeamRecord): Record<string, unknown> {
  return { id: team.teamUuId, name: team.teamName, description: team.description, status: team.isActive ? 'ACTIVE' : 'INACTIVE', leadUserId: null, isDefault: team.isDefault };
}

/** TeamResponse: {message, httpCode, team: TeamCreateUpdateResponse {id, name, status, createdBy, lastModified, isDefault, divisionId}}. */
function teamAnswer(ex: AdminExchange, status: number, team: TeamRecord, message: string): void {
  ex.send(status, {
    message,
    httpCode: status,
    team: { id: team.teamUuId, name: team.teamName, status: team.isActive ? 'ACTIVE' : 'INACTIVE', createdBy: null, lastModified: iso(team.lastUpdated), isDefault: team.isDefault, divisionId: 0 },
  });
}

export function createAdminApi(ctx: AdminApiContext): { handle(ex: AdminExchange, route: AdminRoute): Promise<void> } {
  const { directory, limits } = ctx;

  function teamOf(agent: AgentRecord): TeamRecord {
    return directory.teamRecord(agent.teamId) as TeamRecord;
  }

  /** An agent as GET /agents and GET /agents/{id} answer it (AdminAgentsService.ts, getAgents). */
  function renderAgent(agent: AgentRecord): Record<string, unknown> {
    const team = teamOf(agent);
    return {
      agentId: agent.agentId,
      userName: agent.userName,
      firstName: agent.firstName,
      lastName: agent.lastName,
      userID: agent.userID,
      emailAddress: agent.emailAddress,
      isActive: agent.isActive,
      teamId: agent.teamId,
      teamName: team.teamName,
      teamUuId: team.teamUuId,
      isSupervisor: false,
      locked: false,
      createDate: iso(agent.createDate),
      lastUpdated: iso(agent.lastUpdated),
    };
  }

  /** An agent as GET /groups/{groupId}/agents answers it: its published type has no userID and no teamUuId (AdminGroupsService.ts, getGroupAgent). */
  function renderGroupAgent(agent: AgentRecord): Record<string, unknown> {
    return {
      agentId: agent.agentId,
      userName: agent.userName,
      firstName: agent.firstName,
      lastName: agent.lastName,
      emailAddress: agent.emailAddress,
      isActive: agent.isActive,
      teamId: agent.teamId,
      teamName: teamOf(agent).teamName,
      isSupervisor: false,
      createDate: iso(agent.createDate),
      lastUpdated: iso(agent.lastUpdated),
    };
  }



  function paging(ex: AdminExchange): { skip: number; top: number } {
    const skip = integerParam(ex.query, 'skip', 0, 0);
    const top = Math.min(integerParam(ex.query, 'top', limits.pageSize, 1), limits.maxPageSize);
    return { skip, top };
  }

  /** `_links` of a page: self, and next and previous as URLs with skip moved (null when there is none). */
  function links(ex: AdminExchange, skip: number, top: number, total: number): Record<string, string | null> {
    const at = (from: number): string => {
      const query = new URLSearchParams(ex.query);
      query.set('skip', String(from));
      query.set('top', String(top));
      return `${ctx.origin()}${ex.path}?${query.toString()}`;
    };
    const self = `${ctx.origin()}${ex.path}${ex.query.size > 0 ? `?${ex.query.toString()}` : ''}`;
    return { self, next: skip + top < total ? at(skip + top) : null, previous: skip > 0 ? at(Math.max(0, skip - top)) : null };
  }

  /** An empty list answers 204 or 200 with nothing in it, as the emptyList behaviour says. */
  function sendList(ex: AdminExchange, count: number, body: Record<string, unknown>): void {
    if (count === 0 && directory.behaviours.emptyList === 204) return ex.send(204);
    ex.send(200, body);
  }

  function groupOf(route: AdminRoute): GroupRecord {
    const groupId = idParam(route.params.groupId, 'groupId');
    const group = directory.groupRecord(groupId);
    if (group === undefined) throw notFound(`group ${groupId} was not found`);
    return group;
  }

  function agentOf(text: string | undefined): AgentRecord {
    const agent = text !== undefined && /^\d+$/.test(text) ? directory.agentRecord(Number(text)) : directory.agentRecordByUserId(text ?? '');
    if (agent === undefined) throw notFound(`agent ${text ?? ''} was not found`);
    return agent;
  }

  // GET /agents — AdminAgentsService.ts (getAgents): updateSince, isActive, isLocked, searchString, fields, skip, top.
  function listAgents(ex: AdminExchange): void {
    const { skip, top } = paging(ex);
    const sinceText = ex.query.get('updateSince');
    const since = sinceText === null || sinceText.trim() === '' ? null : Date.parse(sinceText);
    if (since !== null && Number.isNaN(since)) throw badRequest('updateSince must be an ISO 8601 date-time');
    const isActive = booleanParam(ex.query, 'isActive');
    const isLocked = booleanParam(ex.query, 'isLocked');
    const search = ex.query.get('searchString')?.trim().toLowerCase() ?? '';
    const lastPollTime = iso(ctx.now());
    const matched =
      since === null && isActive === undefined && isLocked !== true && search === ''
        ? directory.agents()
        : directory
            .agents()
            .filter(
              (agent) =>
                (since === null || agent.lastUpdated >= since) &&
                (isActive === undefined || agent.isActive === isActive) &&
                isLocked !== true &&
                (search === '' || [agent.userName, agent.firstName, agent.lastName, agent.emailAddress].some((text) => text.toLowerCase().includes(search))),
            );
    const narrow = narrower(ex.query.get('fields'));
    const agents = matched.slice(skip, skip + top).map((agent) => narrow(renderAgent(agent)));
    sendList(ex, agents.length, { businessUnitId: ctx.businessUnitId, lastPollTime, totalRecords: matched.length, hiddenAgents: 0, _links: links(ex, skip, top, matched.length), agents });
  }

  // PUT /agents — AdminAgentsService.ts (operationsAgentsPutAgents): {agents: [{agentId, teamId?, teamUuid?, isActive?, …}]} → {errorCount, agentResults}.
  async function updateAgents(ex: AdminExchange): Promise<void> {
    const items = listOf(objectOf(await readJson(ex, limits.maxRequestBytes, true), 'the request body'), 'agents', limits.maxBatch);
    const updates = items.map((item, index): AgentUpdate => {
      const agentId = integerValue(item.agentId);
      if (agentId === undefined) throw badRequest(`agents[${index}].agentId must be an integer > 0`);
      const update: { agentId: number; teamId?: number; teamUuid?: string; isActive?: boolean } = { agentId };
      if (item.teamId !== undefined && item.teamId !== null) {
        update.teamId = integerValue(item.teamId);
        if (update.teamId === undefined) throw badRequest(`agents[${index}].teamId must be an integer > 0`);
      }
      if (item.teamUuid !== undefined && item.teamUuid !== null) {
        if (typeof item.teamUuid !== 'string' || item.teamUuid === '') throw badRequest(`agents[${index}].teamUuid must be a non-empty string`);
        update.teamUuid = item.teamUuid;
      }
      if (item.isActive !== undefined && item.isActive !== null) {
        if (typeof item.isActive !== 'boolean') throw badRequest(`agents[${index}].isActive must be a boolean`);
        update.isActive = item.isActive;
      }
      return update;
    });
    const { results, teams } = directory.updateAgents(updates, (agentId) => ctx.agentFailure('update', agentId));
    const keys = [...teams].map((teamId) => `team:${teamId}`);
    if (keys.length > 0) ctx.landed(keys);
    const body = { errorCount: results.filter((result) => !result.success).length, agentResults: results };
    await ctx.hold(keys, ex.method);
    ex.send(200, body);
  }

  // GET /groups/{groupId}/agents — AdminGroupsService.ts (getGroupAgent): {_links, totalRecords, agents}; `assigned=false` lists the others.
  function listGroupAgents(ex: AdminExchange, group: GroupRecord): void {
    const { skip, top } = paging(ex);
    const assigned = booleanParam(ex.query, 'assigned') ?? true;
    const ids = assigned ? directory.members(group) : null;
    const total = ids === null ? directory.agents().length - group.members.size : ids.length;
    const slice = ids !== null ? ids.slice(skip, skip + top).map((agentId) => directory.agentRecord(agentId) as AgentRecord) : directory.agents().filter((agent) => !group.members.has(agent.agentId)).slice(skip, skip + top);
    const narrow = narrower(ex.query.get('fields'));
    const agents = slice.map((agent) => narrow(renderGroupAgent(agent)));
    const body = { _links: links(ex, skip, top, total), totalRecords: total, agents };
    if (assigned && skip + top < total) ctx.pageServed(group);
    sendList(ex, agents.length, body);
  }

  // POST / DELETE /groups/{groupId}/agents — AdminGroupsService.ts: {agents: [{agentId}]} → {errorCount, agentResults: [{agentId, success, error}]}.
  async function writeGroupAgents(ex: AdminExchange, group: GroupRecord): Promise<void> {
    const agentIds = agentIdsOf(await readJson(ex, limits.maxRequestBytes, true), limits.maxBatch);
    const op = ex.method === 'POST' ? 'add' : 'remove';
    const results = directory.assign(group, agentIds, op, (agentId) => ctx.agentFailure(op, agentId));
    const keys = [`acd:${group.groupId}`];
    if (results.some((result) => result.success)) ctx.landed(keys);
    const body = { errorCount: results.filter((result) => !result.success).length, agentResults: results };
    await ctx.hold(keys, ex.method);
    ex.send(200, body);
  }

  // POST /user-management/v4/teams/search — CxoneUsermanagementService.ts (getTeamsByCriteria): {filter: {id?, name?}, operations?, skip?, top?, orderBy?}.
  async function searchTeams(ex: AdminExchange): Promise<void> {
    const body = objectOf(await readJson(ex, limits.maxRequestBytes, false), 'the request body');
    const filter = body.filter === undefined || body.filter === null ? {} : objectOf(body.filter, 'filter');
    const operations = body.operations === undefined || body.operations === null ? {} : objectOf(body.operations, 'operations');
    const strings = (name: string): string[] | null => {
      const value = filter[name];
      if (value === undefined || value === null) return null;
      if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw badRequest(`filter.${name} must be an array of strings`);
      return value.map((item: string) => item.toLowerCase());
    };
    const matches = (text: string, wanted: string[] | null, operation: unknown): boolean => {
      if (wanted === null) return true;
      const lower = text.toLowerCase();
      if (operation === 'LIKE') return wanted.some((item) => lower.includes(item.replaceAll('%', '')));
      if (operation === 'NOT') return !wanted.includes(lower);
      if (operation === undefined || operation === 'EQ' || operation === 'IN') return wanted.includes(lower);
      throw badRequest('operations values must be LIKE, NOT, IN or EQ');
    };
    const ids = strings('id');
    const names = strings('name');
    const skip = body.skip === undefined || body.skip === 0 ? 0 : integerValue(body.skip);
    const top = body.top === undefined ? limits.pageSize : integerValue(body.top);
    if (skip === undefined || top === undefined) throw badRequest('skip must be an integer >= 0 and top an integer > 0');
    let teams = directory.teamRecords().filter((team) => matches(team.teamUuId, ids, operations.id) && matches(team.teamName, names, operations.name));
    const orderBy = body.orderBy === undefined || body.orderBy === null ? {} : objectOf(body.orderBy, 'orderBy');
    for (const [key, direction] of Object.entries(orderBy)) {
      if ((key !== 'name' && key !== 'id') || (direction !== 'ASC' && direction !== 'DESC')) throw badRequest('orderBy takes {"name" | "id": "ASC" | "DESC"}');
      const value = (team: TeamRecord): string => (key === 'name' ? team.teamName : team.teamUuId).toLowerCase();
      teams = teams.toSorted((a, b) => (direction === 'ASC' ? 1 : -1) * value(a).localeCompare(value(b)));
    }
    const capped = Math.min(top, limits.maxPageSize);
    ex.send(200, { totalRecords: teams.length, skip, top: capped, teams: teams.slice(skip, skip + capped).map(renderTeam) });
  }

  /** The body of POST / PUT /user-management/v3/teams (TeamRequestCreate / TeamRequestUpdate): `name` and `status` required, `id` too on PUT. */
  async function teamRequest(ex: AdminExchange, update: boolean): Promise<{ id?: string; teamName: string; description?: string; isActive: boolean }> {
    const body = objectOf(await readJson(ex, limits.maxRequestBytes, true), 'the request body');
    if (typeof body.name !== 'string' || body.name.trim() === '') throw badRequest('name is required');
    if (body.status !== 'ACTIVE' && body.status !== 'INACTIVE') throw badRequest('status must be ACTIVE or INACTIVE');
    if (body.description !== undefined && body.description !== null && typeof body.description !== 'string') throw badRequest('description must be a string');
    if (update && (typeof body.id !== 'string' || body.id === '')) throw badRequest('id is required');
    return {
      ...(update ? { id: body.id as string } : {}),
      teamName: body.name,
      ...(typeof body.description === 'string' ? { description: body.description } : {}),
      isActive: body.status === 'ACTIVE',
    };
  }

  async function handle(ex: AdminExchange, route: AdminRoute): Promise<void> {
    if (route.resource === 'admin/unknown' || route.resource === 'user-management/unknown') {
      const why = route.params.version !== undefined ? `; the admin API is served as v${ADMIN_API_VERSIONS.min}.0 to v${ADMIN_API_VERSIONS.max}.0` : '';
      throw notFound(`no route ${ex.path}${why}`);
    }
    if (!route.methods.includes(ex.method)) throw new AdminError(405, 'MethodNotAllowed', `${ex.method} is not allowed on ${ex.path}`, { allow: route.methods.join(', ') });
    switch (`${ex.method} ${route.resource}`) {
      case 'GET admin/agents':
        return listAgents(ex);
      case 'PUT admin/agents':
        return updateAgents(ex);
      // GET /agents/{agentId|userId} — AdminAgentsService.ts (operationsAgentsGetAgentsId): {agents: [agent]}, `fields`.
      case 'GET admin/agents/{agentId}':
        return ex.send(200, { agents: [narrower(ex.query.get('fields'))(renderAgent(agentOf(route.params.agentId)))] });
      // GET /agents/{agentId}/groups — AdminAgentsService.ts (getagentagentidgroups): {agentGroups: [{groupId, groupName, isActive, notes, lastUpdated}]}.
      case 'GET admin/agents/{agentId}/groups': {
        const agent = agentOf(String(idParam(route.params.agentId, 'agentId')));
        const agentGroups = [...(agent.groups ?? [])].toSorted((a, b) => a - b).map((groupId) => renderGroup(directory.groupRecord(groupId) as GroupRecord));
        return sendList(ex, agentGroups.length, { agentGroups });
      }
      // GET /groups — AdminGroupsService.ts (getgroups): {_links, totalRecords, groups: [{groupId, groupName, notes, isActive, lastUpdated}]}.
      case 'GET admin/groups': {
        const { skip, top } = paging(ex);
        const all = directory.groupRecords();
        const groups = all.slice(skip, skip + top).map(renderGroup);
        return sendList(ex, groups.length, { _links: links(ex, skip, top, all.length), totalRecords: all.length, groups });
      }
      // POST /groups — AdminGroupsService.ts (postgroups): {groups: [{groupName, isActive?, notes?}]} → {errorCount, groupResults: [{success, groupId, error}]}.
      case 'POST admin/groups': {
        const items = listOf(objectOf(await readJson(ex, limits.maxRequestBytes, true), 'the request body'), 'groups', limits.maxBatch);
        const inputs = items.map((item, index) => {
          if (item.groupName !== undefined && typeof item.groupName !== 'string') throw badRequest(`groups[${index}].groupName must be a string`);
          if (item.notes !== undefined && item.notes !== null && typeof item.notes !== 'string') throw badRequest(`groups[${index}].notes must be a string`);
          if (item.isActive !== undefined && item.isActive !== null && typeof item.isActive !== 'boolean') throw badRequest(`groups[${index}].isActive must be a boolean`);
          return { groupName: (item.groupName as string | undefined) ?? '', notes: (item.notes as string | null | undefined) ?? undefined, isActive: (item.isActive as boolean | null | undefined) ?? undefined };
        });
        const results = directory.createGroups(inputs);
        return ex.send(200, { errorCount: results.filter((result) => !result.success).length, groupResults: results });
      }
      // GET /groups/{groupId} — AdminGroupsService.ts (getgroupsbygroupid): {totalRecords, groups: [group]}, an array of one.
      case 'GET admin/groups/{groupId}':
        return ex.send(200, { totalRecords: 1, groups: [renderGroup(groupOf(route))] });
      // PUT /groups/{groupId}?groupName=&notes= — AdminGroupsService.ts (putgroupsbygroupid): query parameters, no body.
      case 'PUT admin/groups/{groupId}': {
        const group = groupOf(route);
        const groupName = ex.query.get('groupName');
        if (groupName === null || groupName.trim() === '') throw badRequest('groupName is required');
        const refused = directory.renameGroup(group, groupName, ex.query.get('notes') ?? undefined);
        if (refused !== null) throw badRequest(refused);
        const keys = [`acd:${group.groupId}`];
        ctx.landed(keys);
        await ctx.hold(keys, ex.method);
        return ex.send(204);
      }
      case 'GET admin/groups/{groupId}/agents':
        return listGroupAgents(ex, groupOf(route));
      case 'POST admin/groups/{groupId}/agents':
      case 'DELETE admin/groups/{groupId}/agents':
        return writeGroupAgents(ex, groupOf(route));
      case 'POST user-management/teams/search':
        return searchTeams(ex);
      // POST /user-management/v3/teams — CxoneUsermanagementService.ts (createTeam): TeamRequestCreate {name, status, description?, …} → TeamResponse.
      case 'POST user-management/teams': {
        const input = await teamRequest(ex, false);
        const created = directory.createTeam(input);
        if (typeof created === 'string') throw new AdminError(409, 'CONFLICT', created);
        ctx.landed([`team:${created.teamId}`]);
        return teamAnswer(ex, 201, created, 'Team created');
      }
      // PUT /user-management/v3/teams — CxoneUsermanagementService.ts (updateTeam): TeamRequestUpdate {id, name, status, …} → TeamResponse.
      case 'PUT user-management/teams': {
        const input = await teamRequest(ex, true);
        const team = directory.teamRecords().find((candidate) => candidate.teamUuId.toLowerCase() === (input.id ?? '').toLowerCase());
        if (team === undefined) throw new AdminError(404, 'NOT_FOUND', `team ${input.id ?? ''} was not found`);
        const refused = directory.updateTeam(team, input);
        if (refused !== null) throw new AdminError(409, 'CONFLICT', refused);
        const keys = [`team:${team.teamId}`];
        ctx.landed(keys);
        await ctx.hold(keys, ex.method);
        return teamAnswer(ex, 200, team, 'Team updated');
      }
      // GET /user-management/v3/teams/{teamId} — CxoneUsermanagementService.ts (getTeamById): {team: {id, name, description, leadUserId, status, …}}.
      default: {
        const team = directory.teamRecords().find((candidate) => candidate.teamUuId.toLowerCase() === (route.params.teamId ?? '').toLowerCase());
        if (team === undefined) throw new AdminError(404, 'NOT_FOUND', `team ${route.params.teamId ?? ''} was not found`);
        return ex.send(200, { team: { ...renderTeam(team), createdBy: null, lastModified: iso(team.lastUpdated), divisionId: 0 } });
      }
    }
  }

  return { handle };
}
