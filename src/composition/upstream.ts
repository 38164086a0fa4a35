/**
 * The upstream directory from the configuration: the membership backend the sync reads and
 * writes, paced and timed out as configured. Today one backend, SCIM 2.0 /Users and
 * /Groups (src/adapters/scim); choosing among several backends belongs here.
 */
import { createCxoneDirectory, createRedactor, type CxoneDirectory, type UpstreamObserver } from '../adapters/scim/index.js';
import { secretValues, type Config } from '../config.js';
import type { Clock } from '../core/ports.js';

export interface Upstream {
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** A simulator (embedded or stand-alone): its own token URL and SCIM path, whatever CXONE_TOKEN_URL and CXONE_SCIM_PATH say. */
  readonly simulator?: boolean;
}

/** The upstream CXONE_BASE_URL and its client credentials name (undefined: none is configured). */
export function configuredUpstream(config: Readonly<Config>): Upstream | undefined {
  if (config.cxoneBaseUrl === undefined) return undefined;
  return { baseUrl: config.cxoneBaseUrl, clientId: config.cxoneClientId as string, clientSecret: config.cxoneClientSecret as string };
}

/**
 * The SCIM directory of the upstream. Its redactor is built here, once, from the value of
 * every secret setting; the token source adds the client credentials in use (the
 * simulator's generated ones too) and each access token it obtains.
 */
export function createUpstreamDirectory(
  config: Readonly<Config>,
  upstream: Upstream,
  observer?: UpstreamObserver,
  testing: { readonly clock?: Clock; readonly random?: () => number } = {},
): CxoneDirectory {
  return createCxoneDirectory({
    ...testing,
    baseUrl: upstream.baseUrl,
    clientId: upstream.clientId,
    clientSecret: upstream.clientSecret,
    tokenUrl: upstream.simulator ? undefined : config.cxoneTokenUrl,
    scimPath: upstream.simulator ? undefined : config.cxoneScimPath,
    scope: config.cxoneScope,
    tokenAuth: config.cxoneTokenAuth,
    requestTimeoutMs: config.upstreamTimeoutMs,
    rateLimit: { requestsPerSecond: config.upstreamMaxRps, maxConcurrency: config.upstreamMaxConcurrency },
    userBatchSize: config.scimBatchSize,
    groupBatchSize: config.scimBatchSize,
    groupCacheMembers: config.groupCacheMembers,
    redactor: createRedactor(secretValues(config)),
    observer,
  });
}
