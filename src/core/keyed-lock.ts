/**
 * A FIFO mutex per key: work for one key runs one at a time, in the order it arrived;
 * different keys run in parallel. At most `maxWaiting` units wait per key behind the one
 * running; one more is refused at once (QueueFullError) rather than queued without end.
 * A unit whose signal aborts while it waits leaves the queue at once. Entries are dropped
 * when their queue empties.
 */

/** The queue of a key is full: `maxWaiting` units already wait behind the one running. */
export class QueueFullError extends Error {
  constructor(
    readonly key: string,
    readonly maxWaiting: number,
  ) {
    super(`${maxWaiting} units already wait for ${JSON.stringify(key)}`);
    this.name = 'QueueFullError';
  }
}

interface Waiter {
  readonly start: () => void;
}

interface Queue {
  readonly waiting: Waiter[];
}

interface Watch {
  readonly key: string;
  readonly count: number;
  readonly resolve: () => void;
}

export class KeyedLock {
  /** A key is in here while a unit for it runs; its waiters queue behind that unit. */
  private readonly queues = new Map<string, Queue>();
  private readonly watches = new Set<Watch>();
  private readonly listeners = new Set<{ readonly key: string; readonly listener: (count: number) => void }>();
  private units = 0;

  constructor(readonly maxWaiting = Number.POSITIVE_INFINITY) {
    if (!(maxWaiting >= 0)) throw new RangeError(`maxWaiting must be >= 0, got ${maxWaiting}`);
  }

  /**
   * Runs `work` when every earlier unit for `key` is done. Throws QueueFullError when the
   * queue is full; a signal that aborts while waiting rejects with its reason (the work then
   * never runs). The signal does not reach the work: once started, a unit runs to its end.
   */
  async run<T>(key: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw signal.reason;
    const queue = this.queues.get(key);
    if (queue === undefined) {
      this.queues.set(key, { waiting: [] });
    } else {
      if (queue.waiting.length >= this.maxWaiting) throw new QueueFullError(key, this.maxWaiting);
      await this.wait(key, queue, signal);
    }
    this.units++;
    try {
      return await work();
    } finally {
      this.units--;
      this.handOver(key);
    }
  }

  /** Whether a unit for `key` runs now (or units wait for it). */
  busy(key: string): boolean {
    return this.queues.has(key);
  }

  /** Calls `listener` with the count each time the units waiting for `key` change; returns the unsubscribe. */
  onWaiting(key: string, listener: (count: number) => void): () => void {
    const entry = { key, listener };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  /** Units waiting for `key` behind the one running. */
  waiting(key: string): number {
    return this.queues.get(key)?.waiting.length ?? 0;
  }

  /** Resolves once exactly `count` units wait for `key` (at once when they do now): lets tests watch the queue without sleeping. */
  whenWaiting(key: string, count: number): Promise<void> {
    if (this.waiting(key) === count) return Promise.resolve();
    return new Promise((resolve) => this.watches.add({ key, count, resolve }));
  }

  /** Units of work queued or running. */
  get pending(): number {
    let waiting = 0;
    for (const queue of this.queues.values()) waiting += queue.waiting.length;
    return this.units + waiting;
  }

  private wait(key: string, queue: Queue, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const at = queue.waiting.indexOf(waiter);
        if (at >= 0) queue.waiting.splice(at, 1);
        this.changed(key);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      queue.waiting.push(waiter);
      this.changed(key);
    });
  }

  /** The unit running for `key` is done: the first waiter starts, or the key is free. */
  private handOver(key: string): void {
    const queue = this.queues.get(key);
    const next = queue?.waiting.shift();
    if (next === undefined) this.queues.delete(key);
    else {
      next.start();
      this.changed(key);
    }
  }

  private changed(key: string): void {
    const count = this.waiting(key);
    for (const entry of this.listeners) if (entry.key === key) entry.listener(count);
    for (const watch of this.watches) {
      if (watch.key !== key || watch.count !== count) continue;
      this.watches.delete(watch);
      watch.resolve();
    }
  }
}
