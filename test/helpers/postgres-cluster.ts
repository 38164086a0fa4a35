/**
 * A throwaway PostgreSQL cluster from the system's binaries (Debian's `postgresql`
 * package: initdb and pg_ctl in /usr/lib/postgresql/<version>/bin, or on PATH), for the
 * tests that need a real server. It listens on 127.0.0.1 only, on a free port, with its
 * unix socket in its own temporary directory, trusts local connections (it holds nothing
 * but test data) and runs without fsync. PostgreSQL refuses to run as root: under root
 * the cluster is made and run as `nobody` (setpriv), in a directory handed to it.
 *
 * test/setup/postgres.global.ts starts one per test run and tells the tests its URL
 * (inject('postgres')); each test makes its own database in it (createDatabase).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

export interface PostgresCluster {
  /** The superuser's URL on the `postgres` database (loopback). */
  readonly url: string;
  readonly port: number;
  readonly version: string;
  /** The postmaster's process id (its backends are its children). */
  readonly pid: number;
  stop(): void;
}

/** What the tests are told: the cluster's URL, or why there is none. */
export type PostgresInfo = { readonly available: true; readonly url: string; readonly version: string } | { readonly available: false; readonly reason: string };

const NOBODY = 65_534;

/** The directory holding initdb and pg_ctl, or undefined when PostgreSQL is not installed. */
export function findPostgresBinaries(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir !== '' && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
    .toSorted((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Starts a cluster; throws with the server's log when it cannot. */
export async function startPostgresCluster(bin: string, settings: { readonly durable?: boolean } = {}): Promise<PostgresCluster> {
  const root = mkdtempSync(join(tmpdir(), 'cxone-scim-sync-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (command: string, args: string[]) => {
    const [file, argv] = asRoot ? ['setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--', join(bin, command), ...args]] : [join(bin, command), args];
    const result = spawnSync(file as string, argv as string[], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' }, cwd: root });
    if (result.status !== 0) {
      const log = existsSync(join(root, 'server.log')) ? readFileSync(join(root, 'server.log'), 'utf8') : '';
      throw new Error(`${command} failed (${result.status ?? result.signal}): ${result.stderr}${result.stdout}\n${log}`);
    }
    return result.stdout;
  };
  if (asRoot) {
    chownSync(root, NOBODY, NOBODY);
    chmodSync(root, 0o700);
  }
  const data = join(root, 'data');
  const version = execFileSync(join(bin, 'pg_ctl'), ['--version'], { encoding: 'utf8' }).trim();
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  let port = 0;
  for (let tries = 0; ; tries++) {
    port = await freePort();
    try {
      // Tests need no durability; a benchmark (`durable`) keeps PostgreSQL's defaults (fsync, synchronous commit).
      const speed = settings.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'];
      const options = [`-c listen_addresses=127.0.0.1`, `-p ${port}`, `-k ${root}`, ...speed, '-c max_connections=300'].join(' ');
      run('pg_ctl', ['-D', data, '-l', join(root, 'server.log'), '-w', '-t', '30', '-o', options, 'start']);
      break;
    } catch (error) {
      // Another process took the port between our look and the server's bind.
      if (tries >= 2) {
        rmSync(root, { recursive: true, force: true });
        throw error;
      }
    }
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    version,
    pid: Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]),
    stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

let databases = 0;

/** A new, empty database in the cluster; resolves with its URL. */
export async function createDatabase(clusterUrl: string, prefix = 't'): Promise<string> {
  const name = `${prefix}_${process.pid}_${++databases}_${Math.random().toString(36).slice(2, 8)}`;
  const client = new Client({ connectionString: clusterUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(clusterUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
