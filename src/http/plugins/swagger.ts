/**
 * The OpenAPI 3.1 document, built by @fastify/swagger from the routes' TypeBox schemas
 * (the source of openapi/), served at GET /openapi.json, and Swagger UI at GET /docs.
 * Register it before the routes: it collects them as they are added. Every operation
 * needs the bearer token unless its route is `config: { public: true }`, which the
 * document shows as `security: []`. Shared schemas (app.addSchema with an `$id`) become
 * components named by their `$id`.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { VERSION } from '../../process/version.js';

export const DOCS_PREFIX = '/docs';

export const swagger = fp(async (app: FastifyInstance) => {
  app.addHook('onRoute', (route) => {
    if (route.url === DOCS_PREFIX || route.url.startsWith(`${DOCS_PREFIX}/`)) route.config = { ...route.config, public: true };
    if (route.config?.public === true && route.schema) route.schema = { ...route.schema, security: [] };
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'cxone-scim-sync',
        version: VERSION,
        description:
          'SCIM 2.0 group membership sync into NICE CXone. An identity provider POSTs the complete desired membership of a group; the service validates it against the upstream directory (users exist and are active, groups exist, nesting depth, cycles, duplicates) and writes it with one atomic SCIM PUT guarded by the group ETag. Every error answer has the body `{ error, message, syncId? }`.',
      },
      tags: [
        { name: 'sync', description: 'Group membership sync' },
        { name: 'audit', description: 'The audit trail of every sync attempt' },
        { name: 'webhooks', description: 'Event subscriptions and their deliveries' },
        { name: 'drift', description: 'Groups changed upstream out of band since their last sync (docs/consistency.md)' },
        { name: 'consistency', description: 'Quarantine of groups that keep failing, and changes the mass-removal guard holds for an administrator' },
        { name: 'operations', description: 'Health, readiness, metrics and this document' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'One of the tokens in SYNC_API_TOKENS or ADMIN_API_TOKENS; its name is the actor in the audit trail. Failed authentications are limited per client address (AUTH_FAILURE_LIMIT a minute; then 429 rate_limited)' },
        },
      },
      security: [{ bearerAuth: [] }],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });

  await app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PREFIX,
    uiConfig: { deepLinking: true, displayRequestDuration: true, defaultModelsExpandDepth: 0 },
    // A Content-Security-Policy on the UI and its assets, computed from the scripts it serves.
    staticCSP: true,
    transformStaticCSP: docsCsp,
    uiHooks: {
      onRequest: async (_request, reply) => {
        reply.header('x-frame-options', 'DENY').header('referrer-policy', 'no-referrer').header('cross-origin-opener-policy', 'same-origin');
      },
    },
  });

  app.get(
    '/openapi.json',
    {
      config: { public: true },
      schema: {
        tags: ['operations'],
        summary: 'This OpenAPI 3.1 document',
        response: { 200: { type: 'object', additionalProperties: true, description: 'An OpenAPI 3.1 document' } },
      },
    },
    async () => app.swagger(),
  );
});

/**
 * The UI's Content-Security-Policy, from the plugin's: no framing at all, forms and
 * requests only to this origin, and no upgrade-insecure-requests, which would turn
 * "Try it out" against a plain-http internal deployment into failing https calls.
 */
export function docsCsp(header: string): string {
  const directives = new Map<string, string>();
  for (const part of header.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const [name = '', ...values] = trimmed.split(/\s+/);
    if (!directives.has(name)) directives.set(name, values.join(' '));
  }
  directives.delete('upgrade-insecure-requests');
  directives.set('frame-ancestors', "'none'");
  directives.set('form-action', "'self'");
  directives.set('connect-src', "'self'");
  return [...directives].map(([name, value]) => (value ? `${name} ${value}` : name)).join('; ');
}
