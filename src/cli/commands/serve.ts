/** `cxone-scim-sync serve`: the HTTP service, exactly what `npm start` runs (src/main.ts). */
import { existsSync } from 'node:fs';
import { databaseFile } from '../../composition/storage.js';
import { describeConfig } from '../../config.js';
import type { MembershipBackendName } from '../../core/outcome.js';
import { CliError, EXIT, parseOptions, type Io } from '../args.js';
import { loadCliConfig, openStore } from '../runtime.js';

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

/**
 * The membership backend the service will use, as far as it can be told without asking the
 * upstream: MEMBERSHIP_BACKEND when it names one; under auto, the choice kept in DATA_DIR
 * (read-only; nothing is created), else what the start will do. Never probes.
 */
export async function backendHelp(env: Readonly<Record<string, string | undefined>>): Promise<string> {
  let config;
  try {
    config = loadCliConfig(env);
  } catch (error) {
    return `  not known: ${error instanceof CliError ? error.message : String(error)}\n`;
  }
  const setting = config.membershipBackend;
  let kept: MembershipBackendName | undefined;
  let unreadable: string | undefined;
  if (existsSync(databaseFile(config))) {
    try {
      const store = openStore(config, { readonly: true });
      try {
        kept = await store.backendChoice.get();
      } finally {
        store.close();
      }
    } catch (error) {
      unreadable = error instanceof Error ? error.message : String(error);
    }
  }
  if (setting !== 'auto') {
    const earlier = kept !== undefined && kept !== setting ? ` (MEMBERSHIP_BACKEND=auto chose ${kept} earlier on this DATA_DIR; the service logs a warning)` : '';
    return `  MEMBERSHIP_BACKEND=${setting}: ${setting}, as set (no probe)${earlier}\n`;
  }
  if (kept !== undefined) return `  MEMBERSHIP_BACKEND=auto: ${kept}, chosen by an earlier probe and kept in DATA_DIR (${databaseFile(config)})\n`;
  const why = unreadable === undefined ? 'nothing kept in DATA_DIR' : `the kept choice could not be read: ${unreadable}`;
  return (
    `  MEMBERSHIP_BACKEND=auto: none chosen yet (${why}). At start the service\n` +
    '  probes SCIM GET /Groups: 200 chooses scim-groups, 404 acd-groups (CXone as published);\n' +
    '  it keeps the choice in DATA_DIR and is not ready (/readyz) until one is made.\n'
  );
}

export async function serveCommand(args: readonly string[], io: Io): Promise<number | 'running'> {
  const { values } = parseOptions('serve', args, {});
  if (values.help) {
    io.stdout.write(serveHelp());
    io.stdout.write(`\nMembership backend:\n${await backendHelp(io.env)}`);
    return EXIT.ok;
  }
  const { startService, exitOnStartFailure } = await import('../../main.js');
  await startService().catch(exitOnStartFailure);
  return 'running';
}
