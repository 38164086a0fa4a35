/**
 * `npm run bench`: the benchmark harness (issue 6).
 *
 * It compiles src/ once into bench/.build (plain `node` then runs exactly what `npm start`
 * runs, with no TypeScript loader in the measured process), starts the CXone SCIM
 * simulator and the service as separate processes on 127.0.0.1, and drives syncs over
 * HTTP with undici. Per scenario it reports syncs/s, client-measured latency p50/p99,
 * upstream requests per sync (counted by the simulator), service CPU ms per sync
 * (/proc/<pid>/stat) and the service's peak RSS (VmHWM, reset per scenario through
 * /proc/<pid>/clear_refs). A naive client (bench/baseline.ts) runs the same scenarios in
 * this process, and every service figure is also given as a ratio to it.
 *
 *   npm run bench                         full run (~8–10 min on 2 cores): writes
 *                                         bench/results/latest.json and bench/README.md
 *   npm run bench -- --quick              small sizes, short runs → bench/results/dev.json
 *   npm run bench -- --scenario 1000-one  only scenarios whose name contains this (repeatable)
 *   npm run bench -- --help               every option
 */
import { createDatabase, findPostgresBinaries, startPostgresCluster, type PostgresCluster } from '../test/helpers/postgres-cluster.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem, type as osType } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { NaiveSyncClient } from './baseline.js';
import { ServiceClient, SimulatorAdmin, statsDelta, syncBody, type LoadGroup, type SyncAnswer } from './lib/clients.js';
import { clockTicksPerSecond, killAllNow, ProcMonitor, startBenchService, startNode, stop, stopAll, systemCpu, type Child } from './lib/processes.js';
import {
  checkTargets,
  markdownSection,
  modeComparison,
  RATE_COLUMNS,
  rateRows,
  ratiosOf,
  replaceGeneratedSection,
  SCENARIO_COLUMNS,
  scenarioLabel,
  scenarioRows,
  TARGET_COLUMNS,
  targetRows,
  textTable,
  BASELINE_COLUMNS,
  baselineRows,
  type BaselineFigures,
  type BenchResults,
  type ModeAvailability,
  type RateLimitResult,
  type ScenarioResult,
  type ServiceFigures,
  type WriteModeName,
} from './lib/report.js';
import { changedCount, expectedUpstreamRequests, round as roundTo, summarize, swapMembers, writesFor, type ChangeKind } from './lib/stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_DIR = join(ROOT, 'bench');
/** tsc output of src/, one level below a copy of package.json (src/http/plugins/swagger.ts reads ../../../package.json). */
const BUILD_ROOT = join(BENCH_DIR, '.build');
const BUILD_DIR = join(BUILD_ROOT, 'src');
const RESULTS_DIR = join(BENCH_DIR, 'results');
const PROFILE_DIR = join(RESULTS_DIR, 'profiles');
const BATCH_SIZE = 50;
const PATCH_MAX_OPERATIONS = 100;

// ---- options ---------------------------------------------------------------------------

interface Options {
  quick: boolean;
  filters: string[];
  sizes: number[];
  latencies: number[];
  modes: WriteModeName[];
  baseline: boolean;
  rateLimit: boolean;
  rateSeconds: number;
  rateConcurrency: number;
  profile: { service: boolean; simulator: boolean };
  write: boolean | null;
  /** Parent of the service's DATA_DIR (default: the OS temp dir). */
  dataParent: string;
  /** Only re-render bench/README.md and the tables from results/latest.json. */
  renderOnly: boolean;
  /** STORE of the service: sqlite (DATA_DIR) or postgres (a throwaway cluster, a fresh database per service process). */
  store: 'sqlite' | 'postgres';
}

const HELP = `npm run bench -- [options]
  --quick                 sizes 100 and 1,000, short runs, 8 s rate-limit window (development)
  --scenario <text>       only scenarios whose name contains <text>; repeatable. Names look like
                          1000-one-0ms, 100000-onePct-0ms, 10000-tenPct-20ms, ratelimit-50rps
  --sizes 100,1000        group sizes (default 100,1000,10000,100000; --quick without --scenario: 100,1000)
  --latencies 0,20        simulator latency per request, ms (default 0,20)
  --modes put,patch       WRITE_MODE values to compare (default put,patch)
  --no-baseline           skip the naive client
  --no-rate-limit         skip the rate-limited scenario
  --rate-seconds <s>      measuring window of the rate-limited scenario (default 20; --quick 8)
  --rate-clients <n>      concurrent clients in the rate-limited scenario (default 4)
  --profile <who>         service | simulator | both: node --cpu-prof into bench/results/profiles
  --data-dir <dir>        where the service's DATA_DIR (SQLite audit store) is created (default: the OS temp dir)
  --store postgres        run the service with STORE=postgres on a throwaway PostgreSQL cluster (Debian's binaries;
                          a fresh database per service process) instead of SQLite; never a full run
  --render                only re-render the tables of bench/README.md from results/latest.json
  --write / --no-write    write bench/results/latest.json and bench/README.md (default: only for a full run)`;

