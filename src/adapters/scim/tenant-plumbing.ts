/**
 * What every client of one tenant shares: one keep-alive Agent (owned, and closed, unless
 * one is given), one rate limiter (requests per second and in flight), one redactor, the
 * clock and the per-attempt timeout. The CXone connection (SCIM and admin API) and the
 * plain SCIM directory are built on it.
 */
import { Agent, type Dispatcher } from 'undici';
import { systemClock } from '../../core/clock.js';
import type { Clock } from '../../core/ports.js';
import { createRateLimiter, type RateLimiter } from './rate-limiter.js';
import { createRedactor, type Redactor } from './redactor.js';

export interface TenantPlumbingOptions {
  readonly clock?: Clock;
  /** Per attempt, also each token and discovery request's timeout. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** Default: one keep-alive Agent owned by the client, closed by close(). */
  readonly dispatcher?: Dispatcher;
  /**
   * Client-side pacing shared by every request to the tenant: requests per second (0 or
   * absent: none until the first 429 teaches one) and requests in flight. Default: adaptive, 16.
   */
  readonly rateLimit?: { readonly requestsPerSecond?: number; readonly maxConcurrency?: number };
  /** Default: a redactor knowing only what the token source teaches it. */
  readonly redactor?: Redactor;
}

export interface TenantPlumbing {
  readonly clock: Clock;
  readonly requestTimeoutMs: number;
  readonly dispatcher: Dispatcher;
  readonly limiter: RateLimiter;
  readonly redactor: Redactor;
  /** Closes the Agent when it was made here; a given dispatcher is its owner's to close. */
  close(): Promise<void>;
}

export function createTenantPlumbing(options: TenantPlumbingOptions): TenantPlumbing {
  const clock = options.clock ?? systemClock;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 30_000, connections: 32, connect: { timeout: requestTimeoutMs } });
  return {
    clock,
    requestTimeoutMs,
    dispatcher,
    limiter: createRateLimiter({
      requestsPerSecond: options.rateLimit?.requestsPerSecond || Infinity,
      maxConcurrency: options.rateLimit?.maxConcurrency ?? 16,
      clock,
    }),
    redactor: options.redactor ?? createRedactor(),
    async close() {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}
