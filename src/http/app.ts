/**
 * buildApp: the HTTP service, from the settings it reads and the parts it is given: the
 * sync runner and the stores, all built elsewhere (src/composition). It never builds an
 * adapter, never listens and never reads the environment, so tests build it with fakes or
 * against the simulator and drive it with inject().
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import { v7 as uuidv7 } from 'uuid';
import { systemClock } from '../core/clock.js';
import type { KeyedLock } from '../core/keyed-lock.js';
import type { AuditQueries, Clock, DriftStore, IdempotencyStore, ScimUserGateway, SubscriptionStore, WebhookTargetCheck } from '../core/ports.js';
import type { SyncRequest, SyncResult, SyncRunner } from '../core/sync-request.js';
import { RateLimitedError } from './errors.js';
import { auth, type ApiTokenEntry } from './plugins/auth.js';
import { errorHandler } from './plugins/error-handler.js';
import { idempotency } from './plugins/idempotency.js';
import { RequestLog } from './plugins/request-log.js';
import { swagger } from './plugins/swagger.js';
import { strictBodyValidation, strictQuery } from './plugins/validation.js';
import { auditRoutes } from './routes/audit.js';
import { driftRoutes } from './routes/drift.js';
import { healthRoutes, type BackendStatus, type ReadinessCheck } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { consistencyRoutes, type ConsistencyRouteOptions } from './routes/consistency.js';
import { subscriptionRoutes } from './routes/subscriptions.js';
import { syncRoutes } from './routes/sync.js';
import { registerScim } from './scim/index.js';
import type { ScimGroupDelete, ScimGroupsParts } from './scim/groups-service.js';
import { ErrorBody, MemberIdentity } from './schemas/common.js';

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

/** What the HTTP surface reads of the configuration (src/config.ts). */
export interface HttpSettings {
  /** A request may take this long plus room to answer (SYNC_DEADLINE_MS). */
  readonly syncDeadlineMs: number;
  /** Which proxies may name the client in X-Forwarded-For (TRUST_PROXY). */
  readonly trustProxy: boolean | number | string;
  readonly syncApiTokens: readonly ApiTokenEntry[];
  readonly adminApiTokens: readonly ApiTokenEntry[];
  readonly authFailureLimit: number;
  readonly inboundRateLimit: number;
  readonly maxMembers: number;
  /** Tokens of the SCIM front door (SCIM_API_TOKENS); empty or absent: SYNC_API_TOKENS and ADMIN_API_TOKENS call it. */
  readonly scimApiTokens?: readonly ApiTokenEntry[];
  /** What SCIM DELETE /Groups/{id} does (SCIM_GROUP_DELETE). Default refuse. */
  readonly scimGroupDelete?: ScimGroupDelete;
}

/** What the app serves, all built and wired before it (src/composition). */
export interface AppParts {
  /** The sync use case: POST /groups/{groupId}/sync runs it. */
  readonly runner: SyncRunner;
  /** Served at GET /metrics. */
  readonly registry: Registry;
  /** Where Idempotency-Key answers are kept. */
  readonly idempotency: IdempotencyStore;
  /** GET /syncs/{syncId}, /audit and /audit/verify are served when given. */
  readonly auditQueries?: AuditQueries;
  /** The /subscriptions routes are served when given: the store, and the check of a webhook URL. */
  readonly subscriptions?: { readonly store: SubscriptionStore; readonly targets: WebhookTargetCheck };
  /** The readiness cache and the inbound limits. Default: the system clock. */
  readonly clock?: Clock;
  /** What /readyz checks besides the process itself. */
  readonly readiness?: readonly ReadinessCheck[];
  /** The membership backend in use, or why none is chosen yet: shown on /readyz. */
  readonly backendStatus?: () => BackendStatus;
  /** GET /groups/{groupId}/drift and GET /drift are served when given. */
  readonly drift?: Pick<DriftStore, 'groupDrift' | 'listDrift'>;
  /** The SCIM front door (/scim/v2) is served when given: the backend in use, and where group externalIds are kept. */
  readonly scim?: Pick<ScimGroupsParts, 'backend' | 'externalIds' | 'hold' | 'nameLock' | 'changes'> & { readonly users?: ScimUserGateway };
  /** The quarantine and held-change routes are served when given. */
  readonly consistency?: Omit<ConsistencyRouteOptions, 'clock'>;
}

