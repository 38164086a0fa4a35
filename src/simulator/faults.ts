/**
 * Fault injection for every simulated route (tokens, discovery, SCIM, the admin API):
 * latency, a token-bucket rate limit and a share of requests throttled (429, with or
 * without Retry-After), injected outages (503), dropped connections and crash points on
 * writes. Randomness comes from a seeded PRNG and time from the injected clock, so that a
 * run is reproducible and tests never sleep.
 */

export interface Faults {
  /** Delay before answering each request: fixed, or uniform in [min, max]. */
  latencyMs: number | [min: number, max: number];
  /** Token bucket; over it → 429 with Retry-After (delta-seconds), or without one when `retryAfter` is false. */
  rateLimit: { requestsPerSecond: number; burst?: number; retryAfter?: boolean } | null;
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
  /** Fraction answered 429 whatever the rate, with `Retry-After: retryAfterSeconds`, or none when it is null. */
  throttle: { ratio: number; retryAfterSeconds: number | null } | null;
  /**
   * A crash point on writes (any POST, PUT, PATCH or DELETE of SCIM or the admin API; token
   * endpoints and searches are not writes): the connection is dropped `before` the write is
   * applied, or `after` it was applied instead of a 2xx answer. `routes` narrows it to
   * statistics keys such as "PATCH Groups" or "POST admin/groups/{groupId}/agents" (null: every
   * write); `count` writes crash (null: every one while set).
   */
  crash: { when: 'before' | 'after'; routes: string[] | null; count: number | null } | null;
  /**
   * Admin API: agents of a write that answer `success: false` with `error` (null: a default
   * text) while the rest apply: the named `agentIds` always, any other with probability
   * `ratio`, in the writes named by `operations` (add: POST /groups/{id}/agents, remove:
   * DELETE /groups/{id}/agents, update: PUT /agents).
   */
  agentFailures: { agentIds: number[]; ratio: number; operations: AgentOperation[]; error: string | null } | null;
  /**
   * Admin API: a group's agents change between page reads. After a page of GET
   * /groups/{groupId}/agents that has a next page (of `groupId`, or any group when null), the
   * first agent of the list leaves (`remove`: the next page skips one) or `agentId` (default:
   * the lowest-numbered agent outside the group) joins (`add`: the next page repeats one).
   * `count` times (null: every time while set).
   */
  pageShift: { groupId: number | null; change: 'add' | 'remove'; agentId: number | null; count: number | null } | null;
  /**
   * SCIM /Groups/{id} of the named groups (every method) answers `status` (a 4xx or 5xx),
   * while every other group answers normally: one broken group among healthy ones.
   */
  groupErrors: { groupIds: string[]; status: number } | null;
}

export type AgentOperation = 'add' | 'remove' | 'update';
const AGENT_OPERATIONS: readonly AgentOperation[] = ['add', 'remove', 'update'];

/** Faults as callers write them: any field may be left out, nested ones too (mergeFaults fills the defaults in). */
export type FaultsInput = {
  [K in keyof Faults]?: Faults[K] extends infer V ? (V extends readonly unknown[] ? V : V extends object ? { [P in keyof V]?: V[P] } : V) : never;
};

export const NO_FAULTS: Faults = {
  latencyMs: 0,
  rateLimit: null,
  errorRatio: 0,
  dropRatio: 0,
  failWrites: null,
  throttle: null,
  crash: null,
  agentFailures: null,
  pageShift: null,
  groupErrors: null,
};

export type FaultOutcome = { kind: 'pass' } | { kind: 'drop' } | { kind: 'error' } | { kind: 'rateLimited'; retryAfterSeconds: number | null };

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
  /** Whether this write (its statistics key) crashes at this point, counting it when it does. */
  takeCrash(route: string, when: 'before' | 'after'): boolean;
  /** The injected error of this agent in this write, or null. */
  agentFailure(operation: AgentOperation, agentId: number): string | null;
  /** The status SCIM /Groups/{groupId} answers now (groupErrors), or null when it answers normally. */
  groupError(groupId: string): number | null;
  /** After a page of this group with a next page: the change to make now (counting it), or null. */
  takePageShift(groupId: number): { change: 'add' | 'remove'; agentId: number | null } | null;
}

