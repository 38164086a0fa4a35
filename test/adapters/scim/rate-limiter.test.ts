import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../../src/adapters/scim/rate-limiter.js';
import { FakeClock } from '../../fakes/fake-clock.js';

/** Runs `n` requests one after another through the limiter; returns the fake-clock time it took. */
async function drive(limiter: ReturnType<typeof createRateLimiter>, clock: FakeClock, n: number, answer: (i: number) => 'ok' | number = () => 'ok') {
  const start = clock.monotonic();
  for (let i = 0; i < n; i++) {
    const release = await limiter.acquire();
    const result = answer(i);
    if (result === 'ok') limiter.onSuccess();
    else limiter.onThrottled(result);
    release();
  }
  return clock.monotonic() - start;
}

describe('createRateLimiter', () => {
  it('when requests exceed the configured rate, then they are spaced to it', async () => {
    const clock = new FakeClock();
    const limiter = createRateLimiter({ requestsPerSecond: 10, maxConcurrency: 4, burst: 1, clock });
    const elapsed = await drive(limiter, clock, 51);
    expect(elapsed).toBeGreaterThanOrEqual(4900);
    expect(elapsed).toBeLessThanOrEqual(5200);
  });

  it('when more requests than the concurrency cap arrive, then the rest wait for a slot', async () => {
    const clock = new FakeClock();
    const limiter = createRateLimiter({ requestsPerSecond: Infinity, maxConcurrency: 2, clock });
    const first = await limiter.acquire();
    const second = await limiter.acquire();
    let third = false;
    const pending = limiter.acquire().then((release) => {
      third = true;
      return release;
    });
    await Promise.resolve();
    expect(third).toBe(false);
    expect(limiter.state()).toMatchObject({ inFlight: 2, waiting: 1 });
    first();
    (await pending)();
    second();
    expect(third).toBe(true);
    expect(limiter.state().inFlight).toBe(0);
  });

  it('when the upstream answers 429 while we use our budget, then everyone pauses for Retry-After and the rate drops to 90 % of the rate that drew it', async () => {
    const clock = new FakeClock();
    const limiter = createRateLimiter({ requestsPerSecond: 100, maxConcurrency: 8, clock });
    await drive(limiter, clock, 100);
    limiter.onThrottled(2000);
    expect(limiter.state()).toMatchObject({ ceiling: 100, requestsPerSecond: 90 });
    const before = clock.monotonic();
    (await limiter.acquire())();
    expect(clock.monotonic() - before).toBeGreaterThanOrEqual(2000);
  });

  it('when several 429s come from one burst, then the rate drops once', async () => {
    const clock = new FakeClock();
    const limiter = createRateLimiter({ requestsPerSecond: 100, maxConcurrency: 8, clock });
    await drive(limiter, clock, 100);
    limiter.onThrottled(null);
    limiter.onThrottled(null);
    limiter.onThrottled(null);
    expect(limiter.state().requestsPerSecond).toBe(90);
  });

  it('when the upstream stays quiet after a 429, then the rate climbs by 0.5 % of the limit a second, up to the configured rate', async () => {
    const clock = new FakeClock();
    const limiter = createRateLimiter({ requestsPerSecond: 100, maxConcurrency: 8, clock });
    await drive(limiter, clock, 100);
    limiter.onThrottled(0);
    await drive(limiter, clock, 930); // about 10 s at the climbing rate
    expect(limiter.state().requestsPerSecond).toBeGreaterThan(94);
    expect(limiter.state().requestsPerSecond).toBeLessThan(96);
    await drive(limiter, clock, 3000);
    expect(limiter.state().requestsPerSecond).toBe(100);
  });

  it('when the tenant raises its limit, then the rate climbs past the limit it found before', async () => {
    const clock = new FakeClock();
    const limiter = createRateLimiter({ requestsPerSecond: Infinity, maxConcurrency: 64, clock });
    for (let i = 0; i < 40; i++) {
      (await limiter.acquire())();
      clock.advance(25);
    }
    limiter.onThrottled(0);
    expect(limiter.state().ceiling).toBe(40);
    await drive(limiter, clock, 3000);
    expect(limiter.state().requestsPerSecond).toBeGreaterThan(40);
  });

  it('when no rate is configured and a 429 arrives, then a bucket engages at 90 % of the observed rate', async () => {
    const clock = new FakeClock();
    const limiter = createRateLimiter({ requestsPerSecond: Infinity, maxConcurrency: 64, clock });
    for (let i = 0; i < 40; i++) {
      (await limiter.acquire())();
      clock.advance(25); // 40 requests per second
    }
    limiter.onThrottled(1000);
    expect(limiter.state().requestsPerSecond).toBeCloseTo(36, 5);
  });

  it('when a hidden limit of 50/s is hit repeatedly, then the limiter settles under it with few 429s', async () => {
    // A simulated upstream: a token bucket of 50/s that answers 429 with Retry-After 1 s.
    const clock = new FakeClock();
    const limiter = createRateLimiter({ requestsPerSecond: Infinity, maxConcurrency: 16, clock });
    let upstreamTokens = 50;
    let upstreamAt = clock.monotonic();
    let throttled = 0;
    const total = 3000;
    const elapsed = await drive(limiter, clock, total, () => {
      const now = clock.monotonic();
      upstreamTokens = Math.min(50, upstreamTokens + ((now - upstreamAt) / 1000) * 50);
      upstreamAt = now;
      clock.advance(5); // each request takes 5 ms
      if (upstreamTokens >= 1) {
        upstreamTokens -= 1;
        return 'ok';
      }
      throttled++;
      return 1000;
    });
    const rate = total / (elapsed / 1000);
    expect(throttled / total).toBeLessThan(0.01);
    expect(rate).toBeGreaterThan(0.85 * 50);
  });

  it('when a 429 arrives under light traffic, then everyone pauses but no ceiling is learned', async () => {
    const clock = new FakeClock();
    const limiter = createRateLimiter({ requestsPerSecond: Infinity, maxConcurrency: 8, clock });
    (await limiter.acquire())();
    limiter.onThrottled(3000);
    expect(limiter.state().requestsPerSecond).toBe(Infinity);
    const before = clock.monotonic();
    (await limiter.acquire())();
    expect(clock.monotonic() - before).toBe(3000);
  });

  it('when a waiting caller aborts, then it stops waiting and frees nothing it did not hold', async () => {
    const clock = new FakeClock();
    const limiter = createRateLimiter({ requestsPerSecond: Infinity, maxConcurrency: 1, clock });
    const held = await limiter.acquire();
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal);
    controller.abort(new Error('deadline'));
    await expect(waiting).rejects.toThrow('deadline');
    held();
    expect(limiter.state()).toMatchObject({ inFlight: 0, waiting: 0 });
  });
});
