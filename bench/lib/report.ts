/**
 * What a run produces: the result types (the shape of bench/results/latest.json), the
 * ratios to the baseline, the target checks, and the tables for stdout and bench/README.md.
 * Pure functions of the figures, so that test/bench can check them.
 */
import { CHANGE_LABEL, ratio, round, type ChangeKind, type LatencySummary } from './stats.js';

export type WriteModeName = 'put' | 'patch' | 'auto';

export interface ServiceFigures {
  readonly syncs: number;
  /** Syncs that did not answer 200 `applied`. */
  readonly failed: number;
  readonly firstError: string | null;
  /** Why fewer syncs were measured than the policy asks for, if so. */
  readonly note: string | null;
  readonly elapsedMs: number;
  readonly syncsPerSec: number;
  readonly latencyMs: LatencySummary;
  /** SCIM and OAuth requests the simulator counted, per sync (includes the attribute read-back). */
  readonly upstreamPerSync: number;
  /** `upstreamRequests` of the sync answers, per sync (the sync's own requests). */
  readonly reportedUpstreamPerSync: number;
  /** 2 + ceil(added users / batch size): the project's formula. */
  readonly expectedUpstreamPerSync: number;
  readonly upstreamByRoute: Readonly<Record<string, number>>;
  readonly cpuMsPerSync: number;
  /** The kernel's share of cpuMsPerSync (stime: syscalls, fsync, network stack). */
  readonly cpuSystemMsPerSync: number;
  /** The main thread's share of cpuMsPerSync (JavaScript); the rest is GC, compiler and libuv threads. */
  readonly cpuMainThreadMsPerSync: number;
  readonly peakRssMb: number;
  /** How the peak was taken: VmHWM reset per scenario, or VmRSS sampled. */
  readonly peakMethod: 'vmhwm-reset' | 'sampled';
  readonly simulatorCpuMsPerSync: number;
  /** The write mode the answers report (null: the service does not say). */
  readonly observedWriteMode: string | null;
}

export interface BaselineFigures {
  readonly state: 'measured' | 'reused' | 'skipped';
  /** Why it was reused or skipped. */
  readonly note: string | null;
  readonly syncs: number;
  readonly elapsedMs: number;
  readonly syncsPerSec: number | null;
  readonly latencyMs: LatencySummary | null;
  readonly upstreamPerSync: number | null;
  /** CPU of the benchmark process while it ran the naive client. */
  readonly cpuMsPerSync: number | null;
  /** Peak RSS of the benchmark process (an upper bound for the naive client). */
  readonly peakRssMb: number | null;
}

export interface Ratios {
  readonly syncsPerSec: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly upstreamPerSync: number | null;
  readonly cpuMsPerSync: number | null;
  readonly peakRssMb: number | null;
}

export interface ScenarioResult {
  readonly name: string;
  readonly size: number;
  readonly change: ChangeKind;
  /** Members added (and as many removed) by each sync. */
  readonly changed: number;
  readonly latencyMs: number;
  readonly writeMode: WriteModeName;
  readonly service: ServiceFigures;
  readonly baseline: BaselineFigures | null;
  /** service ÷ baseline, figure by figure. */
  readonly ratios: Ratios;
}

export interface RateLimitResult {
  readonly name: string;
  readonly writeMode: WriteModeName;
  readonly limitPerSec: number;
  readonly concurrency: number;
  readonly groupSize: number;
  readonly windowMs: number;
  readonly upstreamRequests: number;
  readonly upstream429: number;
  /** All upstream requests per second, 429s included. */
  readonly offeredPerSec: number;
  /** Requests per second the upstream accepted (not 429). */
  readonly acceptedPerSec: number;
  /** acceptedPerSec ÷ limit. */
  readonly shareOfLimit: number;
  /** upstream429 ÷ upstreamRequests. */
  readonly share429: number;
  readonly syncsCompleted: number;
  readonly syncsFailed: number;
  readonly firstError: string | null;
  readonly syncsPerSec: number;
  readonly latencyMs: LatencySummary;
  readonly cpuMsPerSync: number | null;
  readonly peakRssMb: number;
  readonly observedWriteMode: string | null;
}

export interface TargetCheck {
  readonly id: string;
  readonly target: string;
  readonly writeMode: WriteModeName;
  /** null: not measured in this run. */
  readonly met: boolean | null;
  readonly figure: string;
}

