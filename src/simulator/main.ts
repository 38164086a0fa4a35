/**
 * Stand-alone simulator: `node dist/simulator/main.js` (npm run simulator) or
 * `cxone-scim-sync simulator`. Configured by SIMULATOR_PORT, SIMULATOR_HOST,
 * SIMULATOR_CLIENT_ID, SIMULATOR_CLIENT_SECRET, the SIM_LATENCY_MS, SIM_RATE_LIMIT,
 * SIM_ERROR_RATIO, SIM_DROP_RATIO faults and the SIM_ETAG, SIM_PATCH_ON_PROJECTION,
 * SIM_MAX_REQUEST_BYTES capabilities; stops on SIGTERM/SIGINT.
 */
import { isEntryModule } from '../entry.js';
import { SimulatorEnvError, parseSimulatorEnv, startupLine, type SimulatorEnv } from './env.js';
import { SCOPE_READ, SCOPE_WRITE } from './oauth.js';
import { createSimulator } from './simulator.js';

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

  const simulator = createSimulator({
    clients: [{ clientId: config.clientId, clientSecret: config.clientSecret, scopes: [SCOPE_READ, SCOPE_WRITE] }],
    faults: config.faults,
    capabilities: config.capabilities,
    scimGroups: config.scimGroups,
  });

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
