/**
 * Faults every simulated route shares: 429 answers by ratio with or without Retry-After,
 * the token bucket without Retry-After, and crash points that drop the connection before
 * or after a write is applied.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/simulator/faults.js';
import { seedIds } from '../../src/simulator/simulator.js';
import { GROUP_SCHEMA, PATCH_SCHEMA, closeSimulators, readAnswer, startSimulator } from './harness.js';

afterEach(closeSimulators);

const groupPath = `/scim/v2/Groups/${seedIds.groups.contactCenterAgents}`;
const addAlice = { schemas: [PATCH_SCHEMA], Operations: [{ op: 'add', path: 'members', value: [{ value: seedIds.users.aliceSmith, type: 'User' }] }] };

describe('simulator transport faults', () => {
  it('when throttle is set with a Retry-After, then that share of requests answers 429 with it', async () => {
    const { request, token, simulator } = await startSimulator({ random: mulberry32(7) });
    const bearer = await token();
    simulator.setFaults({ throttle: { ratio: 1, retryAfterSeconds: 3 } });
    const limited = await request('GET', groupPath, { token: bearer });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(limited.body).toMatchObject({ status: '429' });
    simulator.setFaults({ throttle: { ratio: 0.5, retryAfterSeconds: 3 } });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await request('GET', groupPath, { token: bearer })).status);
    expect(statuses).toContain(429);
    expect(statuses).toContain(200);
  });

  it('when throttle has no Retry-After, then the 429 carries none', async () => {
    const { request, token, simulator } = await startSimulator();
    const bearer = await token();
    simulator.setFaults({ throttle: { ratio: 1, retryAfterSeconds: null } });
    const limited = await request('GET', groupPath, { token: bearer });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBeNull();
    simulator.setFaults({ throttle: null });
    expect((await request('GET', groupPath, { token: bearer })).status).toBe(200);
  });

  it('when the token bucket is set without Retry-After, then its 429 carries none', async () => {
    const now = 1_000_000;
    const { request, token, simulator } = await startSimulator({ now: () => now });
    const bearer = await token();
    simulator.setFaults({ rateLimit: { requestsPerSecond: 1, burst: 1, retryAfter: false } });
    expect((await request('GET', groupPath, { token: bearer })).status).toBe(200);
    const limited = await request('GET', groupPath, { token: bearer });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBeNull();
    expect(simulator.faults.rateLimit).toEqual({ requestsPerSecond: 1, burst: 1, retryAfter: false });
  });

  it('when a crash point is set before the write, then the connection drops and nothing is applied', async () => {
    const { request, token, simulator } = await startSimulator();
    const bearer = await token();
    simulator.setFaults({ crash: { when: 'before', routes: ['PATCH Groups'], count: 1 } });
    await expect(request('PATCH', groupPath, { body: addAlice, token: bearer })).rejects.toThrow(TypeError);
    expect(simulator.store.memberCount(seedIds.groups.contactCenterAgents)).toBe(0);
    expect(simulator.stats.log.at(-1)).toEqual({ method: 'PATCH', path: groupPath, status: 0 });
    expect(simulator.faults.crash).toBeNull();
    expect((await request('PATCH', groupPath, { body: addAlice, token: bearer })).status).toBe(200);
  });

  it('when a crash point is set after the write, then the write is applied and the connection drops instead of the answer', async () => {
    const { request, token, simulator } = await startSimulator();
    const bearer = await token();
    simulator.setFaults({ crash: { when: 'after', routes: null, count: 1 } });
    // Reads are never crash points.
    expect((await request('GET', groupPath, { token: bearer })).status).toBe(200);
    await expect(request('PATCH', groupPath, { body: addAlice, token: bearer })).rejects.toThrow(TypeError);
    expect(simulator.store.memberCount(seedIds.groups.contactCenterAgents)).toBe(1);
    expect(simulator.stats.byStatus['0']).toBe(1);
  });

  it('when a crash point names other routes, then this write is answered normally', async () => {
    const { request, simulator } = await startSimulator();
    simulator.setFaults({ crash: { when: 'after', routes: ['PUT Groups'], count: null } });
    expect((await request('PATCH', groupPath, { body: addAlice })).status).toBe(200);
    const put = await request('PUT', groupPath, { body: { schemas: [GROUP_SCHEMA], displayName: 'Contact Center Agents', members: [] } }).catch((error: unknown) => error);
    expect(put).toBeInstanceOf(TypeError);
    expect(simulator.faults.crash).toEqual({ when: 'after', routes: ['PUT Groups'], count: null });
  });

  it('when the new faults are set through the admin API, then they are validated and merged', async () => {
    const { url, simulator } = await startSimulator();
    const put = async (body: unknown) =>
      readAnswer(await fetch(`${url}/_simulator/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }));
    const ok = await put({ throttle: { ratio: 0.1, retryAfterSeconds: null }, crash: { when: 'before' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ throttle: { ratio: 0.1, retryAfterSeconds: null }, crash: { when: 'before', routes: null, count: 1 } });
    expect(simulator.faults.throttle).toEqual({ ratio: 0.1, retryAfterSeconds: null });
    for (const [bad, field] of [
      [{ throttle: { ratio: 2 } }, 'throttle'],
      [{ crash: { when: 'during' } }, 'crash'],
      [{ crash: { when: 'after', routes: [''] } }, 'crash'],
      [{ rateLimit: { requestsPerSecond: 1, retryAfter: 'no' } }, 'rateLimit'],
    ] as const) {
      const answer = await put(bad);
      expect(answer.status).toBe(400);
      expect(answer.body.message).toContain(field);
    }
  });
});
