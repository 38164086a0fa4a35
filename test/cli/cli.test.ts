/**
 * The CLI as a child process against a simulator in this process (port 0), each test with
 * its own DATA_DIR: what it prints, what it writes upstream, what it audits, how it exits.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DATABASE_FILE } from '../../src/adapters/storage/sqlite-store.js';
import { seedIds } from '../../src/simulator/seed.js';
import { createSimulator, type Simulator } from '../../src/simulator/simulator.js';
import { runCli, startCli } from '../helpers/run-cli.js';
import { tempDir } from '../helpers/temp-dir.js';

const CLIENT = { clientId: 'cli-test-client', clientSecret: 'cli-test-secret-0001' };
const { groups, users } = seedIds;

interface Setup {
  readonly simulator: Simulator;
  readonly dataDir: string;
  /** The environment of a CLI run against this simulator and DATA_DIR. */
  readonly env: Record<string, string>;
  readonly simulatorArgs: readonly string[];
  file(name: string, content: string): string;
}

async function setup(): Promise<Setup> {
  const simulator = createSimulator({ scimGroups: true, clients: [CLIENT] });
  const url = await simulator.listen({ port: 0 });
  onTestFinished(() => simulator.close());
  const dataDir = tempDir();
  const files = tempDir();
  return {
    simulator,
    dataDir,
    env: { DATA_DIR: dataDir, SIMULATOR_CLIENT_ID: CLIENT.clientId, SIMULATOR_CLIENT_SECRET: CLIENT.clientSecret },
    simulatorArgs: ['--simulator-url', url],
    file(name, content) {
      const path = join(files, name);
      writeFileSync(path, content);
      return path;
    },
  };
}

const memberIds = (simulator: Simulator, groupId: string) => (simulator.store.getGroup(groupId)?.members ?? []).map((m) => m.value).toSorted();

function auditRows(dataDir: string): { group_id: string; status: string; entry: string }[] {
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
  try {
    return db.prepare<[], { group_id: string; status: string; entry: string }>('SELECT group_id, status, entry FROM audit_records ORDER BY seq').all();
  } finally {
    db.close();
  }
}

describe('cli: --help', () => {
  it('when asked for help, then the CLI and every subcommand print their usage and exit 0', { timeout: 60_000 }, async () => {
    const runs = await Promise.all([['--help'], ['serve', '--help'], ['simulator', '--help'], ['sync', '--help'], ['reconcile', '-h'], ['audit', 'verify', '--help'], ['help', 'sync']].map((args) => runCli(args)));
    for (const run of runs) {
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Usage: cxone-scim-sync/);
      expect(run.stderr).toBe('');
    }
    const [main, serve, simulator, sync, reconcile, audit, helpSync] = runs.map((r) => r.stdout);
    for (const command of ['serve', 'simulator', 'sync', 'reconcile', 'audit']) expect(main).toContain(`  ${command}`);
    expect(serve).toContain('CXONE_BASE_URL');
    expect(serve).toContain('DATA_DIR');
    expect(simulator).toContain('--port N');
    for (const option of ['--group ID', '--members FILE', '--dry-run', '--simulator-url URL', '--data-dir DIR', '--json']) expect(sync).toContain(option);
    for (const option of ['--file FILE', '--concurrency N', '--dry-run', '--format json|csv', 'group_id,member_id,member_type']) expect(reconcile).toContain(option);
    expect(audit).toContain('audit verify');
    // A local run keeps the service's quarantine: the help says so.
    for (const help of [sync, reconcile]) expect(help).toContain('group_quarantined');
    expect(helpSync).toBe(sync);
  });

  it('when a command or option is unknown, or a required option missing, then it says so and exits 2', async () => {
    const [unknownCommand, unknownOption, missing, badConcurrency] = await Promise.all([
      runCli(['frobnicate']),
      runCli(['sync', '--grup', 'x']),
      runCli(['reconcile']),
      runCli(['reconcile', '--file', 'x.json', '--concurrency', '0']),
    ]);
    expect(unknownCommand).toMatchObject({ code: 2, stdout: '' });
    expect(unknownCommand.stderr).toContain('unknown command "frobnicate"');
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toContain("Unknown option '--grup'");
    expect(unknownOption.stderr).toContain('cxone-scim-sync sync --help');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--file is required');
    expect(badConcurrency.code).toBe(2);
    expect(badConcurrency.stderr).toContain('--concurrency must be a whole number from 1 to 64');
  });
});

