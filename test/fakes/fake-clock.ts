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
