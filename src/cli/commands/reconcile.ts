/**
 * `cxone-scim-sync reconcile`: many groups at once, from an IdP export (JSON or CSV). Each
 * group is one ordinary sync (validated, atomic, audited as actor "cli"), N at a time;
 * one group's failure never stops the others. A progress bar (or plain lines) on stderr,
 * the summary on stdout, exit 1 when any group failed, 3 when the mass-removal guard held
 * any back.
 */
import { v7 as uuidv7 } from 'uuid';
import { EXIT, integerOption, parseOptions, required, UsageError, type Io } from '../args.js';
import { detectFormat, InputError, parseReconcileFile, readInput, type GroupInput } from '../input.js';
import { onInterrupt } from '../interrupt.js';
import { fromError, fromResult, reason, type GroupOutcome, type OutcomeStatus } from '../outcome.js';
import { createProgress } from '../progress.js';
import { CLI_ACTOR, loadCliConfig, openRemoteRuntime, openSyncRuntime, resolveUpstream, SERVER_TOKEN_ENV } from '../runtime.js';
import { renderTable } from '../table.js';

export const RECONCILE_HELP = `Usage: cxone-scim-sync reconcile --file FILE [options]

Sync many groups at once from an export of the identity provider: each group listed gets
exactly the members listed for it (groups not listed are left alone). Every group is an
ordinary sync, validated, written atomically and audited (actor "cli") in the SQLite
store under DATA_DIR; a group that fails does not stop the others.

FILE (or - for standard input), JSON:
  [{"groupId": "<id>", "displayName": "…", "members": [{"value": "<id>", "type": "User"}, …]}, …]
  or {"groups": [ …the same… ]}
FILE, CSV (RFC 4180), one row per membership:
  group_id,member_id,member_type
  <group id>,<user id>,User
  member_type is optional (default User); a row with an empty member_id lists a group
  without a member, so a group with only such a row is emptied.

Options:
  --file FILE           the groups and their members (required)
  --format json|csv     the file's format (default: by extension, else by content)
  --concurrency N       groups synced at once, 1-64 (default 4); upstream requests are
                        paced further by UPSTREAM_MAX_CONCURRENCY and UPSTREAM_MAX_RPS
  --dry-run             validate every group and show the differences; write nothing
  --allow-mass-removal  let the mass-removal guard pass: without it, a group whose sync
                        would remove more than REMOVAL_GUARD_PERCENT of its members and
                        more than REMOVAL_GUARD_MIN, or empty it, is held back (removal_guard)
  --json                print the summary as JSON instead of a table
  --simulator-url URL   sync against a running simulator (\`cxone-scim-sync simulator\`)
                        instead of CXONE_BASE_URL, with its demo client (or
                        SIMULATOR_CLIENT_ID / SIMULATOR_CLIENT_SECRET)
  --server URL          send the syncs to a running service (POST /groups/{ID}/sync)
                        instead of syncing here, with a bearer token of its
                        SYNC_API_TOKENS in ${SERVER_TOKEN_ENV}; the service audits them.
                        Needed while a service runs on this DATA_DIR (one process per
                        data directory: the command is refused then)
  --data-dir DIR        the store to audit into (default: DATA_DIR, ./data)
  -h, --help            this help

Progress goes to stderr: a bar on a terminal, one line per group otherwise. The summary
(every group: applied, unchanged, dry_run, failed with the reason, skipped) goes to stdout.

Quarantine is the service's (QUARANTINE_AFTER, QUARANTINE_BACKOFF; same store): a group
quarantined here or by the service is reported failed (group_quarantined) and skipped,
without an upstream request; failures here count toward it; the probes due are run before
the first sync.

Exit status: 0 every group applied or unchanged (or dry run); 1 at least one group
failed (a quarantined group too); 3 the mass-removal guard held back at least one group (listed under "guarded";
takes precedence over 1: nothing was written to those groups, run them again with
--allow-mass-removal once the removal is checked); 2 bad options or file (nothing is
synced); 74 storage error; 78 configuration error; 130/143 stopped by SIGINT/SIGTERM (the
summary says which groups were done).
`;

export interface ReconcileSummary {
  readonly runId: string;
  readonly dryRun: boolean;
  readonly totals: Record<OutcomeStatus, number> & { groups: number; upstreamRequests: number; elapsedMs: number };
  readonly groups: readonly GroupOutcome[];
  /** The groups the mass-removal guard held back (removal_guard), with its numbers. */
  readonly guarded: readonly { readonly groupId: string; readonly removing: number; readonly of: number }[];
}

