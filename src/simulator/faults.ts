/**
 * Fault injection for /oauth/token and /scim/v2: latency, a token-bucket rate limit (429),
 * injected outages (503) and dropped connections. Randomness comes from a seeded PRNG and
 * time from the injected clock, so that a run is reproducible and tests never sleep.
 */

export interface Faults {
  /** Delay before answering each request: fixed, or uniform in [min, max]. */
  latencyMs: number | [min: number, max: number];
  /** Token bucket; over it → 429 with Retry-After (delta-seconds). */
  rateLimit: { requestsPerSecond: number; burst?: number } | null;
  /** Fraction answered 503 with Retry-After: 1. */
  errorRatio: number;
  /** Fraction whose socket is destroyed without an answer. */
  dropRatio: number;
  /**
   * Writes (PUT, PATCH) of groups that fail after the fact: the group's version is bumped,
   * the write applied too when `apply` is true, and the answer is `status` (a 5xx).
   * `count` writes fail (null: every one while set); null turns it off.
   */
  failWrites: { status: number; apply: boolean; count: number | null } | null;
}

export const NO_FAULTS: Faults = { latencyMs: 0, rateLimit: null, errorRatio: 0, dropRatio: 0, failWrites: null };

export type FaultOutcome = { kind: 'pass' } | { kind: 'drop' } | { kind: 'error' } | { kind: 'rateLimited'; retryAfterSeconds: number };

export interface FaultDecision {
  readonly latencyMs: number;
  readonly outcome: FaultOutcome;
}

export interface FaultInjector {
  readonly faults: Faults;
  /** Merges a partial configuration; throws a RangeError naming the bad field. */
  set(patch: unknown): Faults;
  /** Decides the fate of one request arriving now. */
  decide(): FaultDecision;
  /** For a group write about to be applied: how it fails (failWrites), counting it; null when it does not. */
  takeWriteFailure(): { status: number; apply: boolean } | null;
}

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function isRatio(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1;
}

function isDelay(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 600_000;
}

/** Validates a partial fault configuration and merges it over `current`. */
export function mergeFaults(current: Faults, patch: unknown): Faults {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw new RangeError('faults must be an object');
  const next: Faults = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    switch (key) {
      case 'latencyMs':
        if (isDelay(value)) next.latencyMs = value;
        else if (Array.isArray(value) && value.length === 2 && isDelay(value[0]) && isDelay(value[1]) && value[0] <= value[1]) next.latencyMs = [value[0], value[1]];
        else throw new RangeError('latencyMs must be a number of milliseconds or [min, max] with 0 <= min <= max <= 600000');
        break;
      case 'rateLimit': {
        if (value === null) {
          next.rateLimit = null;
          break;
        }
        const { requestsPerSecond, burst, ...rest } = (typeof value === 'object' ? value : {}) as Record<string, unknown>;
        if (typeof requestsPerSecond !== 'number' || !Number.isFinite(requestsPerSecond) || requestsPerSecond <= 0 || Object.keys(rest).length > 0) {
          throw new RangeError('rateLimit must be null or { requestsPerSecond: a number > 0, burst?: an integer >= 1 }');
        }
        if (burst !== undefined && (!Number.isSafeInteger(burst) || (burst as number) < 1)) throw new RangeError('rateLimit.burst must be an integer >= 1');
        next.rateLimit = burst === undefined ? { requestsPerSecond } : { requestsPerSecond, burst: burst as number };
        break;
      }
      case 'errorRatio':
      case 'dropRatio':
        if (!isRatio(value)) throw new RangeError(`${key} must be a number from 0 to 1`);
        next[key] = value;
        break;
      case 'failWrites': {
        if (value === null) {
          next.failWrites = null;
          break;
        }
        const { status = 500, apply = true, count = null, ...rest } = (typeof value === 'object' ? value : {}) as Record<string, unknown>;
        const valid =
          Number.isSafeInteger(status) && (status as number) >= 500 && (status as number) <= 599 && typeof apply === 'boolean' && (count === null || (Number.isSafeInteger(count) && (count as number) >= 1));
        if (!valid || Object.keys(rest).length > 0) {
          throw new RangeError('failWrites must be null or { status?: 500–599, apply?: boolean, count?: an integer >= 1 or null }');
        }
        next.failWrites = { status: status as number, apply: apply as boolean, count: count as number | null };
        break;
      }
      default:
        throw new RangeError(`unknown fault ${JSON.stringify(key)}; expected latencyMs, rateLimit, errorRatio, dropRatio or failWrites`);
    }
  }
  return next;
}

export function createFaultInjector(initial: unknown, now: () => number, random: () => number): FaultInjector {
  let faults = mergeFaults(NO_FAULTS, initial);
  let tokens = 0;
  let refilledAt = 0;
  const resetBucket = (): void => {
    tokens = capacity();
    refilledAt = now();
  };
  const capacity = (): number => faults.rateLimit?.burst ?? Math.max(1, Math.ceil(faults.rateLimit?.requestsPerSecond ?? 1));
  const draw = (ratio: number): boolean => ratio >= 1 || (ratio > 0 && random() < ratio);
  resetBucket();

  function takeToken(): number | null {
    const limit = faults.rateLimit;
    if (limit === null) return null;
    const t = now();
    tokens = Math.min(capacity(), tokens + (Math.max(0, t - refilledAt) / 1000) * limit.requestsPerSecond);
    refilledAt = t;
    if (tokens >= 1) {
      tokens -= 1;
      return null;
    }
    return Math.max(1, Math.ceil((1 - tokens) / limit.requestsPerSecond));
  }

  return {
    get faults() {
      return structuredClone(faults);
    },
    set(patch) {
      const next = mergeFaults(faults, patch);
      const limitChanged = JSON.stringify(next.rateLimit) !== JSON.stringify(faults.rateLimit);
      faults = next;
      if (limitChanged) resetBucket();
      return structuredClone(faults);
    },
    decide() {
      const retryAfterSeconds = takeToken();
      const latency = faults.latencyMs;
      const latencyMs = typeof latency === 'number' ? latency : latency[0] === latency[1] ? latency[0] : latency[0] + random() * (latency[1] - latency[0]);
      let outcome: FaultOutcome = { kind: 'pass' };
      if (retryAfterSeconds !== null) outcome = { kind: 'rateLimited', retryAfterSeconds };
      else if (draw(faults.dropRatio)) outcome = { kind: 'drop' };
      else if (draw(faults.errorRatio)) outcome = { kind: 'error' };
      return { latencyMs, outcome };
    },
    takeWriteFailure() {
      const fail = faults.failWrites;
      if (fail === null) return null;
      if (fail.count !== null) faults = { ...faults, failWrites: fail.count > 1 ? { ...fail, count: fail.count - 1 } : null };
      return { status: fail.status, apply: fail.apply };
    },
  };
}
