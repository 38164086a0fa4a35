/**
 * Stand-alone simulator: `node dist/simulator/main.js` (npm run simulator) or
 * `cxone-scim-sync simulator`. Configured by the variables README.md lists (SIMULATOR_* for
 * where it listens and who may sign in, SIM_* for faults, capabilities and behaviours);
 * stops on SIGTERM/SIGINT.
 */
import { isEntryModule } from '../process/entry.js';
import { SimulatorEnvError, parseSimulatorEnv, startupLine, type SimulatorEnv } from './env.js';
import { SCOPE_READ, SCOPE_WRITE } from './oauth.js';
import { createSimulator, type Simulator } from './simulator.js';

/** The simulator a parsed environment describes (not yet listening). */
export function runSimulatorWith(config: SimulatorEnv): Simulator {
  return createSimulator({
    clients: [{ clientId: config.clientId, clientSecret: config.clientSecret, scopes: [SCOPE_READ, SCOPE_WRITE] }],
    accessKeys: [{ accessKeyId: config.accessKeyId, accessKeySecret: config.accessKeySecret }],
    tenantId: config.tenantId,
    faults: config.faults,
    capabilities: config.capabilities,
    behaviours: config.behaviours,
    scimGroups: config.scimGroups,
  });
}

/** Starts the simulator as configured by `env`; a bad setting or a busy port exits 1 with one line. */
export async function runSimulator(env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  let config: SimulatorEnv;
  try {
    config = parseSimulatorEnv(env);
  } catch (error) {
    if (!(error instanceof SimulatorEnvError)) throw error;
    console.error(`simulator: ${error.message}`);
    process.exit(1);
  }

  const simulator = runSimulatorWith(config);

  try {
    const url = await simulator.listen({ port: config.port, host: config.host });
    console.log(startupLine(url, config));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    console.error(`simulator: cannot listen on ${config.host}:${config.port}${code ? ` (${code})` : ''}; set SIMULATOR_PORT or SIMULATOR_HOST`);
    process.exit(1);
  }

  let stopping = false;
  function stop(): void {
    if (stopping) return;
    stopping = true;
    simulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  }
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (isEntryModule(import.meta.url)) await runSimulator();
