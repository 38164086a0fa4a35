#!/usr/bin/env node
/**
 * The command line: `cxone-scim-sync <command>` (package.json "bin"; `npx cxone-scim-sync`
 * after `npm run build`). Every command uses the service's own configuration, core and
 * adapters; see README "CLI" and `cxone-scim-sync <command> --help`.
 */
import { CliError, EXIT, processIo, UsageError, type Io } from './cli/args.js';
import { isEntryModule } from './process/entry.js';
import { VERSION } from './process/version.js';

type Command = (args: readonly string[], io: Io) => Promise<number | 'running'>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  serve: { summary: 'run the sync service (what npm start runs)', load: async () => (await import('./cli/commands/serve.js')).serveCommand },
  simulator: { summary: 'run the CXone SCIM simulator on its own', load: async () => (await import('./cli/commands/simulator.js')).simulatorCommand },
  sync: { summary: 'sync one group: --group ID --members FILE [--dry-run]', load: async () => (await import('./cli/commands/sync.js')).syncCommand },
  reconcile: { summary: 'sync many groups from a JSON or CSV export: --file FILE [--concurrency N] [--dry-run]', load: async () => (await import('./cli/commands/reconcile.js')).reconcileCommand },
  audit: { summary: 'audit verify: check the audit trail hash chain', load: async () => (await import('./cli/commands/audit.js')).auditCommand },
};

export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return `Usage: cxone-scim-sync <command> [options]

SCIM 2.0 group membership sync into NICE CXone.

Commands:
${Object.entries(COMMANDS)
  .map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`)
  .join('\n')}

Options:
  -h, --help      this help; \`cxone-scim-sync <command> --help\` for a command's
  -v, --version   the version

Configuration comes from the same environment variables as the service (serve --help).
Exit status: 0 ok, 1 a sync failed or the audit chain is broken, 2 usage error,
74 storage error, 78 configuration error.
`;
}

/** Runs one command line; resolves with the exit code, or 'running' for the long-lived commands. */
export async function runCli(argv: readonly string[], io: Io = processIo): Promise<number | 'running'> {
  const [name, ...args] = argv;
  try {
    if (name === undefined) {
      io.stderr.write(mainHelp());
      return EXIT.usage;
    }
    if (name === '-h' || name === '--help') {
      io.stdout.write(mainHelp());
      return EXIT.ok;
    }
    if (name === '-v' || name === '--version') {
      io.stdout.write(`${VERSION}\n`);
      return EXIT.ok;
    }
    if (name === 'help') return args[0] === undefined ? runCli(['--help'], io) : runCli([args[0], '--help'], io);
    const command = COMMANDS[name];
    if (!Object.hasOwn(COMMANDS, name) || !command) throw new UsageError(`unknown command ${JSON.stringify(name)}; the commands are ${Object.keys(COMMANDS).join(', ')}`);
    return await (await command.load())(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      const help = error.command ? `cxone-scim-sync ${error.command} --help` : 'cxone-scim-sync --help';
      io.stderr.write(`cxone-scim-sync${error.command ? ` ${error.command}` : ''}: ${error.message}\nSee \`${help}\`.\n`);
      return error.exitCode;
    }
    if (error instanceof CliError) {
      io.stderr.write(`cxone-scim-sync: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr.write(`cxone-scim-sync: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.failed;
  }
}

if (isEntryModule(import.meta.url)) {
  const code = await runCli(process.argv.slice(2));
  if (code !== 'running') process.exitCode = code;
}
