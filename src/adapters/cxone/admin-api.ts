/**
 * The CXone admin API (`{API origin}{CXONE_ADMIN_API_PATH}`, default
 * `/incontactapi/services/v31.0`): agents, ACD groups and their agents, teams by agent.
 * Shapes as NICE publishes them (its OpenAPI documents, read through the client generated
 * from them: calljacob/nice-cxone-api, src/services/admin/AdminAgentsService.ts and
 * AdminGroupsService.ts); docs/cxone.md sums them up. `groupId` and `agentId` are
 * integers; `userID` is the user-hub (SCIM) id of an agent.
 *
 * It runs on the SCIM client's HTTP layer (scim-http.ts): the same token, rate limiter,
 * timeouts, retries, redaction and upstream metrics (resources `agents`, `agent_groups`,
 * `groups`, `group_agents`). Reads and renames are retried like any idempotent request.
 * The batch writes (add and remove a group's agents, set agents' teams) answer per agent,
 * and sending one twice would make the agents the first attempt applied fail the second:
 * after a failure that may have applied one (a dropped connection, no answer in time, a
 * 5xx) it is not sent again but thrown as OutcomeUnknownError, for the caller to re-read;
 * a 429 (never processed) is retried as always. A batch answer is read agent by agent,
 * also from a 400, 409 or 422 that carries per-agent results: an agent the answer does not
 * mention is reported as unreported, never as done.
 */
import type { Dispatcher } from 'undici';
import { PreconditionFailedError, UpstreamError } from '../../core/errors.js';
import type { AdminAgent, AdminApiClient, AdminGroup, AgentsPage, AgentsQuery, BatchOutcome, Clock, CxoneTeam, GroupAgents, RequestContext } from '../../core/ports.js';
import type { RateLimiter } from '../scim/rate-limiter.js';
import { createRedactor, type Redactor } from '../scim/redactor.js';
import { DEFAULT_RETRY, type RetryOptions } from '../scim/retry-policy.js';
import { parseScimError, type ScimErrorInfo } from '../scim/scim-errors.js';
import { createScimHttp, type BaseUrlSource, type ScimRequest, type ScimResponse } from '../scim/scim-http.js';
import { queryString } from '../scim/scim-filter.js';
import type { TokenSource } from '../scim/token-source.js';
import { snippet } from '../scim/transport.js';
import { safeObserver, type UpstreamObserver, type UpstreamResource } from '../scim/upstream-observer.js';

export const DEFAULT_ADMIN_API_PATH = '/incontactapi/services/v31.0';
/** Agents per page and per batch write: what the admin API is known to take (`top` up to 1,000). */
export const ADMIN_PAGE_SIZE = 1000;
export const ADMIN_MAX_BATCH = 1000;

export type { AdminAgent, AdminApiClient, AdminGroup, AgentsPage, AgentsQuery, BatchOutcome, GroupAgents, TeamChange } from '../../core/ports.js';

export interface AdminApiOptions {
  /** The API origin, or where to find it before the first request. */
  readonly baseUrl: string | BaseUrlSource;
  /** Default `/incontactapi/services/v31.0`. */
  readonly adminApiPath?: string;
  readonly tokenSource: Pick<TokenSource, 'getToken' | 'invalidate'>;
  readonly clock: Clock;
  readonly dispatcher: Dispatcher;
  /** Per attempt. Default 10 s. */
  readonly requestTimeoutMs?: number;
  readonly retry?: Partial<RetryOptions>;
  readonly observer?: UpstreamObserver;
  readonly random?: () => number;
  /** Shared with every other request to the tenant. */
  readonly limiter?: RateLimiter;
  readonly redactor?: Redactor;
  /** Largest answer read. Default 32 MiB. */
  readonly maxResponseBytes?: number;
  /** `top` of a page. Default 1,000. */
  readonly pageSize?: number;
  /** Agents per batch write at most. Default 1,000. */
  readonly maxBatch?: number;
  /** Pages one list may take before it is considered broken. Default 10,000. */
  readonly maxPages?: number;
}

/** The pages of a list disagree with its totalRecords or with each other: it changed while it was read. */
export class PagesChangedError extends PreconditionFailedError {}

