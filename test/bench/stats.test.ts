import { describe, expect, it } from 'vitest';
import {
  acdUpstreamFormula,
  changedCount,
  expectedUpstreamRequests,
  parseProcStat,
  parseProcStatus,
  parseSystemStat,
  percentile,
  ratio,
  round,
  summarize,
  swapMembers,
  writesFor,
} from '../../bench/lib/stats.js';

describe('bench percentiles', () => {
  it('when samples are sorted, then the percentile is the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
  });

  it('when there are no samples, then the percentile is NaN; a p outside 0..100 throws', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });

  it('when samples come unsorted, then summarize sorts them and reports p50, p99, mean, min and max', () => {
    const samples = [5, 1, 4, 2, 3];
    expect(summarize(samples)).toEqual({ n: 5, p50: 3, p99: 5, mean: 3, min: 1, max: 5 });
    expect(samples).toEqual([5, 1, 4, 2, 3]);
    expect(summarize([]).n).toBe(0);
  });
});

describe('bench ratios and rounding', () => {
  it('when both figures exist, then the ratio is value ÷ baseline', () => {
    expect(ratio(30, 1.5)).toBe(20);
    expect(ratio(1, 4)).toBe(0.25);
  });

  it('when a figure is missing, zero or not finite, then the ratio is null', () => {
    expect(ratio(1, null)).toBeNull();
    expect(ratio(undefined, 1)).toBeNull();
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(Number.NaN, 1)).toBeNull();
    expect(ratio(1, Number.POSITIVE_INFINITY)).toBeNull();
  });

  it('when figures are rounded, then three significant digits are kept', () => {
    expect(round(1234.567)).toBe(1235);
    expect(round(12.3456)).toBe(12.3);
    expect(round(0.0123456)).toBe(0.0123);
    expect(round(0)).toBe(0);
    expect(round(null)).toBeNull();
    expect(round(Number.NaN)).toBeNull();
  });
});

describe('bench /proc parsing', () => {
  it('when a stat line is read, then utime and stime are fields 14 and 15, even with spaces and parentheses in comm', () => {
    const line = '4242 (node (worker) x) S 1 4242 4242 0 -1 4194304 51078 0 0 0 812 134 0 0 20 0 11 0 264198 1215463424 58960 18446744073709551615 1 1 0 0 0 0 0 16781312 17922 0 0 0 17 1 0 0 0 0 0';
    expect(parseProcStat(line)).toEqual({ ticks: 946, utimeTicks: 812, stimeTicks: 134 });
  });

  it('when a stat line is malformed, then parsing throws', () => {
    expect(() => parseProcStat('garbage')).toThrow(/no "\)"/);
    expect(() => parseProcStat('1 (x) S 1')).toThrow(/utime/);
  });

  it('when a status file is read, then VmHWM and VmRSS come out in kB', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1200000 kB\nVmHWM:\t  236092 kB\nVmRSS:\t   40892 kB\nThreads:\t7\n';
    expect(parseProcStatus(status)).toEqual({ vmHwmKb: 236092, vmRssKb: 40892 });
    expect(() => parseProcStatus('Name:\tnode\n')).toThrow(/VmHWM/);
  });

  it('when /proc/stat is read, then busy excludes idle and iowait', () => {
    const stat = 'cpu  100 5 50 1000 20 3 2 10 0 0\ncpu0 50 2 25 500 10 1 1 5 0 0\nintr 1\n';
    expect(parseSystemStat(stat)).toEqual({ busy: 170, total: 1190 });
  });
});

describe('bench upstream formula', () => {
  it('when users are added, then a PUT sync costs 2 + ceil(added / batch) + depth lookups', () => {
    expect(expectedUpstreamRequests(1, 50)).toBe(3);
    expect(expectedUpstreamRequests(50, 50)).toBe(3);
    expect(expectedUpstreamRequests(51, 50)).toBe(4);
    expect(expectedUpstreamRequests(10_000, 50)).toBe(202);
    expect(expectedUpstreamRequests(0, 50, 2)).toBe(4);
    expect(() => expectedUpstreamRequests(1, 0)).toThrow(RangeError);
  });

  it('when the write is a PATCH, then each patchMaxOperations changes cost one request', () => {
    expect(writesFor('put', 20_000, 100)).toBe(1);
    expect(writesFor('patch', 2, 100)).toBe(1);
    expect(writesFor('patch', 200, 100)).toBe(2);
    expect(writesFor('patch', 201, 100)).toBe(3);
    expect(expectedUpstreamRequests(1000, 50, 0, writesFor('patch', 2000, 100))).toBe(41);
  });

  it('when an ACD group is synced, then it costs 2 + max(1, ceil(N / page)) + ceil(a / batch) + ceil(r / batch) before verification', () => {
    const at = (members: number, added: number, removed: number) => acdUpstreamFormula({ members, added, removed, page: 1000, batch: 1000 });
    expect(at(0, 1, 0)).toBe(4);
    expect(at(1000, 1, 1)).toBe(5);
    expect(at(10_000, 1, 1)).toBe(14);
    expect(at(10_000, 1000, 1000)).toBe(14);
    expect(at(10_000, 1001, 0)).toBe(14);
    expect(at(10_001, 0, 0)).toBe(13);
  });
});

describe('bench workload', () => {
  const pool = ['a', 'b', 'c', 'd', 'e', 'f'];

  it('when members are swapped, then the last ones leave and the first spare users join, keeping the size', () => {
    expect(swapMembers(['a', 'b', 'c', 'd'], pool, 1)).toEqual(['a', 'b', 'c', 'e']);
    expect(swapMembers(['a', 'b', 'c', 'd'], pool, 2)).toEqual(['a', 'b', 'e', 'f']);
    expect(swapMembers(['a', 'b', 'c', 'e'], pool, 1)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('when consecutive syncs swap, then each one changes exactly `changed` members', () => {
    let current = pool.slice(0, 4);
    for (let i = 0; i < 5; i++) {
      const next = swapMembers(current, pool, 2);
      expect(next).toHaveLength(4);
      expect(next.filter((id) => !current.includes(id))).toHaveLength(2);
      current = next;
    }
  });

  it('when the pool has too few spare users or changed is out of range, then it throws', () => {
    expect(() => swapMembers(['a', 'b', 'c', 'd'], pool, 3)).toThrow(/pool/);
    expect(() => swapMembers(['a'], pool, 0)).toThrow(RangeError);
    expect(() => swapMembers(['a'], pool, 2)).toThrow(RangeError);
  });

  it('when a change kind is named, then it is 1 member, 1 % or 10 % of the group, at least 1', () => {
    expect(changedCount('one', 100_000)).toBe(1);
    expect(changedCount('onePct', 100_000)).toBe(1000);
    expect(changedCount('tenPct', 1000)).toBe(100);
    expect(changedCount('onePct', 10)).toBe(1);
  });
});