export interface ModeAvailability {
  readonly mode: WriteModeName;
  readonly available: boolean;
  readonly note: string | null;
}

export interface BenchResults {
  readonly schema: 1;
  readonly generatedAt: string;
  readonly complete: boolean;
  readonly machine: Readonly<Record<string, unknown>>;
  readonly source: Readonly<Record<string, unknown>>;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly writeModes: readonly ModeAvailability[];
  readonly scenarios: readonly ScenarioResult[];
  readonly rateLimited: readonly RateLimitResult[];
  readonly targets: readonly TargetCheck[];
  readonly durationSeconds: number;
}

export function ratiosOf(service: ServiceFigures, baseline: BaselineFigures | null): Ratios {
  const b = baseline !== null && baseline.state !== 'skipped' ? baseline : null;
  return {
    syncsPerSec: round(ratio(service.syncsPerSec, b?.syncsPerSec)),
    p50: round(ratio(service.latencyMs.p50, b?.latencyMs?.p50)),
    p99: round(ratio(service.latencyMs.p99, b?.latencyMs?.p99)),
    upstreamPerSync: round(ratio(service.upstreamPerSync, b?.upstreamPerSync)),
    cpuMsPerSync: round(ratio(service.cpuMsPerSync, b?.cpuMsPerSync)),
    peakRssMb: round(ratio(service.peakRssMb, b?.peakRssMb)),
  };
}

// ---- targets ---------------------------------------------------------------------------

const find = (scenarios: readonly ScenarioResult[], mode: WriteModeName, size: number, change: ChangeKind, latencyMs: number) =>
  scenarios.find((s) => s.writeMode === mode && s.size === size && s.change === change && s.latencyMs === latencyMs);

const ms = (value: number): string => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));

