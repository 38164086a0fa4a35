/** `cxone-scim-sync simulator`: the CXone SCIM simulator on its own, what `npm run simulator` runs. */
import { EXIT, integerOption, parseOptions, type Io } from '../args.js';

export const SIMULATOR_HELP = `Usage: cxone-scim-sync simulator [--port N] [--host ADDRESS]

Run the CXone SCIM simulator on its own: OAuth 2.0 client credentials at /oauth/token and
SCIM 2.0 Users and Groups under /scim/v2, seeded with 40 users and a nested group tree
(src/simulator/README.md), in memory (a restart starts from the seed again). Point the
service at it with CXONE_BASE_URL, or the CLI with --simulator-url. Stops on SIGTERM or SIGINT.

Options:
  --port N           listen port (default: SIMULATOR_PORT, 8081)
  --host ADDRESS     listen address (default: SIMULATOR_HOST, 127.0.0.1; 0.0.0.0 in a container)
  -h, --help         this help

Environment:
  SIMULATOR_CLIENT_ID, SIMULATOR_CLIENT_SECRET   the OAuth client it accepts (default demo-client / demo-secret)
  SIM_LATENCY_MS      added latency per request, "20" or a range "5-40"
  SIM_RATE_LIMIT      requests per second before it answers 429
  SIM_ERROR_RATIO     share of requests answered 503 (0-1)
  SIM_DROP_RATIO      share of connections dropped without an answer (0-1)

Exit status: 1 when a setting is bad or the port is taken.
`;

export async function simulatorCommand(args: readonly string[], io: Io): Promise<number | 'running'> {
  const { values } = parseOptions('simulator', args, { port: { type: 'string' }, host: { type: 'string' } });
  if (values.help) {
    io.stdout.write(SIMULATOR_HELP);
    return EXIT.ok;
  }
  const port = values.port === undefined ? undefined : integerOption('simulator', 'port', values.port, 0, 0, 65535);
  const env = { ...io.env, ...(port === undefined ? {} : { SIMULATOR_PORT: String(port) }), ...(values.host === undefined ? {} : { SIMULATOR_HOST: values.host }) };
  const { runSimulator } = await import('../../simulator/main.js');
  await runSimulator(env);
  return 'running';
}
