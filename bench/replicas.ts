/**
 * Syncs per second of different groups with one and with two replicas of the service on
 * one PostgreSQL database (STORE=postgres), against the simulator with 50 ms latency on
 * every request and no ETags (as CXone's admin API).
 *
 *   npx tsx bench/replicas.ts [--seconds 15] [--latency 50] [--callers 10]
 *
 * 20 load groups of 20 users each. Each caller syncs its own groups in turn (no two callers
 * share a group, so the group lock never makes one wait for another), each sync setting its
 * group to 10 of its 20 users, a different 10 each time. `--callers` syncs are in flight per
 * replica. Runs: 1 replica with `callers`, 1 replica with 2 × `callers`, 2 replicas with
 * `callers` each; each on a fresh database, measured over `--seconds` after a 3 s warm-up.
 * Reported: syncs/s, latency p50/p99, the service's and PostgreSQL's CPU per sync, and the
 * upstream requests per sync. Writes bench/results/replicas.json.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createDatabase, findPostgresBinaries, startPostgresCluster } from '../test/helpers/postgres-cluster.js';
import { ServiceClient, SimulatorAdmin, syncBody, type LoadGroup } from './lib/clients.js';
import { freePort, killAllNow, ProcMonitor, startNode, stop, stopAll, type Child } from './lib/processes.js';

const ROOT = new URL('../', import.meta.url).pathname;
const BUILD_ROOT = join(ROOT, 'bench', '.build-replicas');
const BUILD_DIR = join(BUILD_ROOT, 'src');
const GROUPS = 20;
const USERS_PER_GROUP = 20;
const WARMUP_MS = 3_000;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} takes a positive number`);
  return value;
}

const seconds = option('--seconds', 15);
const latencyMs = option('--latency', 50);
const callers = option('--callers', 10);

function log(line: string): void {
  process.stderr.write(`[replicas] ${line}\n`);
}

function build(): void {
  rmSync(BUILD_ROOT, { recursive: true, force: true });
  mkdirSync(BUILD_ROOT, { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(BUILD_ROOT, 'package.json'));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', BUILD_DIR], { cwd: ROOT, encoding: 'utf8' });
  if (!existsSync(join(BUILD_DIR, 'main.js'))) throw new Error('compiling src/ failed');
}

/** CPU milliseconds of the cluster's postmaster and its backends (its children), from /proc. */
function postgresCpuMs(postmaster: number): number {
  let total = 0;
  const ticks = 100;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      if (Number(entry) !== postmaster && Number(fields[1]) !== postmaster) continue;
      total += ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks;
    } catch {
      // ended meanwhile
    }
  }
  return total;
}

