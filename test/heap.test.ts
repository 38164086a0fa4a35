import { afterEach, describe, expect, it, vi } from 'vitest';

const setFlagsFromString = vi.fn<(flags: string) => void>();
vi.mock('node:v8', () => ({ setFlagsFromString }));
const { HEAP_GROWING_PERCENT, heapGrowingPercent, tuneHeapGrowth } = await import('../src/process/heap.js');

describe('heap growth at start', () => {
  afterEach(() => setFlagsFromString.mockClear());

  it('when the process was started without its own setting, then V8 is told to let the heap grow to 1.5 times what survived', () => {
    expect(tuneHeapGrowth([], undefined)).toBe(HEAP_GROWING_PERCENT);
    expect(tuneHeapGrowth(['--enable-source-maps'], '--max-old-space-size=2048')).toBe(50);
    expect(setFlagsFromString.mock.calls).toEqual([['--heap-growing-percent=50'], ['--heap-growing-percent=50']]);
  });

  it('when a node flag or NODE_OPTIONS sets it, then that setting is kept', () => {
    expect(heapGrowingPercent(['--heap-growing-percent=20'], undefined)).toBeNull();
    expect(heapGrowingPercent([], '--inspect  --heap_growing_percent=300')).toBeNull();
    expect(tuneHeapGrowth(['--heap-growing-percent', '20'], '')).toBeNull();
    expect(setFlagsFromString).not.toHaveBeenCalled();
    expect(heapGrowingPercent([], '--heap-growing-percentage-of-nothing=1')).toBe(50);
  });
});
