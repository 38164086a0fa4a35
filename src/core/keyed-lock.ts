/**
 * A FIFO mutex per key: work for one key runs one at a time, in the order it arrived;
 * different keys run in parallel. Entries are dropped when their queue empties.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();
  private running = 0;

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => done);
    this.tails.set(key, tail);
    this.running++;
    try {
      await previous;
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
