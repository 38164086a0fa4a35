/**
 * When to try an upstream request again, and how long to wait first.
 */

export interface RetryOptions {
  /** Attempts per logical request, the first one included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Longest Retry-After we are willing to wait. */
  readonly maxRetryAfterMs: number;
  /** Overall budget of one logical request, retries and waits included. */
  readonly deadlineMs: number;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
  maxRetryAfterMs: 60_000,
  deadlineMs: 30_000,
};

const MAX_REPORTED_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date. Returns milliseconds from
 * `nowMs` (0 for a date in the past), or null when absent or unparseable.
 */
export function parseRetryAfter(header: string | string[] | undefined, nowMs: number): number | null {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Math.min(Number(value) * 1000, MAX_REPORTED_RETRY_AFTER_MS);
  if (!/[a-z]/i.test(value)) return null;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, at - nowMs), MAX_REPORTED_RETRY_AFTER_MS);
}

/** Exponential backoff with full jitter: uniform in [0, min(cap, base · 2^(retry-1))). */
export function backoffDelay(retry: number, options: RetryOptions, random: () => number): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/** 501 and 505 say the request will never work; other 5xx may be transient. */
export function isTransientServerError(status: number): boolean {
  return status >= 500 && status <= 599 && status !== 501 && status !== 505;
}

export function isIdempotent(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'PUT' || method === 'DELETE';
}
