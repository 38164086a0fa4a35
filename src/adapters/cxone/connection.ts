/**
 * One connection to a CXone tenant: the sign-in (CXONE_AUTH), one keep-alive Agent, one
 * rate limiter and one redactor, shared by every API the service calls there: SCIM 2.0
 * (`/scim/v2`, users, and groups where a provider has them) and the admin API (agents,
 * ACD groups, teams). Requests wait for the API origin when it is discovered rather than
 * configured.
 */
import { Agent, type Dispatcher } from 'undici';
import { systemClock } from '../../core/clock.js';
import type { Clock } from '../../core/ports.js';
import { CXONE_DEFAULTS } from '../scim/defaults.js';
import type { CxoneDirectory } from '../scim/cxone-directory.js';
import { createRateLimiter } from '../scim/rate-limiter.js';
import { createRedactor, type Redactor } from '../scim/redactor.js';
import type { RetryOptions } from '../scim/retry-policy.js';
import { createScimDirectory } from '../scim/scim-directory.js';
import type { TokenAuthMethod } from '../scim/token-source.js';
import type { UpstreamObserver } from '../scim/upstream-observer.js';
import { createAdminApiClient, DEFAULT_ADMIN_API_PATH, type AdminApiClient } from './admin-api.js';
import { createCxoneSignIn, type CxoneAuthMode, type CxoneSignIn } from './sign-in.js';

export interface CxoneConnectionOptions {
  readonly auth: CxoneAuthMode;
  readonly issuer?: string;
  readonly baseUrl?: string;
  readonly tokenUrl?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly accessKeyId?: string;
  readonly accessKeySecret?: string;
  /** Space-separated scopes; none requested when empty or absent. */
  readonly scope?: string;
  readonly tokenAuth?: TokenAuthMethod;
  readonly allowInsecureHttp?: boolean;
  /** Default `/scim/v2`. */
  readonly scimPath?: string;
  /** Default `/incontactapi/services/v31.0`. */
  readonly adminApiPath?: string;
  readonly clock?: Clock;
  /** Default: one keep-alive Agent owned by the connection, closed by close(). */
  readonly dispatcher?: Dispatcher;
  readonly observer?: UpstreamObserver;
  readonly random?: () => number;
  /** Per attempt, also each token and discovery request's timeout. Default 10 s. */
  readonly requestTimeoutMs?: number;
  readonly retry?: Partial<RetryOptions>;
  readonly userBatchSize?: number;
  readonly groupBatchSize?: number;
  readonly groupCacheMembers?: number;
  /** Requests per second (0 or absent: adaptive) and in flight, shared by every API of the tenant. Default: adaptive, 16. */
  readonly rateLimit?: { readonly requestsPerSecond?: number; readonly maxConcurrency?: number };
  /** Default: a redactor knowing only what the sign-in teaches it. */
  readonly redactor?: Redactor;
}

export interface CxoneConnection extends CxoneDirectory {
  readonly signIn: CxoneSignIn;
  /** The admin API on the same sign-in, pacing and connections as SCIM. */
  readonly adminApi: AdminApiClient;
}

export function createCxoneConnection(options: CxoneConnectionOptions): CxoneConnection {
  const clock = options.clock ?? systemClock;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 30_000, connections: 32, connect: { timeout: requestTimeoutMs } });
  const redactor = options.redactor ?? createRedactor();
  const signIn = createCxoneSignIn({
    mode: options.auth,
    issuer: options.issuer,
    baseUrl: options.baseUrl,
    tokenUrl: options.tokenUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    accessKeyId: options.accessKeyId,
    accessKeySecret: options.accessKeySecret,
    scope: options.scope,
    tokenAuth: options.tokenAuth,
    allowInsecureHttp: options.allowInsecureHttp,
    clock,
    dispatcher,
    timeoutMs: requestTimeoutMs,
    observer: options.observer,
    redactor,
  });
  const limiter = createRateLimiter({
    requestsPerSecond: options.rateLimit?.requestsPerSecond || Infinity,
    maxConcurrency: options.rateLimit?.maxConcurrency ?? 16,
    clock,
  });
  const directory = createScimDirectory({
    baseUrl: (signal) => signIn.apiBaseUrl(signal),
    scimPath: options.scimPath ?? CXONE_DEFAULTS.scimPath,
    tokenSource: signIn.tokenSource,
    clock,
    dispatcher,
    requestTimeoutMs,
    retry: options.retry,
    observer: options.observer,
    random: options.random,
    userBatchSize: options.userBatchSize,
    groupBatchSize: options.groupBatchSize,
    groupCacheMembers: options.groupCacheMembers,
    redactor,
    limiter,
  });
  const adminApi = createAdminApiClient({
    baseUrl: (signal) => signIn.apiBaseUrl(signal),
    adminApiPath: options.adminApiPath ?? DEFAULT_ADMIN_API_PATH,
    tokenSource: signIn.tokenSource,
    clock,
    dispatcher,
    requestTimeoutMs,
    retry: options.retry,
    observer: options.observer,
    random: options.random,
    limiter,
    redactor,
  });
  return {
    ...directory,
    signIn,
    adminApi,
    tokenSource: { ...signIn.tokenSource, close: async () => {} },
    async close() {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}
