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
 */
import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifyRequest, FastifyServerOptions } from 'fastify';
import { InvalidRequestError } from '../errors.js';
import { canonicalSyncBody } from '../schemas/sync.js';

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
