/**
 * /scim/v2/Users in a small app of its own, for the tests of the Users routes until the SCIM
 * front door registers them: the service's bearer authentication (src/http/plugins/auth.ts,
 * the token's name is request.actor), its body validation, and a SCIM error handler that
 * answers ScimHttpError and validation errors as RFC 7644 §3.12 bodies. The gateway is the
 * real SCIM adapter against the embedded simulator over loopback HTTP; every log line is kept
 * for the secret scan.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { onTestFinished } from 'vitest';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { createCxoneDirectory, type CxoneDirectory } from '../../src/adapters/scim/index.js';
import { auth } from '../../src/http/plugins/auth.js';
import { strictBodyValidation } from '../../src/http/plugins/validation.js';
import { scimErrorBody, ScimHttpError } from '../../src/http/scim/errors.js';
import { SCIM_JSON, scimUsersRoutes } from '../../src/http/scim/users.js';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/simulator.js';
import { FakeClock } from '../fakes/fake-clock.js';

export const SCIM_TOKENS = { okta: 'okta-scim-token-0123456789', entra: 'entra-scim-token-0123456789' };
export const CXONE_CLIENT = { clientId: 'sync', clientSecret: 'cxone-client-secret-value' };

export interface ScimUsersApp {
  readonly app: FastifyInstance;
  readonly simulator: Simulator;
  readonly directory: CxoneDirectory;
  readonly clock: FakeClock;
  /** Every log line the app wrote. */
  readonly logLines: string[];
}

/** The SCIM error body of an error, as the front door's handler answers it (RFC 7644 §3.12). */
function scimAnswer(error: unknown): { status: number; body: ReturnType<typeof scimErrorBody>; headers: Readonly<Record<string, string>> } {
  if (error instanceof ScimHttpError) return { status: error.status, body: scimErrorBody(error.status, error.scimType, error.detail), headers: error.headers };
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) {
    const first = fastifyError.validation[0];
    const field = `${fastifyError.validationContext ?? 'request'}${first?.instancePath ?? ''}`;
    if (first?.keyword === 'additionalProperties') {
      const name = String((first.params as { additionalProperty?: unknown }).additionalProperty);
      return { status: 400, body: scimErrorBody(400, 'invalidSyntax', `${field} has an unknown attribute ${JSON.stringify(name)}`), headers: {} };
    }
    return { status: 400, body: scimErrorBody(400, 'invalidValue', `${field} ${first?.message ?? 'is invalid'}`), headers: {} };
  }
  if (fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) {
    return { status: 400, body: scimErrorBody(400, 'invalidSyntax', 'the body is not valid JSON'), headers: {} };
  }
  return { status: 500, body: scimErrorBody(500, undefined, 'internal error'), headers: {} };
}

export async function buildScimUsersApp(options: { simulator?: SimulatorOptions; maxResults?: number } = {}): Promise<ScimUsersApp> {
  const clock = new FakeClock(Date.now());
  const simulator = createSimulator({ clients: [{ ...CXONE_CLIENT }], now: () => clock.now(), ...options.simulator });
  const url = await simulator.listen({ port: 0 });
  const directory = createCxoneDirectory({ baseUrl: url, ...CXONE_CLIENT, clock, random: () => 0.5 });
  const logLines: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void logLines.push(line) });
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, schemaController: strictBodyValidation(), ajv: { customOptions: { removeAdditional: false } } });
  app.addContentTypeParser('application/scim+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  app.setErrorHandler((error, request, reply) => {
    const answer = scimAnswer(error);
    if (answer.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ status: answer.status, scimType: answer.body.scimType }, answer.body.detail);
    reply.code(answer.status).headers(answer.headers).type(SCIM_JSON).send(answer.body);
  });
  await app.register(auth, { tokens: [{ name: 'okta', token: SCIM_TOKENS.okta }, { name: 'entra', token: SCIM_TOKENS.entra }], clock });
  await app.register(scimUsersRoutes, { prefix: '/scim/v2', gateway: directory, ...(options.maxResults !== undefined && { maxResults: options.maxResults }) });
  await app.ready();
  onTestFinished(async () => {
    await app.close();
    await directory.close();
    await simulator.close();
  });
  return { app, simulator, directory, clock, logLines };
}