function list(text: string | undefined, flag: string): number[] {
  const values = (text ?? '').split(',').map((part) => Number(part.trim().replaceAll('_', '')));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 0)) throw new Error(`${flag} takes comma-separated integers`);
  return values;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = {
    quick: false,
    filters: [],
    sizes: [],
    latencies: [0, 20],
    modes: ['put', 'patch'],
    baseline: true,
    rateLimit: true,
    rateSeconds: 0,
    rateConcurrency: 4,
    profile: { service: false, simulator: false },
    write: null,
    dataParent: tmpdir(),
    renderOnly: false,
    store: 'sqlite',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = (): string => {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      return value;
    };
    switch (arg) {
      case '--store': {
        const store = next();
        if (store !== 'sqlite' && store !== 'postgres') throw new Error('--store takes sqlite or postgres');
        options.store = store;
        break;
      }
      case '--quick':
        options.quick = true;
        break;
      case '--scenario':
        options.filters.push(next());
        break;
      case '--sizes':
        options.sizes = list(next(), arg);
        break;
      case '--latencies':
        options.latencies = list(next(), arg);
        break;
      case '--modes': {
        const modes = next().split(',').map((m) => m.trim());
        if (modes.some((m) => m !== 'put' && m !== 'patch' && m !== 'auto')) throw new Error('--modes takes put, patch and/or auto');
        options.modes = modes as WriteModeName[];
        break;
      }
      case '--no-baseline':
        options.baseline = false;
        break;
      case '--no-rate-limit':
        options.rateLimit = false;
        break;
      case '--rate-seconds':
        options.rateSeconds = list(next(), arg)[0] as number;
        break;
      case '--rate-clients':
        options.rateConcurrency = Math.max(1, list(next(), arg)[0] as number);
        break;
      case '--profile': {
        const who = next();
        if (who !== 'service' && who !== 'simulator' && who !== 'both') throw new Error('--profile takes service, simulator or both');
        options.profile = { service: who !== 'simulator', simulator: who !== 'service' };
        break;
      }
      case '--data-dir':
        options.dataParent = next();
        break;
      case '--render':
        options.renderOnly = true;
        break;
      case '--write':
        options.write = true;
        break;
      case '--no-write':
        options.write = false;
        break;
      case '--help':
      case '-h':
        process.stdout.write(`${HELP}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${arg}\n${HELP}`);
    }
  }
  if (options.sizes.length === 0) options.sizes = options.quick && options.filters.length === 0 ? [100, 1000] : [100, 1000, 10_000, 100_000];
  if (options.rateSeconds === 0) options.rateSeconds = options.quick ? 8 : 20;
  return options;
}

/** A full run: nothing filtered, nothing shortened. Only a full run replaces the committed results by default. */
function isFullRun(options: Options): boolean {
  return (
    !options.quick &&
    options.filters.length === 0 &&
    options.sizes.join() === '100,1000,10000,100000' &&
    options.latencies.join() === '0,20' &&
    options.baseline &&
    options.rateLimit &&
    !options.profile.service &&
    !options.profile.simulator &&
    options.dataParent === tmpdir() &&
    options.store === 'sqlite'
  );
}

// ---- scenarios -------------------------------------------------------------------------

interface Spec {
  readonly name: string;
  readonly size: number;
  readonly change: ChangeKind;
  readonly latencyMs: number;
}

function specName(size: number, change: ChangeKind, latencyMs: number): string {
  return `${size}-${change}-${latencyMs}ms`;
}

function planScenarios(options: Options): Spec[] {
  const specs: Spec[] = [];
  for (const size of options.sizes.toSorted((a, b) => a - b)) {
    for (const latencyMs of options.latencies) {
      const changes: ChangeKind[] = ['one', 'tenPct'];
      // The 2-second target is about a 1 % change to 100,000 members at 0 ms.
      if (size >= 100_000 && latencyMs === 0) changes.splice(1, 0, 'onePct');
      for (const change of changes) specs.push({ name: specName(size, change, latencyMs), size, change, latencyMs });
    }
  }
  return specs.filter((s) => options.filters.length === 0 || options.filters.some((f) => s.name.includes(f)));
}

interface Policy {
  readonly warmup: number;
  /** …and warm up for at least this long: a fresh process spends its first seconds compiling (on other threads, but in its CPU time). */
  readonly warmupMs: number;
  readonly minSyncs: number;
  readonly maxSyncs: number;
  /** Keep measuring until this much time has passed (and minSyncs are done). */
  readonly budgetMs: number;
  /** A first sync slower than this is the measurement itself (n = 1, no warm-up): a 60-second sync needs no JIT warm-up. */
  readonly heavyMs: number;
  /** Stop after this long whatever minSyncs says (at least one sync is measured). */
  readonly capMs: number;
}

function servicePolicy(size: number, quick: boolean): Policy {
  const heavy = quick ? { heavyMs: 4_000, capMs: 8_000, warmupMs: size >= 100_000 ? 0 : 500 } : { heavyMs: 10_000, capMs: 25_000, warmupMs: size >= 100_000 ? 0 : 1_500 };
  if (size >= 100_000) return { ...heavy, ...(quick ? { warmup: 1, minSyncs: 2, maxSyncs: 5, budgetMs: 2_000 } : { warmup: 1, minSyncs: 5, maxSyncs: 30, budgetMs: 8_000 }) };
  if (size >= 10_000) return { ...heavy, ...(quick ? { warmup: 2, minSyncs: 3, maxSyncs: 50, budgetMs: 1_500 } : { warmup: 2, minSyncs: 10, maxSyncs: 300, budgetMs: 4_000 }) };
  return { ...heavy, ...(quick ? { warmup: 3, minSyncs: 5, maxSyncs: 300, budgetMs: 1_500 } : { warmup: 5, minSyncs: 20, maxSyncs: 2_000, budgetMs: 4_000 }) };
}

// ---- run state -------------------------------------------------------------------------

const log = (line: string): void => {
  process.stderr.write(`[${((performance.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
};
const startedAt = performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Upstream {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly admin: SimulatorAdmin;
  readonly monitor: ProcMonitor;
}

interface RunningService {
  readonly child: Child;
  readonly client: ServiceClient;
  readonly monitor: ProcMonitor;
}

let serviceCpuMsTotal = 0;
/** The throwaway cluster of a --store postgres run. */
let postgresCluster: PostgresCluster | undefined;

function build(): void {
  rmSync(BUILD_ROOT, { recursive: true, force: true });
  mkdirSync(BUILD_ROOT, { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(BUILD_ROOT, 'package.json'));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', BUILD_DIR], { cwd: ROOT, encoding: 'utf8' });
  if (!existsSync(join(BUILD_DIR, 'main.js')) || !existsSync(join(BUILD_DIR, 'simulator', 'main.js'))) {
    throw new Error(`compiling src/ failed:\n${result.stdout}${result.stderr}`);
  }
  if (result.status !== 0) log(`warning: tsc reported errors (src/ is being edited?); benchmarking what it emitted:\n${result.stdout.slice(0, 2000)}`);
}

function profileArgs(enabled: boolean, name: string): string[] {
  if (!enabled) return [];
  mkdirSync(PROFILE_DIR, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${name}.cpuprofile`];
}

