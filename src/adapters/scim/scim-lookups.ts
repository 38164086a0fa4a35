/**
 * Lookups by id, batched into `filter=id eq "a" or id eq "b" …` queries, and the parent
 * groups of members. Providers differ, so the filters are probed and the outcome remembered
 * for the directory's lifetime: a provider that rejects a filter (400 invalidFilter, or
 * 400/403/501 on a filtered query) gets single GETs; a provider that ignores the filter
 * and lists everything (detected because a result is not among the ids asked for) gets
 * single GETs too, and for parent lookups a scan of all groups. Results are always checked
 * against the ids asked for. While a filter's fate is unknown the first query runs alone,
 * so a refusing provider costs one refused request rather than one per batch; once a
 * filter has worked, a refusal only affects its batch.
 *
 * A batch holds at most `batchSize` ids and its request target (path and query, as sent)
 * at most MAX_LOOKUP_TARGET bytes: 50 ids of 400 characters make a 25 KB URL, which
 * servers refuse (414, or 431 from Node's 16 KB header limit). A batch refused for its
 * length all the same (414 or 431) is looked up one by one.
 */
import { mapBounded } from '../../core/concurrency.js';
import { UpstreamError } from '../../core/errors.js';
import type { RequestContext } from '../../core/ports.js';
import { paginate } from './pagination.js';
import { listPage, parseMembersOf, shaped } from './scim-answers.js';
import { anyOfFilter, eqFilter, queryString } from './scim-filter.js';
import type { ScimHttp, ScimRequest } from './scim-http.js';
import { idOf, parseJson } from './scim-resources.js';

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

export interface LookupOptions {
  readonly http: ScimHttp;
  /** `count` of paginated lists. */
  readonly pageSize: number;
  /** Pages after which a list is considered broken. */
  readonly maxPages: number;
  /** Filtered batch queries in flight at once. */
  readonly batchConcurrency: number;
  /** Single GETs and parent queries in flight at once. */
  readonly lookupConcurrency: number;
}

export interface Lookups {
  /** The resources among `ids` that exist, keyed by id: batched, with the per-id fallback; `parse` turns one resource into a value. */
  lookup<T>(kind: Listed, ids: readonly string[], batchSize: number, attributes: string, parse: (json: unknown) => T & { readonly id: string }, ctx: RequestContext): Promise<Map<string, T>>;
  /** For each id, the ids of the groups that hold it as a direct member. Every id is a key. */
  findParentGroups(ids: readonly string[], ctx: RequestContext): Promise<Map<string, string[]>>;
}

export function createLookups({ http, pageSize, maxPages, batchConcurrency, lookupConcurrency }: LookupOptions): Lookups {
  const filters: Record<Listed | 'parents', FilterState> = { Users: 'unknown', Groups: 'unknown', parents: 'unknown' };

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
    lookup,
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
  };
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
