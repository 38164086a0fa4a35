/** `cxone-scim-sync sync`: make one group hold exactly the members of a file, like POST /groups/{groupId}/sync. */
import { v7 as uuidv7 } from 'uuid';
import type { DesiredMembership, MemberRef } from '../../core/membership.js';
import { EXIT, parseOptions, required, UsageError, type Io } from '../args.js';
import { groupIdProblem, InputError, parseMembersFile, readInput } from '../input.js';
import { onInterrupt } from '../interrupt.js';
import { describeError } from '../outcome.js';
import { CLI_ACTOR, loadCliConfig, openRemoteRuntime, openSyncRuntime, resolveUpstream, SERVER_TOKEN_ENV } from '../runtime.js';

export const SYNC_HELP = `Usage: cxone-scim-sync sync --group ID --members FILE [options]

Make one SCIM group hold exactly the members listed in FILE, as POST /groups/{ID}/sync
does: read, plan, validate, one atomic write guarded by the ETag, audited (actor "cli")
in the SQLite store under DATA_DIR.

FILE (or - for standard input) holds the request body of the API,
  {"displayName": "…", "members": [{"value": "<id>", "type": "User"}, …]}
or just the array of members. "type" is User or Group; an empty array empties the group.

Options:
  --group ID            the SCIM id of the group (required)
  --members FILE        the desired members (required)
  --dry-run             validate and show the difference; write nothing
  --json                print the result (or the error) as the API's JSON body
  --simulator-url URL   sync against a running simulator (\`cxone-scim-sync simulator\`)
                        instead of CXONE_BASE_URL, with its demo client (or
                        SIMULATOR_CLIENT_ID / SIMULATOR_CLIENT_SECRET)
  --server URL          send the sync to a running service (POST /groups/{ID}/sync)
                        instead of syncing here, with a bearer token of its
                        SYNC_API_TOKENS in ${SERVER_TOKEN_ENV}; the service audits it.
                        Needed while a service runs on this DATA_DIR (one process per
                        data directory: the command is refused then)
  --data-dir DIR        the store to audit into (default: DATA_DIR, ./data)
  -h, --help            this help

The upstream and the limits come from the service's environment: CXONE_BASE_URL,
CXONE_CLIENT_ID, CXONE_CLIENT_SECRET, WRITE_MODE, MAX_GROUP_DEPTH, … (serve --help).

Quarantine is the service's (QUARANTINE_AFTER, QUARANTINE_BACKOFF; same store): a group
quarantined here or by the service fails with group_quarantined, without an upstream
request, until its probe (run by this command once it is due) reads it well; failures here
count toward it.

Exit status: 0 applied, unchanged or dry run; 1 the sync failed (group_quarantined too); 2 bad options or file;
74 storage error; 78 configuration error.
`;

const LISTED = 20;

export async function syncCommand(args: readonly string[], io: Io): Promise<number> {
  const { values } = parseOptions('sync', args, {
    group: { type: 'string' },
    members: { type: 'string' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
    'simulator-url': { type: 'string' },
    server: { type: 'string' },
    'data-dir': { type: 'string' },
  });
  if (values.help) {
    io.stdout.write(SYNC_HELP);
    return EXIT.ok;
  }
  const groupId = required('sync', 'group', values.group);
  const problem = groupIdProblem(groupId);
  if (problem) throw new UsageError(`--group: ${problem}`, 'sync');
  const file = required('sync', 'members', values.members);
  const config = loadCliConfig(io.env, { dataDir: values['data-dir'] });
  let desired: DesiredMembership;
  try {
    desired = parseMembersFile(file === '-' ? 'stdin' : file, await readInput(file, io.stdin), config.maxMembers);
  } catch (error) {
    if (error instanceof InputError) throw new UsageError(error.message);
    throw error;
  }
  if (values.server !== undefined && values['simulator-url'] !== undefined) throw new UsageError('--server and --simulator-url exclude each other: the service syncs against its own upstream', 'sync');
  const runtime = values.server === undefined ? openSyncRuntime(config, resolveUpstream(config, io.env, values['simulator-url']), 'sync') : openRemoteRuntime(values.server, io.env);
  const interrupt = onInterrupt((line) => io.stderr.write(`${line}\n`));
  try {
    const result = await runtime.sync({ groupId, desired, dryRun: values['dry-run'] === true, actor: CLI_ACTOR, requestId: uuidv7(), signal: interrupt.signal });
    if (values.json) {
      io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return EXIT.ok;
    }
    const verb = result.status === 'dry_run' ? 'would change' : result.status;
    io.stdout.write(
      `${verb}: group ${groupId} ${result.status === 'dry_run' ? 'would have' : 'has'} ${result.memberCount} members (+${result.added.length} -${result.removed.length}); ` +
        `consistency ${result.consistencyRate}, ${result.upstreamRequests} upstream requests, ${result.latencyMs} ms\n`,
    );
    writeMembers(io, '+', result.added);
    writeMembers(io, '-', result.removed);
    io.stdout.write(`syncId ${result.syncId} (audited in ${runtime.auditedIn})\n`);
    return EXIT.ok;
  } catch (error) {
    const described = describeError(error);
    if (values.json) {
      const { syncId, ...rest } = described;
      io.stdout.write(`${JSON.stringify({ ...(syncId === undefined ? {} : { syncId }), error: rest.code, message: rest.message, ...(rest.errors ? { errors: rest.errors } : {}), ...(rest.errorsOmitted ? { errorsOmitted: rest.errorsOmitted } : {}), ...(rest.upstreamStatus === undefined ? {} : { upstreamStatus: rest.upstreamStatus }) }, null, 2)}\n`);
    } else {
      io.stderr.write(`failed: group ${groupId}: ${described.code}: ${described.message}\n`);
      for (const member of described.errors ?? []) io.stderr.write(`  ${member.code.padEnd(17)} ${member.member.type.padEnd(5)} ${member.member.value}  ${member.message}\n`);
      if (described.errorsOmitted) io.stderr.write(`  … and ${described.errorsOmitted} more members failed (not listed)\n`);
      if (described.syncId) io.stderr.write(`syncId ${described.syncId} (audited in ${runtime.auditedIn})\n`);
    }
    return interrupt.exitCode() ?? EXIT.failed;
  } finally {
    interrupt.dispose();
    await runtime.close();
  }
}

function writeMembers(io: Io, sign: string, members: readonly MemberRef[]): void {
  for (const member of members.slice(0, LISTED)) io.stdout.write(`  ${sign} ${member.type.padEnd(5)} ${member.value}\n`);
  if (members.length > LISTED) io.stdout.write(`  ${sign} … and ${members.length - LISTED} more\n`);
}