const JSON_TYPES = { accept: 'application/json', contentType: 'application/json' } as const;
const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function createAdminApiClient(options: AdminApiOptions): AdminApiClient {
  const pageSize = positiveInteger(options.pageSize ?? ADMIN_PAGE_SIZE, 'pageSize');
  const maxBatch = positiveInteger(options.maxBatch ?? ADMIN_MAX_BATCH, 'maxBatch');
  const maxPages = positiveInteger(options.maxPages ?? 10_000, 'maxPages');
  const redactor = options.redactor ?? createRedactor();
  // One client per API path, on the same token, pacing, connections and redactor.
  const client = (path: string, label: string) =>
    createScimHttp({
      baseUrl: options.baseUrl,
      scimPath: path,
      tokenSource: options.tokenSource,
      clock: options.clock,
      dispatcher: options.dispatcher,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      retry: { ...DEFAULT_RETRY, ...options.retry },
      observer: safeObserver(options.observer),
      random: options.random ?? Math.random,
      maxResponseBytes: options.maxResponseBytes ?? 32 * 1024 * 1024,
      limiter: options.limiter,
      redactor,
      label,
      mediaTypes: JSON_TYPES,
      errorFor: adminError,
    });
  const http = client(options.adminApiPath ?? DEFAULT_ADMIN_API_PATH, 'CXone admin API');
  // User-management (teams) lives at the API origin, beside the admin API's path.
  const um = client('', 'CXone user-management API');

  const get = (path: string, route: string, resource: UpstreamResource, ctx: RequestContext, expect: readonly number[] = []) =>
    http.send({ method: 'GET', path, route, resource, expect }, ctx);

  async function listAgents(query: AgentsQuery, ctx: RequestContext): Promise<AgentsPage> {
    const fields = query.fields?.map((field) => (FIELD.test(field) ? field : invalid(`field name ${JSON.stringify(field)}`))).join(',');
    const path = `/agents${queryString({
      skip: query.skip === undefined ? undefined : String(nonNegativeInteger(query.skip, 'skip')),
      top: query.top === undefined ? undefined : String(positiveInteger(query.top, 'top')),
      fields,
      updateSince: query.updateSince,
      isActive: query.isActive === undefined ? undefined : String(query.isActive),
    })}`;
    const response = await get(path, '/agents', 'agents', ctx);
    if (response.status === 204 || response.text.trim() === '') return { agents: [], totalRecords: 0, lastPollTime: undefined };
    const body = jsonObject(response, 'GET /agents');
    return {
      agents: list(body.agents, 'GET /agents', 'agents').map((entry) => parseAgent(entry, 'GET /agents')),
      totalRecords: optionalCount(body.totalRecords, 'GET /agents', 'totalRecords'),
      lastPollTime: optionalString(body.lastPollTime, 'GET /agents', 'lastPollTime'),
    };
  }

  async function listGroupAgents(groupId: number, ctx: RequestContext): Promise<GroupAgents | null> {
    const id = positiveInteger(groupId, 'groupId');
    const route = '/groups/{groupId}/agents';
    const what = `GET ${route}`;
    // `assigned=true`: the agents in the group (the published parameter; its default is not documented).
    const first = `/groups/${id}/agents${queryString({ assigned: 'true', top: String(pageSize) })}`;
    const basePath = await http.basePath(ctx.signal);
    const seen = new Map<number, AdminAgent>();
    const followed = new Set<string>();
    let path: string | undefined = first;
    let total: number | undefined;
    let pages = 0;
    while (path !== undefined) {
      if (pages >= maxPages) throw new UpstreamError(`CXone admin API ${what} took more than ${maxPages} pages`, { status: 200 });
      followed.add(path);
      const response = await get(path, route, 'group_agents', ctx, [404]);
      pages += 1;
      if (response.status === 404) {
        if (pages === 1) return null;
        throw new PagesChangedError(`CXone admin API ${what}: the group was gone by page ${pages}`, { status: 404 });
      }
      if (response.status === 204 || response.text.trim() === '') {
        // No Content: the admin API's empty list (or, after a first page, nothing more).
        total ??= 0;
        break;
      }
      const body = jsonObject(response, what);
      const pageTotal = optionalCount(body.totalRecords, what, 'totalRecords');
      if (pageTotal !== undefined && total !== undefined && pageTotal !== total) {
        throw new PagesChangedError(`CXone admin API ${what}: totalRecords went from ${total} to ${pageTotal} between pages: the group changed while it was read`, { status: response.status });
      }
      total ??= pageTotal;
      const agents = list(body.agents, what, 'agents').map((entry) => parseAgent(entry, what));
      let fresh = 0;
      for (const agent of agents) {
        if (seen.has(agent.agentId)) continue;
        seen.set(agent.agentId, agent);
        fresh += 1;
      }
      const next = nextLink(body, basePath, path, what);
      if (next !== undefined) {
        if (followed.has(next)) throw new UpstreamError(`CXone admin API ${what}: _links.next leads back to a page already read`, { status: response.status });
        path = next;
      } else if (total !== undefined && seen.size < total && agents.length > 0) {
        // No link, but totalRecords says more are left: page on with skip and top.
        if (fresh === 0) throw new UpstreamError(`CXone admin API ${what}: the pages do not advance (skip/top ignored?); ${seen.size} of ${total} agents read`, { status: response.status });
        path = `/groups/${id}/agents${queryString({ assigned: 'true', skip: String(seen.size), top: String(pageSize) })}`;
        if (followed.has(path)) throw new UpstreamError(`CXone admin API ${what}: the pages do not advance; ${seen.size} of ${total} agents read`, { status: response.status });
      } else {
        path = undefined;
      }
    }
    const distinct = seen.size;
    if (total !== undefined && distinct !== total) {
      throw new PagesChangedError(`CXone admin API ${what}: totalRecords said ${total}, the pages held ${distinct} distinct agents: the group changed while it was read`, { status: 200 });
    }
    return { agents: [...seen.values()], totalRecords: total ?? distinct, pages };
  }

  async function batch(method: 'POST' | 'DELETE' | 'PUT', path: string, route: string, resource: UpstreamResource, agentIds: readonly number[], body: unknown, ctx: RequestContext): Promise<BatchOutcome> {
    const request: ScimRequest = { method, path, route, resource, body: Buffer.from(JSON.stringify(body)), expect: [400, 409, 422], unsure: 'outcome-unknown' };
    const response = await http.send(request, ctx);
    const what = `${method} ${route}`;
    const text = response.status >= 300 ? (response.errorText ?? '') : response.text;
    const parsed = parseObject(text);
    if (response.status >= 300 && !Array.isArray(parsed?.agentResults)) {
      throw adminError(`CXone admin API ${what}`, response.status, parseScimError(text, (raw) => redactor.redact(raw)));
    }
    return batchOutcome(response.status, parsed, agentIds, what, (raw) => snippet(redactor.redact(raw), 300));
  }

  function agentBatch(agentIds: readonly number[]): number[] {
    if (agentIds.length > maxBatch) invalid(`a batch of ${agentIds.length} agents (at most ${maxBatch})`);
    const ids = agentIds.map((id) => positiveInteger(id, 'agentId'));
    if (new Set(ids).size !== ids.length) invalid('a batch that names an agent twice');
    return ids;
  }

  const empty: BatchOutcome = { status: 200, errorCount: 0, succeeded: [], failed: [], unreported: [] };

  return {
    listAgents,

    async listAllAgents(query, ctx) {
      const agents = new Map<number, AdminAgent>();
      let first: AgentsPage | undefined;
      let pages = 0;
      for (let skip = 0; ; ) {
        if (pages >= maxPages) throw new UpstreamError(`CXone admin API GET /agents took more than ${maxPages} pages`, { status: 200 });
        const page = await listAgents({ ...query, skip, top: pageSize }, ctx);
        pages += 1;
        first ??= page;
        for (const agent of page.agents) agents.set(agent.agentId, agent);
        skip += page.agents.length;
        const total = page.totalRecords ?? first.totalRecords;
        if (page.agents.length < pageSize || (total !== undefined && skip >= total)) break;
      }
      return { agents: [...agents.values()], totalRecords: first.totalRecords, lastPollTime: first.lastPollTime, pages };
    },

    async getGroup(groupId, ctx) {
      const id = positiveInteger(groupId, 'groupId');
      const what = 'GET /groups/{groupId}';
      const response = await get(`/groups/${id}`, '/groups/{groupId}', 'groups', ctx, [404]);
      if (response.status === 404 || response.status === 204 || response.text.trim() === '') return null;
      const body = jsonObject(response, what);
      // The answer is a list of one ({totalRecords, groups: [...]}); tolerate the group itself.
      const candidates = body.groups === undefined && body.groupId !== undefined ? [body] : list(body.groups, what, 'groups');
      return candidates.map((entry) => parseGroup(entry, what)).find((group) => group.groupId === id) ?? null;
    },

    listGroupAgents,

    async addGroupAgents(groupId, agentIds, ctx) {
      const id = positiveInteger(groupId, 'groupId');
      const ids = agentBatch(agentIds);
      if (ids.length === 0) return empty;
      return batch('POST', `/groups/${id}/agents`, '/groups/{groupId}/agents', 'group_agents', ids, { agents: ids.map((agentId) => ({ agentId })) }, ctx);
    },

    async removeGroupAgents(groupId, agentIds, ctx) {
      const id = positiveInteger(groupId, 'groupId');
      const ids = agentBatch(agentIds);
      if (ids.length === 0) return empty;
      return batch('DELETE', `/groups/${id}/agents`, '/groups/{groupId}/agents', 'group_agents', ids, { agents: ids.map((agentId) => ({ agentId })) }, ctx);
    },

    async getAgentGroups(agentId, ctx) {
      const id = positiveInteger(agentId, 'agentId');
      const what = 'GET /agents/{agentId}/groups';
      const response = await get(`/agents/${id}/groups`, '/agents/{agentId}/groups', 'agent_groups', ctx, [404]);
      if (response.status === 404) return null;
      if (response.status === 204 || response.text.trim() === '') return [];
      const body = jsonObject(response, what);
      return list(body.agentGroups, what, 'agentGroups').map((entry) => parseGroup(entry, what));
    },

    async updateAgentTeams(changes, ctx) {
      const ids = agentBatch(changes.map((change) => change.agentId));
      if (ids.length === 0) return empty;
      // The published request names both ids as strings; a team without a known integer id goes by `teamUuid`.
      const agents = changes.map((change) =>
        change.teamUuid === undefined
          ? { agentId: String(change.agentId), teamId: String(positiveInteger(change.teamId, 'teamId')) }
          : { agentId: String(change.agentId), teamUuid: teamUuidOf(change.teamUuid) },
      );
      return batch('PUT', '/agents', '/agents', 'agents', ids, { agents }, ctx);
    },

    async createGroup(group, ctx) {
      const groupName = groupNameOf(group.groupName);
      const route = '/groups';
      const request: ScimRequest = {
        method: 'POST',
        path: route,
        route,
        resource: 'groups',
        body: Buffer.from(JSON.stringify({ groups: [{ groupName, isActive: true, ...(group.notes === undefined ? {} : { notes: group.notes }) }] })),
        expect: [400, 409, 422],
        unsure: 'outcome-unknown',
      };
      const response = await http.send(request, ctx);
      const text = response.status >= 300 ? (response.errorText ?? '') : response.text;
      const body = parseObject(text);
      const results = body?.groupResults;
      const result = Array.isArray(results) && results.length === 1 && isObject(results[0]) ? results[0] : undefined;
      if (result?.success === true) {
        const groupId = integer(result.groupId);
        if (groupId === undefined) throw unusable(`CXone admin API POST /groups answered success without an integer groupId`);
        return groupId;
      }
      const detail = typeof result?.error === 'string' ? snippet(redactor.redact(result.error)) : parseScimError(text, (raw) => redactor.redact(raw)).detail;
      throw new UpstreamError(`CXone admin API POST /groups did not create the group (${response.status})${detail ? `: ${detail}` : ''}`, { status: response.status, detail });
    },

    async listGroups(ctx) {
      const what = 'GET /groups';
      const groups = new Map<number, AdminGroup>();
      for (let skip = 0, pages = 0; ; pages++) {
        if (pages >= maxPages) throw new UpstreamError(`CXone admin API GET /groups took more than ${maxPages} pages`, { status: 200 });
        const response = await get(`/groups${queryString({ skip: String(skip), top: String(pageSize) })}`, '/groups', 'groups', ctx);
        if (response.status === 204 || response.text.trim() === '') break;
        const body = jsonObject(response, what);
        const page = list(body.groups, what, 'groups').map((entry) => parseGroup(entry, what));
        for (const group of page) groups.set(group.groupId, group);
        skip += page.length;
        const total = optionalCount(body.totalRecords, what, 'totalRecords');
        if (page.length < pageSize || (total !== undefined && skip >= total)) break;
      }
      return [...groups.values()];
    },

    async searchTeams(query, ctx) {
      const route = '/user-management/v4/teams/search';
      const what = `POST ${route}`;
      const teams = new Map<string, CxoneTeam>();
      for (let skip = 0, pages = 0; ; pages++) {
        if (pages >= maxPages) throw new UpstreamError(`CXone user-management ${what} took more than ${maxPages} pages`, { status: 200 });
        const body = { ...(query.name === undefined ? {} : { filter: { name: [query.name] }, operations: { name: 'EQ' } }), skip, top: pageSize, orderBy: { name: 'ASC' } };
        const response = await um.send({ method: 'POST', path: route, route, resource: 'other', body: Buffer.from(JSON.stringify(body)) }, ctx);
        if (response.status === 204 || response.text.trim() === '') break;
        const answer = jsonObject(response, what);
        const page = list(answer.teams, what, 'teams').map((entry) => parseTeam(entry, what));
        for (const team of page) teams.set(team.id.toLowerCase(), team);
        skip += page.length;
        const total = optionalCount(answer.totalRecords, what, 'totalRecords');
        if (page.length === 0 || (total !== undefined && skip >= total) || (total === undefined && page.length < pageSize)) break;
      }
      return [...teams.values()];
    },

    async getTeam(teamUuid, ctx) {
      const route = '/user-management/v3/teams/{teamId}';
      const response = await um.send({ method: 'GET', path: `/user-management/v3/teams/${encodeURIComponent(teamUuidOf(teamUuid))}`, route, resource: 'other', expect: [404] }, ctx);
      if (response.status === 404 || response.status === 204 || response.text.trim() === '') return null;
      const body = jsonObject(response, `GET ${route}`);
      return parseTeam(body.team, `GET ${route}`);
    },

    async createTeam(name, ctx) {
      const route = '/user-management/v3/teams';
      const request: ScimRequest = { method: 'POST', path: route, route, resource: 'other', body: Buffer.from(JSON.stringify({ name: groupNameOf(name), status: 'ACTIVE' })), expect: [400, 409, 422], unsure: 'outcome-unknown' };
      const response = await um.send(request, ctx);
      if (response.status >= 300) {
        const info = parseScimError(response.errorText ?? '', (raw) => redactor.redact(raw));
        const detail = info.detail ?? detailOf(parseObject(response.errorText ?? ''), redactor);
        throw new UpstreamError(`CXone user-management POST ${route} did not create the team (${response.status})${detail ? `: ${detail}` : ''}`, { status: response.status, detail });
      }
      return parseTeam(jsonObject(response, `POST ${route}`).team, `POST ${route}`);
    },

    async updateTeam(team, ctx) {
      const route = '/user-management/v3/teams';
      // TeamRequestUpdate: id, name and status are required; the rest is sent as GET answered it (whether an omitted field is reset is not published).
      const body = dropUndefined({ id: teamUuidOf(team.id), name: groupNameOf(team.name), status: team.status ?? 'ACTIVE', description: team.description, leadUserId: team.leadUserId });
      const response = await um.send({ method: 'PUT', path: route, route, resource: 'other', body: Buffer.from(JSON.stringify(body)), expect: [400, 404, 409, 422] }, ctx);
      if (response.status >= 300) {
        const info = parseScimError(response.errorText ?? '', (raw) => redactor.redact(raw));
        const detail = info.detail ?? detailOf(parseObject(response.errorText ?? ''), redactor);
        throw new UpstreamError(`CXone user-management PUT ${route} did not update team ${body.id} (${response.status})${detail ? `: ${detail}` : ''}`, {
          status: response.status,
          ...(response.status === 409 ? { scimType: 'uniqueness' } : {}),
          detail,
        });
      }
      const answered = parseObject(response.text)?.team;
      return isObject(answered) && typeof answered.id === 'string' && answered.id !== '' ? { ...team, ...parseTeam(answered, `PUT ${route}`) } : team;
    },

    async renameGroup(groupId, groupName, notes, ctx) {
      const id = positiveInteger(groupId, 'groupId');
      const path = `/groups/${id}${queryString({ groupName: groupNameOf(groupName), notes })}`;
      await http.send({ method: 'PUT', path, route: '/groups/{groupId}', resource: 'groups' }, ctx);
    },
  };
}

