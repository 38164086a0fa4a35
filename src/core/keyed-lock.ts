/**
 * A FIFO mutex per key: work for one key runs one at a time, in the order it arrived;
 * different keys run in parallel. Entries are dropped when their queue empties.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();
  private running = 0;

  /** Runs `work` when every earlier unit for `key` is done; a signal that aborts while waiting rejects with its reason. */
  async run<T>(key: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => done);
    this.tails.set(key, tail);
    this.running++;
    try {
      await (signal ? abortable(previous, signal) : previous);
      return await work();
    } finally {
      this.running--;
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Units of work queued or running. */
  get pending(): number {
    return this.running;
  }
}

function abortable(wait: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    wait.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, reject);
  });
}
