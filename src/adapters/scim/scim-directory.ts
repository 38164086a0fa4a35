/**
 * ScimDirectory over plain SCIM 2.0 (RFC 7643, RFC 7644): any compliant provider works.
 *
 * Lookups by id are batched into `filter=id eq "a" or id eq "b" …` queries. Providers
 * differ, so the directory adapts and remembers for its lifetime: a provider that rejects
 * a filter (400 invalidFilter, or 400/403/501 on a filtered query) gets single GETs; a
 * provider that ignores the filter and lists everything (detected because a result is not
 * among the ids asked for) gets single GETs too, and for parent lookups a scan of all
 * groups. Results are always checked against the ids asked for. While a filter's fate is
 * unknown the first query runs alone, so a refusing provider costs one refused request
 * rather than one per batch; once a filter has worked, a refusal only affects its batch.
 *
 * A batch holds at most `userBatchSize` (`groupBatchSize`) ids and its request target (path
 * and query, as sent) at most MAX_LOOKUP_TARGET bytes: 50 ids of 400 characters make a
 * 25 KB URL, which servers refuse (414, or 431 from Node's 16 KB header limit). A batch
 * refused for its length all the same (414 or 431) is looked up one by one.
 */
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { systemClock } from '../../core/clock.js';
import { UpstreamError } from '../../core/errors.js';
import type { GroupResource, GroupSnapshot } from '../../core/membership.js';
import type { Clock, GroupNode, ProviderCapabilities, RequestContext, ScimDirectory, UserAttributes, UserSummary, WriteResult } from '../../core/ports.js';
import { mapBounded } from '../../core/concurrency.js';
import { paginate } from './pagination.js';
import type { RateLimiter } from './rate-limiter.js';
import { DEFAULT_RETRY, type RetryOptions } from './retry-policy.js';
import { readGroupAnswer, readGroupBody, type GroupAnswer } from './group-body.js';
import { createGroupCache } from './group-cache.js';
import { createScimHttp, type BaseUrlSource, type BodyReader, type ScimAnswer, type ScimRequest, type ScimResponse } from './scim-http.js';
import { anyOfFilter, eqFilter, queryString } from './scim-filter.js';
import {
  GROUP_CORE_ATTRIBUTES,
  idOf,
  parseGroupNode,
  parseJson,
  parseListResponse,
  parseMembers,
  parseUser,
  parseUserAttributes,
  serializeGroupWrite,
  ShapeError,
  type ListPage,
} from './scim-resources.js';
import type { Redactor } from './redactor.js';
import type { TokenSource } from './token-source.js';
import { BodyTooLargeError, headerValue } from './transport.js';
import { safeObserver, type UpstreamObserver } from './upstream-observer.js';

export interface ScimDirectoryOptions {
  /** Upstream origin (http:// allowed), optionally with a path prefix; or where to find it before the first request. */
  readonly baseUrl: string | BaseUrlSource;
  /** SCIM base path below the origin. Default `/scim/v2`. */
  readonly scimPath?: string;
  readonly tokenSource: Pick<TokenSource, 'getToken' | 'invalidate'>;
  /** Default: the system clock. */
  readonly clock?: Clock;
  /** Default: a keep-alive Agent owned (and closed) by the directory. */
  readonly dispatcher?: Dispatcher;
  /** Ids per filtered Users query. Default 50. */
  readonly userBatchSize?: number;
  /** Ids per filtered Groups query. Default: userBatchSize. */
  readonly groupBatchSize?: number;
  /** `count` of paginated lists. Default 100. */
  readonly pageSize?: number;
  /** Pages after which a list is considered broken. Default 10,000. */
  readonly maxPages?: number;
  /** Filtered batch queries in flight at once. Default 4. */
  readonly batchConcurrency?: number;
  /** Single GETs and parent queries in flight at once. Default 8. */
  readonly lookupConcurrency?: number;
  /** headersTimeout and bodyTimeout of each attempt. Default 10 s. */
  readonly requestTimeoutMs?: number;
  readonly retry?: Partial<RetryOptions>;
  readonly observer?: UpstreamObserver;
  /** Jitter source in [0, 1). Default Math.random. */
  readonly random?: () => number;
  /** Largest accepted response body. Default 64 MiB. */
  readonly maxResponseBytes?: number;
  /** Client-side pacing of every SCIM request (see rate-limiter.ts). Default: none. */
  readonly limiter?: RateLimiter;
  /** Members of the groups kept for conditional reads (group-cache.ts); 0 keeps none. Default 200,000. */
  readonly groupCacheMembers?: number;
  /** Blanks secrets out of upstream error text (redactor.ts). Default: one that knows only each request's token. */
  readonly redactor?: Redactor;
}

