import { describe, expect, it } from 'vitest';
import { KeyedLock } from '../../src/core/keyed-lock.js';

describe('KeyedLock', () => {
  it('when work for one key overlaps, then it runs one at a time in arrival order', async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    const gates: Array<() => void> = [];
    const job = (name: string) =>
      lock.run('k', async () => {
        order.push(`start ${name}`);
        await new Promise<void>((resolve) => gates.push(resolve));
        order.push(`end ${name}`);
      });
    const all = Promise.all([job('a'), job('b'), job('c')]);
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      gates.shift()?.();
    }
    await all;
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(lock.pending).toBe(0);
  });

  it('when work fails, then the next one still runs', async () => {
    const lock = new KeyedLock();
    const failed = lock.run('k', async () => {
      throw new Error('x');
    });
    const next = lock.run('k', async () => 'ok');
    await expect(failed).rejects.toThrow('x');
    await expect(next).resolves.toBe('ok');
  });

  it('when keys differ, then work runs in parallel', async () => {
    const lock = new KeyedLock();
    let release!: () => void;
    const blocked = lock.run('a', () => new Promise<void>((resolve) => (release = resolve)));
    await expect(lock.run('b', async () => 'free')).resolves.toBe('free');
    release();
    await blocked;
  });
});
