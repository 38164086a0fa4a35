/**
 * buildApp: the HTTP service, assembled from a Config and the ports it is given.
 * It never listens and never reads the environment (main.ts does), so tests build it
 * with fakes or against the simulator and drive it with inject().
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import { v7 as uuidv7 } from 'uuid';
import { MemoryIdempotencyStore } from './adapters/storage/memory-idempotency-store.js';
import { createWebhookTargetPolicy, type WebhookTargetPolicy } from './adapters/webhooks/ssrf-guard.js';
import type { Config } from './config.js';
import { systemClock } from './core/clock.js';
import { SyncInterruptedError } from './core/errors.js';
import { KeyedLock } from './core/keyed-lock.js';
import { isAuditTrail, type AuditLog, type Clock, type IdempotencyStore, type ScimDirectory, type SubscriptionStore, type SyncMetrics } from './core/ports.js';
import type { SyncRequest, SyncResult } from './core/sync-group.js';
import rateLimit from '@fastify/rate-limit';
import { RateLimitedError } from './http/errors.js';
import { auth } from './http/plugins/auth.js';
import { errorHandler } from './http/plugins/error-handler.js';
import { idempotency } from './http/plugins/idempotency.js';
import { RequestLog } from './http/plugins/request-log.js';
import { swagger } from './http/plugins/swagger.js';
import { strictBodyValidation, strictQuery } from './http/plugins/validation.js';
import { auditRoutes } from './http/routes/audit.js';
import { healthRoutes, type ReadinessCheck } from './http/routes/health.js';
import { metricsRoutes } from './http/routes/metrics.js';
import { subscriptionRoutes } from './http/routes/subscriptions.js';
import { syncRoutes } from './http/routes/sync.js';
import { ErrorBody, MemberIdentity } from './http/schemas/common.js';
import { withSyncLog } from './logger.js';
import { createSyncService, withDeadline } from './sync-service.js';

export { ATTRIBUTE_SYNC_CONCURRENCY, MAX_CONFLICT_RETRIES } from './sync-service.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The sync use case, wired to this app's ports, with the overall deadline (SYNC_DEADLINE_MS). */
    syncGroup(request: SyncRequest): Promise<SyncResult>;
    /** Cuts off every sync still running (the shutdown deadline passed); each is audited as interrupted. */
    interruptSyncs(): void;
    /** Syncs running now. */
    readonly syncsInFlight: number;
    /** The per-group queue of syncs: how many wait for a group, and a promise for when that many do. */
    readonly groupQueue: Pick<KeyedLock, 'waiting' | 'whenWaiting'>;
  }
}

/** The metrics the app feeds and serves (src/adapters/metrics: createPrometheusMetrics()). */
export interface AppMetrics {
  /** What the sync use case reports. */
  readonly sync: SyncMetrics;
  /** This app's own registry, served at GET /metrics. */
  readonly registry: Registry;
}

export interface AppPorts {
  readonly directory: ScimDirectory;
  /** Where syncs are recorded. When it also answers queries (AuditTrail), GET /syncs/{syncId}, /audit and /audit/verify are served. */
  readonly audit: AuditLog;
  /** Webhook subscriptions; the /subscriptions routes are served only when given. */
  readonly subscriptions?: SubscriptionStore;
  /** Which webhook URLs are accepted; default: the SSRF rules, relaxed by WEBHOOK_ALLOW_PRIVATE. */
  readonly webhookPolicy?: WebhookTargetPolicy;
  /** Where Idempotency-Key answers are kept. Default: in memory (lost on restart). */
  readonly idempotency?: IdempotencyStore;
  readonly metrics: AppMetrics;
  readonly clock?: Clock;
  /** What /readyz checks besides the process itself. */
  readonly readiness?: readonly ReadinessCheck[];
}

export interface BuildAppOptions {
  readonly config: Config;
  readonly ports: AppPorts;
  readonly logger?: FastifyBaseLogger;
}

/** How long an Idempotency-Key's first answer is replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** Longest raw path parameter the router accepts (a 256-character id, percent-encoded, fits). */
const MAX_PARAM_LENGTH = 4096;

/** TRUST_PROXY as Fastify takes it: a hop count becomes the function Fastify would make of it (its types omit numbers). */
function fastifyTrustProxy(setting: Config['trustProxy']): boolean | string | ((address: string, hop: number) => boolean) {
  return typeof setting === 'number' ? (_address, hop) => hop < setting : setting;
}

