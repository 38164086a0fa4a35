/**
 * One connection to a CXone tenant: the sign-in (CXONE_AUTH), one keep-alive Agent, one
 * rate limiter and one redactor, shared by every API the service calls there: SCIM 2.0
 * (`/scim/v2`, users, and groups where a provider has them) and the admin API (agents,
 * ACD groups, teams). Requests wait for the API origin when it is discovered rather than
 * configured.
 */
import { CXONE_DEFAULTS } from '../scim/defaults.js';
import type { CxoneDirectory } from '../scim/cxone-directory.js';
import type { RetryOptions } from '../scim/retry-policy.js';
import { createScimDirectory } from '../scim/scim-directory.js';
import { createTenantPlumbing, type TenantPlumbingOptions } from '../scim/tenant-plumbing.js';
import type { UpstreamObserver } from '../scim/upstream-observer.js';
import { createAdminApiClient, DEFAULT_ADMIN_API_PATH, type AdminApiClient } from './admin-api.js';
import { createCxoneSignIn, type CxoneAuthMode, type CxoneSignIn, type CxoneSignInOptions } from './sign-in.js';

/** The sign-in's settings (CXONE_AUTH as `auth`), what every client of the tenant shares, and the APIs' own. */
export interface CxoneConnectionOptions
  extends Omit<CxoneSignInOptions, 'mode' | 'clock' | 'dispatcher' | 'timeoutMs' | 'observer' | 'redactor'>,
    TenantPlumbingOptions {
  readonly auth: CxoneAuthMode;
  /** Default `/scim/v2`. */
  readonly scimPath?: string;
  /** Default `/incontactapi/services/v31.0`. */
  readonly adminApiPath?: string;
  readonly observer?: UpstreamObserver;
  readonly random?: () => number;
  readonly retry?: Partial<RetryOptions>;
  readonly userBatchSize?: number;
  readonly groupBatchSize?: number;
  readonly groupCacheMembers?: number;
}

export interface CxoneConnection extends CxoneDirectory {
  readonly signIn: CxoneSignIn;
  /** The admin API on the same sign-in, pacing and connections as SCIM. */
  readonly adminApi: AdminApiClient;
}

export function createCxoneConnection(options: CxoneConnectionOptions): CxoneConnection {
  const { clock, requestTimeoutMs, dispatcher, limiter, redactor, close } = createTenantPlumbing(options);
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
  const shared = {
    baseUrl: (signal?: AbortSignal) => signIn.apiBaseUrl(signal),
    tokenSource: signIn.tokenSource,
    clock,
    dispatcher,
    requestTimeoutMs,
    retry: options.retry,
    observer: options.observer,
    random: options.random,
    limiter,
    redactor,
  };
  const directory = createScimDirectory({
    ...shared,
    scimPath: options.scimPath ?? CXONE_DEFAULTS.scimPath,
    userBatchSize: options.userBatchSize,
    groupBatchSize: options.groupBatchSize,
    groupCacheMembers: options.groupCacheMembers,
  });
  const adminApi = createAdminApiClient({ ...shared, adminApiPath: options.adminApiPath ?? DEFAULT_ADMIN_API_PATH });
  return {
    ...directory,
    signIn,
    adminApi,
    tokenSource: { ...signIn.tokenSource, close: async () => {} },
    close,
  };
}