export function checkTargets(scenarios: readonly ScenarioResult[], rateLimited: readonly RateLimitResult[], modes: readonly WriteModeName[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const mode of modes) {
    const ofMode = scenarios.filter((s) => s.writeMode === mode);

    // 1. Upstream requests per sync follow the formula; a 1-member change to 100,000 costs ≤ 4.
    {
      const id = 'upstream-formula';
      const target = 'upstream requests per sync = 2 + ceil(added users / batch size) + depth lookups; 1-member change to 100,000 members ≤ 4';
      // Scenarios where no sync succeeded report nothing to compare; their failures show in the tables.
      const off = ofMode.filter((s) => s.service.syncs > s.service.failed && s.service.reportedUpstreamPerSync !== s.service.expectedUpstreamPerSync);
      const big = find(scenarios, mode, 100_000, 'one', 0) ?? find(scenarios, mode, 100_000, 'one', 20);
      if (ofMode.length === 0) checks.push({ id, target, writeMode: mode, met: null, figure: 'not measured' });
      else {
        const parts = [
          off.length === 0
            ? `reported = formula in all ${ofMode.filter((s) => s.service.syncs > s.service.failed).length} scenarios with a successful sync`
            : `reported ≠ formula in ${off.length}: ${off.map((s) => `${s.name} ${s.service.reportedUpstreamPerSync} vs ${s.service.expectedUpstreamPerSync}`).join(', ')}`,
        ];
        if (big) parts.push(`100,000 members, 1 changed: ${round(big.service.upstreamPerSync)} requests counted upstream (${big.service.reportedUpstreamPerSync} reported by the sync)`);
        else parts.push('100,000-member scenario not run');
        const met = off.length === 0 && (big === undefined ? null : big.service.upstreamPerSync <= 4);
        checks.push({ id, target, writeMode: mode, met: big === undefined && off.length === 0 ? null : met, figure: parts.join('; ') });
      }
    }

    // 2. 100,000 members, 1 % change, 0 ms: under 2 s end to end, peak RSS under 300 MB.
    {
      const id = '100k-1pct-under-2s';
      const target = '100,000 members, 1% change, 0 ms latency: sync under 2 s end to end (median), service peak RSS under 300 MB';
      const s = find(scenarios, mode, 100_000, 'onePct', 0);
      if (!s || s.service.syncs === 0) checks.push({ id, target, writeMode: mode, met: null, figure: 'not measured' });
      else {
        const met = s.service.failed === 0 && s.service.latencyMs.p50 < 2000 && s.service.peakRssMb < 300;
        const figure = `p50 ${ms(s.service.latencyMs.p50)} ms (max ${ms(s.service.latencyMs.max)} ms, n=${s.service.syncs}), peak RSS ${round(s.service.peakRssMb)} MB`;
        checks.push({ id, target, writeMode: mode, met, figure });
      }
    }

    // 3. CPU per sync, 1,000 members, one change: under 3 ms.
    {
      const id = '1k-cpu-under-3ms';
      const target = 'service CPU per sync, 1,000 members, 1 member changed: under 3 ms';
      const s = find(scenarios, mode, 1000, 'one', 0) ?? find(scenarios, mode, 1000, 'one', 20);
      if (!s || s.service.syncs === 0) checks.push({ id, target, writeMode: mode, met: null, figure: 'not measured' });
      else {
        const other = find(scenarios, mode, 1000, 'one', s.latencyMs === 0 ? 20 : 0);
        const figure = `${ms(s.service.cpuMsPerSync)} ms at ${s.latencyMs} ms latency${other ? ` (${ms(other.service.cpuMsPerSync)} ms at ${other.latencyMs} ms)` : ''}`;
        checks.push({ id, target, writeMode: mode, met: s.service.cpuMsPerSync < 3, figure });
      }
    }

    // 4. Against 50 requests/s: accepted rate ≥ 90 % of the limit, under 1 % answered 429.
    {
      const id = 'rate-limit-90pct';
      const target = 'against a 50 requests/s upstream limit: sustained rate ≥ 90% of the limit, under 1% of requests answered 429';
      const r = rateLimited.find((x) => x.writeMode === mode);
      if (!r) checks.push({ id, target, writeMode: mode, met: null, figure: 'not measured' });
      else {
        const met = r.shareOfLimit >= 0.9 && r.share429 < 0.01;
        const figure = `${round(r.acceptedPerSec)} accepted requests/s = ${round(r.shareOfLimit * 100)}% of ${r.limitPerSec}; ${r.upstream429} of ${r.upstreamRequests} requests answered 429 (${round(r.share429 * 100)}%)`;
        checks.push({ id, target, writeMode: mode, met, figure });
      }
    }

    // 5. 1,000 members at 20 ms: at least 20× the baseline's syncs/s.
    {
      const id = '1k-20ms-20x-baseline';
      const target = '1,000 members, 20 ms latency: at least 20× the baseline syncs/s';
      const s = find(scenarios, mode, 1000, 'one', 20);
      if (!s || s.ratios.syncsPerSec === null) checks.push({ id, target, writeMode: mode, met: null, figure: s ? 'baseline not measured' : 'not measured' });
      else {
        const tenth = find(scenarios, mode, 1000, 'tenPct', 20);
        const figure =
          `${round(s.service.syncsPerSec)} vs ${round(s.baseline?.syncsPerSec ?? null)} syncs/s = ${round(s.ratios.syncsPerSec)}×` +
          (tenth?.ratios.syncsPerSec ? ` (10% changed: ${round(tenth.ratios.syncsPerSec)}×)` : '');
        checks.push({ id, target, writeMode: mode, met: s.ratios.syncsPerSec >= 20, figure });
      }
    }
  }
  return checks;
}

// ---- tables ----------------------------------------------------------------------------

function num(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const r = round(value, digits) as number;
  return Math.abs(r) >= 10_000 ? r.toLocaleString('en-US', { maximumFractionDigits: 0 }) : String(r);
}

function times(value: number | null): string {
  return value === null ? '—' : `${num(value)}×`;
}

export function scenarioLabel(s: Pick<ScenarioResult, 'size' | 'change' | 'latencyMs'>): string {
  return `${s.size.toLocaleString('en-US')} members, ${CHANGE_LABEL[s.change]} changed, ${s.latencyMs} ms`;
}

export const SCENARIO_COLUMNS = [
  'scenario',
  'mode',
  'syncs/s',
  '× base',
  'p50 ms',
  '× base',
  'p99 ms',
  '× base',
  'upstream req/sync',
  '× base',
  'CPU ms/sync',
  '× base',
  'peak RSS MB',
  '× base',
];

