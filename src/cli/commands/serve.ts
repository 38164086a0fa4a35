/** `cxone-scim-sync serve`: the HTTP service, exactly what `npm start` runs (src/main.ts). */
import { describeConfig } from '../../config.js';
import { EXIT, parseOptions, type Io } from '../args.js';

export function serveHelp(): string {
  const rows = describeConfig().map((s) => `  ${s.env.padEnd(26)} ${s.description}${s.default && s.default !== '[]' && s.default !== '{}' ? ` (default ${s.default})` : ''}`);
  return `Usage: cxone-scim-sync serve

Run the sync service: the HTTP API (POST /groups/{groupId}/sync, /audit, /subscriptions,
/metrics, /healthz, /readyz, /docs), the webhook dispatcher and the SQLite store under
DATA_DIR. With no CXone tenant configured (none of CXONE_BASE_URL, CXONE_TOKEN_URL,
CXONE_ISSUER, CXONE_CLIENT_ID, CXONE_ACCESS_KEY_ID set) it syncs against an embedded CXone
SCIM simulator and accepts the bearer token demo-token. Stops gracefully on SIGTERM or SIGINT.

Configured by the environment:
${rows.join('\n')}

Options:
  -h, --help   this help

Exit status: 0 after a graceful stop; 1 failed to start or to stop; 74 storage error;
78 configuration error.
`;
}

export async function serveCommand(args: readonly string[], io: Io): Promise<number | 'running'> {
  const { values } = parseOptions('serve', args, {});
  if (values.help) {
    io.stdout.write(serveHelp());
    return EXIT.ok;
  }
  const { startService, exitOnStartFailure } = await import('../../main.js');
  await startService().catch(exitOnStartFailure);
  return 'running';
}
