/**
 * The sync use case wired to its ports, and the upstream directory built from Config:
 * what the HTTP service (app.ts, main.ts) and the CLI (cli.ts) share, so that a sync run
 * from either is the same sync: the same limits, conflict retries, write mode, attribute
 * sync and audit trail.
 */
import { v7 as uuidv7 } from 'uuid';
import { createCxoneDirectory, createRedactor, type CxoneDirectory, type UpstreamObserver } from './adapters/scim/index.js';
import { secretValues, type Config } from './config.js';
import { systemClock } from './core/clock.js';
import { SyncDeadlineError } from './core/errors.js';
import { KeyedLock } from './core/keyed-lock.js';
import type { AuditLog, Clock, ScimDirectory, SyncMetrics } from './core/ports.js';
import { syncGroup, type SyncGroupDeps, type SyncRequest, type SyncResult } from './core/sync-group.js';

/** Conflict retries after the first attempt (API.md: "up to 3 times"). */
export const MAX_CONFLICT_RETRIES = 3;

/** User PATCHes in flight at once during the attribute sync that follows a write. */
export const ATTRIBUTE_SYNC_CONCURRENCY = 8;

export interface SyncServicePorts {
  readonly directory: ScimDirectory;
  readonly audit: AuditLog;
  readonly metrics: SyncMetrics;
  readonly clock?: Clock;
  /** The per-group queue; default: a new one bounded by GROUP_QUEUE_MAX. */
  readonly locks?: KeyedLock;
}

export type SyncServiceConfig = Pick<Config, 'maxGroupDepth' | 'writeMode' | 'patchMaxOperations' | 'entitlementMap' | 'groupQueueMax'>;

/** The dependencies of syncGroup, from the configuration and the ports. One per-group lock per call: call it once per process. */
export function createSyncDeps(config: SyncServiceConfig, ports: SyncServicePorts): SyncGroupDeps {
  return {
    directory: ports.directory,
    clock: ports.clock ?? systemClock,
    locks: ports.locks ?? new KeyedLock(config.groupQueueMax),
    audit: ports.audit,
    metrics: ports.metrics,
    newSyncId: () => uuidv7(),
    newEventId: () => `msg_${uuidv7()}`,
    maxDepth: config.maxGroupDepth,
    maxConflictRetries: MAX_CONFLICT_RETRIES,
    writeMode: config.writeMode,
    patchMaxOperations: config.patchMaxOperations,
    attributes: { entitlementMap: config.entitlementMap, concurrency: ATTRIBUTE_SYNC_CONCURRENCY },
  };
}

export type SyncService = (request: SyncRequest) => Promise<SyncResult>;

/** syncGroup bound to its dependencies. */
export function createSyncService(config: SyncServiceConfig, ports: SyncServicePorts): SyncService {
  const deps = createSyncDeps(config, ports);
  return (request) => syncGroup(deps, request);
}

export interface Upstream {
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** A simulator (embedded or stand-alone): its own token URL and SCIM path, whatever CXONE_TOKEN_URL and CXONE_SCIM_PATH say. */
  readonly simulator?: boolean;
}

/**
 * The SCIM directory of the configured upstream, paced and timed out as the configuration
 * says. Its redactor is built here, once, from the value of every secret setting; the token
 * source adds the client credentials in use (the simulator's generated ones too) and each
 * access token it obtains.
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

/**
 * A sync under its overall deadline: past `deadlineMs` its signal fires with
 * SyncDeadlineError (answered 504), combined with any signal the caller passes (a
 * shutdown or Ctrl-C cutting syncs off).
 */
export function withDeadline(run: SyncService, deadlineMs: number): SyncService {
  return async (request) => {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new SyncDeadlineError(deadlineMs)), deadlineMs);
    try {
      return await run({ ...request, signal: request.signal ? AbortSignal.any([request.signal, deadline.signal]) : deadline.signal });
    } finally {
      clearTimeout(timer);
    }
  };
}