async function startService(upstream: Upstream, mode: WriteModeName, label: string, options: Options, dataDir: string, connections: number): Promise<RunningService> {
  const { child, baseUrl, token } = await startBenchService({
    name: `service (${label})`,
    cwd: ROOT,
    args: [...profileArgs(options.profile.service, `service-${label}`), join(BUILD_DIR, 'main.js')],
    upstream,
    env: {
      WRITE_MODE: mode,
      SCIM_BATCH_SIZE: String(BATCH_SIZE),
      PATCH_MAX_OPERATIONS: String(PATCH_MAX_OPERATIONS),
      DATA_DIR: dataDir,
      ...(postgresCluster === undefined ? {} : { STORE: 'postgres', DATABASE_URL: await createDatabase(postgresCluster.url, 'bench') }),
    },
  });
  return { child, client: new ServiceClient(baseUrl, token, connections), monitor: new ProcMonitor(child.pid) };
}

async function stopService(service: RunningService): Promise<void> {
  try {
    serviceCpuMsTotal += service.monitor.cpuMs();
  } catch {
    // already gone
  }
  await service.client.close();
  await stop(service.child);
}

/** Peak RSS over a stretch of work: VmHWM after a reset, or VmRSS sampled every 25 ms where the reset is refused. */
function peakTracker(monitor: ProcMonitor): { method: 'vmhwm-reset' | 'sampled'; finish(): number } {
  if (monitor.resetPeak()) return { method: 'vmhwm-reset', finish: () => monitor.memory().vmHwmKb / 1024 };
  let peak = monitor.memory().vmRssKb;
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, monitor.memory().vmRssKb);
    } catch {
      // the process ended
    }
  }, 25);
  return {
    method: 'sampled',
    finish: () => {
      clearInterval(timer);
      return Math.max(peak, monitor.memory().vmRssKb) / 1024;
    },
  };
}

// ---- one service scenario --------------------------------------------------------------

/** A load group and the membership it holds now (the last set a sync applied). */
interface GroupState {
  readonly id: string;
  readonly size: number;
  /** Every user created for the group: `size` members plus 10 % spare to swap in. */
  readonly pool: readonly string[];
  current: readonly string[];
}

/** Syncs of one scenario: each one swaps `changed` members of the current set for spare ones. */
class Workload {
  private body: { forIds: readonly string[]; ids: readonly string[]; text: string } | null = null;

  constructor(
    readonly group: GroupState,
    readonly changed: number,
  ) {}

  /** The next desired membership and its JSON body (serialised here, outside the timed request). */
  next(): { ids: readonly string[]; text: string } {
    if (this.body === null || this.body.forIds !== this.group.current) {
      const ids = swapMembers(this.group.current, this.group.pool, this.changed);
      this.body = { forIds: this.group.current, ids, text: syncBody(ids) };
    }
    return this.body;
  }

  /** The upstream now holds `ids`. */
  done(ids: readonly string[]): void {
    this.group.current = ids;
  }
}

/** A load group trimmed (untimed, straight to the simulator) from its whole pool to its first `size` users. */
async function newGroupState(upstream: Upstream, naive: NaiveSyncClient, group: LoadGroup, size: number): Promise<GroupState> {
  const current = group.userIds.slice(0, size);
  await upstream.admin.setFaults({ latencyMs: 0, rateLimit: null });
  await naive.replaceMembers(group.id, current);
  return { id: group.id, size, pool: group.userIds, current };
}

async function restoreGroup(upstream: Upstream, naive: NaiveSyncClient, group: GroupState): Promise<void> {
  const faults = await upstream.admin.faults();
  await upstream.admin.setFaults({ latencyMs: 0, rateLimit: null });
  await naive.replaceMembers(group.id, group.current);
  await upstream.admin.setFaults(faults);
}

function applied(answer: SyncAnswer): boolean {
  return answer.httpStatus === 200 && answer.status === 'applied';
}

function describeAnswer(answer: SyncAnswer): string {
  return answer.httpStatus === 200 ? `200 ${answer.status ?? '?'}` : `${answer.httpStatus} ${answer.error ?? ''}`.slice(0, 300);
}

async function serviceSync(service: RunningService, work: Workload): Promise<SyncAnswer> {
  const { ids, text } = work.next();
  const answer = await service.client.sync(work.group.id, text);
  // `unchanged` means the upstream already held it (an earlier answer was lost): move on too.
  if (answer.httpStatus === 200 && (answer.status === 'applied' || answer.status === 'unchanged')) work.done(ids);
  return answer;
}

interface Window {
  readonly stats: Awaited<ReturnType<SimulatorAdmin['stats']>>;
  readonly cpu: ReturnType<ProcMonitor['cpu']>;
  readonly simCpuMs: number;
  readonly at: number;
}

async function openWindow(upstream: Upstream, service: RunningService): Promise<Window> {
  return { stats: await upstream.admin.stats(), cpu: service.monitor.cpu(), simCpuMs: upstream.monitor.cpuMs(), at: performance.now() };
}