/** Admin API errors are plain: no status means a lost race here (there is no If-Match to lose). */
function adminError(what: string, status: number, info: ScimErrorInfo, note = ''): UpstreamError {
  return new UpstreamError(`${what} answered ${status}${note}${info.detail ? `: ${info.detail}` : ''}`, { status, detail: info.detail });
}

/** The per-agent answer of a batch write, for exactly the agents sent. */
function batchOutcome(status: number, body: Record<string, unknown> | undefined, sent: readonly number[], what: string, clean: (raw: string) => string): BatchOutcome {
  const pending = new Set(sent);
  const succeeded: number[] = [];
  const failed: { agentId: number; error: string }[] = [];
  const results = Array.isArray(body?.agentResults) ? (body.agentResults as unknown[]) : [];
  const outcome = new Map<number, { success: boolean; error: string }>();
  for (const entry of results) {
    if (!isObject(entry)) continue;
    const agentId = integer(entry.agentId);
    if (agentId === undefined || !pending.has(agentId)) continue;
    const success = entry.success === true || entry.success === 'true';
    const error = typeof entry.error === 'string' && entry.error.trim() !== '' ? clean(entry.error) : success ? '' : 'failed (no error given)';
    const earlier = outcome.get(agentId);
    // An agent listed twice counts as failed if either entry says so.
    outcome.set(agentId, earlier && !earlier.success ? earlier : { success, error });
  }
  for (const agentId of sent) {
    const result = outcome.get(agentId);
    if (result === undefined) continue;
    pending.delete(agentId);
    if (result.success) succeeded.push(agentId);
    else failed.push({ agentId, error: result.error });
  }
  const reported = body?.errorCount;
  const errorCount = typeof reported === 'number' && Number.isInteger(reported) && reported >= failed.length ? reported : failed.length;
  if (results.length > 0 && outcome.size === 0 && sent.length > 0) {
    throw unusable(`CXone admin API ${what} answered agentResults for none of the agents sent`);
  }
  return { status, errorCount, succeeded, failed, unreported: [...pending] };
}

