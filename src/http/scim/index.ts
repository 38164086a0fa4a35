/**
 * The SCIM 2.0 front door under /scim/v2 (RFC 7643, RFC 7644; docs/scim.md): discovery,
 * Groups on the membership backend in use, and Users passed through to CXone's SCIM /Users. Its own scope answers everything under the
 * prefix in SCIM's form, as application/scim+json: every error (the service's, the
 * authentication's, Fastify's own 400/404/405/413/415) as an RFC 7644 §3.12 body with its
 * status and scimType (./error-map.ts). Bearer tokens: SCIM_API_TOKENS, else those of
 * SYNC_API_TOKENS (../plugins/auth.ts, routes marked `config.scim`). While
 * MEMBERSHIP_BACKEND=auto has not chosen a backend, everything here, discovery included,
 * answers 503 with Retry-After.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { SyncError } from '../../core/errors.js';
import type { ScimUserGateway } from '../../core/ports.js';
import { discoveryRoutes } from './discovery.js';
import { toScimError } from './error-map.js';
import { scimErrorBody } from './errors.js';
import { groupRoutes } from './groups.js';
import { createScimGroups, type ScimGroupsParts } from './groups-service.js';
import { SCIM_MEDIA_TYPE, ScimErrorBodySchema } from './schemas.js';
import { scimUsersRoutes } from './users.js';

export const SCIM_PREFIX = '/scim/v2';

/** filter.maxResults: resources one list answers at most (and its default count). */
export const SCIM_MAX_RESULTS = 100;

export interface ScimFrontDoorOptions extends ScimGroupsParts {
  /** Members one request may name (MAX_MEMBERS). */
  readonly maxMembers: number;
  /** The upstream's SCIM /Users: /scim/v2/Users passes through to it (./users.ts). Without it, no /Users. */
  readonly users?: ScimUserGateway;
  /** filter.maxResults. Default SCIM_MAX_RESULTS. */
  readonly maxResults?: number;
}

/** A route's path as a pattern over request paths: `:param` is one segment. */
function pathPattern(url: string): RegExp {
  const source = url
    .split(/(:[A-Za-z0-9_]+)/)
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}/?$`);
}

const scimScope: FastifyPluginAsyncTypebox<ScimFrontDoorOptions> = async (scope, options) => {
  const groups = createScimGroups(options);

  // Every answer of the scope is SCIM's media type (RFC 7644 §3.1), errors included.
  scope.addHook('onSend', async (_request, reply, payload) => {
    const type = reply.getHeader('content-type');
    if (payload !== null && payload !== undefined && (type === undefined || String(type).includes('json'))) reply.header('content-type', `${SCIM_MEDIA_TYPE}; charset=utf-8`);
    return payload;
  });

  // No backend chosen yet (MEMBERSHIP_BACKEND=auto): 503 with Retry-After, discovery included; asking tries the choice again.
  scope.addHook('onRequest', async () => {
    await groups.backend();
  });

  scope.setErrorHandler((error, request, reply) => {
    const answer = toScimError(error);
    if (answer.status >= 500) request.log[error instanceof SyncError ? 'warn' : 'error']({ err: error, status: answer.status }, 'SCIM request failed');
    else request.log.info({ status: answer.status, scimType: answer.body.scimType }, answer.body.detail);
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  });

  const routes: { pattern: RegExp; methods: Set<string> }[] = [];
  scope.addHook('onRoute', (route) => {
    // Every route of the scope takes the SCIM tokens (../plugins/auth.ts), whichever file registers it.
    route.config = { ...route.config, scim: true };
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const pattern = pathPattern(route.url);
    const known = routes.find((r) => r.pattern.source === pattern.source);
    if (known) for (const method of methods) known.methods.add(method);
    else routes.push({ pattern, methods: new Set(methods) });
  });
  scope.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = new Set(routes.filter((r) => r.pattern.test(path)).flatMap((r) => [...r.methods]));
    if (allowed.size > 0 && !allowed.has(request.method)) {
      const allow = [...allowed].toSorted().join(', ');
      return reply.code(405).header('allow', allow).send(scimErrorBody(405, undefined, `${request.method} is not allowed on ${path}; allowed: ${allow}`));
    }
    return reply.code(404).send(scimErrorBody(404, undefined, `no resource ${request.method} ${path}`));
  });

  const maxResults = options.maxResults ?? SCIM_MAX_RESULTS;
  await scope.register(discoveryRoutes, { groups, maxResults, users: options.users !== undefined });
  await scope.register(groupRoutes, { groups, maxResults, maxMembers: options.maxMembers });
  if (options.users) await scope.register(scimUsersRoutes, { gateway: options.users, maxResults, ...(options.changes ? { changes: options.changes } : {}) });
};

/** Registers the front door under /scim/v2. */
export async function registerScim(app: FastifyInstance, options: ScimFrontDoorOptions): Promise<void> {
  app.addSchema(ScimErrorBodySchema);
  await app.register(scimScope, { ...options, prefix: SCIM_PREFIX });
}