async function runServiceScenario(upstream: Upstream, service: RunningService, work: Workload, policy: Policy, mode: WriteModeName, naive: NaiveSyncClient): Promise<ServiceFigures> {
  const peak = peakTracker(service.monitor);
  let window = await openWindow(upstream, service);
  const answers: SyncAnswer[] = [];
  let note: string | null = null;
  const warmupStart = performance.now();
  for (let i = 0; i < policy.warmup || (performance.now() - warmupStart < policy.warmupMs && i < 500); i++) {
    const answer = await serviceSync(service, work);
    if (i === 0 && answer.ms > policy.heavyMs) {
      answers.push(answer);
      note = `one sync, no warm-up: it took over ${policy.heavyMs / 1000} s`;
      break;
    }
  }
  if (answers.length === 0) {
    window = await openWindow(upstream, service);
    for (;;) {
      answers.push(await serviceSync(service, work));
      const elapsed = performance.now() - window.at;
      const n = answers.length;
      if (n >= policy.maxSyncs || (elapsed >= policy.budgetMs && n >= policy.minSyncs) || elapsed >= policy.capMs) break;
    }
    if (answers.length < policy.minSyncs) note = `${answers.length} syncs: stopped after ${policy.capMs / 1000} s`;
  }
  const elapsed = performance.now() - window.at;
  const end = await openWindow(upstream, service);
  const peakRssMb = peak.finish();
  // A failed sync may have written part of its change (a PATCH sequence cut off by the
  // deadline): put the group back in the state the next scenario expects, untimed.
  if (answers.some((a) => !applied(a))) await restoreGroup(upstream, naive, work.group);
  const delta = statsDelta(window.stats, end.stats);
  const syncs = answers.length;
  const ok = answers.filter(applied);
  const failed = answers.filter((a) => !applied(a));
  const observedWriteMode = ok[0]?.writeMode ?? null;
  const reported = ok.reduce((sum, a) => sum + (a.upstreamRequests ?? 0), 0);
  const writes = writesFor((mode === 'auto' ? observedWriteMode : mode) === 'patch' ? 'patch' : 'put', 2 * work.changed, PATCH_MAX_OPERATIONS);
  return {
    syncs,
    failed: failed.length,
    firstError: failed[0] ? describeAnswer(failed[0]) : null,
    note,
    elapsedMs: roundTo(elapsed) as number,
    syncsPerSec: roundTo((syncs * 1000) / elapsed) as number,
    latencyMs: roundSummary(summarize(answers.map((a) => a.ms))),
    upstreamPerSync: roundTo(delta.total / syncs) as number,
    reportedUpstreamPerSync: ok.length === 0 ? 0 : (roundTo(reported / ok.length) as number),
    expectedUpstreamPerSync: expectedUpstreamRequests(work.changed, BATCH_SIZE, 0, writes),
    upstreamByRoute: delta.byRoute,
    cpuMsPerSync: roundTo((end.cpu.totalMs - window.cpu.totalMs) / syncs) as number,
    cpuSystemMsPerSync: roundTo((end.cpu.systemMs - window.cpu.systemMs) / syncs) as number,
    cpuMainThreadMsPerSync: roundTo((end.cpu.mainThreadMs - window.cpu.mainThreadMs) / syncs) as number,
    peakRssMb: roundTo(peakRssMb) as number,
    peakMethod: peak.method,
    simulatorCpuMsPerSync: roundTo((end.simCpuMs - window.simCpuMs) / syncs) as number,
    observedWriteMode,
  };
}

function roundSummary(s: ReturnType<typeof summarize>) {
  return { n: s.n, p50: roundTo(s.p50) as number, p99: roundTo(s.p99) as number, mean: roundTo(s.mean) as number, min: roundTo(s.min) as number, max: roundTo(s.max) as number };
}

// ---- baseline --------------------------------------------------------------------------

interface BaselineContext {
  readonly naive: NaiveSyncClient;
  /** Measured cost of one naive request at 0 ms simulator latency (ms), for the estimates. */
  perRequestMs: number;
  /** (size, latency) → the measurement reused for other change kinds. */
  readonly shared: Map<string, BaselineFigures>;
}

async function runBaseline(ctx: BaselineContext, upstream: Upstream, spec: Spec, work: Workload, quick: boolean): Promise<BaselineFigures> {
  const requests = spec.size + 3;
  const estimateMs = requests * (spec.latencyMs + ctx.perRequestMs);
  const [measureEach, measureOnce] = quick ? [1_500, 5_000] : [5_000, 35_000];
  const key = `${spec.size}@${spec.latencyMs}`;
  const estimate = `~${(estimateMs / 1000).toFixed(estimateMs < 10_000 ? 1 : 0)} s per sync`;
  if (estimateMs > measureOnce) {
    return { state: 'skipped', note: `${estimate}`, syncs: 0, elapsedMs: 0, syncsPerSec: null, latencyMs: null, upstreamPerSync: null, cpuMsPerSync: null, peakRssMb: null };
  }
  const reused = ctx.shared.get(key);
  if (reused) return { ...reused, state: 'reused', note: `from the 1-member scenario: the naive cost does not depend on the change` };

  const once = estimateMs > measureEach;
  const policy = once ? { warmup: 0, minSyncs: 1, maxSyncs: 1, budgetMs: 0 } : { warmup: estimateMs < 500 ? 2 : 1, minSyncs: 3, maxSyncs: 500, budgetMs: quick ? 1_500 : 5_000 };
  const naiveSync = async () => {
    const { ids } = work.next();
    const result = await ctx.naive.sync(work.group.id, ids);
    if (!result.written) throw new Error(`baseline: ${result.invalid} members refused in ${spec.name}`);
    work.done(ids);
    return result;
  };
  for (let i = 0; i < policy.warmup; i++) await naiveSync();

  const self = new ProcMonitor(process.pid);
  const peak = peakTracker(self);
  const before = await upstream.admin.stats();
  const cpu0 = process.cpuUsage();
  const latencies: number[] = [];
  const start = performance.now();
  let elapsed = 0;
  for (;;) {
    latencies.push((await naiveSync()).ms);
    elapsed = performance.now() - start;
    if (latencies.length >= policy.maxSyncs || (elapsed >= policy.budgetMs && latencies.length >= policy.minSyncs)) break;
  }
  const cpu = process.cpuUsage(cpu0);
  const peakRssMb = peak.finish();
  const delta = statsDelta(before, await upstream.admin.stats());
  const syncs = latencies.length;
  if (spec.latencyMs === 0) ctx.perRequestMs = elapsed / syncs / requests;
  const figures: BaselineFigures = {
    state: 'measured',
    note: once ? `one sync, ${estimate}` : null,
    syncs,
    elapsedMs: roundTo(elapsed) as number,
    syncsPerSec: roundTo((syncs * 1000) / elapsed),
    latencyMs: roundSummary(summarize(latencies)),
    upstreamPerSync: roundTo(delta.total / syncs),
    cpuMsPerSync: roundTo((cpu.user + cpu.system) / 1000 / syncs),
    peakRssMb: roundTo(peakRssMb),
  };
  if (once) ctx.shared.set(key, figures);
  return figures;
}