/** `_links.next` (absolute, or relative to the page `current`) as a path below the admin API's base path (the origin is always ours), or undefined at the end. */
function nextLink(body: Record<string, unknown>, basePath: string, current: string, what: string): string | undefined {
  const links = body['_links'];
  const next = isObject(links) ? links.next : undefined;
  if (next === undefined || next === null || next === '') return undefined;
  if (typeof next !== 'string') throw unusable(`CXone admin API ${what}: _links.next is not a string`);
  let url: URL;
  try {
    url = new URL(next, `http://admin.invalid${basePath}${current}`);
  } catch {
    throw unusable(`CXone admin API ${what}: _links.next is not a URL`);
  }
  // Only the path and query are used: a link can never send the token to another host.
  const prefix = basePath.toLowerCase();
  if (!url.pathname.toLowerCase().startsWith(`${prefix}/`)) {
    throw new UpstreamError(`CXone admin API ${what}: _links.next leads outside ${basePath} (${snippet(url.pathname, 100)})`, { status: 200 });
  }
  return `${url.pathname.slice(basePath.length)}${url.search}`;
}

function parseAgent(entry: unknown, what: string): AdminAgent {
  if (!isObject(entry)) throw unusable(`CXone admin API ${what}: an agent is not an object`);
  const agentId = integer(entry.agentId);
  if (agentId === undefined || agentId <= 0) throw unusable(`CXone admin API ${what}: an agent has no integer agentId`);
  return dropUndefined({
    agentId,
    userName: optionalString(entry.userName, what, 'userName'),
    userId: optionalString(entry.userID ?? entry.userId, what, 'userID'),
    emailAddress: optionalString(entry.emailAddress, what, 'emailAddress'),
    isActive: optionalBoolean(entry.isActive, what, 'isActive'),
    teamId: optionalInteger(entry.teamId, what, 'teamId'),
    teamUuId: optionalString(entry.teamUuId ?? entry.teamUuid, what, 'teamUuId'),
    lastUpdated: optionalString(entry.lastUpdated, what, 'lastUpdated'),
  });
}