export interface ScimDirectoryAdapter extends ScimDirectory {
  /** GET /ServiceProviderConfig: a token can be had and the upstream answers (for /readyz). */
  ping(ctx: RequestContext): Promise<void>;
  /** Closes the dispatcher if the directory created it. */
  close(): Promise<void>;
}

const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

type FilterState = 'unknown' | 'works' | 'rejected' | 'ignored';
type Listed = 'Users' | 'Groups';

/** Statuses that, on a filtered query, mean "this provider does not do this filter". */
const FILTER_REFUSED: readonly number[] = [400, 403, 501];
/** A batch's request was too long (414 URI Too Long, 431 from a server counting the request line with the headers): look this batch up one by one, but keep filtering. */
const TOO_LONG: readonly number[] = [414, 431];
const FILTER_FALLBACK: readonly number[] = [...FILTER_REFUSED, ...TOO_LONG];

/** Longest request target (path and query) of a batched lookup, in bytes. */
export const MAX_LOOKUP_TARGET = 8192;
/** Room kept for `&startIndex=…&count=…`, whatever their values. */
const PAGING_ROOM = 40;

class FilterRefused extends Error {
  constructor(readonly status: number) {
    super(`filter refused with ${status}`);
  }
}

export function createScimDirectory(options: ScimDirectoryOptions): ScimDirectoryAdapter {
  const clock = options.clock ?? systemClock;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const userBatchSize = positive(options.userBatchSize ?? 50, 'userBatchSize');
  const groupBatchSize = positive(options.groupBatchSize ?? userBatchSize, 'groupBatchSize');
  const pageSize = positive(options.pageSize ?? 100, 'pageSize');
  const maxPages = positive(options.maxPages ?? 10_000, 'maxPages');
  const batchConcurrency = positive(options.batchConcurrency ?? 4, 'batchConcurrency');
  const lookupConcurrency = positive(options.lookupConcurrency ?? 8, 'lookupConcurrency');
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ?? new Agent({ keepAliveTimeout: 30_000, connections: 32, connect: { timeout: requestTimeoutMs } });
  const http = createScimHttp({
    baseUrl: options.baseUrl,
    scimPath: options.scimPath ?? '/scim/v2',
    tokenSource: options.tokenSource,
    clock,
    dispatcher,
    requestTimeoutMs,
    retry: { ...DEFAULT_RETRY, ...options.retry },
    observer: safeObserver(options.observer),
    random: options.random ?? Math.random,
    maxResponseBytes: options.maxResponseBytes ?? 64 * 1024 * 1024,
    limiter: options.limiter,
    redactor: options.redactor,
  });

  const filters: Record<Listed | 'parents', FilterState> = { Users: 'unknown', Groups: 'unknown', parents: 'unknown' };
  const groupCache = createGroupCache(options.groupCacheMembers ?? 200_000);
  let capabilityRead: Promise<ProviderCapabilities> | undefined;

  /** RFC 7643 §5: `patch.supported`, `etag.supported`, `filter.supported`; a provider without the endpoint supports none. */
  async function readCapabilities(ctx: RequestContext): Promise<ProviderCapabilities> {
    const request: ScimRequest = { method: 'GET', path: '/ServiceProviderConfig', route: '/ServiceProviderConfig', resource: 'ServiceProviderConfig', expect: [404, 501] };
    const response = await http.send(request, ctx);
    if (response.status === 404 || response.status === 501) return { patch: false, etag: false, filter: false };
    const body = shaped('SCIM GET /ServiceProviderConfig', response.status, () => parseJson(response.text)) as Record<string, { supported?: unknown } | undefined>;
    const supported = (feature: string) => body?.[feature]?.supported === true;
    return { patch: supported('patch'), etag: supported('etag'), filter: supported('filter') };
  }

  /**
   * One filtered batch by id, all pages. null when the provider refuses or ignores the
   * filter: the caller then looks the ids up one by one.
   */
  async function listByIds(kind: Listed, ids: readonly string[], attributes: string, ctx: RequestContext) {
    if (!usable(filters[kind])) return null;
    const wanted = new Set(ids);
    const filter = anyOfFilter('id', ids);
    const route = `/${kind}?filter=id eq …`;
    const found: unknown[] = [];
    const pages = paginate(
      async (startIndex, count) => {
        const request: ScimRequest = {
          method: 'GET',
          path: `/${kind}${queryString({ filter, attributes, startIndex, count })}`,
          route,
          resource: kind,
          expect: FILTER_FALLBACK,
        };
        const response = await http.send(request, ctx);
        if (FILTER_FALLBACK.includes(response.status)) throw new FilterRefused(response.status);
        return listPage(request, response);
      },
      { pageSize: ids.length, maxPages, what: `SCIM GET ${route}` },
    );
    try {
      for await (const page of pages) {
        for (const resource of page) {
          const id = idOf(resource);
          if (id === undefined || !wanted.has(id)) {
            filters[kind] = 'ignored';
            return null;
          }
          found.push(resource);
        }
      }
    } catch (error) {
      if (!(error instanceof FilterRefused)) throw error;
      // Once the filter has worked, a refusal is about this batch (an odd id), not the filter.
      if (!TOO_LONG.includes(error.status) && filters[kind] === 'unknown') filters[kind] = 'rejected';
      return null;
    }
    if (filters[kind] === 'unknown') filters[kind] = 'works';
    return found;
  }

  /** GET /{kind}/{id}; null on 404. */
  async function getOne(kind: Listed, id: string, attributes: string | undefined, ctx: RequestContext) {
    const request: ScimRequest = {
      method: 'GET',
      path: `/${kind}/${encodeURIComponent(id)}${queryString({ attributes })}`,
      route: `/${kind}/{id}`,
      resource: kind,
      expect: [404],
    };
    const response = await http.send(request, ctx);
    if (response.status === 404) return null;
    return { response, json: shaped(`SCIM GET ${request.route}`, response.status, () => parseJson(response.text)) };
  }

  /** `ids` in batches of at most `batchSize` whose filtered request target fits in MAX_LOOKUP_TARGET (an id too long for that goes alone). */
  function idBatches(kind: Listed, ids: readonly string[], batchSize: number, attributes: string, basePath: string): string[][] {
    const fixed = basePath.length + `/${kind}${queryString({ filter: '', attributes })}`.length + PAGING_ROOM;
    const separator = queryString({ filter: ' or ' }).length - '?filter='.length;
    const batches: string[][] = [];
    let batch: string[] = [];
    let length = fixed;
    for (const id of ids) {
      const clause = queryString({ filter: eqFilter('id', id) }).length - '?filter='.length;
      if (batch.length > 0 && (batch.length >= batchSize || length + separator + clause > MAX_LOOKUP_TARGET)) {
        batches.push(batch);
        batch = [];
        length = fixed;
      }
      length += (batch.length > 0 ? separator : 0) + clause;
      batch.push(id);
    }
    if (batch.length > 0) batches.push(batch);
    return batches;
  }

  /** Batched lookup with the per-id fallback; `parse` turns one resource into a value. */
  async function lookup<T>(
    kind: Listed,
    ids: readonly string[],
    batchSize: number,
    attributes: string,
    parse: (json: unknown) => T & { readonly id: string },
    ctx: RequestContext,
  ): Promise<Map<string, T>> {
    const result = new Map<string, T>();
    const unique = [...new Set(ids)];
    const what = `SCIM GET /${kind}`;
    const leftOver: string[] = [];
    const batches = idBatches(kind, unique, batchSize, attributes, await http.basePath(ctx.signal));
    await probeThenMap(() => filters[kind], batches, batchConcurrency, async (batch) => {
      const listed = await listByIds(kind, batch, attributes, ctx);
      if (listed === null) {
        leftOver.push(...batch);
        return;
      }
      for (const resource of listed) {
        const value = shaped(what, 200, () => parse(resource));
        result.set(value.id, value);
      }
    });
    await mapBounded(leftOver, lookupConcurrency, async (id) => {
      const found = await getOne(kind, id, attributes, ctx);
      if (found) result.set(id, { ...shaped(`${what}/{id}`, found.response.status, () => parse(found.json)), id });
    });
    return result;
  }

  function parentFilterUsable(): boolean {
    return usable(filters.parents) && filters.Groups !== 'ignored';
  }

  /** The groups holding `id` as a direct member, by filter; null when the filter is not usable. */
  async function parentsByFilter(id: string, ctx: RequestContext): Promise<string[] | null> {
    if (!parentFilterUsable()) return null;
    const filter = eqFilter('members.value', id);
    const route = '/Groups?filter=members.value eq …';
    const parents: string[] = [];
    const pages = paginate(
      async (startIndex, count) => {
        const request: ScimRequest = {
          method: 'GET',
          path: `/Groups${queryString({ filter, attributes: 'id,displayName', startIndex, count })}`,
          route,
          resource: 'Groups',
          expect: FILTER_REFUSED,
        };
        const response = await http.send(request, ctx);
        if (FILTER_REFUSED.includes(response.status)) throw new FilterRefused(response.status);
        return listPage(request, response);
      },
      { pageSize, maxPages, what: `SCIM GET ${route}` },
    );
    try {
      for await (const page of pages) {
        for (const resource of page) {
          const groupId = idOf(resource);
          if (groupId === undefined) throw new UpstreamError(`SCIM GET ${route} listed a group without an id`, { status: 200 });
          // When the provider sends members anyway, check them: it may have ignored the filter.
          const members = (resource as { members?: unknown }).members;
          if (members !== undefined && !parseMembersOf(route, members).some((member) => member.value === id)) {
            filters.parents = 'ignored';
            return null;
          }
          parents.push(groupId);
        }
      }
    } catch (error) {
      if (!(error instanceof FilterRefused)) throw error;
      if (filters.parents === 'unknown') filters.parents = 'rejected';
      return null;
    }
    if (filters.parents === 'unknown') filters.parents = 'works';
    return parents;
  }

  /** Lists every group once (id and members) and finds which hold each of `ids`. */
  async function parentsByScan(ids: readonly string[], ctx: RequestContext): Promise<Map<string, string[]>> {
    const result = new Map<string, string[]>(ids.map((id) => [id, []]));
    const route = '/Groups';
    const pages = paginate(
      async (startIndex, count) => {
        const request: ScimRequest = {
          method: 'GET',
          path: `/Groups${queryString({ attributes: 'id,members', startIndex, count })}`,
          route,
          resource: 'Groups',
        };
        return listPage(request, await http.send(request, ctx));
      },
      { pageSize, maxPages, what: `SCIM GET ${route}` },
    );
    for await (const page of pages) {
      for (const resource of page) {
        const groupId = idOf(resource);
        if (groupId === undefined) throw new UpstreamError(`SCIM GET ${route} listed a group without an id`, { status: 200 });
        const members = parseMembersOf(route, (resource as { members?: unknown }).members);
        for (const member of new Set(members.map((m) => m.value))) {
          result.get(member)?.push(groupId);
        }
      }
    }
    return result;
  }

  return {
    /** A conditional GET (If-None-Match) when the group is kept from an earlier read or write: 304 reuses it. */
    async getGroup(id, ctx, read): Promise<GroupSnapshot | null> {
      const what = 'SCIM GET /Groups/{id}';
      const kept = read?.fresh ? undefined : groupCache.get(id);
      const request: ScimRequest = {
        method: 'GET',
        path: `/Groups/${encodeURIComponent(id)}`,
        route: '/Groups/{id}',
        resource: 'Groups',
        ...(kept ? { headers: { 'if-none-match': kept.etag }, expect: [404, 304] } : { expect: [404] }),
      };
      let answer: ScimAnswer<GroupResource | null>;
      try {
        answer = await http.read(request, ctx, (body, limit, expectedBytes) => readGroupBody(body, limit, expectedBytes));
      } catch (error) {
        groupCache.delete(id);
        if (!(error instanceof ShapeError)) throw error;
        throw unusable(what, error.status ?? 200, error.message);
      }
      if (answer.status === 304 && kept) return { group: kept.group, etag: kept.etag };
      groupCache.delete(id);
      if (answer.status === 404) return null;
      const group = answer.body;
      if (!group) throw unusable(what, answer.status, 'the body is empty');
      if (group.id !== id) {
        throw new UpstreamError(`SCIM GET /Groups/{id} returned a group with another id`, {
          status: answer.status,
          detail: 'the id in the body differs from the id requested',
        });
      }
      const snapshot = { group, etag: answer.etag };
      groupCache.set(id, snapshot);
      return snapshot;
    },

    /** RFC 7644 §3.5.1 full replace; If-Match carries the ETag exactly as read (§3.14). Members go as value and type only. */
    async replaceGroup(write, ifMatch, ctx) {
      // Whatever happens, what was kept of this group may be out of date now.
      groupCache.delete(write.id);
      const answer = await http.read(
        {
          method: 'PUT',
          path: `/Groups/${encodeURIComponent(write.id)}`,
          route: '/Groups/{id}',
          resource: 'Groups',
          body: serializeGroupWrite(write),
          ...(ifMatch !== null && { headers: { 'if-match': ifMatch } }),
        },
        ctx,
        readWrittenGroup,
      );
      // The answer is the group as stored (RFC 7644 §3.5.1). It stands in for the next read
      // only if it has everything that was sent: a provider answering with less must not
      // make the next full replace drop attributes (or members).
      const result = writeResult(answer.body, answer.etag);
      if (result.group && holdsAll(result.group, write.extra, write.id)) groupCache.set(write.id, { group: result.group, etag: answer.etag });
      return result;
    },

    findUsers(ids, ctx): Promise<Map<string, UserSummary>> {
      return lookup('Users', ids, userBatchSize, 'id,active', parseUser, ctx);
    },

    readUsers(ids, ctx): Promise<Map<string, UserAttributes>> {
      return lookup('Users', ids, userBatchSize, 'id,active,groups,entitlements,meta', parseUserAttributes, ctx);
    },

    /** RFC 7644 §3.5.2 PATCH; If-Match guards it like a group write (§3.14). */
    async patchUser(id, operations, ifMatch, ctx) {
      const body = Buffer.from(JSON.stringify({ schemas: [PATCH_OP_SCHEMA], Operations: operations }), 'utf8');
      await http.send(
        {
          method: 'PATCH',
          path: `/Users/${encodeURIComponent(id)}`,
          route: '/Users/{id}',
          resource: 'Users',
          body,
          ...(ifMatch !== null && { headers: { 'if-match': ifMatch } }),
        },
        ctx,
      );
    },

    getGroups(ids, ctx): Promise<Map<string, GroupNode>> {
      return lookup('Groups', ids, groupBatchSize, 'id,displayName,members', parseGroupNode, ctx);
    },

    async findParentGroups(ids, ctx) {
      const unique = [...new Set(ids)];
      const result = new Map<string, string[]>(unique.map((id) => [id, []]));
      if (unique.length === 0) return result;
      if (parentFilterUsable()) {
        const done = await probeThenMap(() => filters.parents, unique, lookupConcurrency, async (id) => {
          const parents = await parentsByFilter(id, ctx);
          if (parents !== null) result.set(id, parents);
          return parents !== null;
        });
        if (done.every(Boolean)) return result;
      }
      return parentsByScan(unique, ctx);
    },

    /**
     * RFC 7644 §3.5.2 PATCH of a group; each answer's ETag guards the next request (§3.14).
     * Never with `attributes` or `excludedAttributes`: a provider that applies the PatchOp
     * to that projection and writes it back would drop every member the PATCH does not name.
     * In the middle of a sequence (`withMembers: false`) the answer's members are stepped
     * over unparsed: only its version matters.
     */
    async patchGroup(id, operations, ifMatch, ctx, answer) {
      // What the patch applies to, when it is the group as last read here (a sequence's
      // first request); the answer stands in for the next read only measured against it.
      const before = groupCache.get(id);
      groupCache.delete(id);
      const withMembers = answer?.withMembers !== false;
      const written = await http.read(
        {
          method: 'PATCH',
          path: `/Groups/${encodeURIComponent(id)}`,
          route: '/Groups/{id}',
          resource: 'Groups',
          body: Buffer.from(JSON.stringify({ schemas: [PATCH_OP_SCHEMA], Operations: operations }), 'utf8'),
          ...(ifMatch !== null && { headers: { 'if-match': ifMatch } }),
        },
        ctx,
        withMembers ? readWrittenGroup : readWrittenVersion,
      );
      const result = writeResult(written.body, written.etag);
      if (result.group && before && withMembers && holdsAll(result.group, before.group.extra, id)) groupCache.set(id, { group: result.group, etag: written.etag });
      return result;
    },

    capabilities(ctx) {
      capabilityRead ??= readCapabilities(ctx).catch((error: unknown) => {
        capabilityRead = undefined;
        throw error;
      });
      return capabilityRead;
    },

    async ping(ctx) {
      await http.send({ method: 'GET', path: '/ServiceProviderConfig', route: '/ServiceProviderConfig', resource: 'ServiceProviderConfig' }, ctx);
    },

    async close() {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}

/**
 * The answer to a write. The write went through: an unusable body must not turn it into
 * a failure, so it counts as no body (204 too), and the use case re-reads when it gets
 * no group back.
 */
const readWrittenGroup: BodyReader<GroupAnswer | null> = async (body, limit, expectedBytes) => {
  try {
    return await readGroupAnswer(body, limit, expectedBytes);
  } catch (error) {
    if (error instanceof ShapeError) return null;
    throw error;
  }
};

/**
 * The answer to a write whose members are not needed, only the group's version: with an
 * ETag header the body is drained unread (a 100,000-member answer is 17 MB); without one,
 * the group's attributes are read for meta.version, the members stepped over unparsed.
 */
const readWrittenVersion: BodyReader<GroupAnswer | null> = async (body, limit, expectedBytes, headers) => {
  if (headerValue(headers.etag) !== undefined) {
    await drain(body, limit);
    return null;
  }
  try {
    const answer = await readGroupAnswer(body, limit, expectedBytes, { skipMembers: true });
    return answer && { group: answer.group, hasMembers: false };
  } catch (error) {
    if (error instanceof ShapeError) return null;
    throw error;
  }
};

/** Reads a body to its end without keeping or decoding it; past `limit` bytes it fails like any other read. */
async function drain(body: Readable, limit: number): Promise<void> {
  let size = 0;
  for await (const part of body as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > limit) {
      body.destroy();
      throw new BodyTooLargeError(limit);
    }
  }
}

/** A write's answer for the use case: the group only when the answer holds its members; its version either way. */
function writeResult(answer: GroupAnswer | null | undefined, etag: string | null): WriteResult {
  if (answer && answer.hasMembers) return { group: answer.group, etag };
  const meta = answer?.group.meta;
  return { group: null, etag, version: meta?.version ?? meta?.lastModified ?? null };
}

/** The answer to a write is the group `id` and has every attribute of `extra` (nothing was dropped from it). */
function holdsAll(group: GroupResource, extra: Readonly<Record<string, unknown>>, id: string): boolean {
  return group.id === id && Object.keys(extra).every((key) => Object.hasOwn(group.extra, key) || GROUP_CORE_ATTRIBUTES.has(key));
}

function unusable(what: string, status: number, detail: string): UpstreamError {
  return new UpstreamError(`${what} answered ${status} with an unusable body: ${detail}`, { status, detail });
}

function shaped<T>(what: string, status: number, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    throw unusable(what, status, error.message);
  }
}

function listPage(request: ScimRequest, response: ScimResponse): ListPage {
  return shaped(`SCIM GET ${request.route}`, response.status, () => parseListResponse(parseJson(response.text)));
}

function parseMembersOf(route: string, members: unknown) {
  return shaped(`SCIM GET ${route}`, 200, () => parseMembers(members));
}

function usable(state: FilterState): boolean {
  return state === 'unknown' || state === 'works';
}

/**
 * While a filter's fate is unknown, the first item runs alone: if the provider refuses
 * the filter, the others then skip it instead of all being refused in parallel.
 */
async function probeThenMap<T, R>(
  state: () => FilterState,
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  if (state() !== 'unknown' || items.length < 2) return mapBounded(items, limit, task);
  const first = await task(items[0] as T);
  return [first, ...(await mapBounded(items.slice(1), limit, task))];
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
