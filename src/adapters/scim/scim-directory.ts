/**
 * ScimDirectory over plain SCIM 2.0 (RFC 7643, RFC 7644): any compliant provider works.
 * Assembled from its parts: the retrying HTTP client (./scim-http.ts), lookups by id and of
 * parent groups with the filters they probe (./scim-lookups.ts), one group as a resource
 * with its conditional reads (./scim-group-resource.ts), and the provider's capabilities.
 */
import { Agent, type Dispatcher } from 'undici';
import { systemClock } from '../../core/clock.js';
import type { Clock, GroupNode, ProviderCapabilities, RequestContext, ScimDirectory, ScimUserGateway, UserAttributes, UserSummary } from '../../core/ports.js';
import { SCIM_SCHEMAS } from '../../core/scim-schemas.js';
import { CXONE_DEFAULTS } from './defaults.js';
import { createGroupCache } from './group-cache.js';
import type { RateLimiter } from './rate-limiter.js';
import type { Redactor } from './redactor.js';
import { DEFAULT_RETRY, type RetryOptions } from './retry-policy.js';
import { shaped } from './scim-answers.js';
import { createGroupCatalog } from './scim-group-catalog.js';
import { createGroupResource } from './scim-group-resource.js';
import { createScimHttp, type BaseUrlSource, type ScimRequest } from './scim-http.js';
import { createLookups } from './scim-lookups.js';
import { createUserGateway } from './scim-user-gateway.js';
import { parseGroupNode, parseJson, parseUser, parseUserAttributes } from './scim-resources.js';
import type { TokenSource } from './token-source.js';
import { safeObserver, type UpstreamObserver } from './upstream-observer.js';

export interface ScimDirectoryOptions {
  /** Upstream origin (http:// allowed), optionally with a path prefix; or where to find it before the first request. */
  readonly baseUrl: string | BaseUrlSource;
  /** SCIM base path below the origin. Default CXONE_DEFAULTS.scimPath, `/scim/v2`. */
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

/** The directory, and the upstream's /Users passed through (./scim-user-gateway.ts) for the service's own SCIM /Users. */
export interface ScimDirectoryAdapter extends ScimDirectory, ScimUserGateway {
  /** GET /ServiceProviderConfig: a token can be had and the upstream answers (for /readyz). */
  ping(ctx: RequestContext): Promise<void>;
  /**
   * Whether the provider keeps groups in SCIM: `GET /Groups?startIndex=1&count=1&attributes=id`
   * (RFC 7644 §3.4.2: a list of at most one group, its id only, so that a group's members
   * never come back). 200: `groups`. 404: `no-groups`, unless `GET /Users` with the same
   * parameters is a 404 too (`no-scim`: SCIM itself is not where CXONE_SCIM_PATH says). Any
   * other answer throws as every request does (401, 403, 5xx after retries, no answer).
   */
  probeGroups(ctx: RequestContext): Promise<GroupsProbeAnswer>;
  /** Closes the dispatcher if the directory created it. */
  close(): Promise<void>;
}

/** What probeGroups found. */
export type GroupsProbeAnswer = 'groups' | 'no-groups' | 'no-scim';

/** A list of at most one resource, its id only (RFC 7644 §3.4.2.4 startIndex/count, §3.9 attributes). */
const PROBE_QUERY = '?startIndex=1&count=1&attributes=id';

export function createScimDirectory(options: ScimDirectoryOptions): ScimDirectoryAdapter {
  const clock = options.clock ?? systemClock;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const userBatchSize = positive(options.userBatchSize ?? 50, 'userBatchSize');
  const groupBatchSize = positive(options.groupBatchSize ?? userBatchSize, 'groupBatchSize');
  const pageSize = positive(options.pageSize ?? 100, 'pageSize');
  const maxPages = positive(options.maxPages ?? 10_000, 'maxPages');
  const batchConcurrency = positive(options.batchConcurrency ?? 4, 'batchConcurrency');
  const lookupConcurrency = positive(options.lookupConcurrency ?? 8, 'lookupConcurrency');
  const scimPath = options.scimPath ?? CXONE_DEFAULTS.scimPath;
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ?? new Agent({ keepAliveTimeout: 30_000, connections: 32, connect: { timeout: requestTimeoutMs } });
  const http = createScimHttp({
    baseUrl: options.baseUrl,
    scimPath,
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

  const groups = createGroupResource(http, createGroupCache(options.groupCacheMembers ?? 200_000));
  const lookups = createLookups({ http, pageSize, maxPages, batchConcurrency, lookupConcurrency });
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

  return {
    ...groups,
    ...createUserGateway(http),
    ...createGroupCatalog({ http, pageSize, maxPages }),

    findUsers(ids, ctx): Promise<Map<string, UserSummary>> {
      return lookups.lookup('Users', ids, userBatchSize, 'id,active', parseUser, ctx);
    },

    readUsers(ids, ctx): Promise<Map<string, UserAttributes>> {
      return lookups.lookup('Users', ids, userBatchSize, 'id,active,groups,entitlements,meta', parseUserAttributes, ctx);
    },

    /** RFC 7644 §3.5.2 PATCH; If-Match guards it like a group write (§3.14). */
    async patchUser(id, operations, ifMatch, ctx) {
      const body = Buffer.from(JSON.stringify({ schemas: [SCIM_SCHEMAS.patchOp], Operations: operations }), 'utf8');
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
      return lookups.lookup('Groups', ids, groupBatchSize, 'id,displayName,members', parseGroupNode, ctx);
    },

    findParentGroups: (ids, ctx) => lookups.findParentGroups(ids, ctx),

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

    async probeGroups(ctx) {
      const groupList = await http.send({ method: 'GET', path: `/Groups${PROBE_QUERY}`, route: '/Groups', resource: 'Groups', expect: [404] }, ctx);
      if (groupList.status !== 404) return 'groups';
      const userList = await http.send({ method: 'GET', path: `/Users${PROBE_QUERY}`, route: '/Users', resource: 'Users', expect: [404] }, ctx);
      return userList.status === 404 ? 'no-scim' : 'no-groups';
    },

    async close() {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
