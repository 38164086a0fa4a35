/**
 * /scim/v2/Users through the SCIM front door (src/http/scim/index.ts: its scope, error
 * handler and media type), in a small app with the service's bearer authentication
 * (src/http/plugins/auth.ts, SCIM tokens; the token's name is request.actor) and body
 * validation. The gateway is the
 * real SCIM adapter against the embedded simulator over loopback HTTP; every log line is kept
 * for the secret scan.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { onTestFinished } from 'vitest';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { createCxoneDirectory, type CxoneDirectory } from '../../src/adapters/scim/index.js';
import { MemoryGroupExternalIds } from '../../src/adapters/storage/memory-group-external-ids.js';
import { createScimGroupsBackend } from '../../src/core/scim-groups-backend.js';
import { auth } from '../../src/http/plugins/auth.js';
import { errorHandler } from '../../src/http/plugins/error-handler.js';
import { strictBodyValidation } from '../../src/http/plugins/validation.js';
import { registerScim } from '../../src/http/scim/index.js';
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

export async function buildScimUsersApp(options: { simulator?: SimulatorOptions; maxResults?: number } = {}): Promise<ScimUsersApp> {
  const clock = new FakeClock(Date.now());
  const simulator = createSimulator({ clients: [{ ...CXONE_CLIENT }], now: () => clock.now(), ...options.simulator });
  const url = await simulator.listen({ port: 0 });
  const directory = createCxoneDirectory({ baseUrl: url, ...CXONE_CLIENT, clock, random: () => 0.5 });
  const logLines: string[] = [];
  const logger = createLogger('debug', { write: (line: string) => void logLines.push(line) });
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, schemaController: strictBodyValidation(), ajv: { customOptions: { removeAdditional: false } } });
  app.addContentTypeParser('application/scim+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  await app.register(errorHandler);
  await app.register(auth, { tokens: [], scimTokens: [{ name: 'okta', token: SCIM_TOKENS.okta }, { name: 'entra', token: SCIM_TOKENS.entra }], clock });
  // The front door's own scope (its error handler, media type and 503 while no backend is chosen), Groups on SCIM /Groups.
  const backend = createScimGroupsBackend({ directory, maxDepth: 3, writeMode: 'auto', patchMaxOperations: 1000 });
  await registerScim(app, {
    backend: async () => backend,
    sync: async () => {
      throw new Error('no group sync in the /Users tests');
    },
    externalIds: new MemoryGroupExternalIds(),
    deletePolicy: 'refuse',
    maxMembers: 10_000,
    users: directory,
    ...(options.maxResults !== undefined && { maxResults: options.maxResults }),
  });
  await app.ready();
  onTestFinished(async () => {
    await app.close();
    await directory.close();
    await simulator.close();
  });
  return { app, simulator, directory, clock, logLines };
}