// ---- rate-limited upstream -------------------------------------------------------------

async function runRateLimited(
  upstream: Upstream,
  service: RunningService,
  works: readonly Workload[],
  mode: WriteModeName,
  options: Options,
): Promise<RateLimitResult> {
  const limit = 50;
  const settleMs = 3_000;
  const windowMs = options.rateSeconds * 1000;
  await upstream.admin.setFaults({ latencyMs: 0, rateLimit: null });
  for (const work of works) await serviceSync(service, work);
  await upstream.admin.setFaults({ rateLimit: { requestsPerSecond: limit } });

  const control = { stopping: false };
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  const inWindow: SyncAnswer[] = [];
  const loops = works.map(async (work) => {
    while (!control.stopping) {
      const sent = performance.now();
      const answer = await serviceSync(service, work);
      const done = performance.now();
      if (sent >= windowStart && done <= windowEnd) inWindow.push(answer);
    }
  });
  await sleep(settleMs);
  const before = await upstream.admin.stats();
  const peak = peakTracker(service.monitor);
  const cpu0 = service.monitor.cpuMs();
  windowStart = performance.now();
  await sleep(windowMs);
  const after = await upstream.admin.stats();
  windowEnd = performance.now();
  const cpuMs = service.monitor.cpuMs() - cpu0;
  const peakRssMb = peak.finish();
  control.stopping = true;
  const drained = await Promise.race([Promise.all(loops).then(() => true), sleep(90_000).then(() => false)]);
  if (!drained) log('warning: rate-limited syncs still running 90 s after the window; stopping the service');
  await upstream.admin.setFaults({ rateLimit: null });

  const delta = statsDelta(before, after);
  const elapsedS = (windowEnd - windowStart) / 1000;
  const rejected = delta.byStatus['429'] ?? 0;
  const completed = inWindow.filter(applied);
  const failed = inWindow.filter((a) => !applied(a));
  return {
    name: `ratelimit-${limit}rps`,
    writeMode: mode,
    limitPerSec: limit,
    concurrency: works.length,
    groupSize: works[0]?.group.size ?? 0,
    windowMs: Math.round(windowEnd - windowStart),
    upstreamRequests: delta.total,
    upstream429: rejected,
    offeredPerSec: roundTo(delta.total / elapsedS) as number,
    acceptedPerSec: roundTo((delta.total - rejected) / elapsedS) as number,
    shareOfLimit: roundTo((delta.total - rejected) / elapsedS / limit) as number,
    share429: delta.total === 0 ? 0 : (roundTo(rejected / delta.total) as number),
    syncsCompleted: completed.length,
    syncsFailed: failed.length,
    firstError: failed[0] ? describeAnswer(failed[0]) : null,
    syncsPerSec: roundTo(completed.length / elapsedS) as number,
    latencyMs: roundSummary(summarize(inWindow.map((a) => a.ms))),
    cpuMsPerSync: completed.length === 0 ? null : roundTo(cpuMs / completed.length),
    peakRssMb: roundTo(peakRssMb) as number,
    observedWriteMode: completed[0]?.writeMode ?? null,
  };
}

// ---- machine ---------------------------------------------------------------------------

/**
 * How fast this machine is right now: the median of 15 rounds of a fixed single-threaded
 * task shaped like the service's work (serialise, parse and key 20,000 members). Run at
 * the start and the end, so that runs on a shared VM whose host is busy can be compared:
 * the host's load does not show inside the VM.
 */
function calibrate(): number {
  const members = Array.from({ length: 20_000 }, (_, i) => ({ value: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, type: 'User', display: `Load User ${i}` }));
  const rounds: number[] = [];
  for (let round = 0; round < 15; round++) {
    const started = performance.now();
    const parsed = JSON.parse(JSON.stringify({ members })) as { members: { value: string; type: string }[] };
    const keys = new Set(parsed.members.map((m) => `${m.type}\u0000${m.value}`));
    if (keys.size !== members.length) throw new Error('calibration went wrong');
    rounds.push(performance.now() - started);
  }
  return summarize(rounds).p50;
}

const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

/** What was compiled: taken right before the build, since src/ may change while a run lasts. */
function gitInfo(): Record<string, unknown> {
  try {
    const commit = git('rev-parse', 'HEAD');
    const dirty = git('status', '--porcelain', '--', 'src').length > 0;
    // Identifies the uncommitted state of src/ that was measured (tracked files only).
    const diff = dirty ? createHash('sha256').update(git('diff', 'HEAD', '--', 'src')).digest('hex').slice(0, 12) : null;
    return { commit, dirty, srcDiffSha256: diff, builtAt: new Date().toISOString() };
  } catch {
    return { commit: 'unknown', dirty: null, srcDiffSha256: null, builtAt: new Date().toISOString() };
  }
}

