import { describe, expect, it } from 'vitest';
import {
  README_END,
  README_START,
  checkTargets,
  markdownTable,
  modeComparison,
  ratiosOf,
  replaceGeneratedSection,
  scenarioRows,
  type BaselineFigures,
  type RateLimitResult,
  type ScenarioResult,
  type ServiceFigures,
  type WriteModeName,
} from '../../bench/lib/report.js';
import type { ChangeKind } from '../../bench/lib/stats.js';

function service(overrides: Partial<ServiceFigures> = {}): ServiceFigures {
  return {
    syncs: 10,
    failed: 0,
    firstError: null,
    note: null,
    elapsedMs: 1000,
    syncsPerSec: 10,
    latencyMs: { n: 10, p50: 100, p99: 120, mean: 100, min: 90, max: 120 },
    upstreamPerSync: 4,
    reportedUpstreamPerSync: 3,
    expectedUpstreamPerSync: 3,
    upstreamByRoute: { 'GET Groups': 20, 'PUT Groups': 10 },
    cpuMsPerSync: 2,
    cpuSystemMsPerSync: 0.5,
    cpuMainThreadMsPerSync: 1.5,
    peakRssMb: 150,
    peakMethod: 'vmhwm-reset',
    simulatorCpuMsPerSync: 1,
    observedWriteMode: 'put',
    ...overrides,
  };
}

function baseline(overrides: Partial<BaselineFigures> = {}): BaselineFigures {
  return {
    state: 'measured',
    note: null,
    syncs: 2,
    elapsedMs: 40_000,
    syncsPerSec: 0.05,
    latencyMs: { n: 2, p50: 20_000, p99: 20_100, mean: 20_050, min: 20_000, max: 20_100 },
    upstreamPerSync: 1003,
    cpuMsPerSync: 100,
    peakRssMb: 100,
    ...overrides,
  };
}

function scenario(size: number, change: ChangeKind, latencyMs: number, writeMode: WriteModeName, s: ServiceFigures, b: BaselineFigures | null): ScenarioResult {
  return { name: `${size}-${change}-${latencyMs}ms`, size, change, changed: 1, latencyMs, writeMode, service: s, baseline: b, ratios: ratiosOf(s, b) };
}

function rate(overrides: Partial<RateLimitResult> = {}): RateLimitResult {
  return {
    name: 'ratelimit-50rps',
    writeMode: 'put',
    limitPerSec: 50,
    concurrency: 4,
    groupSize: 1000,
    windowMs: 20_000,
    upstreamRequests: 1000,
    upstream429: 5,
    offeredPerSec: 50,
    acceptedPerSec: 49.75,
    shareOfLimit: 0.995,
    share429: 0.005,
    syncsCompleted: 240,
    syncsFailed: 0,
    firstError: null,
    syncsPerSec: 12,
    latencyMs: { n: 240, p50: 300, p99: 500, mean: 320, min: 100, max: 520 },
    cpuMsPerSync: 3,
    peakRssMb: 140,
    observedWriteMode: 'put',
    ...overrides,
  };
}

describe('bench ratios to the baseline', () => {
  it('when the baseline was measured, then every figure is service ÷ baseline', () => {
    const r = ratiosOf(service(), baseline());
    expect(r).toEqual({ syncsPerSec: 200, p50: 0.005, p99: 0.00597, upstreamPerSync: 0.00399, cpuMsPerSync: 0.02, peakRssMb: 1.5 });
  });

  it('when the baseline was skipped or is absent, then every ratio is null', () => {
    const skipped = baseline({ state: 'skipped', syncsPerSec: null, latencyMs: null, upstreamPerSync: null, cpuMsPerSync: null, peakRssMb: null });
    expect(Object.values(ratiosOf(service(), skipped)).every((v) => v === null)).toBe(true);
    expect(Object.values(ratiosOf(service(), null)).every((v) => v === null)).toBe(true);
  });
});

