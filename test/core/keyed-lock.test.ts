import { describe, expect, it } from 'vitest';
import { KeyedLock, QueueFullError } from '../../src/core/keyed-lock.js';

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

describe('KeyedLock queue bound and cancellation', () => {
  /** A unit that runs until released. */
  function blocker(lock: KeyedLock, key = 'k') {
    let release!: () => void;
    const done = lock.run(key, () => new Promise<void>((resolve) => (release = resolve)));
    return { done, release: () => release() };
  }

  it('when maxWaiting units already wait, then one more is refused at once with QueueFullError, and room frees as they go', async () => {
    const lock = new KeyedLock(2);
    const first = blocker(lock);
    const order: string[] = [];
    const queued = [lock.run('k', async () => void order.push('a')), lock.run('k', async () => void order.push('b'))];
    await lock.whenWaiting('k', 2);
    await expect(lock.run('k', async () => 'c')).rejects.toBeInstanceOf(QueueFullError);
    await expect(lock.run('other', async () => 'free')).resolves.toBe('free');
    expect(lock.pending).toBe(3);
    first.release();
    await Promise.all([first.done, ...queued]);
    expect(order).toEqual(['a', 'b']);
    await expect(lock.run('k', async () => 'again')).resolves.toBe('again');
    expect(lock.pending).toBe(0);
  });

  it('when a waiting unit is aborted, then it leaves the queue with the abort reason, its work never runs, and the others keep their order', async () => {
    const lock = new KeyedLock(5);
    const first = blocker(lock);
    const ran: string[] = [];
    const controller = new AbortController();
    const gone = lock.run('k', async () => void ran.push('gone'), controller.signal);
    const kept = lock.run('k', async () => void ran.push('kept'));
    await lock.whenWaiting('k', 2);
    const reason = new Error('caller left');
    controller.abort(reason);
    await expect(gone).rejects.toBe(reason);
    expect(lock.waiting('k')).toBe(1);
    first.release();
    await Promise.all([first.done, kept]);
    expect(ran).toEqual(['kept']);
  });

  it('when the signal is aborted before the unit arrives, then it does not run', async () => {
    const lock = new KeyedLock();
    const reason = new Error('too late');
    await expect(lock.run('k', async () => 'ran', AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(lock.pending).toBe(0);
  });

  it('when maxWaiting is 0, then a unit for a busy key is refused and a free key runs', async () => {
    const lock = new KeyedLock(0);
    const first = blocker(lock);
    await expect(lock.run('k', async () => 'x')).rejects.toMatchObject({ name: 'QueueFullError', maxWaiting: 0 });
    first.release();
    await first.done;
    await expect(lock.run('k', async () => 'y')).resolves.toBe('y');
  });
});
