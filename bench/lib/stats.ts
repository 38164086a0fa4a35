/**
 * The harness's pure arithmetic: percentiles, ratios to the baseline, /proc parsing and
 * the expected upstream cost. No I/O here, so that test/bench can check it without timing.
 */

export interface LatencySummary {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly min: number;
  readonly max: number;
}

/**
 * Nearest-rank percentile (the smallest sample with at least p % of the samples at or
 * below it). `sorted` must be ascending. NaN for no samples.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be from 0 to 100, got ${p}`);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = samples.toSorted((a, b) => a - b);
  const n = sorted.length;
  const sum = sorted.reduce((acc, x) => acc + x, 0);
  return {
    n,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: n === 0 ? Number.NaN : sum / n,
    min: n === 0 ? Number.NaN : (sorted[0] as number),
    max: n === 0 ? Number.NaN : (sorted[n - 1] as number),
  };
}

/** value / baseline, or null when either is missing, not finite, or the baseline is 0. */
export function ratio(value: number | null | undefined, baseline: number | null | undefined): number | null {
  if (value === null || value === undefined || baseline === null || baseline === undefined) return null;
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline === 0) return null;
  return value / baseline;
}

/** Rounds for the JSON: a few significant digits are all the noise of this machine allows. */
export function round(value: number | null, digits = 3): number | null {
  if (value === null || !Number.isFinite(value)) return null;
  if (value === 0) return 0;
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  return Number(value.toFixed(Math.min(decimals, 6)));
}

export interface ProcCpu {
  /** utime + stime, in clock ticks (getconf CLK_TCK). */
  readonly ticks: number;
  readonly utimeTicks: number;
  readonly stimeTicks: number;
}

/**
 * /proc/<pid>/stat (proc(5)): fields after the parenthesised comm, which may itself hold
 * spaces and parentheses, so the split starts after the last ')'. utime is field 14 and
 * stime field 15 (1-based, counting pid as 1).
 */
export function parseProcStat(text: string): ProcCpu {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/<pid>/stat line: no ")"');
  // After ") " come field 3 (state) onwards.
  const fields = text.slice(close + 2).trim().split(/\s+/);
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('not a /proc/<pid>/stat line: utime/stime missing');
  return { ticks: utime + stime, utimeTicks: utime, stimeTicks: stime };
}

export interface ProcMemory {
  /** Peak resident set size since start or since the last `echo 5 > clear_refs`, in kB. */
  readonly vmHwmKb: number;
  readonly vmRssKb: number;
}

/** VmHWM and VmRSS of /proc/<pid>/status (kB). */
export function parseProcStatus(text: string): ProcMemory {
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s*(\\d+)\\s*kB`, 'm').exec(text);
    if (match === null) throw new Error(`/proc/<pid>/status has no ${name}`);
    return Number(match[1]);
  };
  return { vmHwmKb: field('VmHWM'), vmRssKb: field('VmRSS') };
}

export interface SystemCpu {
  /** Jiffies spent not idle (user, nice, system, irq, softirq, steal), all CPUs. */
  readonly busy: number;
  readonly total: number;
}

/** The aggregate `cpu` line of /proc/stat. */
export function parseSystemStat(text: string): SystemCpu {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) throw new Error('/proc/stat has no aggregate cpu line');
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const values = [user, nice, system, idle, iowait, irq, softirq, steal].map((v) => v ?? 0);
  const [u, n, s, i, w, q, sq, st] = values as [number, number, number, number, number, number, number, number];
  const busy = u + n + s + q + sq + st;
  return { busy, total: busy + i + w };
}

/**
 * Upstream requests a sync should cost by the project's own formula: one GET of the group,
 * one filtered lookup per `batchSize` added users, the depth-check lookups (none when only
 * users are added) and the writes: one PUT, or with WRITE_MODE=patch one PATCH per
 * `patchMaxOperations` member changes (see `writesFor`).
 */
export function expectedUpstreamRequests(addedUsers: number, batchSize: number, depthLookups = 0, writes = 1): number {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive integer');
  return 1 + writes + Math.ceil(addedUsers / batchSize) + depthLookups;
}

/** Write requests of one sync: 1 PUT, or ceil(changes / patchMaxOperations) PATCHes. */
export function writesFor(mode: 'put' | 'patch', changes: number, patchMaxOperations: number): number {
  return mode === 'put' ? 1 : Math.max(1, Math.ceil(changes / patchMaxOperations));
}

/**
 * The next membership for a scenario: `current` with its last `changed` members swapped for
 * the first `changed` users of `pool` that it does not hold. Each sync of a scenario thus
 * adds `changed` and removes `changed` members, whatever the previous scenario left behind,
 * and the group keeps its size.
 */
export function swapMembers(current: readonly string[], pool: readonly string[], changed: number): string[] {
  if (!Number.isInteger(changed) || changed < 1 || changed > current.length) throw new RangeError(`changed must be from 1 to ${current.length}, got ${changed}`);
  const held = new Set(current);
  const incoming: string[] = [];
  for (const id of pool) {
    if (incoming.length === changed) break;
    if (!held.has(id)) incoming.push(id);
  }
  if (incoming.length < changed) throw new RangeError(`the pool has ${incoming.length} users outside the group, ${changed} needed`);
  return [...current.slice(0, current.length - changed), ...incoming];
}

/** Members changed per sync for a change kind: 1, 1 % or 10 % of the group (at least 1). */
export function changedCount(kind: ChangeKind, size: number): number {
  if (kind === 'one') return 1;
  return Math.max(1, Math.round(size * (kind === 'onePct' ? 0.01 : 0.1)));
}

export type ChangeKind = 'one' | 'onePct' | 'tenPct';

export const CHANGE_LABEL: Record<ChangeKind, string> = { one: '1 member', onePct: '1%', tenPct: '10%' };

/**
 * Upstream requests of one acd-groups sync before its verification reads: the group
 * (`GET /groups/{id}`) with its members and again just before writing, the member pages,
 * then the remove and add batches. Token and agent-map requests are shared by all syncs
 * and not counted here.
 */
export function acdUpstreamFormula(input: { readonly members: number; readonly added: number; readonly removed: number; readonly page: number; readonly batch: number }): number {
  const { members, added, removed, page, batch } = input;
  return 2 + Math.max(1, Math.ceil(members / page)) + Math.ceil(added / batch) + Math.ceil(removed / batch);
}
