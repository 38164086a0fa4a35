import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY, isTransientServerError, parseRetryAfter } from '../../../src/adapters/scim/retry-policy.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

describe('Retry-After (RFC 9110 §10.2.3)', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter(' 12 ', NOW)).toBe(12_000);
    expect(parseRetryAfter(['5', '9'], NOW)).toBe(5_000);
  });

  it('reads an IMF-fixdate and the obsolete RFC 850 and asctime forms', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Thursday, 01-Jan-26 00:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Thu Jan  1 00:00:30 2026', NOW)).not.toBeNull();
  });

  it('treats a date in the past as 0 and nonsense as absent', () => {
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('-3', NOW)).toBeNull();
    expect(parseRetryAfter('1.5', NOW)).toBeNull();
    expect(parseRetryAfter('soon', NOW)).toBeNull();
    expect(parseRetryAfter(undefined, NOW)).toBeNull();
    expect(parseRetryAfter('', NOW)).toBeNull();
  });

  it('clamps absurd values to a day', () => {
    expect(parseRetryAfter('99999999999', NOW)).toBe(86_400_000);
  });
});

describe('backoff', () => {
  it('grows exponentially with full jitter up to the cap', () => {
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(n, DEFAULT_RETRY, () => 0.999_999))).toEqual([99, 199, 399, 799, 4999]);
    expect(backoffDelay(3, DEFAULT_RETRY, () => 0)).toBe(0);
  });

  it('retries transient 5xx only', () => {
    expect([500, 502, 503, 504].every(isTransientServerError)).toBe(true);
    expect([501, 505, 404, 429].some(isTransientServerError)).toBe(false);
  });
});
