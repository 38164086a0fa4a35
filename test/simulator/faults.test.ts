import { afterEach, describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/simulator.js';
import { mulberry32 } from '../../src/simulator/faults.js';
import { GROUP_SCHEMA, closeSimulators, startSimulator } from './harness.js';

afterEach(closeSimulators);

const groupPath = `/scim/v2/Groups/${seedIds.groups.platform}`;

async function statusesUnderHalfErrors(): Promise<number[]> {
  const { request, token, simulator } = await startSimulator({ random: mulberry32(42) });
  const bearer = await token();
  simulator.setFaults({ errorRatio: 0.5 });
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await request('GET', groupPath, { token: bearer })).status);
  return statuses;
}

describe('simulator fault injection and the onRequest hook', () => {
  it('when the rate limit is exceeded, then 429 with a SCIM error and Retry-After, until the injected clock refills the bucket', async () => {
    let now = 1_000_000;
    const { request, token, simulator } = await startSimulator({ now: () => now });
    const bearer = await token();
    simulator.setFaults({ rateLimit: { requestsPerSecond: 0.5, burst: 2 } });
    expect((await request('GET', groupPath, { token: bearer })).status).toBe(200);
    expect((await request('GET', groupPath, { token: bearer })).status).toBe(200);
    const limited = await request('GET', groupPath, { token: bearer });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(limited.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '429' });
    now += 2_000;
    expect((await request('GET', groupPath, { token: bearer })).status).toBe(200);
    expect(simulator.stats.byStatus['429']).toBe(1);
  });

  it('when errorRatio is 1, then every request answers 503 with Retry-After: 1', async () => {
    const { request, token, simulator } = await startSimulator();
    const bearer = await token();
    simulator.setFaults({ errorRatio: 1 });
    const answer = await request('GET', groupPath, { token: bearer });
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('1');
    expect(answer.body).toMatchObject({ status: '503' });
    expect(simulator.store.getGroup(seedIds.groups.platform)?.meta.version).toBe('W/"1"');
  });

  it('when dropRatio is 1, then the connection is closed without an answer', async () => {
    const { request, token, simulator } = await startSimulator();
    const bearer = await token();
    simulator.setFaults({ dropRatio: 1 });
    await expect(request('GET', groupPath, { token: bearer })).rejects.toThrow(TypeError);
    expect(simulator.stats.log.at(-1)).toEqual({ method: 'GET', path: groupPath, status: 0 });
    simulator.setFaults({ dropRatio: 0 });
    expect((await request('GET', groupPath, { token: bearer })).status).toBe(200);
  });

  it('when a latency is configured, then it is part of the faults and requests still succeed', async () => {
    const { request, simulator } = await startSimulator({ faults: { latencyMs: 3 } });
    expect(simulator.faults).toEqual({ latencyMs: 3, rateLimit: null, errorRatio: 0, dropRatio: 0, failWrites: null, throttle: null, crash: null, agentFailures: null, pageShift: null, groupErrors: null });
    expect((await request('GET', groupPath)).status).toBe(200);
    simulator.setFaults({ latencyMs: [0, 0] });
    expect(simulator.faults.latencyMs).toEqual([0, 0]);
  });

  it('when faults are invalid, then setFaults throws naming the field', async () => {
    const { simulator } = await startSimulator();
    expect(() => simulator.setFaults({ errorRatio: 2 })).toThrow(/errorRatio/);
    expect(() => simulator.setFaults({ latencyMs: [10, 5] })).toThrow(/latencyMs/);
    expect(() => simulator.setFaults({ rateLimit: { requestsPerSecond: 0 } })).toThrow(/rateLimit/);
  });

  it('when a ratio is fractional, then the seeded PRNG makes the outcome sequence reproducible', async () => {
    const first = await statusesUnderHalfErrors();
    expect(first).toContain(503);
    expect(first).toContain(200);
    expect(await statusesUnderHalfErrors()).toEqual(first);
  });

  it('when the hook writes between a GET and a PUT, then the PUT with the old ETag gets 412', async () => {
    const { request, simulator } = await startSimulator();
    const read = await request('GET', groupPath);
    simulator.onRequest((req) => {
      if (req.method === 'PUT') simulator.store.addMembers(seedIds.groups.platform, [{ value: seedIds.users.lauraGarcia }]);
    });
    const body = { schemas: [GROUP_SCHEMA], displayName: 'Platform', members: read.body.members };
    const answer = await request('PUT', groupPath, { body, headers: { 'if-match': read.headers.get('etag') as string } });
    expect(answer.status).toBe(412);
    expect(simulator.store.getGroup(seedIds.groups.platform)?.members.map((m) => m.value)).toContain(seedIds.users.lauraGarcia);
  });

  it('when the hook returns a response, then it is sent instead, and a null hook stops it', async () => {
    const { request, simulator } = await startSimulator();
    const seen: string[] = [];
    simulator.onRequest(async (req) => {
      seen.push(`${req.method} ${req.path} ${req.query.get('count') ?? ''}`);
      if (req.path.startsWith('/scim/')) return { status: 500, headers: { 'x-injected': 'yes' }, body: { detail: 'boom' } };
      return undefined;
    });
    const answer = await request('GET', '/scim/v2/Users?count=1');
    expect(answer.status).toBe(500);
    expect(answer.headers.get('x-injected')).toBe('yes');
    expect(answer.body).toEqual({ detail: 'boom' });
    expect(seen).toEqual(['POST /oauth/token ', 'GET /scim/v2/Users 1']);
    simulator.onRequest(null);
    expect((await request('GET', '/scim/v2/Users?count=1')).status).toBe(200);
  });
});