/** TeamV3 / GetTeamResponse.team / TeamCreateUpdateResponse (CxoneUsermanagementService.ts): `id` (a UUID) and `name` are needed. */
function parseTeam(entry: unknown, what: string): CxoneTeam {
  if (!isObject(entry)) throw unusable(`CXone user-management ${what}: a team is not an object`);
  if (typeof entry.id !== 'string' || entry.id === '') throw unusable(`CXone user-management ${what}: a team has no id`);
  const status = entry.status === 'ACTIVE' || entry.status === 'INACTIVE' ? entry.status : undefined;
  return dropUndefined({
    id: entry.id,
    name: typeof entry.name === 'string' ? entry.name : entry.id,
    status,
    description: typeof entry.description === 'string' ? entry.description : undefined,
    leadUserId: typeof entry.leadUserId === 'string' && entry.leadUserId !== '' ? entry.leadUserId : undefined,
    isDefault: typeof entry.isDefault === 'boolean' ? entry.isDefault : undefined,
  });
}

/** user-management's ErrorResponse `{code, details}`, redacted and trimmed. */
function detailOf(body: Record<string, unknown> | undefined, redactor: Redactor): string | undefined {
  const details = body?.details ?? body?.message;
  return typeof details === 'string' && details !== '' ? snippet(redactor.redact(details), 300) : undefined;
}

