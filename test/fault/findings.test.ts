/**
 * Focused reproductions of what the fault-injection suite (./fault-injection.test.ts) found,
 * small enough to debug in isolation.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPrometheusMetrics } from '../../src/adapters/metrics/prometheus-metrics.js';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { composeApp } from '../../src/composition/app.js';
import { loadConfig } from '../../src/config.js';
import { createUpstreamDirectory } from '../../src/composition/upstream.js';
import { createRateLimiter } from '../../src/adapters/scim/rate-limiter.js';
import { seedIds } from '../../src/simulator/simulator.js';
import { bearer } from '../helpers/build-test-app.js';
import { buildSimulatorApp } from '../helpers/simulator-app.js';
import { FakeClock } from '../fakes/fake-clock.js';

const { users, groups } = seedIds;

describe('finding: syncs that share one failed token fetch', () => {
  it('when the shared OAuth token fetch fails under three concurrent syncs, then each answer names its own syncId, the one of its audit record', async () => {
    const s = await buildSimulatorApp();
    // Hold the token answer until all three syncs wait on the same (single-flight) fetch, then fail it.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    s.simulator.onRequest(async (req) => {
      if (req.path !== '/oauth/token') return undefined;
      await gate;
      return { status: 503, headers: { 'retry-after': '1' }, body: { error: 'temporarily_unavailable', error_description: 'down for a moment' } };
    });
    const targets = [groups.contactCenterAgents, groups.platform, groups.supportTier2];
    const answers = targets.map((groupId, i) =>
      s.app.inject({
        method: 'POST',
        url: `/groups/${groupId}/sync`,
        headers: { ...bearer(), 'content-type': 'application/json', 'x-request-id': `shared-token-${i}` },
        payload: JSON.stringify({ members: [{ value: users.aliceSmith, type: 'User' }] }),
      }),
    );
    await expect.poll(() => s.app.syncsInFlight).toBe(3);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    release();

    const results = await Promise.all(answers);
    const answered = results.map((res) => ({ status: res.statusCode, requestId: res.headers['x-request-id'], syncId: (res.json() as { syncId?: string }).syncId }));
    expect(answered.map((a) => a.status)).toEqual([503, 503, 503]);
    const recorded = answered.map((a) => s.audit.records.find((record) => record.requestId === a.requestId)?.syncId);
    expect(new Set(answered.map((a) => a.syncId)).size).toBe(3);
    expect(answered.map((a) => a.syncId)).toEqual(recorded);
  });
});

describe('finding: a rate-limited or unavailable OAuth token endpoint', () => {
  // Found by the fault suite: a 429 or 503 from the token endpoint used to answer 502
  // upstream_error, telling the IdP nothing about when to come back.
  it('when the token endpoint answers 429 with Retry-After, then the sync answers 503 upstream_unavailable with Retry-After', async () => {
    const s = await buildSimulatorApp();
    s.simulator.onRequest((req) =>
      req.path === '/oauth/token' ? { status: 429, headers: { 'retry-after': '7' }, body: { error: 'temporarily_unavailable', error_description: 'slow down' } } : undefined,
    );
    const res = await s.app.inject({ method: 'POST', url: `/groups/${groups.platform}/sync`, headers: { ...bearer(), 'content-type': 'application/json' }, payload: JSON.stringify({ members: [] }) });
    expect({ status: res.statusCode, error: (res.json() as { error: string }).error }).toEqual({ status: 503, error: 'upstream_unavailable' });
    expect(res.headers['retry-after']).toBeDefined();
  });
});

describe('finding: a throttled token endpoint, in every client authentication and with or without Retry-After', () => {
  // The README promises 503 upstream_unavailable with Retry-After for a token endpoint that
  // answers 429 or 503; this checks each variant, with the SCIM adapter built from
  // configuration as the service builds it (CXONE_TOKEN_AUTH basic and post).
  for (const auth of ['basic', 'post'] as const) {
    for (const status of [429, 503]) {
      for (const retryAfter of ['7', undefined]) {
        it(`when the token endpoint answers ${status} ${retryAfter === undefined ? 'without' : 'with'} Retry-After under CXONE_TOKEN_AUTH=${auth}, then the sync answers 503 upstream_unavailable with Retry-After`, async () => {
          const s = await buildSimulatorApp({ env: { CXONE_TOKEN_AUTH: auth }, simulator: { clients: [{ clientId: 'sync', clientSecret: 'sync-secret-value' }] } });
          const config = loadConfig({ CXONE_BASE_URL: s.simulator.url as string, CXONE_CLIENT_ID: 'sync', CXONE_CLIENT_SECRET: 'sync-secret-value', CXONE_TOKEN_AUTH: auth, SYNC_API_TOKENS: 'okta:okta-test-token-0001' });
          const directory = createUpstreamDirectory(config, { baseUrl: config.cxoneBaseUrl as string, clientId: 'sync', clientSecret: 'sync-secret-value', simulator: true }, createPrometheusMetrics({ defaultMetrics: false }).upstream);
          const app = await composeApp({ config, ports: { directory, audit: new MemoryAuditLog(), metrics: createPrometheusMetrics({ defaultMetrics: false }) } });
          onTestFinished(async () => {
            await app.close();
            await directory.close();
          });
          let seen = 0;
          s.simulator.onRequest((req) => {
            if (req.path !== '/oauth/token') return undefined;
            seen++;
            const headers: Record<string, string> = retryAfter === undefined ? {} : { 'retry-after': retryAfter };
            return { status, headers, body: { error: 'temporarily_unavailable', error_description: 'slow down' } };
          });
          const res = await app.inject({ method: 'POST', url: `/groups/${groups.platform}/sync`, headers: { ...bearer(), 'content-type': 'application/json' }, payload: JSON.stringify({ members: [] }) });
          expect(seen).toBeGreaterThan(0);
          expect({ status: res.statusCode, error: (res.json() as { error: string }).error }).toEqual({ status: 503, error: 'upstream_unavailable' });
          // Its own Retry-After when it sent one; else the service's default of 5 s.
          expect(res.headers['retry-after']).toBe(retryAfter ?? '5');
        });
      }
    }
  }
});

describe('finding: the adaptive upstream limiter under sporadic 429s', () => {
  // Found by the fault suite: the first limiter took every 429 as the new limit and climbed
  // back only to 95 % of it, so a 429 every 20 s ratcheted a 10 req/s service down to its
  // floor. The limiter is AIMD now: cut 10 %, climb 0.5 % of the limit a second, no cap.
  it('when a 429 comes every 20 s while sending 10 req/s, then the limiter still allows at least half that rate after 10 minutes', async () => {
    const clock = new FakeClock();
    const limiter = createRateLimiter({ requestsPerSecond: Infinity, maxConcurrency: 16, clock });
    const end = clock.monotonic() + 600_000;
    let nextThrottle = clock.monotonic() + 20_000;
    while (clock.monotonic() < end) {
      const started = clock.monotonic();
      const release = await limiter.acquire();
      if (clock.monotonic() >= nextThrottle) {
        limiter.onThrottled(1000);
        nextThrottle += 20_000;
      } else limiter.onSuccess();
      release();
      const spent = clock.monotonic() - started;
      if (spent < 100) await clock.sleep(100 - spent); // the caller's own pace: 10 req/s
    }
    expect(limiter.state().ceiling).toBeGreaterThanOrEqual(5);
  });
});
