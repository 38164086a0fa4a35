/**
 * NICE CXone's defaults (./defaults.ts: paths, scopes) wired into the plain SCIM 2.0
 * adapter. One keep-alive Agent serves both the token endpoint and SCIM.
 */
import { CXONE_DEFAULTS } from './defaults.js';
import type { RetryOptions } from './retry-policy.js';
import { createScimDirectory, type ScimDirectoryAdapter } from './scim-directory.js';
import { createTenantPlumbing, type TenantPlumbingOptions } from './tenant-plumbing.js';
import { createTokenSource, type TokenAuthMethod, type TokenSource } from './token-source.js';
import type { UpstreamObserver } from './upstream-observer.js';

export interface CxoneDirectoryOptions extends TenantPlumbingOptions {
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
  readonly observer?: UpstreamObserver;
  readonly random?: () => number;
  readonly retry?: Partial<RetryOptions>;
  readonly userBatchSize?: number;
  readonly groupBatchSize?: number;
  readonly pageSize?: number;
  readonly batchConcurrency?: number;
  readonly lookupConcurrency?: number;
  /** Members of the groups kept for conditional reads; 0 keeps none. Default 200,000. */
  readonly groupCacheMembers?: number;
}

export interface CxoneDirectory extends ScimDirectoryAdapter {
  readonly tokenSource: TokenSource;
}

export function createCxoneDirectory(options: CxoneDirectoryOptions): CxoneDirectory {
  const { clock, requestTimeoutMs, dispatcher, limiter, redactor, close } = createTenantPlumbing(options);
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
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
    limiter,
  });
  return { ...directory, tokenSource, close };
}