describe('cli: sync', () => {
  it('when a group is synced, then it is written upstream, printed, and audited as actor cli; again, then it is unchanged', async () => {
    const s = await setup();
    const members = s.file('members.json', JSON.stringify({ members: [{ value: users.aliceSmith, type: 'User' }, { value: users.davidKim, type: 'User' }] }));

    const first = await runCli(['sync', '--group', groups.contactCenterAgents, '--members', members, ...s.simulatorArgs], { env: s.env });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`applied: group ${groups.contactCenterAgents} has 2 members (+2 -0)`);
    expect(first.stdout).toContain(`+ User  ${users.aliceSmith}`);
    expect(memberIds(s.simulator, groups.contactCenterAgents)).toEqual([users.aliceSmith, users.davidKim].toSorted());

    // The same upstream named the way a tenant is: CXONE_BASE_URL and its client, and no SYNC_API_TOKENS (the CLI serves nothing).
    const tenantEnv = { DATA_DIR: s.dataDir, CXONE_BASE_URL: s.simulator.url, CXONE_CLIENT_ID: CLIENT.clientId, CXONE_CLIENT_SECRET: CLIENT.clientSecret };
    const again = await runCli(['sync', '--group', groups.contactCenterAgents, '--members', members, '--json'], { env: tenantEnv });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ groupId: groups.contactCenterAgents, status: 'unchanged', added: [], removed: [], memberCount: 2, consistencyRate: 1 });

    const rows = auditRows(s.dataDir);
    expect(rows.map((r) => r.status)).toEqual(['applied', 'unchanged']);
    expect(rows.map((r) => (JSON.parse(r.entry) as { actor: string }).actor)).toEqual(['cli', 'cli']);
  });

  it('when STORE=postgres, then a local sync is refused (exit 78) and pointed at a replica’s API, and nothing is written under DATA_DIR', async () => {
    const s = await setup();
    const members = s.file('members.json', JSON.stringify({ members: [{ value: users.aliceSmith, type: 'User' }] }));
    const run = await runCli(['sync', '--group', groups.contactCenterAgents, '--members', members, ...s.simulatorArgs], {
      env: { ...s.env, STORE: 'postgres', DATABASE_URL: 'postgres://sync:Cli-Pg-Pa55@127.0.0.1:1/cxone' },
    });
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('STORE=postgres');
    expect(run.stderr).toContain('--server');
    expect(run.stderr).not.toContain('Cli-Pg-Pa55');
    expect(memberIds(s.simulator, groups.contactCenterAgents)).not.toContain(users.aliceSmith);
  });

  it('when the sync is a dry run, then it shows the difference and writes nothing upstream', async () => {
    const s = await setup();
    const before = memberIds(s.simulator, groups.platform);
    const members = s.file('members.json', JSON.stringify([{ value: users.aliceSmith, type: 'User' }]));

    const run = await runCli(['sync', '--group', groups.platform, '--members', members, '--dry-run', ...s.simulatorArgs], { env: s.env });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^would change: group \S+ would have 1 members \(\+1 -4\)/);
    expect(memberIds(s.simulator, groups.platform)).toEqual(before);
    expect(auditRows(s.dataDir).map((r) => r.status)).toEqual(['dry_run']);
  });

  it('when members fail validation, then it lists every problem, writes nothing, audits the failure and exits 1', async () => {
    const s = await setup();
    const members = s.file('members.json', JSON.stringify({ members: [{ value: 'u-404', type: 'User' }, { value: users.aliceSmith, type: 'User' }] }));
    const run = await runCli(['sync', '--group', groups.contactCenterAgents, '--members', members, ...s.simulatorArgs], { env: s.env });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`failed: group ${groups.contactCenterAgents}: validation_failed: 1 member failed validation`);
    expect(run.stderr).toMatch(/user_not_found\s+User\s+u-404/);
    expect(memberIds(s.simulator, groups.contactCenterAgents)).toEqual([]);
    expect(auditRows(s.dataDir).map((r) => r.status)).toEqual(['validation_failed']);
  });

  it('when CXONE_BASE_URL is unset and no --simulator-url is given, then it refuses with a way out and exits 78', async () => {
    const s = await setup();
    const members = s.file('members.json', '[]');
    const run = await runCli(['sync', '--group', groups.platform, '--members', members], { env: s.env });
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('CXONE_BASE_URL is unset');
    expect(run.stderr).toContain('--simulator-url');
  });
});

