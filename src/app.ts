/**
 * buildApp: the HTTP service, assembled from a Config and the ports it is given.
 * It never listens and never reads the environment (main.ts does), so tests build it
 * with fakes or against the simulator and drive it with inject().
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import type { Config } from './config.js';
import { systemClock } from './core/clock.js';
import { SyncError } from './core/errors.js';
import { KeyedLock } from './core/keyed-lock.js';
import type { AuditLog, Clock, ScimDirectory, SyncMetrics } from './core/ports.js';
import { syncGroup, type SyncRequest, type SyncResult } from './core/sync-group.js';
import { auth } from './http/plugins/auth.js';
import { errorHandler } from './http/plugins/error-handler.js';
import { RequestLog } from './http/plugins/request-log.js';
import { strictBodyValidation } from './http/plugins/validation.js';
import { healthRoutes, type ReadinessCheck } from './http/routes/health.js';
import { syncRoutes } from './http/routes/sync.js';
import { ErrorBody, MemberIdentity } from './http/schemas/common.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The sync use case, wired to this app's ports. */
    syncGroup(request: SyncRequest): Promise<SyncResult>;
  }
}

export interface AppPorts {
  readonly directory: ScimDirectory;
  readonly audit: AuditLog;
  readonly metrics?: SyncMetrics;
  readonly clock?: Clock;
  /** What /readyz checks besides the process itself. */
  readonly readiness?: readonly ReadinessCheck[];
}

export interface BuildAppOptions {
  readonly config: Config;
  readonly ports: AppPorts;
  readonly logger?: FastifyBaseLogger;
}

/** Conflict retries after the first attempt (API.md: "up to 3 times"). */
export const MAX_CONFLICT_RETRIES = 3;

/** User PATCHes in flight at once during the attribute sync that follows a write. */
export const ATTRIBUTE_SYNC_CONCURRENCY = 8;

/** X-Request-Id values we accept as given; anything else gets a fresh id (no header injection). */
const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export async function buildApp({ config, ports, logger }: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    logController: new RequestLog(),
    requestIdHeader: false,
    routerOptions: { maxParamLength: 1024 },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : uuidv7();
    },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    schemaController: strictBodyValidation(),
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/scim+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  app.addSchema(ErrorBody);
  app.addSchema(MemberIdentity);
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  const clock = ports.clock ?? systemClock;
  const deps = {
    directory: ports.directory,
    clock,
    locks: new KeyedLock(),
    audit: ports.audit,
    metrics: ports.metrics ?? { observeSync: () => {} },
    newSyncId: () => uuidv7(),
    newEventId: () => `msg_${uuidv7()}`,
    maxDepth: config.maxGroupDepth,
    maxConflictRetries: MAX_CONFLICT_RETRIES,
    attributes: { entitlementMap: config.entitlementMap, concurrency: ATTRIBUTE_SYNC_CONCURRENCY },
  };
  app.decorate('syncGroup', async (request: SyncRequest) => {
    const log = app.log.child({ requestId: request.requestId });
    try {
      const result = await syncGroup(deps, request);
      log.info(
        {
          syncId: result.syncId,
          groupId: result.groupId,
          actor: request.actor,
          status: result.status,
          added: result.added.length,
          removed: result.removed.length,
          memberCount: result.memberCount,
          upstreamRequests: result.upstreamRequests,
          latencyMs: result.latencyMs,
        },
        'sync finished',
      );
      return result;
    } catch (error) {
      log.info(
        { syncId: error instanceof SyncError ? error.syncId : undefined, groupId: request.groupId, actor: request.actor, status: 'failed', code: error instanceof SyncError ? error.code : 'internal_error' },
        'sync failed',
      );
      throw error;
    }
  });

  await app.register(errorHandler);
  await app.register(auth, { tokens: config.syncApiTokens });
  await app.register(healthRoutes, { checks: ports.readiness ?? [] });
  await app.register(syncRoutes, { maxMembers: config.maxMembers });
  return app;
}
