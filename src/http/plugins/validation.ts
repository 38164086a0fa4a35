/**
 * Request validation. Fastify's Ajv coerces types by default (a number 5 passes as "5");
 * the contract wants a 400 for a wrong type in a body, so bodies are validated by an
 * Ajv without coercion, while query strings and params, which are text on the wire,
 * keep it ("dryRun=true" → true).
 */
import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

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