const CSV_HEADER = 'group_id,member_id,member_type\n';

describe('cli: reconcile', () => {
  it('when a JSON export has a failing group, then the others are applied or unchanged, the summary names the reason, and it exits 1', async () => {
    const s = await setup();
    const file = s.file(
      'export.json',
      JSON.stringify({
        groups: [
          { groupId: groups.contactCenterAgents, members: [{ value: users.aliceSmith, type: 'User' }, { value: users.carmenRodriguez, type: 'User' }] },
          { groupId: groups.engineeringCore, members: [{ value: 'u-404', type: 'User' }] },
          { groupId: groups.platform, members: (s.simulator.store.getGroup(groups.platform)?.members ?? []).map((m) => ({ value: m.value, type: m.type })) },
          { groupId: 'no-such-group', members: [] },
        ],
      }),
    );
    const run = await runCli(['reconcile', '--file', file, '--concurrency', '2', ...s.simulatorArgs], { env: s.env });
    expect(run.code).toBe(1);
    expect(memberIds(s.simulator, groups.contactCenterAgents)).toEqual([users.aliceSmith, users.carmenRodriguez].toSorted());

    const line = (groupId: string) => run.stdout.split('\n').find((l) => l.startsWith(`${groupId} `)) ?? '';
    expect(line(groups.contactCenterAgents)).toMatch(/ applied +2 +0 +2$/);
    expect(line(groups.platform)).toMatch(/ unchanged +0 +0 +4$/);
    expect(line(groups.engineeringCore)).toContain('failed');
    expect(line(groups.engineeringCore)).toContain('validation_failed: user_not_found User u-404');
    expect(line('no-such-group')).toContain('group_not_found: group "no-such-group" does not exist upstream');
    expect(run.stdout).toContain('4 groups: 1 applied, 1 unchanged, 2 failed');

    // Progress on stderr: not a terminal here, so one plain line per group.
    expect(run.stderr.trim().split('\n')).toHaveLength(4);
    expect(run.stderr).toMatch(/^\[\d\/4\] failed +no-such-group/m);

    const rows = auditRows(s.dataDir);
    expect(rows.map((r) => `${r.group_id} ${r.status}`).toSorted()).toEqual(
      [`${groups.contactCenterAgents} applied`, `${groups.engineeringCore} validation_failed`, `${groups.platform} unchanged`, 'no-such-group group_not_found'].toSorted(),
    );
    const requestIds = new Set(rows.map((r) => (JSON.parse(r.entry) as { requestId: string }).requestId));
    expect(requestIds.size).toBe(1);
  });

  it('when a CSV export is reconciled, then rows are grouped per group, type defaults to User, an empty member_id empties a group, and all applied exits 0', async () => {
    const s = await setup();
    const file = s.file(
      'export.csv',
      CSV_HEADER +
        `${groups.contactCenterAgents},${users.aliceSmith},User\r\n` +
        `${groups.platform},,\r\n` +
        `"${groups.contactCenterAgents}",${users.davidKim},\r\n`,
    );
    // Emptying a group is a mass removal: said explicitly.
    const run = await runCli(['reconcile', '--file', file, '--json', '--allow-mass-removal', ...s.simulatorArgs], { env: s.env });
    expect(run.stderr).not.toContain('failed');
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout) as { totals: Record<string, number>; groups: { groupId: string; status: string; added: number; removed: number }[] };
    expect(summary.totals).toMatchObject({ groups: 2, applied: 2, failed: 0 });
    expect(summary.groups.map((g) => [g.groupId, g.status, g.added, g.removed])).toEqual([
      [groups.contactCenterAgents, 'applied', 2, 0],
      [groups.platform, 'applied', 0, 4],
    ]);
    expect(memberIds(s.simulator, groups.contactCenterAgents)).toEqual([users.aliceSmith, users.davidKim].toSorted());
    expect(memberIds(s.simulator, groups.platform)).toEqual([]);
  });

  it('when the mass-removal guard holds back a group, then the others are applied, the summary lists it under guarded with its numbers, nothing is written to it, and it exits 3', async () => {
    const s = await setup();
    const file = s.file(
      'export.json',
      JSON.stringify({
        groups: [
          { groupId: groups.contactCenterAgents, members: [{ value: users.aliceSmith, type: 'User' }] },
          { groupId: groups.platform, members: [] },
        ],
      }),
    );
    const run = await runCli(['reconcile', '--file', file, ...s.simulatorArgs], { env: s.env });
    expect(run.code).toBe(3);
    expect(run.stdout).toContain('guarded (the mass-removal guard held back 1 group');
    expect(run.stdout).toContain(`  ${groups.platform}: would remove 4 of 4 members`);
    expect(memberIds(s.simulator, groups.platform)).toHaveLength(4);
    expect(memberIds(s.simulator, groups.contactCenterAgents)).toEqual([users.aliceSmith]);
    expect(auditRows(s.dataDir).map((r) => `${r.group_id} ${r.status}`).toSorted()).toEqual([`${groups.contactCenterAgents} applied`, `${groups.platform} removal_guard`].toSorted());

    const json = await runCli(['reconcile', '--file', file, '--json', ...s.simulatorArgs], { env: s.env });
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ guarded: [{ groupId: groups.platform, removing: 4, of: 4 }] });
  });

  it('when a CSV export without member_type is a dry run with a failing group, then nothing is written and it still exits 1 naming the reason', async () => {
    const s = await setup();
    // Without the optional member_type column: every member is a User.
    const file = s.file('export.csv', `group_id,member_id\n${groups.contactCenterAgents},${users.aliceSmith}\n${groups.engineeringCore},u-404\n`);
    const run = await runCli(['reconcile', '--file', file, '--dry-run', ...s.simulatorArgs], { env: s.env });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`${groups.contactCenterAgents} +dry_run +1 +0 +1`));
    expect(run.stdout).toContain('user_not_found User u-404');
    expect(run.stdout).toContain('dry run, nothing written');
    expect(memberIds(s.simulator, groups.contactCenterAgents)).toEqual([]);
  });

  it('when SIGINT arrives mid-run, then the sync in flight is cut off and audited as interrupted, the rest skipped, and it exits 130', async () => {
    const s = await setup();
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let reached = () => {};
    const inFlight = new Promise<void>((resolve) => (reached = resolve));
    // The first group read is held until the CLI has been interrupted.
    s.simulator.onRequest(async (request) => {
      if (request.method !== 'GET' || !request.path.includes('/Groups/')) return;
      reached();
      await held;
    });
    onTestFinished(() => release());
    const file = s.file('export.json', JSON.stringify([groups.contactCenterAgents, groups.platform, groups.supportTier2].map((groupId) => ({ groupId, members: [] }))));

    const cli = startCli(['reconcile', '--file', file, '--concurrency', '1', '--json', ...s.simulatorArgs], { env: s.env });
    await inFlight;
    cli.child.kill('SIGINT');
    const run = await cli.done;
    release();

    expect(run.code).toBe(130);
    expect(run.stderr).toContain('SIGINT: stopping');
    const summary = JSON.parse(run.stdout) as { totals: Record<string, number>; groups: { groupId: string; status: string; error?: { code: string } }[] };
    expect(summary.groups.map((g) => [g.groupId, g.status, g.error?.code])).toEqual([
      [groups.contactCenterAgents, 'failed', 'interrupted'],
      [groups.platform, 'skipped', undefined],
      [groups.supportTier2, 'skipped', undefined],
    ]);
    expect(auditRows(s.dataDir).map((r) => `${r.group_id} ${r.status}`)).toEqual([`${groups.contactCenterAgents} interrupted`]);
  });

  it('when the input file is bad, then nothing is synced and the error names the line or field, exit 2', async () => {
    // Every rule of the input files is in input.test.ts; here, that the CLI reports them.
    const s = await setup();
    const csv = s.file('bad-type.csv', `${CSV_HEADER}${groups.platform},${users.aliceSmith},User\n${groups.platform},${users.davidKim},Admin\n`);
    const json = s.file('broken.json', '[\n  {"groupId": "g1",\n   "members": [}\n]');
    const runs = await Promise.all([
      runCli(['reconcile', '--file', csv, ...s.simulatorArgs], { env: s.env }),
      runCli(['reconcile', '--file', json, ...s.simulatorArgs], { env: s.env }),
      runCli(['reconcile', '--file', join(s.dataDir, 'nope.json'), ...s.simulatorArgs], { env: s.env }),
    ]);
    const expected = ['bad-type.csv: line 3: member_type must be User or Group, got "Admin"', 'broken.json: not valid JSON (line 3, column 16)', 'nope.json: cannot be read (ENOENT)'];
    runs.forEach((run, i) => {
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(expected[i]);
      expect(run.stdout).toBe('');
    });
    expect(s.simulator.stats.total).toBe(0);
  });
});