function machineInfo(): Record<string, unknown> {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    totalMemoryMb: Math.round(totalmem() / 1024 / 1024),
    node: process.version,
    os: `${osType()} ${release()}`,
  };
}

// ---- main ------------------------------------------------------------------------------

/** The simulator process the whole run syncs against, with its demo client. */
async function startUpstream(options: Options): Promise<Upstream> {
  const clientId = 'bench-client';
  const clientSecret = randomBytes(18).toString('hex');
  const { child, match } = await startNode({
    name: 'simulator',
    cwd: ROOT,
    args: [...profileArgs(options.profile.simulator, 'simulator'), join(BUILD_DIR, 'simulator', 'main.js')],
    env: { SIMULATOR_PORT: '0', SIMULATOR_HOST: '127.0.0.1', SIM_SCIM_GROUPS: 'true', SIMULATOR_CLIENT_ID: clientId, SIMULATOR_CLIENT_SECRET: clientSecret, NODE_ENV: 'production' },
    readyLine: /listening on (http:\/\/127\.0\.0\.1:\d+)/,
  });
  const url = (match as RegExpMatchArray)[1] as string;
  log(`simulator pid ${child.pid} at ${url}`);
  return { url, clientId, clientSecret, admin: new SimulatorAdmin(url), monitor: new ProcMonitor(child.pid) };
}

/** Which write modes can be measured: a mode the service refuses, or does not honour, is skipped with a note. */
class ModeBook {
  readonly modes: ModeAvailability[];
  constructor(modes: readonly WriteModeName[]) {
    this.modes = modes.map((mode) => ({ mode, available: true, note: null }));
  }
  available(mode: WriteModeName): boolean {
    return this.modes.find((m) => m.mode === mode)?.available ?? false;
  }
  skip(mode: WriteModeName, note: string): void {
    const index = this.modes.findIndex((m) => m.mode === mode);
    this.modes[index] = { mode, available: false, note };
  }
  measured(): WriteModeName[] {
    return this.modes.filter((m) => m.available).map((m) => m.mode);
  }
}

/** What every part of a run shares. */
interface RunContext {
  readonly options: Options;
  readonly upstream: Upstream;
  readonly dataDir: string;
  readonly baseline: BaselineContext;
  readonly modes: ModeBook;
}