export interface BuildAppOptions {
  readonly settings: HttpSettings;
  readonly parts: AppParts;
  readonly logger?: FastifyBaseLogger;
}

/** How long an Idempotency-Key's first answer is replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** Longest raw path parameter the router accepts (a 256-character id, percent-encoded, fits). */
const MAX_PARAM_LENGTH = 4096;

/** TRUST_PROXY as Fastify takes it: a hop count becomes the function Fastify would make of it (its types omit numbers). */
function fastifyTrustProxy(setting: HttpSettings['trustProxy']): boolean | string | ((address: string, hop: number) => boolean) {
  return typeof setting === 'number' ? (_address, hop) => hop < setting : setting;
}

/** X-Request-Id values we accept as given; anything else gets a fresh id (no header injection). */
const REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export async function buildApp({ settings, parts, logger }: BuildAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    logController: new RequestLog(),
    requestIdHeader: false,
    // A request may take as long as a sync's deadline plus room to answer; headers must come quickly.
    requestTimeout: settings.syncDeadlineMs + 15_000,
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
    // Malformed HTTP never reaches a route; answer it in the error body of every answer too, not Node's.
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
    trustProxy: fastifyTrustProxy(settings.trustProxy),
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

  const clock = parts.clock ?? systemClock;
  const { runner } = parts;
  app.decorate('syncGroup', (request: SyncRequest) => runner.run(request));
  app.decorate('interruptSyncs', () => runner.interrupt());
  app.decorate('syncsInFlight', { getter: () => runner.inFlight });
  app.decorate('groupQueue', { getter: () => runner.queue });

  await app.register(errorHandler);
  await app.register(auth, { tokens: settings.syncApiTokens, adminTokens: settings.adminApiTokens, scimTokens: settings.scimApiTokens, failureLimit: settings.authFailureLimit, clock });
  if (settings.inboundRateLimit > 0) {
    // Per caller, after authentication (the token's name is the key); public routes are exempt.
    await app.register(rateLimit, {
      hook: 'preHandler',
      max: settings.inboundRateLimit,
      timeWindow: 60_000,
      keyGenerator: (request) => (request.actor ? `actor:${request.actor}` : `ip:${request.ip}`),
      allowList: (request) => request.routeOptions.config.public === true,
      errorResponseBuilder: (_request, context) => new RateLimitedError(context.max, Math.max(1, Math.ceil(context.ttl / 1000))),
    });
  }
  await app.register(idempotency, { store: parts.idempotency, ttlMs: IDEMPOTENCY_TTL_MS });
  await app.register(strictQuery);
  await app.register(swagger);
  await app.register(healthRoutes, { checks: parts.readiness ?? [], clock, backend: parts.backendStatus });
  await app.register(metricsRoutes, { registry: parts.registry });
  await app.register(syncRoutes, { maxMembers: settings.maxMembers });
  if (parts.auditQueries) await app.register(auditRoutes, { trail: parts.auditQueries });
  if (parts.drift) await app.register(driftRoutes, { drift: parts.drift });
  if (parts.subscriptions) await app.register(subscriptionRoutes, { store: parts.subscriptions.store, policy: parts.subscriptions.targets });
  if (parts.scim) {
    await registerScim(app, { ...parts.scim, sync: (request) => runner.run(request), deletePolicy: settings.scimGroupDelete ?? 'refuse', maxMembers: settings.maxMembers });
  }
  if (parts.consistency) await app.register(consistencyRoutes, { ...parts.consistency, clock });
  return app;
}