export async function reconcileCommand(args: readonly string[], io: Io): Promise<number> {
  const { values } = parseOptions('reconcile', args, {
    file: { type: 'string' },
    format: { type: 'string' },
    concurrency: { type: 'string' },
    'dry-run': { type: 'boolean' },
    'allow-mass-removal': { type: 'boolean' },
    json: { type: 'boolean' },
    'simulator-url': { type: 'string' },
    server: { type: 'string' },
    'data-dir': { type: 'string' },
  });
  if (values.help) {
    io.stdout.write(RECONCILE_HELP);
    return EXIT.ok;
  }
  const file = required('reconcile', 'file', values.file);
  if (values.format !== undefined && values.format !== 'json' && values.format !== 'csv') {
    throw new UsageError(`--format must be json or csv; got ${JSON.stringify(values.format)}`, 'reconcile');
  }
  const concurrency = integerOption('reconcile', 'concurrency', values.concurrency, 4, 1, 64);
  const dryRun = values['dry-run'] === true;
  const allowMassRemoval = values['allow-mass-removal'] === true;
  const config = loadCliConfig(io.env, { dataDir: values['data-dir'] });
  let groups: GroupInput[];
  try {
    const text = await readInput(file, io.stdin);
    groups = parseReconcileFile(file === '-' ? 'stdin' : file, text, detectFormat(file, text, values.format), config.maxMembers);
  } catch (error) {
    if (error instanceof InputError) throw new UsageError(error.message);
    throw error;
  }
  if (values.server !== undefined && values['simulator-url'] !== undefined) throw new UsageError('--server and --simulator-url exclude each other: the service syncs against its own upstream', 'reconcile');
  const runtime = values.server === undefined ? openSyncRuntime(config, resolveUpstream(config, io.env, values['simulator-url']), 'reconcile') : openRemoteRuntime(values.server, io.env);
  const interrupt = onInterrupt((line) => io.stderr.write(`\n${line}\n`));
  const runId = uuidv7();
  const started = performance.now();
  const progress = createProgress(io.stderr, { total: groups.length });
  const outcomes: GroupOutcome[] = Array.from({ length: groups.length });
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < groups.length; i = next++) {
      const group = groups[i] as GroupInput;
      const outcome = interrupt.signal.aborted ? skipped(group) : await syncOne(group);
      outcomes[i] = outcome;
      progress.finished(outcome);
    }
  };
  const syncOne = async (group: GroupInput): Promise<GroupOutcome> => {
    const begun = performance.now();
    try {
      // One request id for the whole run: the audit trail shows which syncs came together.
      return fromResult(await runtime.sync({ groupId: group.groupId, desired: group.desired, dryRun, allowMassRemoval, actor: CLI_ACTOR, requestId: `reconcile-${runId}`, signal: interrupt.signal }));
    } catch (error) {
      const outcome = fromError(group.groupId, group.desired.members.length, error, Math.round(performance.now() - begun));
      // The audit record knows what the failed attempt cost upstream.
      const record = outcome.syncId === undefined ? undefined : await runtime.findSync(outcome.syncId).catch(() => undefined);
      return record ? { ...outcome, upstreamRequests: record.upstreamRequests, latencyMs: record.latencyMs } : outcome;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, groups.length) }, worker));
  } finally {
    progress.done();
    interrupt.dispose();
    await runtime.close();
  }

  const summary = summarize(runId, dryRun, outcomes, Math.round(performance.now() - started));
  io.stdout.write(values.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary, runtime.auditedIn));
  return interrupt.exitCode() ?? (summary.guarded.length > 0 ? EXIT.guarded : summary.totals.failed > 0 ? EXIT.failed : EXIT.ok);
}

function skipped(group: GroupInput): GroupOutcome {
  return { groupId: group.groupId, status: 'skipped', added: 0, removed: 0, memberCount: group.desired.members.length, upstreamRequests: 0, latencyMs: 0 };
}

function summarize(runId: string, dryRun: boolean, groups: readonly GroupOutcome[], elapsedMs: number): ReconcileSummary {
  const totals = { groups: groups.length, applied: 0, unchanged: 0, dry_run: 0, failed: 0, skipped: 0, upstreamRequests: 0, elapsedMs };
  for (const group of groups) {
    totals[group.status]++;
    totals.upstreamRequests += group.upstreamRequests;
  }
  const guarded = groups.flatMap((group) => (group.error?.code === 'removal_guard' ? [{ groupId: group.groupId, removing: group.error.removing ?? 0, of: group.error.of ?? 0 }] : []));
  return { runId, dryRun, totals, groups, guarded };
}

export function formatSummary(summary: ReconcileSummary, auditFile: string): string {
  const { totals } = summary;
  const counts = (['applied', 'dry_run', 'unchanged', 'failed', 'skipped'] as const)
    .filter((status) => totals[status] > 0 || status === 'failed')
    .map((status) => `${totals[status]} ${status === 'dry_run' ? 'would change (dry run)' : status}`)
    .join(', ');
  const table = renderTable(summary.groups, [
    { title: 'GROUP', value: (g) => g.groupId },
    { title: 'STATUS', value: (g) => g.status },
    { title: 'ADDED', value: (g) => (g.status === 'failed' || g.status === 'skipped' ? '-' : g.added), align: 'right' },
    { title: 'REMOVED', value: (g) => (g.status === 'failed' || g.status === 'skipped' ? '-' : g.removed), align: 'right' },
    { title: 'MEMBERS', value: (g) => g.memberCount, align: 'right' },
    { title: 'REASON', value: (g) => (g.error ? reason(g.error) : g.status === 'skipped' ? 'interrupted before it started' : '') },
  ]);
  return (
    `\n${table}\n` +
    `${totals.groups} group${totals.groups === 1 ? '' : 's'}: ${counts}; ${totals.upstreamRequests} upstream requests in ${(totals.elapsedMs / 1000).toFixed(1)} s` +
    `${summary.dryRun ? '; dry run, nothing written' : ''}\n` +
    (summary.guarded.length > 0
      ? `guarded (the mass-removal guard held back ${summary.guarded.length} group${summary.guarded.length === 1 ? '' : 's'}; nothing was written to ${summary.guarded.length === 1 ? 'it' : 'them'}; repeat with --allow-mass-removal once checked):\n` +
        summary.guarded.map((g) => `  ${g.groupId}: would remove ${g.removing} of ${g.of} members\n`).join('')
      : '') +
    `run ${summary.runId}: audited as actor "${CLI_ACTOR}", request id reconcile-${summary.runId}, in ${auditFile}\n`
  );
}
