/**
 * Process-level: one process per DATA_DIR. A second service on the same directory exits 78
 * at once, touching nothing (it used to start, forget the first one's in-flight
 * Idempotency-Keys and deliver every webhook twice); the lock is the kernel's, so a
 * SIGKILLed service's restart takes it at once. CLI commands that write are refused while
 * the service runs and go through its API with --server; `audit verify` reads alongside it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isDataDirLocked, lockDataDir } from '../../src/adapters/storage/data-dir-lock.js';
import { DataDirLockedError } from '../../src/core/errors.js';
import { DATABASE_FILE } from '../../src/adapters/storage/sqlite-store.js';
import { createSimulator, seedIds, type Simulator } from '../../src/simulator/simulator.js';
import { runCli } from '../helpers/run-cli.js';
import { spawnService, startService } from '../helpers/service-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const TOKEN = 'okta-lock-test-token-0001';
const CLIENT = { clientId: 'svc', clientSecret: 'svc-secret-000001' };
const { groups, users } = seedIds;

async function upstream(): Promise<Simulator> {
  const simulator = createSimulator({ scimGroups: true, clients: [CLIENT] });
  await simulator.listen({ port: 0 });
  onTestFinished(() => simulator.close());
  return simulator;
}

function env(simulator: Simulator, dataDir: string): Record<string, string> {
  return { CXONE_BASE_URL: simulator.url, CXONE_CLIENT_ID: CLIENT.clientId, CXONE_CLIENT_SECRET: CLIENT.clientSecret, SYNC_API_TOKENS: `okta:${TOKEN}`, DATA_DIR: dataDir };
}

function exit(child: ReturnType<typeof spawnService>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stderr, stdout })));
}

describe('one process per DATA_DIR', () => {
  it('when a second service starts on the DATA_DIR of a running one, then it exits 78 with one line and leaves the first one\'s in-flight Idempotency-Keys alone', { timeout: 60_000 }, async () => {
    const simulator = await upstream();
    const dataDir = tempDir();
    const first = await startService(env(simulator, dataDir));
    // An Idempotency-Key the first service is processing right now.
    const db = new Database(join(dataDir, DATABASE_FILE));
    onTestFinished(() => {
      db.close();
    });
    db.prepare(`INSERT INTO idempotency_keys (actor, key, fingerprint, status, response, created_at, expires_at) VALUES ('okta', 'in-flight-1', 'f', 'processing', NULL, 0, ?)`).run(Date.now() + 3_600_000);

    const second = await exit(spawnService(env(simulator, dataDir)));
    expect(second.code).toBe(78);
    expect(second.stderr.trim().split('\n')).toEqual([`cxone-scim-sync: DATA_DIR ${dataDir} is in use by another cxone-scim-sync process (a running service, or a CLI sync or reconcile); one process per data directory`]);
    expect(second.stdout).not.toContain('listening');
    expect(db.prepare(`SELECT status FROM idempotency_keys WHERE key = 'in-flight-1'`).get()).toEqual({ status: 'processing' });
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    expect(await first.stop()).toBe(0);
  });

  it('when the service is killed with SIGKILL, then a restart on the same DATA_DIR takes the lock at once (and a keyed trail stays keyed, its key never printed)', { timeout: 60_000 }, async () => {
    const simulator = await upstream();
    const dataDir = tempDir();
    const key = 'audit-hmac-key-for-the-restart-test-0001';
    const keyed = { ...env(simulator, dataDir), AUDIT_HMAC_KEY: key };
    const first = await startService(keyed);
    const synced = await fetch(`${first.url}/groups/${groups.contactCenterAgents}/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ members: [{ value: users.aliceSmith, type: 'User' }] }),
    });
    expect(synced.status).toBe(200);
    expect(isDataDirLocked(dataDir)).toBe(true);
    first.child.kill('SIGKILL');
    await first.exited();
    expect(isDataDirLocked(dataDir)).toBe(false);
    const second = await startService(keyed);
    expect((await fetch(`${second.url}/healthz`)).status).toBe(200);
    const verify = await fetch(`${second.url}/audit/verify`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await verify.json()).toEqual({ ok: true, records: 1 });
    expect(await second.stop()).toBe(0);
    expect(isDataDirLocked(dataDir)).toBe(false);
    for (const output of [first.stderr(), JSON.stringify(first.logs()), second.stderr(), JSON.stringify(second.logs())]) expect(output).not.toContain(key);
    // Without its key, the keyed store is not opened for writing.
    const keyless = await exit(spawnService(env(simulator, dataDir)));
    expect(keyless.code).toBe(74);
    expect(keyless.stderr).toContain('set AUDIT_HMAC_KEY');
  });

  it('when a CLI sync or reconcile runs while the service holds the DATA_DIR, then it is refused with exit 78 and told to use --server; audit verify reads alongside', { timeout: 60_000 }, async () => {
    const simulator = await upstream();
    const dataDir = tempDir();
    const service = await startService(env(simulator, dataDir));
    const files = tempDir();
    const members = join(files, 'members.json');
    writeFileSync(members, JSON.stringify({ members: [{ value: users.aliceSmith, type: 'User' }] }));
    const reconcileFile = join(files, 'groups.json');
    writeFileSync(reconcileFile, JSON.stringify([{ groupId: groups.platform, members: [{ value: users.davidKim, type: 'User' }] }]));
    const cliEnv = env(simulator, dataDir);

    const sync = await runCli(['sync', '--group', groups.contactCenterAgents, '--members', members], { env: cliEnv });
    expect(sync.code).toBe(78);
    expect(sync.stderr).toContain(`DATA_DIR ${dataDir} is in use by another cxone-scim-sync process`);
    expect(sync.stderr).toContain('cxone-scim-sync sync --server http://HOST:PORT');
    expect(sync.stderr).toContain('CXONE_SCIM_SYNC_TOKEN');
    const reconcile = await runCli(['reconcile', '--file', reconcileFile], { env: cliEnv });
    expect(reconcile.code).toBe(78);
    expect(reconcile.stderr).toContain('reconcile --server');
    expect(simulator.store.getGroup(groups.contactCenterAgents)?.members ?? []).toEqual([]);

    const verify = await runCli(['audit', 'verify'], { env: cliEnv });
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/^ok: the audit chain of 0 records is intact/);
    expect(await service.stop()).toBe(0);
  });

  it('when a CLI sync and reconcile go through the running service with --server, then they print and exit as a local run, and the service audits them', { timeout: 60_000 }, async () => {
    const simulator = await upstream();
    const dataDir = tempDir();
    const service = await startService(env(simulator, dataDir));
    const files = tempDir();
    const members = join(files, 'members.json');
    writeFileSync(members, JSON.stringify({ members: [{ value: users.aliceSmith, type: 'User' }] }));
    const bad = join(files, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ value: '00000000-0000-4000-a000-00000000dead', type: 'User' }]));
    const reconcileFile = join(files, 'groups.json');
    writeFileSync(reconcileFile, JSON.stringify([{ groupId: groups.platform, members: [{ value: users.davidKim, type: 'User' }] }]));
    const cliEnv = { DATA_DIR: dataDir, CXONE_SCIM_SYNC_TOKEN: TOKEN };

    const applied = await runCli(['sync', '--group', groups.contactCenterAgents, '--members', members, '--server', service.url], { env: cliEnv });
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(new RegExp(`^applied: group ${groups.contactCenterAgents} has 1 members \\(\\+1 -0\\)`));
    expect(applied.stdout).toContain(`(audited in the service at ${service.url})`);
    expect(simulator.store.getGroup(groups.contactCenterAgents)?.members.map((m) => m.value)).toEqual([users.aliceSmith]);

    const refused = await runCli(['sync', '--group', groups.contactCenterAgents, '--members', bad, '--server', service.url, '--json'], { env: cliEnv });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ error: 'validation_failed', errors: [{ code: 'user_not_found' }] });

    const reconciled = await runCli(['reconcile', '--file', reconcileFile, '--server', service.url, '--json'], { env: cliEnv });
    expect(reconciled.code).toBe(0);
    expect(JSON.parse(reconciled.stdout)).toMatchObject({ totals: { applied: 1, failed: 0 } });

    const audit = (await (await fetch(`${service.url}/audit`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { items: { actor: string; status: string }[] };
    expect(audit.items.map((i) => [i.actor, i.status])).toEqual([
      ['okta', 'applied'],
      ['okta', 'validation_failed'],
      ['okta', 'applied'],
    ]);
    const withoutToken = await runCli(['sync', '--group', groups.platform, '--members', members, '--server', service.url], { env: { DATA_DIR: dataDir } });
    expect(withoutToken.code).toBe(78);
    expect(withoutToken.stderr).toContain('CXONE_SCIM_SYNC_TOKEN: required with --server');
    expect(await service.stop()).toBe(0);
  });

  it('when one process holds the lock, then another lock on the same directory in this process is refused too, and given back it can be taken', () => {
    const dataDir = tempDir();
    const lock = lockDataDir(dataDir);
    expect(() => lockDataDir(dataDir)).toThrow(DataDirLockedError);
    lock.release();
    lockDataDir(dataDir).release();
  });
});