/** The scenarios of one group size: a load group, then each write mode on a fresh service, then the baseline. */
async function runSize(ctx: RunContext, size: number, ofSize: readonly Spec[]): Promise<ScenarioResult[]> {
  const { options, upstream, modes } = ctx;
  const pool = size + changedCount('tenPct', size);
  const t = performance.now();
  const group = await upstream.admin.createGroup(`bench ${size}`, pool);
  log(`group of ${size.toLocaleString('en-US')} members (+${pool - size} spare users) created in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const state = await newGroupState(upstream, ctx.baseline.naive, group, size);
  const works = new Map(ofSize.map((spec) => [spec.name, new Workload(state, changedCount(spec.change, size))]));
  const serviceFigures = new Map<string, ServiceFigures>();
  for (const mode of options.modes) {
    if (modes.available(mode)) await runServiceScenarios(ctx, mode, size, ofSize, works, serviceFigures);
  }
  const baselines = new Map<string, BaselineFigures | null>();
  for (const spec of ofSize) {
    if (!options.baseline) {
      baselines.set(spec.name, null);
      continue;
    }
    await upstream.admin.setFaults({ latencyMs: spec.latencyMs, rateLimit: null });
    const b = await runBaseline(ctx.baseline, upstream, spec, works.get(spec.name) as Workload, options.quick);
    baselines.set(spec.name, b);
    log(`${scenarioLabel(spec).padEnd(40)} base  ${b.state === 'skipped' ? `skipped: ${b.note}` : `${b.syncsPerSec} syncs/s  p50 ${b.latencyMs?.p50} ms  ${b.upstreamPerSync} req/sync  ${b.state}`}`);
  }
  const scenarios: ScenarioResult[] = [];
  for (const mode of options.modes) {
    for (const spec of ofSize) {
      const service = serviceFigures.get(`${mode} ${spec.name}`);
      if (service === undefined || !modes.available(mode)) continue;
      const baseline = baselines.get(spec.name) ?? null;
      scenarios.push({ ...spec, changed: changedCount(spec.change, spec.size), writeMode: mode, service, baseline, ratios: ratiosOf(service, baseline) });
    }
  }
  return scenarios;
}

/** One write mode's scenarios of one size, on one fresh service process; figures go into `into`, keyed `${mode} ${spec.name}`. */
async function runServiceScenarios(ctx: RunContext, mode: WriteModeName, size: number, ofSize: readonly Spec[], works: ReadonlyMap<string, Workload>, into: Map<string, ServiceFigures>): Promise<void> {
  const { options, upstream, modes } = ctx;
  let service: RunningService;
  try {
    service = await startService(upstream, mode, `${mode}-${size}`, options, ctx.dataDir, 1);
  } catch (error) {
    const line = (error instanceof Error ? error.message : String(error)).split('\n').find((l) => /error|WRITE_MODE/i.test(l)) ?? String(error);
    modes.skip(mode, `the service did not start: ${line.slice(0, 300)}`);
    log(`WRITE_MODE=${mode}: ${line}`);
    return;
  }
  try {
    for (const spec of ofSize) {
      await upstream.admin.setFaults({ latencyMs: spec.latencyMs, rateLimit: null });
      const v = await runServiceScenario(upstream, service, works.get(spec.name) as Workload, servicePolicy(size, options.quick), mode, ctx.baseline.naive);
      const writes = Object.keys(v.upstreamByRoute).filter((r) => r === 'PUT Groups' || r === 'PATCH Groups');
      if (mode === 'patch' && (v.observedWriteMode === 'put' || (writes.length > 0 && !writes.includes('PATCH Groups')))) {
        modes.skip(mode, `WRITE_MODE=patch is accepted, but the service still writes with PUT (answers say writeMode ${String(v.observedWriteMode)}; upstream saw ${writes.join(', ')})`);
        log(`WRITE_MODE=patch is not in effect yet: skipping it`);
        break;
      }
      into.set(`${mode} ${spec.name}`, v);
      log(
        `${scenarioLabel(spec).padEnd(40)} ${mode.padEnd(5)} ${String(v.syncsPerSec).padStart(7)} syncs/s  p50 ${String(v.latencyMs.p50).padStart(7)} ms  p99 ${String(v.latencyMs.p99).padStart(7)} ms  ` +
          `${v.upstreamPerSync} req/sync (reported ${v.reportedUpstreamPerSync}, formula ${v.expectedUpstreamPerSync})  CPU ${v.cpuMsPerSync} ms/sync (main thread ${v.cpuMainThreadMsPerSync}, kernel ${v.cpuSystemMsPerSync}; simulator ${v.simulatorCpuMsPerSync})  RSS ${v.peakRssMb} MB` +
          (v.failed > 0 ? `  FAILED ${v.failed}: ${v.firstError}` : ''),
      );
    }
  } finally {
    await stopService(service);
  }
}

/** The rate-limited scenario: several clients, one group each, against a simulator that answers 429 over its limit. */
async function runRateScenarios(ctx: RunContext): Promise<RateLimitResult[]> {
  const { options, upstream, modes } = ctx;
  const groupSize = 1000;
  const works: Workload[] = [];
  for (let i = 0; i < options.rateConcurrency; i++) {
    const group = await upstream.admin.createGroup(`bench rate ${i}`, groupSize + 1);
    works.push(new Workload(await newGroupState(upstream, ctx.baseline.naive, group, groupSize), 1));
  }
  const results: RateLimitResult[] = [];
  for (const mode of options.modes) {
    if (!modes.available(mode)) continue;
    const service = await startService(upstream, mode, `${mode}-ratelimit`, options, ctx.dataDir, options.rateConcurrency);
    try {
      const r = await runRateLimited(upstream, service, works, mode, options);
      if (mode === 'patch' && r.observedWriteMode === 'put') {
        modes.skip(mode, 'WRITE_MODE=patch is accepted, but the service still writes with PUT');
        continue;
      }
      results.push(r);
      log(
        `rate limit ${r.limitPerSec}/s, ${r.concurrency} clients, ${mode}: ${r.acceptedPerSec} accepted req/s (${roundTo(r.shareOfLimit * 100)}% of the limit), ` +
          `${r.upstream429}/${r.upstreamRequests} answered 429 (${roundTo(r.share429 * 100)}%), ${r.syncsPerSec} syncs/s, ${r.syncsFailed} syncs failed` +
          (r.firstError ? ` (${r.firstError})` : ''),
      );
    } finally {
      await stopService(service);
    }
  }
  return results;
}

/** The machine before the run: to tell afterwards how busy it was with work that is not ours (other engineers' tests). */
function machineAtStart() {
  return { wallStart: Date.now(), calibration: calibrate(), sys: systemCpu(), load: loadavg(), benchCpu: process.cpuUsage() };
}

function machineAfter(start: ReturnType<typeof machineAtStart>, simCpuMs: number): { machine: Record<string, unknown>; elapsedMs: number } {
  const sys1 = systemCpu();
  const benchCpu = process.cpuUsage(start.benchCpu);
  const elapsedMs = Date.now() - start.wallStart;
  const cores = availableParallelism();
  const busyMs = ((sys1.busy - start.sys.busy) * 1000) / clockTicksPerSecond();
  const oursMs = serviceCpuMsTotal + simCpuMs + (benchCpu.user + benchCpu.system) / 1000;
  const foreignShare = Math.max(0, (busyMs - oursMs) / (elapsedMs * cores));
  const load0 = start.load;
  const load1 = loadavg();
  const calibration0 = start.calibration;
  const calibration1 = calibrate();
  const machine = {
    ...machineInfo(),
    load: {
      loadavg1mStart: roundTo(load0[0] as number),
      loadavg1mEnd: roundTo(load1[0] as number),
      foreignCpuShare: roundTo(foreignShare, 2),
      busyCpuShare: roundTo(busyMs / (elapsedMs * cores), 2),
      calibrationMsStart: roundTo(calibration0),
      calibrationMsEnd: roundTo(calibration1),
    },
    loadNote:
      `other processes used ${Math.round(foreignShare * 100)}% of the ${cores} cores during the run (load average ${load0[0]?.toFixed(2)} at start, ${load1[0]?.toFixed(2)} at end); ` +
      `calibration task ${roundTo(calibration0)} ms at start, ${roundTo(calibration1)} ms at end (lower is a faster machine; it varies with the VM host's load)`,
  };
  return { machine, elapsedMs };
}

function runSettings(options: Options): BenchResults['settings'] {
  return {
    scimBatchSize: BATCH_SIZE,
    patchMaxOperations: PATCH_MAX_OPERATIONS,
    dataDir: `a fresh directory under ${options.dataParent}`,
    store: options.store === 'postgres' ? 'STORE=postgres: PostgreSQL from Debian\'s binaries on 127.0.0.1 (fsync and synchronous commit on, like SQLite with synchronous=FULL), a fresh database per service process' : 'STORE=sqlite (DATA_DIR)',
    serviceProcess: 'node bench/.build/src/main.js (tsc output of src/), LOG_LEVEL=warn, NODE_ENV=production, INBOUND_RATE_LIMIT=0, other settings at their defaults; a fresh process per write mode and group size',
    simulatorProcess: 'node bench/.build/src/simulator/main.js, one process for the whole run',
    client: 'undici Pool, one connection; syncs one after another on one group (rate-limited: one client per group)',
    peakRss: 'VmHWM of the service, reset per scenario through /proc/<pid>/clear_refs (falls back to VmRSS sampled every 25 ms)',
    cpu: 'utime + stime of the service from /proc/<pid>/stat over the measured syncs (warm-up excluded), divided by the syncs',
    upstreamPerSync: 'SCIM and OAuth requests counted by the simulator over the measured syncs, divided by the syncs',
    quick: options.quick,
    filters: options.filters,
  };
}

/** A run: compile, start the simulator, measure each size and the rate-limited scenario, then report and write the results. */
async function main(options: Options): Promise<void> {
  const specs = planScenarios(options);
  const wantRate = options.rateLimit && (options.filters.length === 0 || options.filters.some((f) => 'ratelimit-50rps'.includes(f)));
  if (specs.length === 0 && !wantRate) throw new Error('no scenario matches the filters');
  const full = isFullRun(options);
  const write = options.write ?? full;
  const start = machineAtStart();

  log('compiling src/ into bench/.build');
  const source = gitInfo();
  build();

  if (options.store === 'postgres') {
    const bin = findPostgresBinaries();
    if (bin === undefined) throw new Error('--store postgres: no initdb and pg_ctl on PATH or in /usr/lib/postgresql/*/bin (install Debian\'s postgresql)');
    postgresCluster = await startPostgresCluster(bin, { durable: true });
    log(`PostgreSQL cluster (${postgresCluster.version}) on 127.0.0.1:${postgresCluster.port}`);
  }
  const upstream = await startUpstream(options);
  const dataDir = mkdtempSync(join(options.dataParent, 'cxone-bench-'));
  const ctx: RunContext = {
    options,
    upstream,
    dataDir,
    baseline: { naive: new NaiveSyncClient(upstream.url, upstream.clientId, upstream.clientSecret), perRequestMs: 0.3, shared: new Map() },
    modes: new ModeBook(options.modes),
  };
  const scenarios: ScenarioResult[] = [];
  let rateLimited: RateLimitResult[] = [];
  let simCpuMs = 0;
  try {
    for (const size of [...new Set(specs.map((s) => s.size))].toSorted((a, b) => a - b)) {
      scenarios.push(...(await runSize(ctx, size, specs.filter((s) => s.size === size))));
    }
    if (wantRate) rateLimited = await runRateScenarios(ctx);
    simCpuMs = upstream.monitor.cpuMs();
  } finally {
    await ctx.baseline.naive.close();
    await upstream.admin.close();
    await stopAll();
    rmSync(dataDir, { recursive: true, force: true });
    postgresCluster?.stop();
    postgresCluster = undefined;
  }

  const { machine, elapsedMs } = machineAfter(start, simCpuMs);
  const measuredModes = ctx.modes.measured();
  const results: BenchResults = {
    schema: 1,
    generatedAt: new Date().toISOString(),
    complete: full,
    machine,
    source,
    settings: runSettings(options),
    writeModes: ctx.modes.modes,
    scenarios,
    rateLimited,
    targets: checkTargets(scenarios, rateLimited, measuredModes),
    durationSeconds: Math.round(elapsedMs / 1000),
  };

  printReport(results, measuredModes);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const jsonPath = join(RESULTS_DIR, write ? 'latest.json' : 'dev.json');
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${jsonPath.slice(ROOT.length + 1)}`);
  if (write) writeReadme(results);
}

function printReport(results: BenchResults, modes: readonly WriteModeName[]): void {
  const out: string[] = [];
  const m = results.machine;
  out.push('', `Machine: ${String(m.cpuModel)}, ${String(m.cores)} cores, Node ${String(m.node)}; ${String(m.loadNote)}`, '');
  for (const w of results.writeModes) if (w.note) out.push(`WRITE_MODE=${w.mode}: ${w.note}`);
  out.push('', 'Scenarios (× base = service ÷ baseline):', textTable(SCENARIO_COLUMNS, scenarioRows(results.scenarios)));
  if (modes.length > 1) {
    const cmp = modeComparison(results.scenarios, modes);
    out.push('', 'Write modes side by side:', textTable(cmp.columns, cmp.rows));
  }
  if (results.rateLimited.length > 0) out.push('', 'Rate-limited upstream:', textTable(RATE_COLUMNS, rateRows(results.rateLimited)));
  const baselines = baselineRows(results.scenarios);
  if (baselines.length > 0) out.push('', 'Baseline (naive client):', textTable(BASELINE_COLUMNS, baselines));
  out.push('', 'Targets:', textTable(TARGET_COLUMNS, targetRows(results.targets).map((r) => r.map((c) => c.replaceAll('**', '')))), '');
  process.stdout.write(`${out.join('\n')}\n`);
}

// ---- process hygiene -------------------------------------------------------------------

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping the simulator and the service`);
    void stopAll().finally(() => {
      postgresCluster?.stop();
      process.exit(130);
    });
  });
}
process.on('exit', killAllNow);

function render(): void {
  const results = JSON.parse(readFileSync(join(RESULTS_DIR, 'latest.json'), 'utf8')) as BenchResults;
  printReport(results, results.writeModes.filter((m) => m.available).map((m) => m.mode));
  writeReadme(results);
}

function writeReadme(results: BenchResults): void {
  const readmePath = join(BENCH_DIR, 'README.md');
  const readme = existsSync(readmePath) ? readFileSync(readmePath, 'utf8') : '# Benchmark\n';
  writeFileSync(readmePath, replaceGeneratedSection(readme, markdownSection(results)));
  log('updated the results section of bench/README.md');
}

let options: Options;
try {
  options = parseOptions(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}
if (options.renderOnly) {
  render();
  process.exit(0);
}
main(options).then(
  () => process.exit(0),
  async (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    await stopAll();
    postgresCluster?.stop();
    process.exit(1);
  },
);
