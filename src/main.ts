/**
 * The service's entry point (npm start, `cxone-scim-sync serve`): read the configuration,
 * open the service (src/composition/service.ts), listen, and close it gracefully on
 * SIGTERM or SIGINT. Without a tenant configured it syncs against the embedded CXone SCIM
 * simulator, so a fresh clone does a real sync end to end.
 */
import { openService, DEMO_TOKEN, StartRefusedError, type Service } from './composition/service.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { isEntryModule } from './process/entry.js';
import { tuneHeapGrowth } from './process/heap.js';
import { seedIds } from './simulator/simulator.js';

/** Exit codes of a start refused (sysexits.h). */
const EXIT = { config: 78, storage: 74 } as const; // EX_CONFIG, EX_IOERR

/** Starts the service (npm start, `cxone-scim-sync serve`); runs until SIGTERM or SIGINT. */
export async function startService(): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`cxone-scim-sync: configuration error: ${error.message}\n`);
      process.exit(EXIT.config);
    }
    throw error;
  }
  const heapGrowingPercent = tuneHeapGrowth();

  let service: Service;
  try {
    service = await openService(config);
  } catch (error) {
    if (error instanceof StartRefusedError) {
      process.stderr.write(`cxone-scim-sync: ${error.line}\n`);
      process.exit(EXIT[error.kind]);
    }
    throw error;
  }
  const { app, logger } = service;

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal, syncsInFlight: app.syncsInFlight, deadlineMs: config.shutdownTimeoutMs }, 'shutting down: no new requests, in-flight syncs may finish');
    // Past the deadline, cut the syncs still running off: each answers 503 and is audited
    // as interrupted. Then give everything a few more seconds before giving up.
    const cutOff = setTimeout(() => {
      logger.warn({ syncsInFlight: app.syncsInFlight }, 'shutdown deadline reached: interrupting the syncs still running');
      app.interruptSyncs();
    }, config.shutdownTimeoutMs);
    const giveUp = setTimeout(() => {
      logger.error('shutdown did not complete; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 10_000);
    cutOff.unref();
    giveUp.unref();
    try {
      await app.close();
      clearTimeout(cutOff);
      await service.close();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  const address = await app.listen({ port: config.port, host: config.host });
  service.start();
  logger.info({ address, heapGrowingPercent: heapGrowingPercent ?? 'as started' }, 'cxone-scim-sync listening');
  if (service.simulator && !service.tokensConfigured) printDemoBanner(config.port === 0 ? address : `http://localhost:${config.port}`, config.membershipBackend);
}

/** How to call the service against the simulator: a person reads this, so it goes to stderr, not the JSON log. */
function printDemoBanner(url: string, backend: Config['membershipBackend']): void {
  // A group of the seed that the backend in use syncs: the embedded simulator is CXone as published (no SCIM /Groups), so auto chooses acd-groups.
  const group = backend === 'scim-groups' ? seedIds.groups.contactCenterAgents : backend === 'teams' ? seedIds.teams.contactCenter : seedIds.acdGroups.contactCenterAgents;
  const { aliceSmith, davidKim, carmenRodriguez } = seedIds.users;
  process.stderr.write(
    [
      '',
      `cxone-scim-sync is running on ${url} against the embedded CXone simulator (${backend === 'auto' ? 'MEMBERSHIP_BACKEND=auto: ACD groups' : `MEMBERSHIP_BACKEND=${backend}`}).`,
      `Demo bearer token: ${DEMO_TOKEN.token} (set SYNC_API_TOKENS to choose your own). Try:`,
      '',
      `  curl -s -X POST ${url}/groups/${group}/sync \\`,
      `    -H 'Authorization: Bearer ${DEMO_TOKEN.token}' -H 'Content-Type: application/json' \\`,
      `    -d '{"members":[{"value":"${aliceSmith}","type":"User"},{"value":"${davidKim}","type":"User"},{"value":"${carmenRodriguez}","type":"User"}]}'`,
      '',
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
}

/** The one line a failed start ends with. */
export function exitOnStartFailure(error: unknown): never {
  process.stderr.write(`cxone-scim-sync: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

if (isEntryModule(import.meta.url)) startService().catch(exitOnStartFailure);