export function scenarioRows(scenarios: readonly ScenarioResult[]): string[][] {
  return scenarios.map((s) => {
    const v = s.service;
    return [
      scenarioLabel(s) + (v.failed > 0 ? ` (${v.failed} of ${v.syncs} failed: ${(v.firstError ?? '').split(':')[0]})` : ''),
      s.writeMode + (v.observedWriteMode !== null && v.observedWriteMode !== s.writeMode ? ` (wrote ${v.observedWriteMode})` : ''),
      num(v.syncsPerSec),
      times(s.ratios.syncsPerSec),
      num(v.latencyMs.p50),
      times(s.ratios.p50),
      num(v.latencyMs.p99),
      times(s.ratios.p99),
      num(v.upstreamPerSync),
      times(s.ratios.upstreamPerSync),
      num(v.cpuMsPerSync),
      times(s.ratios.cpuMsPerSync),
      num(v.peakRssMb),
      times(s.ratios.peakRssMb),
    ];
  });
}

export const BASELINE_COLUMNS = ['scenario', 'baseline', 'syncs', 'syncs/s', 'p50 ms', 'p99 ms', 'upstream req/sync', 'client CPU ms/sync', 'peak RSS MB'];

/** One row per distinct baseline measurement (the baseline does not depend on the write mode). */
export function baselineRows(scenarios: readonly ScenarioResult[]): string[][] {
  const seen = new Set<string>();
  const rows: string[][] = [];
  for (const s of scenarios) {
    const b = s.baseline;
    if (b === null || seen.has(s.name)) continue;
    seen.add(s.name);
    rows.push([
      scenarioLabel(s),
      b.state + (b.note ? ` (${b.note})` : ''),
      String(b.syncs),
      num(b.syncsPerSec),
      num(b.latencyMs?.p50),
      num(b.latencyMs?.p99),
      num(b.upstreamPerSync),
      num(b.cpuMsPerSync),
      num(b.peakRssMb),
    ]);
  }
  return rows;
}

export const DETAIL_COLUMNS = [
  'scenario',
  'mode',
  'syncs',
  'failed',
  'upstream counted',
  'reported',
  'formula',
  'CPU ms/sync: main thread',
  'kernel',
  'simulator CPU ms/sync',
  'upstream requests by route (per sync)',
];

export function detailRows(scenarios: readonly ScenarioResult[]): string[][] {
  return scenarios.map((s) => {
    const v = s.service;
    const routes = Object.entries(v.upstreamByRoute)
      .map(([route, count]) => `${route} ${num(count / Math.max(1, v.syncs))}`)
      .join(', ');
    return [
      scenarioLabel(s),
      s.writeMode,
      String(v.syncs),
      String(v.failed),
      num(v.upstreamPerSync),
      num(v.reportedUpstreamPerSync),
      String(v.expectedUpstreamPerSync),
      num(v.cpuMainThreadMsPerSync),
      num(v.cpuSystemMsPerSync),
      num(v.simulatorCpuMsPerSync),
      routes,
    ];
  });
}

export const RATE_COLUMNS = ['mode', 'limit/s', 'clients', 'window s', 'accepted req/s', '% of limit', 'offered req/s', '429s', '% 429', 'syncs/s', 'failed syncs', 'p50 ms', 'p99 ms'];

export function rateRows(results: readonly RateLimitResult[]): string[][] {
  return results.map((r) => [
    r.writeMode,
    String(r.limitPerSec),
    String(r.concurrency),
    num(r.windowMs / 1000),
    num(r.acceptedPerSec),
    num(r.shareOfLimit * 100),
    num(r.offeredPerSec),
    String(r.upstream429),
    num(r.share429 * 100),
    num(r.syncsPerSec),
    String(r.syncsFailed),
    num(r.latencyMs.p50),
    num(r.latencyMs.p99),
  ]);
}

/** Write modes side by side: one row per scenario, put and patch columns next to each other. */
export function modeComparison(scenarios: readonly ScenarioResult[], modes: readonly WriteModeName[]): { columns: string[]; rows: string[][] } {
  const columns = ['scenario'];
  for (const metric of ['syncs/s', 'p50 ms', 'upstream req/sync', 'CPU ms/sync']) for (const mode of modes) columns.push(`${metric} ${mode}`);
  const names = [...new Set(scenarios.map((s) => s.name))];
  const rows = names.map((name) => {
    const first = scenarios.find((s) => s.name === name) as ScenarioResult;
    const row = [scenarioLabel(first)];
    const pick = (mode: WriteModeName) => scenarios.find((s) => s.name === name && s.writeMode === mode)?.service;
    for (const metric of ['syncsPerSec', 'p50', 'upstreamPerSync', 'cpuMsPerSync'] as const) {
      for (const mode of modes) {
        const v = pick(mode);
        row.push(v === undefined ? '—' : num(metric === 'p50' ? v.latencyMs.p50 : v[metric]));
      }
    }
    return row;
  });
  return { columns, rows };
}