/** X-Request-Id values we accept as given; anything else gets a fresh id (no header injection). */
const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export async function buildApp({ config, ports, logger }: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    logController: new RequestLog(),
    requestIdHeader: false,
    // A request may take as long as a sync's deadline plus room to answer; headers must come quickly.
    requestTimeout: config.syncDeadlineMs + 15_000,
    keepAliveTimeout: 65_000,
    http: { headersTimeout: 20_000 },
    // Ids are checked by the route schemas; the router only stops absurd lengths, answering
    // like every other bad request (its own default would be a 414 in another body format).
    routerOptions: {
      maxParamLength: MAX_PARAM_LENGTH,
      onMaxParamLength: (_path, _req, res) => {
        res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: 'invalid_request', message: `a path parameter is longer than ${MAX_PARAM_LENGTH} characters` }));
      },
    },
    // Malformed HTTP never reaches a route; answer it in the API.md body too, not Node's.
    clientErrorHandler: (error, socket) => {
      if (socket.destroyed || !socket.writable) return;
      const tooLarge = (error as { code?: string }).code === 'HPE_HEADER_OVERFLOW';
      const body = JSON.stringify({ error: 'invalid_request', message: tooLarge ? 'the request headers are too large' : 'the request is not well-formed HTTP' });
      socket.end(`HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    },
    frameworkErrors: (error, _request, reply) => {
      const badUrl = (error as { code?: string }).code === 'FST_ERR_BAD_URL';
      const body = { error: 'invalid_request', message: badUrl ? 'the request URL is not valid (malformed percent-encoding)' : 'the request is not valid' };
      (reply as FastifyReply).code(400).send(body);
    },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : uuidv7();
    },
    // Whether X-Forwarded-For names the client (request.ip, which the failed-authentication limit counts by).
    trustProxy: fastifyTrustProxy(config.trustProxy),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    schemaController: strictBodyValidation(),
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/scim+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  app.addSchema(ErrorBody);
  app.addSchema(MemberIdentity);
  // While closing, answers end their connection: a keep-alive socket kept open by an
  // in-flight request would otherwise hold the shutdown until its idle timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
  });

  const clock = ports.clock ?? systemClock;
  const locks = new KeyedLock(config.groupQueueMax);
  const runSync = withDeadline(
    createSyncService(config, { directory: ports.directory, clock, audit: withSyncLog(ports.audit, app.log), metrics: ports.metrics.sync, locks }),
    config.syncDeadlineMs,
  );

  // Every sync runs under one AbortSignal: its deadline fires it with SyncDeadlineError
  // (answered 504, or 503 queue_timeout while it still waited for its group), a shutdown
  // past its own deadline with SyncInterruptedError (503). The SCIM client, the limiter and
  // the per-group queue all stop waiting on it. A caller that goes away (the route's
  // callerGone) cancels a sync that still waits for its group.
  const running = new Set<AbortController>();
  app.decorate('syncGroup', async (request: SyncRequest) => {
    const controller = new AbortController();
    running.add(controller);
    try {
      return await runSync({ ...request, signal: controller.signal });
    } finally {
      running.delete(controller);
    }
  });
  app.decorate('interruptSyncs', () => {
    for (const controller of running) controller.abort(new SyncInterruptedError());
  });
  app.decorate('syncsInFlight', { getter: () => running.size });
  app.decorate('groupQueue', { getter: () => locks });

  await app.register(errorHandler);
  await app.register(auth, { tokens: config.syncApiTokens, adminTokens: config.adminApiTokens, failureLimit: config.authFailureLimit, clock });
  if (config.inboundRateLimit > 0) {
    // Per caller, after authentication (the token's name is the key); public routes are exempt.
    await app.register(rateLimit, {
      hook: 'preHandler',
      max: config.inboundRateLimit,
      timeWindow: 60_000,
      keyGenerator: (request) => (request.actor ? `actor:${request.actor}` : `ip:${request.ip}`),
      allowList: (request) => request.routeOptions.config.public === true,
      errorResponseBuilder: (_request, context) => new RateLimitedError(context.max, Math.max(1, Math.ceil(context.ttl / 1000))),
    });
  }
  await app.register(idempotency, { store: ports.idempotency ?? new MemoryIdempotencyStore(clock), ttlMs: IDEMPOTENCY_TTL_MS });
  await app.register(strictQuery);
  await app.register(swagger);
  await app.register(healthRoutes, { checks: ports.readiness ?? [], clock });
  await app.register(metricsRoutes, { registry: ports.metrics.registry });
  await app.register(syncRoutes, { maxMembers: config.maxMembers });
  if (isAuditTrail(ports.audit)) await app.register(auditRoutes, { trail: ports.audit });
  if (ports.subscriptions) {
    const policy = ports.webhookPolicy ?? createWebhookTargetPolicy({ allowPrivate: config.webhookAllowPrivate });
    await app.register(subscriptionRoutes, { store: ports.subscriptions, policy });
  }
  return app;
}