describe('cli: audit verify', () => {
  it('when the chain is intact, then it says ok and exits 0; when a record is edited, then it names the record and exits 1', async () => {
    const s = await setup();
    const file = s.file('export.json', JSON.stringify([{ groupId: groups.contactCenterAgents, members: [{ value: users.aliceSmith, type: 'User' }] }, { groupId: groups.platform, members: [] }]));
    expect((await runCli(['reconcile', '--file', file, '--allow-mass-removal', ...s.simulatorArgs], { env: s.env })).code).toBe(0);

    const intact = await runCli(['audit', 'verify'], { env: s.env });
    expect(intact.code).toBe(0);
    expect(intact.stdout).toContain('ok: the audit chain of 2 records is intact');

    const db = new Database(join(s.dataDir, DATABASE_FILE));
    const victim = db.prepare<[], { sync_id: string }>('SELECT sync_id FROM audit_records ORDER BY seq LIMIT 1').get();
    db.prepare(`UPDATE audit_records SET entry = json_set(entry, '$.actor', 'mallory') WHERE seq = (SELECT min(seq) FROM audit_records)`).run();
    db.close();

    const broken = await runCli(['audit', 'verify', '--json', '--data-dir', s.dataDir]);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ ok: false, firstBrokenSyncId: victim?.sync_id });
  });

  it('when the newest record and the head are deleted, then it reports BROKEN (head_missing) and exits 1; a keyed trail without the key is checked for its links and says so', { timeout: 60_000 }, async () => {
    const s = await setup();
    const key = 'cli-audit-hmac-key-0123456789abcdef';
    const file = s.file('export.json', JSON.stringify([{ groupId: groups.contactCenterAgents, members: [{ value: users.aliceSmith, type: 'User' }] }, { groupId: groups.platform, members: [] }]));
    expect((await runCli(['reconcile', '--file', file, '--allow-mass-removal', ...s.simulatorArgs], { env: { ...s.env, AUDIT_HMAC_KEY: key } })).code).toBe(0);

    const withKey = await runCli(['audit', 'verify'], { env: { ...s.env, AUDIT_HMAC_KEY: key } });
    expect(withKey.stdout).toMatch(/^ok: the audit chain of 2 records is intact \(/);
    const withoutKey = await runCli(['audit', 'verify'], { env: s.env });
    expect(withoutKey.code).toBe(0);
    expect(withoutKey.stdout).toContain('2 keyed records were checked for their links only: set AUDIT_HMAC_KEY to check their content');

    const db = new Database(join(s.dataDir, DATABASE_FILE));
    db.prepare(`DELETE FROM audit_records WHERE seq = 2`).run();
    db.prepare(`DELETE FROM meta WHERE key IN ('audit_head', 'audit_head_seq', 'audit_head_mac')`).run();
    db.close();
    const broken = await runCli(['audit', 'verify'], { env: { ...s.env, AUDIT_HMAC_KEY: key } });
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^BROKEN \(head_missing\): the remembered chain head is missing/);
  });

  it('when there is no store at DATA_DIR, then it says so instead of creating one, exit 74', async () => {
    const empty = tempDir();
    const run = await runCli(['audit', 'verify', '--data-dir', empty]);
    expect(run.code).toBe(74);
    expect(run.stderr).toContain(`there is no audit trail at ${join(empty, DATABASE_FILE)}`);
  });
});