describe('bench targets', () => {
  const all = (mode: WriteModeName, s: Partial<ServiceFigures> = {}) => [
    scenario(1000, 'one', 0, mode, service({ cpuMsPerSync: 2.5, ...s }), baseline({ syncsPerSec: 5 })),
    scenario(1000, 'one', 20, mode, service({ syncsPerSec: 10, ...s }), baseline()),
    scenario(100_000, 'one', 0, mode, service({ upstreamPerSync: 4, ...s }), null),
    scenario(100_000, 'onePct', 0, mode, service({ latencyMs: { n: 5, p50: 1500, p99: 1900, mean: 1600, min: 1400, max: 1900 }, peakRssMb: 280, ...s }), null),
  ];

  it('when every figure is within its target, then every target is met', () => {
    const checks = checkTargets(all('put'), [rate()], ['put']);
    expect(checks.map((c) => [c.id, c.met])).toEqual([
      ['upstream-formula', true],
      ['100k-1pct-under-2s', true],
      ['1k-cpu-under-3ms', true],
      ['rate-limit-90pct', true],
      ['1k-20ms-20x-baseline', true],
    ]);
    expect(checks[4]?.figure).toContain('200×');
  });

  it('when figures miss, then the targets are not met and the figure says by how much', () => {
    const scenarios = all('put', { cpuMsPerSync: 9.3, peakRssMb: 450, reportedUpstreamPerSync: 5 });
    const checks = checkTargets(scenarios, [rate({ share429: 0.2, upstream429: 200, shareOfLimit: 0.6, acceptedPerSec: 30 })], ['put']);
    expect(checks.filter((c) => c.met === false).map((c) => c.id)).toEqual(['upstream-formula', '100k-1pct-under-2s', '1k-cpu-under-3ms', 'rate-limit-90pct']);
    expect(checks.find((c) => c.id === '1k-cpu-under-3ms')?.figure).toContain('9.30 ms');
    expect(checks.find((c) => c.id === 'upstream-formula')?.figure).toContain('5 vs 3');
    expect(checks.find((c) => c.id === 'rate-limit-90pct')?.figure).toContain('200 of 1000');
  });

  it('when no sync of a scenario succeeded, then it is left out of the formula check and its row says why', () => {
    const timedOut = scenario(100_000, 'tenPct', 20, 'patch', service({ syncs: 1, failed: 1, firstError: '504 upstream_timeout: the sync did not finish', reportedUpstreamPerSync: 0, expectedUpstreamPerSync: 401 }), null);
    const checks = checkTargets([...all('patch'), timedOut], [], ['patch']);
    expect(checks.find((c) => c.id === 'upstream-formula')?.met).toBe(true);
    expect(scenarioRows([timedOut])[0]?.[0]).toBe('100,000 members, 10% changed, 20 ms (1 of 1 failed: 504 upstream_timeout)');
  });

  it('when a scenario was not run, then its target is not measured rather than failed', () => {
    const checks = checkTargets([], [], ['put', 'patch']);
    expect(checks).toHaveLength(10);
    expect(checks.every((c) => c.met === null)).toBe(true);
  });
});

describe('bench markdown', () => {
  it('when the README has the markers, then only the section between them is replaced', () => {
    const readme = `# Bench\n\nintro\n\n${README_START}\nold\n${README_END}\n\n## Findings\nkept\n`;
    const next = replaceGeneratedSection(readme, 'new table');
    expect(next).toBe(`# Bench\n\nintro\n\n${README_START}\nnew table\n${README_END}\n\n## Findings\nkept\n`);
    expect(replaceGeneratedSection(next, 'newer')).toContain(`${README_START}\nnewer\n${README_END}`);
  });

  it('when the README has no markers, then the section is appended', () => {
    expect(replaceGeneratedSection('# Bench\n', 'table')).toBe(`# Bench\n\n${README_START}\ntable\n${README_END}\n`);
  });

  it('when cells hold pipes, then they are escaped; columns of figures are right-aligned, text left', () => {
    expect(markdownTable(['a', 'b', 'c'], [['x|y', '1,234', 'met'], ['z', '0.5×', 'not met']])).toBe(
      '| a | b | c |\n|---|---:|---|\n| x\\|y | 1,234 | met |\n| z | 0.5× | not met |',
    );
    expect(markdownTable(['a', 'b'], [['x', '—']])).toBe('| a | b |\n|---|---:|\n| x | — |');
  });

  it('when two modes ran, then the comparison puts their figures side by side', () => {
    const put = scenario(100, 'one', 0, 'put', service({ syncsPerSec: 100 }), null);
    const patch = scenario(100, 'one', 0, 'patch', service({ syncsPerSec: 150 }), null);
    const { columns, rows } = modeComparison([put, patch], ['put', 'patch']);
    expect(columns.slice(0, 3)).toEqual(['scenario', 'syncs/s put', 'syncs/s patch']);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.slice(1, 3)).toEqual(['100', '150']);
  });
});