interface RunResult {
  readonly name: string;
  readonly replicas: number;
  readonly callersPerReplica: number;
  readonly syncsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly failures: number;
  readonly serviceCpuMsPerSync: number;
  readonly postgresCpuMsPerSync: number;
  readonly upstreamRequestsPerSync: number;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  const bin = findPostgresBinaries();
  if (bin === undefined) throw new Error("no PostgreSQL binaries (install Debian's postgresql)");
  log('compiling src/');
  build();
  const cluster = await startPostgresCluster(bin, { durable: true });
  const dataParent = mkdtempSync(join(tmpdir(), 'cxone-replicas-'));
  try {
    const clientId = 'bench-client';
    const clientSecret = randomBytes(18).toString('hex');
    const { match } = await startNode({
      name: 'simulator',
      cwd: ROOT,
      args: [join(BUILD_DIR, 'simulator', 'main.js')],
      env: { SIMULATOR_PORT: '0', SIMULATOR_HOST: '127.0.0.1', SIMULATOR_CLIENT_ID: clientId, SIMULATOR_CLIENT_SECRET: clientSecret, SIM_ETAG: 'false', NODE_ENV: 'production' },
      readyLine: /listening on (http:\/\/127\.0\.0\.1:\d+)/,
    });
    const upstream = (match as RegExpMatchArray)[1] as string;
    const admin = new SimulatorAdmin(upstream);
    const groups: LoadGroup[] = [];
    for (let g = 0; g < GROUPS; g++) groups.push(await admin.createGroup(`replicas ${g}`, USERS_PER_GROUP));
    await admin.setFaults({ latencyMs });

    const results: RunResult[] = [];
    for (const [replicas, perReplica] of [
      [1, callers],
      [1, callers * 2],
      [2, callers],
    ] as const) {
      const databaseUrl = await createDatabase(cluster.url, 'replicas');
      const token = randomBytes(18).toString('hex');
      const services: { child: Child; client: ServiceClient; monitor: ProcMonitor }[] = [];
      for (let r = 0; r < replicas; r++) {
        const port = await freePort();
        const { child } = await startNode({
          name: `service ${r}`,
          cwd: ROOT,
          args: [join(BUILD_DIR, 'main.js')],
          env: {
            NODE_ENV: 'production',
            PORT: String(port),
            HOST: '127.0.0.1',
            LOG_LEVEL: 'warn',
            CXONE_BASE_URL: upstream,
            CXONE_CLIENT_ID: clientId,
            CXONE_CLIENT_SECRET: clientSecret,
            SYNC_API_TOKENS: `bench:${token}`,
            INBOUND_RATE_LIMIT: '0',
            DATA_DIR: join(dataParent, `r${replicas}-${perReplica}-${r}`),
            STORE: 'postgres',
            DATABASE_URL: databaseUrl,
          },
          readyUrl: `http://127.0.0.1:${port}/healthz`,
        });
        services.push({ child, client: new ServiceClient(`http://127.0.0.1:${port}`, token, perReplica), monitor: new ProcMonitor(child.pid) });
      }
      const total = replicas * perReplica;
      const latencies: number[] = [];
      let failures = 0;
      let measuring = false;
      let stopAt = Number.POSITIVE_INFINITY;
      const start = performance.now();
      const measureFrom = start + WARMUP_MS;
      let cpu0 = 0;
      let pg0 = 0;
      let stats0 = await admin.stats();
      const caller = async (index: number) => {
        const service = services[index % replicas] as { child: Child; client: ServiceClient; monitor: ProcMonitor };
        const mine = groups.filter((_, g) => g % total === index);
        let turn = 0;
        while (performance.now() < stopAt) {
          const group = mine[turn % mine.length] as LoadGroup;
          const offset = (turn * 7 + index) % USERS_PER_GROUP;
          const members = Array.from({ length: 10 }, (_, k) => group.userIds[(offset + k) % USERS_PER_GROUP] as string);
          turn++;
          const answer = await service.client.sync(group.id, syncBody(members));
          if (!measuring) continue;
          if (answer.httpStatus === 200) latencies.push(answer.ms);
          else failures++;
        }
      };
      const running = Array.from({ length: total }, (_, i) => caller(i));
      await new Promise((resolve) => setTimeout(resolve, measureFrom - performance.now()));
      measuring = true;
      cpu0 = services.reduce((sum, s) => sum + s.monitor.cpuMs(), 0);
      pg0 = postgresCpuMs(cluster.pid);
      stats0 = await admin.stats();
      const t0 = performance.now();
      stopAt = t0 + seconds * 1000;
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      const elapsed = performance.now() - t0;
      const cpu1 = services.reduce((sum, s) => sum + s.monitor.cpuMs(), 0);
      const pg1 = postgresCpuMs(cluster.pid);
      const stats1 = await admin.stats();
      measuring = false;
      await Promise.all(running);
      const done = latencies.length;
      const sorted = latencies.toSorted((a, b) => a - b);
      const result: RunResult = {
        name: `${replicas} replica${replicas > 1 ? 's' : ''} × ${perReplica} callers`,
        replicas,
        callersPerReplica: perReplica,
        syncsPerSecond: Math.round((done / elapsed) * 10_000) / 10,
        p50Ms: Math.round(percentile(sorted, 50)),
        p99Ms: Math.round(percentile(sorted, 99)),
        failures,
        serviceCpuMsPerSync: Math.round(((cpu1 - cpu0) / Math.max(1, done)) * 10) / 10,
        postgresCpuMsPerSync: Math.round(((pg1 - pg0) / Math.max(1, done)) * 10) / 10,
        upstreamRequestsPerSync: Math.round(((stats1.total - stats0.total) / Math.max(1, done)) * 10) / 10,
      };
      log(JSON.stringify(result));
      results.push(result);
      for (const service of services) {
        await service.client.close();
        await stop(service.child);
      }
    }
    const out = { generatedAt: new Date().toISOString(), cores: cpus().length, cpuModel: cpus()[0]?.model, latencyMs, seconds, groups: GROUPS, results };
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'replicas.json'), `${JSON.stringify(out, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await stopAll();
    cluster.stop();
    rmSync(dataParent, { recursive: true, force: true });
    rmSync(BUILD_ROOT, { recursive: true, force: true });
  }
}

process.on('exit', killAllNow);
main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`replicas: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
