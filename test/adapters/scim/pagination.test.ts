import { describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../src/core/errors.js';
import { paginate } from '../../../src/adapters/scim/pagination.js';
import type { ListPage } from '../../../src/adapters/scim/scim-resources.js';

const items = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ({ id: `r${from + i}` }));

/** A provider holding `all`, serving at most `cap` per page, reporting totalResults as `total(actual)`. */
function provider(all: { id: string }[], total: (n: number) => number | undefined = (n) => n, cap = Infinity) {
  const calls: [number, number][] = [];
  const fetchPage = async (startIndex: number, count: number): Promise<ListPage> => {
    calls.push([startIndex, count]);
    return { resources: all.slice(startIndex - 1, startIndex - 1 + Math.min(count, cap)), totalResults: total(all.length) };
  };
  return { calls, fetchPage };
}

async function collect(fetchPage: (s: number, c: number) => Promise<ListPage>, pageSize = 10, maxPages = 100) {
  const out: unknown[] = [];
  for await (const page of paginate(fetchPage, { pageSize, maxPages, what: 'SCIM GET /Groups' })) out.push(...page);
  return out;
}

describe('SCIM pagination', () => {
  it('when totalResults is honest, then it stops once all are collected', async () => {
    const { calls, fetchPage } = provider(items(1, 25));
    expect(await collect(fetchPage)).toHaveLength(25);
    expect(calls).toEqual([
      [1, 10],
      [11, 10],
      [21, 10],
    ]);
  });

  it('when totalResults is too high, then an empty page ends the list', async () => {
    const { calls, fetchPage } = provider(items(1, 15), () => 1000);
    expect(await collect(fetchPage)).toHaveLength(15);
    expect(calls).toHaveLength(3);
  });

  it('when totalResults is too low, then everything the pages held is kept and no more is asked', async () => {
    const { calls, fetchPage } = provider(items(1, 8), () => 3);
    expect(await collect(fetchPage)).toHaveLength(8);
    expect(calls).toHaveLength(1);
  });

  it('when the provider caps the page size below count, then it keeps paging by what it got', async () => {
    const { calls, fetchPage } = provider(items(1, 12), undefined, 5);
    expect(await collect(fetchPage)).toHaveLength(12);
    expect(calls.map(([start]) => start)).toEqual([1, 6, 11]);
  });

  it('when totalResults is missing, then a short page ends the list', async () => {
    const { calls, fetchPage } = provider(items(1, 14), () => undefined);
    expect(await collect(fetchPage)).toHaveLength(14);
    expect(calls).toHaveLength(2);
  });

  it('when the provider ignores startIndex and repeats a page, then it stops instead of looping', async () => {
    expect(await collect(async () => ({ resources: items(1, 10), totalResults: 50 }))).toHaveLength(10);
  });

  it('when pages never end, then the hard cap throws an UpstreamError', async () => {
    let n = 0;
    const fetchPage = async (): Promise<ListPage> => {
      n += 1;
      return { resources: items(n * 10, n * 10 + 9), totalResults: 1e9 };
    };
    const error = await collect(fetchPage, 10, 7).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(n).toBe(7);
  });
});
