/**
 * One client-side limiter for every upstream SCIM request of the process: a token bucket
 * (requests per second) and a cap on requests in flight, so a burst of syncs stays under
 * the tenant's limit instead of storming it.
 *
 * Why it adapts, and how: the tenant's real limit is rarely known, so the bucket's rate
 * follows AIMD, like TCP's congestion control. A 429 that arrives while we were really
 * using our budget takes the rate we were sending at as the limit just found, cuts to 90 %
 * of it and pauses everyone for the Retry-After the upstream asked for; each quiet second
 * then adds 0.5 % of that limit. The rate therefore sits close under the limit (≈ 95 % on
 * average) with a 429 every 20 s or so, finds a raised limit by itself, and settles at an
 * equilibrium, never at the floor, when 429s come from elsewhere. A 429 under light
 * traffic (someone else drained the tenant's budget) only pauses. All waiting goes through
 * the injected Clock.
 */
import type { Clock } from '../../core/ports.js';

/** A 429 teaches a ceiling only when we were sending at least this many requests per second. */
const LEARN_MIN_RATE = 5;

/** Each quiet second adds this share of the limit last found. */
const INCREASE_SHARE = 0.005;
/** A 429 teaches only when we were sending at least this share of our own rate. */
const USING_BUDGET = 0.5;

export interface RateLimiterOptions {
  /** Requests per second to start at and never exceed; Infinity for no token bucket. */
  readonly requestsPerSecond: number;
  /** Requests in flight at once. */
  readonly maxConcurrency: number;
  /** Tokens that may be spent at once after a quiet period. Default: 1 s worth, at least 1. */
  readonly burst?: number;
  /** The rate never drops below this. Default 1/s. */
  readonly minRequestsPerSecond?: number;
  readonly clock: Clock;
}

export interface RateLimiterState {
  readonly requestsPerSecond: number;
  readonly ceiling: number;
  readonly inFlight: number;
  readonly waiting: number;
  readonly pausedUntil: number;
}

export interface RateLimiter {
  /** Waits for a slot and a token; call the returned function when the request is done. */
  acquire(signal?: AbortSignal): Promise<() => void>;
  /** The upstream answered 429 (or 503 with Retry-After): slow down. */
  onThrottled(retryAfterMs: number | null): void;
  /** The upstream answered without throttling. */
  onSuccess(): void;
  state(): RateLimiterState;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { clock } = options;
  const configured = options.requestsPerSecond;
  const bucketed = Number.isFinite(configured) && configured > 0;
  const minRate = options.minRequestsPerSecond ?? 1;
  let rate = bucketed ? configured : Infinity;
  let ceiling = rate;
  const burst = () => Math.max(1, options.burst ?? Math.ceil(rate));
  let tokens = bucketed ? burst() : Infinity;
  let refilledAt = clock.monotonic();
  let pausedUntil = 0;
  let lastThrottleAt = -Infinity;
  let lastIncreaseAt = clock.monotonic();
  let inFlight = 0;
  /** When the last requests started, to measure the rate that drew a 429 when no bucket is set. */
  const recent: number[] = [];
  const slotWaiters: Array<() => void> = [];
  let waiting = 0;

  const refill = () => {
    const now = clock.monotonic();
    if (now <= refilledAt) return; // paused: nothing accrues until the pause ends
    if (Number.isFinite(rate)) tokens = Math.min(burst(), tokens + ((now - refilledAt) / 1000) * rate);
    refilledAt = now;
  };

  const observedRate = () => {
    const now = clock.monotonic();
    while (recent.length > 0 && (recent[0] as number) < now - 1000) recent.shift();
    return recent.length;
  };

  const takeSlot = async (signal?: AbortSignal) => {
    if (inFlight < options.maxConcurrency) {
      inFlight++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const index = slotWaiters.indexOf(grant);
        if (index >= 0) slotWaiters.splice(index, 1);
        reject(signal?.reason);
      };
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      slotWaiters.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    inFlight++;
  };

  const releaseSlot = () => {
    inFlight--;
    slotWaiters.shift()?.();
  };

  return {
    async acquire(signal) {
      waiting++;
      try {
        await takeSlot(signal);
        try {
          for (;;) {
            signal?.throwIfAborted();
            const now = clock.monotonic();
            if (now < pausedUntil) {
              await clock.sleep(pausedUntil - now, signal);
              continue;
            }
            if (!Number.isFinite(rate)) break;
            refill();
            if (tokens >= 1) {
              tokens -= 1;
              break;
            }
            await clock.sleep(Math.ceil(((1 - tokens) / rate) * 1000), signal);
          }
        } catch (error) {
          releaseSlot();
          throw error;
        }
      } finally {
        waiting--;
      }
      recent.push(clock.monotonic());
      if (recent.length > 10_000) recent.splice(0, recent.length - 10_000);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        releaseSlot();
      };
    },

    onThrottled(retryAfterMs) {
      const now = clock.monotonic();
      refill();
      pausedUntil = Math.max(pausedUntil, now + (retryAfterMs ?? 1000));
      // Only a 429 that our own pace drew teaches a limit; several from one burst teach once.
      const observed = observedRate();
      const busy = observed >= LEARN_MIN_RATE && (!Number.isFinite(rate) || observed >= rate * USING_BUDGET);
      if (busy && now - lastThrottleAt > 1000) {
        ceiling = Math.max(minRate, Number.isFinite(rate) ? Math.min(rate, observed * 1.1) : observed);
        rate = Math.max(minRate, ceiling * 0.9);
      }
      lastThrottleAt = now;
      lastIncreaseAt = now;
      if (Number.isFinite(rate)) {
        // Start from empty after the pause: the upstream's own bucket refills during it too,
        // and a full burst on top of that would draw the next 429 at once.
        tokens = Math.min(tokens, 0);
        refilledAt = Math.max(refilledAt, pausedUntil);
      }
    },

    onSuccess() {
      if (!Number.isFinite(rate)) return;
      const now = clock.monotonic();
      const elapsed = (now - lastIncreaseAt) / 1000;
      if (elapsed < 1) return;
      lastIncreaseAt = now;
      refill();
      const step = Math.max(0.1, (Number.isFinite(ceiling) ? ceiling : rate) * INCREASE_SHARE);
      rate = Math.min(bucketed ? configured : Infinity, rate + step * elapsed);
    },

    state() {
      return { requestsPerSecond: rate, ceiling, inFlight, waiting, pausedUntil };
    },
  };
}