const escape = (cell: string) => cell.replaceAll('|', '\\|');

/** A figure: digits with separators, a unit sign or a dash; such columns are right-aligned. */
const FIGURE = /^[-+]?[\d.,]*[\d—][\d.,]*[×%]?$|^—$/;

export function markdownTable(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  const numeric = columns.map((_, i) => i > 0 && rows.length > 0 && rows.every((row) => FIGURE.test(row[i] ?? '')));
  const lines = [`| ${columns.map(escape).join(' | ')} |`, `|${numeric.map((right) => (right ? '---:' : '---')).join('|')}|`];
  for (const row of rows) lines.push(`| ${row.map(escape).join(' | ')} |`);
  return lines.join('\n');
}

export function textTable(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number))).join('  ');
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function targetRows(targets: readonly TargetCheck[]): string[][] {
  return targets.map((t) => [t.target, t.writeMode, t.met === null ? 'not measured' : t.met ? 'met' : '**not met**', t.figure]);
}

export const TARGET_COLUMNS = ['target', 'mode', 'result', 'figure'];

export const README_START = '<!-- bench:results:start (generated by npm run bench; edit outside these markers) -->';
export const README_END = '<!-- bench:results:end -->';

/** Replaces the generated section of bench/README.md (or appends it when the markers are missing). */
export function replaceGeneratedSection(readme: string, section: string): string {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  const block = `${README_START}\n${section.trim()}\n${README_END}`;
  if (start < 0 || end < start) return `${readme.trimEnd()}\n\n${block}\n`;
  return readme.slice(0, start) + block + readme.slice(end + README_END.length);
}

export function markdownSection(results: BenchResults): string {
  const m = results.machine;
  const modes = results.writeModes.filter((w) => w.available).map((w) => w.mode);
  const parts: string[] = [];
  parts.push(
    `Run of ${results.generatedAt.slice(0, 16).replace('T', ' ')} UTC, ${results.durationSeconds} s` +
      `${results.complete ? '' : ' (**partial run**: filtered scenarios)'}. ` +
      `Machine: ${String(m.cpuModel)}, ${String(m.cores)} cores, ${String(m.totalMemoryMb)} MB, Node ${String(m.node)}, ${String(m.os)}. ` +
      `Load: ${String(m.loadNote)}. Source: ${String(results.source.commit).slice(0, 7)}${results.source.dirty ? ` plus uncommitted changes in src/ (diff ${String(results.source.srcDiffSha256)})` : ''}, compiled at the start of the run.`,
  );
  for (const w of results.writeModes) if (!w.available || w.note) parts.push(`- WRITE_MODE=${w.mode}: ${w.available ? '' : 'not measured: '}${w.note ?? ''}`);
  parts.push('### Targets', markdownTable(TARGET_COLUMNS, targetRows(results.targets)));
  parts.push(
    '### Scenarios',
    '`× base` is the service figure divided by the baseline figure for the same scenario (for syncs/s higher is better, for the others lower).',
    markdownTable(SCENARIO_COLUMNS, scenarioRows(results.scenarios)),
  );
  if (modes.length > 1) {
    const cmp = modeComparison(results.scenarios, modes);
    parts.push('### Write modes side by side', markdownTable(cmp.columns, cmp.rows));
  }
  parts.push('### Rate-limited upstream', markdownTable(RATE_COLUMNS, rateRows(results.rateLimited)));
  parts.push('### Baseline (naive client, in the benchmark process)', markdownTable(BASELINE_COLUMNS, baselineRows(results.scenarios)));
  parts.push(
    '### In detail',
    'Upstream requests as the simulator counted them and as the syncs reported them, the formula, the service CPU split (main thread = JavaScript; kernel = system time of all threads), and the simulator CPU.',
    markdownTable(DETAIL_COLUMNS, detailRows(results.scenarios)),
  );
  return parts.join('\n\n');
}
