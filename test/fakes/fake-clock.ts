import type { Clock } from '../../src/core/ports.js';

/**
 * A clock that never sleeps: sleep() records the delay, advances time by it and resolves
 * on the next microtask. Tests assert on `sleeps` instead of waiting.
 */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  private current: number;
  private mono = 0;

  constructor(start = Date.parse('2026-01-01T00:00:00Z')) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  monotonic(): number {
    return this.mono;
  }

  advance(ms: number): void {
    this.current += ms;
    this.mono += ms;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.sleeps.push(ms);
    this.advance(ms);
  }
}

/**
 * A clock whose sleeps wait until the test moves time past them: for loops started as the
 * service starts them (start/stop), whose rounds must happen at the times of the schedule
 * and not run away. `runUntil` moves time from one sleeper's wake-up to the next, waiting
 * after each for the loop to go back to sleep.
 */
export class ManualClock implements Clock {
  /** Every delay asked for, in order. */
  readonly sleeps: number[] = [];
  private current: number;
  private readonly sleepers: { until: number; wake: () => void }[] = [];
  private readonly watchers: (() => void)[] = [];

  constructor(start = Date.parse('2026-01-01T00:00:00Z')) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  monotonic(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    this.sleeps.push(ms);
    return new Promise((resolve, reject) => {
      const sleeper = { until: this.current + ms, wake: resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          const at = this.sleepers.indexOf(sleeper);
          if (at >= 0) this.sleepers.splice(at, 1);
          reject(signal.reason as Error);
        },
        { once: true },
      );
      for (const watcher of this.watchers.splice(0)) watcher();
    });
  }

  /** How many sleep now. */
  get sleeping(): number {
    return this.sleepers.length;
  }

  /** Resolves once something sleeps on this clock (at once when something does). */
  async asleep(): Promise<void> {
    if (this.sleepers.length > 0) return;
    await new Promise<void>((resolve) => this.watchers.push(resolve));
  }

  /** Moves time on and wakes the sleepers due, without waiting for anything to sleep again. */
  advance(ms: number): void {
    this.current += ms;
    for (const sleeper of this.sleepers.filter((s) => s.until <= this.current)) {
      this.sleepers.splice(this.sleepers.indexOf(sleeper), 1);
      sleeper.wake();
    }
  }

  /** Moves time to `until`, waking each sleeper at its time, one after another, and waiting for the loop to sleep again after each. */
  async runUntil(until: number): Promise<void> {
    for (;;) {
      await this.asleep();
      const next = this.sleepers.toSorted((a, b) => a.until - b.until)[0];
      if (next === undefined || next.until > until) break;
      this.current = Math.max(this.current, next.until);
      this.sleepers.splice(this.sleepers.indexOf(next), 1);
      next.wake();
    }
    this.current = Math.max(this.current, until);
  }
}