const isPositiveId = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0;

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
        const { requestsPerSecond, burst, retryAfter, ...rest } = (typeof value === 'object' ? value : {}) as Record<string, unknown>;
        if (typeof requestsPerSecond !== 'number' || !Number.isFinite(requestsPerSecond) || requestsPerSecond <= 0 || Object.keys(rest).length > 0) {
          throw new RangeError('rateLimit must be null or { requestsPerSecond: a number > 0, burst?: an integer >= 1, retryAfter?: boolean }');
        }
        if (burst !== undefined && (!Number.isSafeInteger(burst) || (burst as number) < 1)) throw new RangeError('rateLimit.burst must be an integer >= 1');
        if (retryAfter !== undefined && typeof retryAfter !== 'boolean') throw new RangeError('rateLimit.retryAfter must be a boolean');
        const limit: NonNullable<Faults['rateLimit']> = { requestsPerSecond };
        if (burst !== undefined) limit.burst = burst as number;
        if (retryAfter !== undefined) limit.retryAfter = retryAfter;
        next.rateLimit = limit;
        break;
      }
      case 'throttle': {
        if (value === null) {
          next.throttle = null;
          break;
        }
        const { ratio, retryAfterSeconds = 1, ...rest } = (typeof value === 'object' ? value : {}) as Record<string, unknown>;
        const validRetry = retryAfterSeconds === null || (Number.isSafeInteger(retryAfterSeconds) && (retryAfterSeconds as number) >= 0 && (retryAfterSeconds as number) <= 86_400);
        if (!isRatio(ratio) || !validRetry || Object.keys(rest).length > 0) {
          throw new RangeError('throttle must be null or { ratio: a number from 0 to 1, retryAfterSeconds?: an integer from 0 to 86400 (default 1), or null for no Retry-After }');
        }
        next.throttle = { ratio, retryAfterSeconds: retryAfterSeconds as number | null };
        break;
      }
      case 'crash': {
        if (value === null) {
          next.crash = null;
          break;
        }
        const { when, routes = null, count = 1, ...rest } = (typeof value === 'object' ? value : {}) as Record<string, unknown>;
        const validRoutes = routes === null || (Array.isArray(routes) && routes.length > 0 && routes.every((route) => typeof route === 'string' && route.trim() !== ''));
        const validCount = count === null || (Number.isSafeInteger(count) && (count as number) >= 1);
        if ((when !== 'before' && when !== 'after') || !validRoutes || !validCount || Object.keys(rest).length > 0) {
          throw new RangeError('crash must be null or { when: "before" | "after", routes?: non-empty route keys like "PATCH Groups" or null for every write, count?: an integer >= 1 or null }');
        }
        next.crash = { when, routes: routes === null ? null : [...(routes as string[])], count: count as number | null };
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
      case 'agentFailures': {
        if (value === null) {
          next.agentFailures = null;
          break;
        }
        const { agentIds = [], ratio = 0, operations = AGENT_OPERATIONS, error = null, ...rest } = (typeof value === 'object' ? value : {}) as Record<string, unknown>;
        const valid =
          Array.isArray(agentIds) &&
          agentIds.every(isPositiveId) &&
          isRatio(ratio) &&
          Array.isArray(operations) &&
          operations.length > 0 &&
          operations.every((operation) => AGENT_OPERATIONS.includes(operation as AgentOperation)) &&
          (error === null || (typeof error === 'string' && error !== '')) &&
          Object.keys(rest).length === 0;
        if (!valid) {
          throw new RangeError('agentFailures must be null or { agentIds?: integers > 0, ratio?: 0 to 1, operations?: non-empty subset of ["add", "remove", "update"], error?: a non-empty string }');
        }
        next.agentFailures = { agentIds: [...(agentIds as number[])], ratio, operations: [...new Set(operations as AgentOperation[])], error: error as string | null };
        break;
      }
      case 'pageShift': {
        if (value === null) {
          next.pageShift = null;
          break;
        }
        const { groupId = null, change, agentId = null, count = 1, ...rest } = (typeof value === 'object' ? value : {}) as Record<string, unknown>;
        const valid =
          (change === 'add' || change === 'remove') &&
          (groupId === null || isPositiveId(groupId)) &&
          (agentId === null || isPositiveId(agentId)) &&
          (count === null || (Number.isSafeInteger(count) && (count as number) >= 1)) &&
          Object.keys(rest).length === 0;
        if (!valid) throw new RangeError('pageShift must be null or { change: "add" | "remove", groupId?: an integer > 0, agentId?: an integer > 0, count?: an integer >= 1 or null }');
        next.pageShift = { groupId: groupId as number | null, change: change as 'add' | 'remove', agentId: agentId as number | null, count: count as number | null };
        break;
      }
      case 'groupErrors': {
        if (value === null) {
          next.groupErrors = null;
          break;
        }
        const { groupIds, status = 500, ...rest } = (typeof value === 'object' ? value : {}) as Record<string, unknown>;
        const valid =
          Array.isArray(groupIds) && groupIds.length > 0 && groupIds.every((g) => typeof g === 'string' && g !== '') && Number.isSafeInteger(status) && (status as number) >= 400 && (status as number) <= 599;
        if (!valid || Object.keys(rest).length > 0) throw new RangeError('groupErrors must be null or { groupIds: non-empty group ids, status?: 400–599 (default 500) }');
        next.groupErrors = { groupIds: [...(groupIds as string[])], status: status as number };
        break;
      }
      default:
        throw new RangeError(`unknown fault ${JSON.stringify(key)}; expected ${Object.keys(NO_FAULTS).join(', ')}`);
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

  /** undefined: a token was there (or no limit); otherwise the 429's Retry-After seconds, null for none. */
  function takeToken(): number | null | undefined {
    const limit = faults.rateLimit;
    if (limit === null) return undefined;
    const t = now();
    tokens = Math.min(capacity(), tokens + (Math.max(0, t - refilledAt) / 1000) * limit.requestsPerSecond);
    refilledAt = t;
    if (tokens >= 1) {
      tokens -= 1;
      return undefined;
    }
    return limit.retryAfter === false ? null : Math.max(1, Math.ceil((1 - tokens) / limit.requestsPerSecond));
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
      if (retryAfterSeconds !== undefined) outcome = { kind: 'rateLimited', retryAfterSeconds };
      else if (faults.throttle !== null && draw(faults.throttle.ratio)) outcome = { kind: 'rateLimited', retryAfterSeconds: faults.throttle.retryAfterSeconds };
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
    agentFailure(operation, agentId) {
      const fail = faults.agentFailures;
      if (fail === null || !fail.operations.includes(operation)) return null;
      if (!fail.agentIds.includes(agentId) && !draw(fail.ratio)) return null;
      const what = { add: 'assigned to this group', remove: 'removed from this group', update: 'updated' }[operation];
      return fail.error ?? `Agent ${agentId} could not be ${what} (injected failure)`;
    },
    groupError(groupId) {
      const errors = faults.groupErrors;
      return errors !== null && errors.groupIds.includes(groupId) ? errors.status : null;
    },
    takePageShift(groupId) {
      const shift = faults.pageShift;
      if (shift === null || (shift.groupId !== null && shift.groupId !== groupId)) return null;
      if (shift.count !== null) faults = { ...faults, pageShift: shift.count > 1 ? { ...shift, count: shift.count - 1 } : null };
      return { change: shift.change, agentId: shift.agentId };
    },
    takeCrash(route, when) {
      const crash = faults.crash;
      if (crash === null || crash.when !== when || (crash.routes !== null && !crash.routes.includes(route))) return false;
      if (crash.count !== null) faults = { ...faults, crash: crash.count > 1 ? { ...crash, count: crash.count - 1 } : null };
      return true;
    },
  };
}
