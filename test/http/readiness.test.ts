/**
 * GET /readyz is public: a flood of probes must not become a flood of upstream requests
 * (the upstream probe is cached for READINESS_CACHE_MS, one probe in flight at a time),
 * and the public answer says which dependency is down, never a URL, an address or a
 * socket error (those are for the log). The service is composed as main.ts composes it,
 * with the app's clock injected.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../fakes/fake-clock.js';
import { buildFullApp } from '../helpers/full-app.js';
import { buildTestApp } from '../helpers/build-test-app.js';
import { createLogger } from '../../src/adapters/logging/logger.js';

const TOKEN = 'okta-readiness-token-7c1d0e';


async function readinessApp(env: Record<string, string> = {}) {
  const clock = new FakeClock();
  const full = await buildFullApp({
    clientId: 'readiness-suite',
    clientSecret: 'readiness-suite-client-secret-1',
    env: { SYNC_API_TOKENS: `okta:${TOKEN}`, LOG_LEVEL: 'debug', ...env },
    simulator: { seed: 'empty' },
    appClock: clock,
    clock: new FakeClock(), // the SCIM adapter's own: its retry waits never sleep
    dispatch: false,
  });
  const probes = () => full.simulator.stats.byRoute['GET ServiceProviderConfig'] ?? 0;
  return { ...full, clock, probes };
}

describe('GET /readyz: the upstream probe is cached', () => {
  it('when 50 probes arrive at once, then the upstream gets one request; after READINESS_CACHE_MS, one more', async () => {
    const s = await readinessApp();
    const answers = await Promise.all(Array.from({ length: 50 }, () => s.app.inject('/readyz')));
    expect(answers.map((a) => a.statusCode)).toEqual(Array.from({ length: 50 }, () => 200));
    expect(answers[0]?.json()).toEqual({ status: 'ready', checks: { upstream: 'ok', storage: 'ok' }, backend: { setting: 'auto', name: 'scim-groups', chosenBy: 'probe' } });
    expect(s.probes()).toBe(1);

    // Within the cache time: no upstream request at all.
    s.clock.advance(4_999);
    await Promise.all(Array.from({ length: 50 }, () => s.app.inject('/readyz')));
    expect(s.probes()).toBe(1);

    // Past it (default 5000 ms): one more, whatever the number of callers.
    s.clock.advance(1);
    await Promise.all(Array.from({ length: 50 }, () => s.app.inject('/readyz')));
    expect(s.probes()).toBe(2);
  });

  it('when READINESS_CACHE_MS is set, then the outcome is reused that long, a failure included, and recovery shows after it', async () => {
    const s = await readinessApp({ READINESS_CACHE_MS: '20000' });
    s.simulator.setFaults({ errorRatio: 1 });
    const down = await Promise.all(Array.from({ length: 20 }, () => s.app.inject('/readyz')));
    expect(down.map((a) => a.statusCode)).toEqual(Array.from({ length: 20 }, () => 503));
    const probesWhileDown = s.probes();
    s.simulator.setFaults({ errorRatio: 0 });
    s.clock.advance(19_999);
    expect((await s.app.inject('/readyz')).statusCode).toBe(503);
    expect(s.probes()).toBe(probesWhileDown);
    s.clock.advance(1);
    expect((await s.app.inject('/readyz')).statusCode).toBe(200);
    expect(s.probes()).toBe(probesWhileDown + 1);
  });
});

describe('GET /readyz: what the public answer says', () => {
  it('when the upstream cannot be reached, then the answer says "unavailable" without URL, address or socket error, and the log says why', async () => {
    const s = await readinessApp();
    const { port } = new URL(s.simulator.url);
    await s.simulator.close();
    const res = await s.app.inject('/readyz');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'not_ready', checks: { upstream: 'unavailable', storage: 'ok' }, backend: { setting: 'auto', name: null, reason: expect.stringMatching(/^SCIM GET \/Groups got no answer/) } });
    expect(res.body).not.toMatch(/127\.0\.0\.1|localhost|http|ECONN|oauth|token endpoint/i);
    expect(res.body).not.toContain(port);
    const logged = s.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === 'readiness check failed');
    expect(logged).toHaveLength(1);
    expect(JSON.stringify(logged[0])).toMatch(/ECONNREFUSED/);
    expect(logged[0]).toMatchObject({ check: 'upstream' });
  });

  it('when a check fails with a message, then the answer says only "unavailable" and the message goes to the log', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const { app } = await buildTestApp({
      logger,
      ports: { readiness: [{ name: 'upstream', check: async () => Promise.reject(new Error('connect ECONNREFUSED 10.1.2.3:443 (https://tenant.example.com/oauth/token)')) }] },
    });
    const res = await app.inject('/readyz');
    expect(res.json()).toEqual({ status: 'not_ready', checks: { upstream: 'unavailable' } });
    expect(lines.join('\n')).toContain('connect ECONNREFUSED 10.1.2.3:443');
  });
});