/** A team's user-management id: a UUID-like token (letters, digits, dashes), never a path. */
function teamUuidOf(value: string): string {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(value)) invalid(`team id ${JSON.stringify(value)}`);
  return value;
}

function parseGroup(entry: unknown, what: string): AdminGroup {
  if (!isObject(entry)) throw unusable(`CXone admin API ${what}: a group is not an object`);
  const groupId = integer(entry.groupId);
  if (groupId === undefined || groupId <= 0) throw unusable(`CXone admin API ${what}: a group has no integer groupId`);
  return dropUndefined({
    groupId,
    groupName: optionalString(entry.groupName, what, 'groupName'),
    isActive: optionalBoolean(entry.isActive, what, 'isActive'),
    notes: optionalString(entry.notes, what, 'notes'),
    lastUpdated: optionalString(entry.lastUpdated, what, 'lastUpdated'),
  });
}

function jsonObject(response: ScimResponse, what: string): Record<string, unknown> {
  const body = parseObject(response.text);
  if (body === undefined) throw unusable(`CXone admin API ${what} answered ${response.status} with a body that is not a JSON object`, response.status);
  return body;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(text);
    return isObject(json) ? json : undefined;
  } catch {
    return undefined;
  }
}

function list(value: unknown, what: string, field: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw unusable(`CXone admin API ${what}: ${field} is not a list`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A non-negative integer, also when sent as a string of digits (the published PUT /agents names ids as strings). */
function integer(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  return undefined;
}

function optionalString(value: unknown, what: string, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw unusable(`CXone admin API ${what}: ${field} is not a string`);
  return value;
}

function optionalBoolean(value: unknown, what: string, field: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw unusable(`CXone admin API ${what}: ${field} is not true or false`);
  return value;
}

function optionalInteger(value: unknown, what: string, field: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const number = integer(value);
  if (number === undefined) throw unusable(`CXone admin API ${what}: ${field} is not an integer`);
  return number;
}

function optionalCount(value: unknown, what: string, field: string): number | undefined {
  return optionalInteger(value, what, field);
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== undefined)) as T;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) invalid(`${name} ${String(value)} (a positive integer is needed)`);
  return value;
}

function nonNegativeInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) invalid(`${name} ${String(value)} (a non-negative integer is needed)`);
  return value;
}

function groupNameOf(value: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 100) invalid('group name (1 to 100 characters)');
  return value;
}

/** The answer is not what the admin API publishes: 502, like any upstream answer that cannot be used. */
function unusable(message: string, status = 200): UpstreamError {
  return new UpstreamError(message, { status, detail: message });
}

/** A caller's mistake (the backend validates first): never sent. */
function invalid(what: string): never {
  throw new TypeError(`CXone admin API client: invalid ${what}`);
}
