/**
 * Request validation. Fastify's Ajv coerces types by default (a number 5 passes as "5");
 * the contract wants a 400 for a wrong type in a body, so bodies are validated by an
 * Ajv without coercion, while query strings and params, which are text on the wire,
 * keep it ("dryRun=true" → true).
 *
 * A sync body is first put in canonical form (canonicalSyncBody): attribute names are
 * case-insensitive in SCIM, which no JSON Schema can say, and an unknown attribute is
 * refused by name before anything (the schema, the Idempotency-Key fingerprint, the
 * audit digest) walks into it.
 *
 * Query parameters are strict on every route that needs a token: a parameter the route
 * does not take is a 400 naming it (`?dryrun=true` must not run a real write). Public
 * routes (health, metrics, the OpenAPI document, Swagger UI and its assets) are left alone.
 */
import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifyInstance, FastifyRequest, FastifyServerOptions, preValidationHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { InvalidRequestError } from '../errors.js';
import { canonicalSyncBody, quotedName } from '../schemas/sync.js';
import { DOCS_PREFIX } from './swagger.js';

type SchemaController = NonNullable<FastifyServerOptions['schemaController']>;
type BuildValidator = NonNullable<NonNullable<SchemaController['compilersFactory']>['buildValidator']>;

export function strictBodyValidation(): SchemaController {
  const factory = AjvCompiler();
  const buildValidator: BuildValidator = (externalSchemas, ajvOptions) => {
    const base = (ajvOptions ?? {}) as { customOptions?: Record<string, unknown> };
    const withCoercion = (coerceTypes: false | 'array') =>
      ({ ...base, customOptions: { ...base.customOptions, coerceTypes } }) as Parameters<typeof factory>[1];
    const strictBodies = factory(externalSchemas, withCoercion(false));
    const coercing = factory(externalSchemas, withCoercion('array'));
    return (route) => (route.httpPart === 'body' ? strictBodies(route) : coercing(route));
  };
  return { compilersFactory: { buildValidator } };
}

/** A preValidation hook: the sync body in canonical form, or a 400 naming what no schema can. */
export function canonicalSyncRequest(maxMembers: number) {
  return async (request: FastifyRequest): Promise<void> => {
    const result = canonicalSyncBody(request.body, maxMembers);
    if (!result.ok) throw new InvalidRequestError(`${['body', ...result.problem.at].join('/')} ${result.problem.message}`);
    request.body = result.body;
  };
}

/**
 * Register before the routes: each route that needs a token gets a first preValidation
 * hook refusing the query parameters its `querystring` schema does not name.
 */
export const strictQuery = fp(async (app: FastifyInstance) => {
  app.addHook('onRoute', (route) => {
    if (route.config?.public === true || route.url === DOCS_PREFIX || route.url.startsWith(`${DOCS_PREFIX}/`)) return;
    const schema = route.schema?.querystring as { properties?: Record<string, unknown> } | undefined;
    const allowed = Object.keys(schema?.properties ?? {});
    const takes = allowed.length > 0 ? allowed.join(', ') : 'none';
    const refuseUnknown: preValidationHookHandler = async (request) => {
      const unknown = Object.keys(request.query as Record<string, unknown>).filter((name) => !allowed.includes(name));
      if (unknown.length === 0) return;
      const names = [...unknown.slice(0, 5).map(quotedName), ...(unknown.length > 5 ? [`and ${unknown.length - 5} more`] : [])].join(', ');
      throw new InvalidRequestError(`unknown query ${unknown.length === 1 ? 'parameter' : 'parameters'} ${names}: this route takes ${takes}`);
    };
    const existing = route.preValidation;
    route.preValidation = [refuseUnknown, ...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing])];
    // Say so in the OpenAPI document of routes that list their answers but no 400.
    const responses = route.schema?.response as Record<string, unknown> | undefined;
    if (responses && !('400' in responses)) {
      route.schema = { ...route.schema, response: { ...responses, 400: { $ref: 'ErrorBody', description: 'A query parameter this route does not take (named in the message)' } } };
    }
  });
});
