import { afterEach, describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/simulator.js';
import { GROUP_SCHEMA, closeSimulators, readAnswer, startSimulator } from './harness.js';

afterEach(closeSimulators);

async function admin(url: string, method: string, path: string, body?: unknown) {
  return readAnswer(
    await fetch(`${url}/_simulator${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

describe('simulator admin endpoints', () => {
  it('when SCIM traffic flows, then /_simulator/stats counts it by route and status, and reset clears it', async () => {
    const { url, request } = await startSimulator();
    await request('GET', `/scim/v2/Groups/${seedIds.groups.platform}`);
    await request('GET', '/scim/v2/Groups/nope');
    await admin(url, 'GET', '/faults');
    const stats = await admin(url, 'GET', '/stats');
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({ total: 3, byRoute: { 'POST oauth': 1, 'GET Groups': 2 }, byStatus: { '200': 2, '404': 1 } });
    expect(stats.body.log.map((entry: { path: string }) => entry.path)).toEqual(['/oauth/token', `/scim/v2/Groups/${seedIds.groups.platform}`, '/scim/v2/Groups/nope']);
    expect((await admin(url, 'POST', '/stats/reset')).status).toBe(204);
    expect((await admin(url, 'GET', '/stats')).body.total).toBe(0);
  });

  it('when faults are read and written, then PUT merges and validates them, and admin calls are never faulted', async () => {
    const { url, simulator } = await startSimulator();
    expect((await admin(url, 'GET', '/faults')).body).toEqual({ latencyMs: 0, rateLimit: null, errorRatio: 0, dropRatio: 0, failWrites: null, throttle: null, crash: null, agentFailures: null, pageShift: null, groupErrors: null });
    const put = await admin(url, 'PUT', '/faults', { errorRatio: 1, rateLimit: { requestsPerSecond: 10 } });
    expect(put.body).toEqual({ latencyMs: 0, rateLimit: { requestsPerSecond: 10 }, errorRatio: 1, dropRatio: 0, failWrites: null, throttle: null, crash: null, agentFailures: null, pageShift: null, groupErrors: null });
    expect(simulator.faults.errorRatio).toBe(1);
    expect((await admin(url, 'GET', '/stats')).status).toBe(200);
    const bad = await admin(url, 'PUT', '/faults', { dropRatio: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/dropRatio/);
    expect((await admin(url, 'DELETE', '/faults')).status).toBe(405);
    expect((await admin(url, 'GET', '/nothing')).status).toBe(404);
  });

  it('when a load group is created and the store reset, then the users appear and the seed comes back', async () => {
    const { url, request, simulator } = await startSimulator();
    const created = await admin(url, 'POST', '/groups', { displayName: 'Load 10', userCount: 10, inactiveCount: 3 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ displayName: 'Load 10', memberCount: 10 });
    expect(created.body.userIds).toHaveLength(10);
    expect(created.body.inactiveUserIds).toHaveLength(3);
    const inactive = await request('GET', `/scim/v2/Users/${created.body.inactiveUserIds[0]}`);
    expect(inactive.body.active).toBe(false);
    expect(simulator.store.userCount).toBe(50);
    expect((await admin(url, 'POST', '/groups', { displayName: 'x', userCount: -1 })).status).toBe(400);
    expect((await admin(url, 'POST', '/groups', { id: seedIds.groups.platform, displayName: 'x', userCount: 1 })).status).toBe(409);

    expect((await admin(url, 'POST', '/reset')).status).toBe(204);
    expect(simulator.store.userCount).toBe(40);
    expect(simulator.store.getGroup(created.body.id)).toBeUndefined();
  });

  it('when tokens are revoked through the admin API, then SCIM answers 401', async () => {
    const { url, request, token } = await startSimulator();
    const bearer = await token();
    expect((await admin(url, 'POST', '/tokens/revoke')).status).toBe(204);
    expect((await request('GET', '/scim/v2/Users', { token: bearer })).status).toBe(401);
  });

  it('when a 100,000-member group is created, then it can be read and PUT back intact', async () => {
    const { url, request, simulator } = await startSimulator();
    const created = await admin(url, 'POST', '/groups', { id: 'big-group', displayName: 'Everyone (load)', userCount: 100_000, inactiveCount: 10 });
    expect(created.status).toBe(201);

    const read = await request('GET', '/scim/v2/Groups/big-group');
    expect(read.status).toBe(200);
    expect(read.body.members).toHaveLength(100_000);
    expect(read.body.members[99_999]).toMatchObject({ value: created.body.inactiveUserIds[9], type: 'User', display: 'Load User 100000' });

    const members = read.body.members.slice(1);
    const put = await request('PUT', '/scim/v2/Groups/big-group?excludedAttributes=members', {
      body: { schemas: [GROUP_SCHEMA], displayName: 'Everyone (load)', members },
      headers: { 'if-match': read.headers.get('etag') as string },
    });
    expect(put.status).toBe(200);
    expect(put.headers.get('etag')).toBe('W/"2"');
    expect(put.body.members).toBeUndefined();
    expect(simulator.store.memberCount('big-group')).toBe(99_999);
    expect(simulator.store.parentGroupIds(read.body.members[0].value)).toEqual([]);

    const parents = await request('GET', `/scim/v2/Groups?filter=${encodeURIComponent(`members.value eq "${members[5].value}"`)}&attributes=id`);
    expect(parents.body.Resources).toEqual([{ schemas: [GROUP_SCHEMA], id: 'big-group' }]);

    const removed = await request('PATCH', '/scim/v2/Groups/big-group?attributes=id', {
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'remove', path: `members[value eq "${members[5].value}"]` }] },
    });
    expect(removed.status).toBe(200);
    expect(simulator.store.memberCount('big-group')).toBe(99_998);
  });
});
