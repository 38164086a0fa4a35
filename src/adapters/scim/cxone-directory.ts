/**
 * NICE CXone's defaults (./defaults.ts: paths, scopes) wired into the plain SCIM 2.0
 * adapter. One keep-alive Agent serves both the token endpoint and SCIM.
 */
import { Agent, type Dispatcher } from 'undici';
import { systemClock } from '../../core/clock.js';
import type { Clock } from '../../core/ports.js';
import { CXONE_DEFAULTS } from './defaults.js';
import { createRedactor, type Redactor } from './redactor.js';
import type { RetryOptions } from './retry-policy.js';
import { createRateLimiter } from './rate-limiter.js';
import { createScimDirectory, type ScimDirectoryAdapter } from './scim-directory.js';
import { createTokenSource, type TokenAuthMethod, type TokenSource } from './token-source.js';
import type { UpstreamObserver } from './upstream-observer.js';

export interface CxoneDirectoryOptions {
  /** `https://{tenant}.api.nicecxone.com`, or any SCIM provider's origin. */
  readonly baseUrl: string;
  /** Default `${baseUrl}/oauth/token`. */
  readonly tokenUrl?: string;
  /** Default CXONE_DEFAULTS.scimPath (`/scim/v2`). */
  readonly scimPath?: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Space-separated scopes. Default: none. */
  readonly scope?: string;
  /** Default `basic`. */
  readonly tokenAuth?: TokenAuthMethod;
  readonly clock?: Clock;
  /** Default: one keep-alive Agent owned by the directory, closed by close(). */
  readonly dispatcher?: Dispatcher;
  readonly observer?: UpstreamObserver;
  readonly random?: () => number;
  /** Per attempt, also the token request's timeout. Default 10 s. */
  readonly requestTimeoutMs?: number;
  readonly retry?: Partial<RetryOptions>;
  readonly userBatchSize?: number;
  readonly groupBatchSize?: number;
  readonly pageSize?: number;
  readonly batchConcurrency?: number;
  readonly lookupConcurrency?: number;
  /**
   * Client-side pacing shared by every SCIM request: requests per second (0 or absent:
   * none until the first 429 teaches one) and requests in flight. Default: adaptive, 16.
   */
  readonly rateLimit?: { readonly requestsPerSecond?: number; readonly maxConcurrency?: number };
  /** Members of the groups kept for conditional reads; 0 keeps none. Default 200,000. */
  readonly groupCacheMembers?: number;
  /**
   * Blanks secrets out of upstream error text (SCIM and OAuth); the token source adds the
   * client credentials and every access token it obtains. Default: a redactor knowing only those.
   */
  readonly redactor?: Redactor;
}

export interface CxoneDirectory extends ScimDirectoryAdapter {
  readonly tokenSource: TokenSource;
}

export function createCxoneDirectory(options: CxoneDirectoryOptions): CxoneDirectory {
  const clock = options.clock ?? systemClock;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ?? new Agent({ keepAliveTimeout: 30_000, connections: 32, connect: { timeout: requestTimeoutMs } });
  const redactor = options.redactor ?? createRedactor();
  const tokenSource = createTokenSource({
    tokenUrl: options.tokenUrl ?? `${baseUrl}${CXONE_DEFAULTS.tokenPath}`,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    scope: options.scope ?? CXONE_DEFAULTS.scope,
    auth: options.tokenAuth ?? CXONE_DEFAULTS.tokenAuth,
    clock,
    dispatcher,
    timeoutMs: requestTimeoutMs,
    observer: options.observer,
    redactor,
  });
  const directory = createScimDirectory({
    baseUrl,
    scimPath: options.scimPath ?? CXONE_DEFAULTS.scimPath,
    tokenSource,
    clock,
    dispatcher,
    requestTimeoutMs,
    retry: options.retry,
    observer: options.observer,
    random: options.random,
    userBatchSize: options.userBatchSize,
    groupBatchSize: options.groupBatchSize,
    pageSize: options.pageSize,
    batchConcurrency: options.batchConcurrency,
    lookupConcurrency: options.lookupConcurrency,
    groupCacheMembers: options.groupCacheMembers,
    redactor,
    limiter: createRateLimiter({
      requestsPerSecond: options.rateLimit?.requestsPerSecond || Infinity,
      maxConcurrency: options.rateLimit?.maxConcurrency ?? 16,
      clock,
    }),
  });
  return {
    ...directory,
    tokenSource,
    async close() {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}
