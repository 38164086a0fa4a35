import { describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/simulator.js';
import { bearer } from '../helpers/build-test-app.js';
import { buildSimulatorApp, type SimulatorApp } from '../helpers/simulator-app.js';
import { createPrometheusMetrics } from '../../src/adapters/metrics/prometheus-metrics.js';
import { openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { composeApp } from '../../src/composition/app.js';
import { loadConfig } from '../../src/config.js';
import { tempDir } from '../helpers/temp-dir.js';

const { users, groups } = seedIds;
const user = (value: string) => ({ value, type: 'User' as const });
const group = (value: string) => ({ value, type: 'Group' as const });
const memberValues = (s: SimulatorApp, id: string) => (s.simulator.store.getGroup(id)?.members ?? []).map((m) => `${m.type}:${m.value}`).toSorted();

function post(s: SimulatorApp, groupId: string, body: unknown, query = '') {
  return s.app.inject({ method: 'POST', url: `/groups/${encodeURIComponent(groupId)}/sync${query}`, headers: { ...bearer(), 'content-type': 'application/json' }, payload: JSON.stringify(body) });
}

describe('sync against the embedded CXone simulator', () => {
  it('when the README example runs, then the group holds exactly the desired users and the answer says so', async () => {
    const s = await buildSimulatorApp();
    const members = [user(users.aliceSmith), user(users.davidKim), user(users.carmenRodriguez)];
    const res = await post(s, groups.contactCenterAgents, { members });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'applied', added: members, removed: [], memberCount: 3, consistencyRate: 1, etag: 'W/"2"', upstreamRequests: 3 });
    expect(memberValues(s, groups.contactCenterAgents)).toEqual(members.map((m) => `User:${m.value}`).toSorted());
    // GET Users twice: the existence check, then the attribute read-back after the write
    expect(s.simulator.stats.byRoute).toMatchObject({ 'GET Groups': 1, 'GET Users': 2, 'PUT Groups': 1 });
  });

  it('when dryRun=true, then nothing is written upstream', async () => {
    const s = await buildSimulatorApp();
    const before = s.simulator.store.getGroup(groups.platform)?.meta.version;
    const res = await post(s, groups.platform, { members: [user(users.aliceSmith)] }, '?dryRun=true');
    expect(res.json()).toMatchObject({ status: 'dry_run', added: [user(users.aliceSmith)], memberCount: 1 });
    expect(res.json().removed).toHaveLength(4);
    expect(s.simulator.stats.byRoute['PUT Groups']).toBeUndefined();
    expect(s.simulator.store.getGroup(groups.platform)?.meta.version).toBe(before);
  });

  it('when the membership is already as desired, then nothing is written', async () => {
    const s = await buildSimulatorApp();
    const current = s.simulator.store.getGroup(groups.platform)?.members.map((m) => ({ value: m.value, type: m.type })) ?? [];
    const res = await post(s, groups.platform, { members: current });
    expect(res.json()).toMatchObject({ status: 'unchanged', upstreamRequests: 1 });
    expect(s.simulator.stats.byRoute['PUT Groups']).toBeUndefined();
  });

  it('when a nested group would exceed the depth limit or close a cycle, then 422 names each member', async () => {
    const s = await buildSimulatorApp();
    const res = await post(s, groups.engineeringCore, { members: [group(groups.platform), group(groups.allStaff), user(users.marcusJohansson), user('u-404')] });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors.map((e: { code: string }) => e.code)).toEqual(['depth_exceeded', 'cycle_detected', 'user_inactive', 'user_not_found']);
    expect(s.simulator.stats.byRoute['PUT Groups']).toBeUndefined();
  });

  it('when an added group sits in a loop that already exists upstream (L1 ⊃ L2 ⊃ L1), then 422 cycle_detected names it and nothing is written', async () => {
    const s = await buildSimulatorApp();
    const l1 = s.simulator.store.createGroup({ displayName: 'Loop 1' });
    const l2 = s.simulator.store.createGroup({ displayName: 'Loop 2', members: [{ value: l1.id, type: 'Group' }] });
    s.simulator.store.addMembers(l1.id, [{ value: l2.id, type: 'Group' }]);
    const res = await post(s, groups.contactCenterAgents, { members: [group(l1.id), user(users.aliceSmith)] });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toEqual([{ code: 'cycle_detected', member: group(l1.id), message: expect.stringContaining('loop') }]);
    expect(s.simulator.stats.byRoute['PUT Groups']).toBeUndefined();
    expect(memberValues(s, groups.contactCenterAgents)).toEqual([]);
  });

  it('when a group is nested within the limit, then it is written', async () => {
    const s = await buildSimulatorApp();
    const res = await post(s, groups.contactCenterAgents, { members: [group(groups.platform)] });
    expect(res.json()).toMatchObject({ status: 'applied', added: [group(groups.platform)] });
  });

  it('when the group does not exist upstream, then 404 group_not_found', async () => {
    const s = await buildSimulatorApp();
    const res = await post(s, 'no-such-group', { members: [] });
    expect(res.statusCode).toBe(404);
    expect(res.json().error).toBe('group_not_found');
  });

  it('when a second writer changes the group between our read and our PUT, then the 412 is retried and the sync converges', async () => {
    const s = await buildSimulatorApp();
    let raced = false;
    s.simulator.onRequest((req) => {
      if (req.method === 'PUT' && !raced) {
        raced = true;
        s.simulator.store.addMembers(groups.contactCenterAgents, [{ value: users.lauraGarcia, type: 'User' }]);
      }
    });
    const res = await post(s, groups.contactCenterAgents, { members: [user(users.aliceSmith)] });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'applied', added: [user(users.aliceSmith)], removed: [user(users.lauraGarcia)], consistencyRate: 1 });
    expect(memberValues(s, groups.contactCenterAgents)).toEqual([`User:${users.aliceSmith}`]);
    expect(s.simulator.stats.byStatus['412']).toBe(1);
    expect(s.simulator.stats.byRoute['PUT Groups']).toBe(2);
  });

  it('when the group changes before every PUT, then 409 conflict after 3 retries', async () => {
    const s = await buildSimulatorApp();
    s.simulator.onRequest((req) => {
      if (req.method === 'PUT') s.simulator.store.bumpGroup(groups.contactCenterAgents);
    });
    const res = await post(s, groups.contactCenterAgents, { members: [user(users.aliceSmith)] });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: 'conflict' });
    expect(s.simulator.stats.byRoute['PUT Groups']).toBe(4);
  });

  it('when 20 syncs of one group arrive concurrently, then the group ends with the last accepted request\'s members', async () => {
    const s = await buildSimulatorApp();
    const candidates = Object.values(users).filter((id) => s.simulator.store.getUser(id)?.active);
    const bodies = Array.from({ length: 20 }, (_, i) => ({ members: [user(candidates[i % candidates.length] as string), user(candidates[(i + 1) % candidates.length] as string)] }));
    const responses = await Promise.all(bodies.map((body) => post(s, groups.contactCenterAgents, body)));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
    // syncIds are UUIDv7, taken in the order requests entered the per-group queue
    const last = responses.map((r, i) => ({ syncId: r.json().syncId as string, body: bodies[i] })).toSorted((a, b) => a.syncId.localeCompare(b.syncId)).at(-1);
    expect(memberValues(s, groups.contactCenterAgents)).toEqual(last?.body?.members.map((m) => `User:${m.value}`).toSorted());
    expect(s.simulator.stats.byStatus['412']).toBeUndefined();
  });

  it('when the provider sends no ETag, then the write is guarded by meta.version, verified by a read-back, and etag is null', async () => {
    const s = await buildSimulatorApp({ simulator: { capabilities: { etag: false } } });
    const res = await post(s, groups.contactCenterAgents, { members: [user(users.aliceSmith)] });
    expect(res.json()).toMatchObject({ status: 'applied', etag: null, upstreamRequests: 5 });
    // the read, the version check before the PUT, the verification after it
    expect(s.simulator.stats.byRoute['GET Groups']).toBe(3);
  });

  it('when the provider rejects filters, then users are looked up one by one and the sync still works', async () => {
    const s = await buildSimulatorApp({ simulator: { capabilities: { filter: false } } });
    const res = await post(s, groups.contactCenterAgents, { members: [user(users.aliceSmith), user(users.davidKim)] });
    expect(res.json()).toMatchObject({ status: 'applied', consistencyRate: 1 });
    expect(s.simulator.stats.byStatus['400']).toBe(1);
  });

  it('when the upstream answers 429 then succeeds, then the sync is applied after waiting Retry-After', async () => {
    const s = await buildSimulatorApp();
    let limited = false;
    s.simulator.onRequest((req) => {
      if (req.method === 'GET' && !limited) {
        limited = true;
        return { status: 429, headers: { 'retry-after': '2' }, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '429', detail: 'slow down' } };
      }
    });
    const res = await post(s, groups.contactCenterAgents, { members: [user(users.aliceSmith)] });
    expect(res.json()).toMatchObject({ status: 'applied' });
    expect(s.clock.sleeps).toContain(2000);
  });

  it('when the upstream rejects the write, then 502 carries upstreamStatus, scimType and detail', async () => {
    const s = await buildSimulatorApp();
    s.simulator.onRequest((req) => {
      if (req.method === 'PUT') return { status: 403, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '403', scimType: 'insufficientScope', detail: 'token lacks provisioning:write' } };
    });
    const res = await post(s, groups.contactCenterAgents, { members: [user(users.aliceSmith)] });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({ error: 'upstream_error', upstreamStatus: 403, scimType: 'insufficientScope', detail: 'token lacks provisioning:write' });
  });

  it('when a 1,000-member group gains one member, then the sync costs 3 upstream requests, not one per member', async () => {
    const s = await buildSimulatorApp();
    const load = await s.app.inject({ method: 'GET', url: '/healthz' });
    expect(load.statusCode).toBe(200);
    const big = await fetch(`${s.simulator.url}/_simulator/groups`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ displayName: 'Big', userCount: 1000 }) }).then((r) => r.json() as Promise<{ id: string; userIds: string[] }>);
    s.simulator.stats.reset();
    const members = [...big.userIds.map(user), user(users.aliceSmith)];
    const res = await post(s, big.id, { members });
    expect(res.json()).toMatchObject({ status: 'applied', added: [user(users.aliceSmith)], memberCount: 1001, upstreamRequests: 3 });
    expect(s.requests()).toBe(5); // + the token fetch and the attribute read-back
  });

  it('when input is bad, then the simulator sees zero requests', async () => {
    const s = await buildSimulatorApp();
    const bad = [
      { url: `/groups/${groups.platform}/sync`, payload: '{"members": [' },
      { url: `/groups/${groups.platform}/sync`, payload: '{"members": [{"value": 5, "type": "User"}]}' },
      { url: '/groups/..%2FUsers/sync', payload: '{"members": []}' },
      { url: `/groups/${groups.platform}/sync`, payload: JSON.stringify({ members: Array.from({ length: 100_001 }, (_, i) => ({ value: `u${i}`, type: 'User' })) }) },
    ];
    for (const { url, payload } of bad) {
      const res = await s.app.inject({ method: 'POST', url, headers: { ...bearer(), 'content-type': 'application/json' }, payload });
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
    }
    const noToken = await s.app.inject({ method: 'POST', url: `/groups/${groups.platform}/sync`, headers: { 'content-type': 'application/json' }, payload: '{"members":[]}' });
    expect(noToken.statusCode).toBe(401);
    expect(s.requests()).toBe(0);
  });

  it('when /readyz is called, then it fetches a token and reaches the upstream', async () => {
    const s = await buildSimulatorApp();
    const res = await s.app.inject('/readyz');
    expect(res.json()).toEqual({ status: 'ready', checks: { upstream: 'ok' } });
  });
});

describe('user attribute sync against the simulator', () => {
  const MAP = JSON.stringify({ [groups.contactCenterAgents]: ['cxone:agent'], [groups.supportTier1]: ['cxone:agent', 'cxone:support'] });
  const entitlementsOf = (s: SimulatorApp, id: string) =>
    ((s.simulator.store.getUser(id)?.entitlements as { value: string }[] | undefined) ?? []).map((e) => e.value).toSorted();

  it('when users join and leave a mapped group, then their entitlements end exactly as ENTITLEMENT_MAP says', async () => {
    const s = await buildSimulatorApp({ env: { ENTITLEMENT_MAP: MAP } });
    // Bob holds cxone:administrator (not managed); Carmen is in Support Tier 1 (cxone:agent via that group too)
    const join = await post(s, groups.contactCenterAgents, { members: [user(users.aliceSmith), user(users.bobJohnson), user(users.carmenRodriguez)] });
    expect(join.json().status).toBe('applied');
    expect(entitlementsOf(s, users.aliceSmith)).toEqual(['cxone:agent']);
    expect(entitlementsOf(s, users.bobJohnson)).toEqual(['cxone:administrator', 'cxone:agent']);
    expect(entitlementsOf(s, users.carmenRodriguez)).toEqual(['cxone:agent', 'cxone:support']);

    const leave = await post(s, groups.contactCenterAgents, { members: [user(users.aliceSmith)] });
    expect(leave.json()).toMatchObject({ status: 'applied', removed: [user(users.bobJohnson), user(users.carmenRodriguez)] });
    expect(entitlementsOf(s, users.bobJohnson)).toEqual(['cxone:administrator']);
    expect(entitlementsOf(s, users.carmenRodriguez)).toEqual(['cxone:agent', 'cxone:support']);
    expect(entitlementsOf(s, users.aliceSmith)).toEqual(['cxone:agent']);

    const record = s.audit.records.at(-1);
    expect(record?.attributes).toMatchObject({ checked: 2, groupsInconsistent: 0, failed: 0 });
    expect(s.audit.events.filter((e) => e.type === 'user.attributes.synced')).toHaveLength(2);
  });

  it('when the provider answers the PATCH with an error, then the membership write stands and the failure is reported', async () => {
    const s = await buildSimulatorApp({ env: { ENTITLEMENT_MAP: MAP } });
    s.simulator.onRequest((req) => {
      if (req.method === 'PATCH') return { status: 403, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '403', detail: 'entitlements are read-only' } };
    });
    const res = await post(s, groups.contactCenterAgents, { members: [user(users.aliceSmith)] });
    expect(res.json().status).toBe('applied');
    expect(memberValues(s, groups.contactCenterAgents)).toEqual([`User:${users.aliceSmith}`]);
    expect(s.audit.records.at(-1)?.attributes?.users).toEqual([
      expect.objectContaining({ userId: users.aliceSmith, entitlements: 'failed', error: expect.stringContaining('403') }),
    ]);
  });
});

describe('PATCH write mode against the simulator', () => {
  async function bigGroup(s: SimulatorApp, userCount: number) {
    const res = await fetch(`${s.simulator.url}/_simulator/groups`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ displayName: 'Big', userCount }) });
    return (await res.json()) as { id: string; userIds: string[] };
  }

  it('when WRITE_MODE=patch, then only the difference is sent, in chunks of PATCH_MAX_OPERATIONS, and the answer says patch', async () => {
    const s = await buildSimulatorApp({ env: { WRITE_MODE: 'patch', PATCH_MAX_OPERATIONS: '2' } });
    const big = await bigGroup(s, 10);
    s.simulator.stats.reset();
    const patchQueries: (string | null)[] = [];
    s.simulator.onRequest((req) => {
      if (req.method === 'PATCH') patchQueries.push(req.query.get('excludedAttributes'));
    });
    const desired = [...big.userIds.slice(3).map(user), user(users.aliceSmith)]; // 3 removed, 1 added
    const res = await post(s, big.id, { members: desired });
    expect(res.json()).toMatchObject({ status: 'applied', writeMode: 'patch', consistencyRate: 1, memberCount: 8 });
    expect(s.simulator.stats.byRoute['PATCH Groups']).toBe(2);
    expect(s.simulator.stats.byRoute['PUT Groups']).toBeUndefined();
    // no PATCH names excludedAttributes (a provider may patch that projection and write it back)
    expect(patchQueries).toEqual([null, null]);
    expect(memberValues(s, big.id)).toEqual(desired.map((m) => `User:${m.value}`).toSorted());
    expect(s.audit.records.at(-1)?.writeMode).toBe('patch');
  });

  it('when WRITE_MODE=auto and one member of 1,000 changes, then it patches; when most change, it puts', async () => {
    const s = await buildSimulatorApp({ env: { WRITE_MODE: 'auto' } });
    const big = await bigGroup(s, 1000);
    const small = await post(s, big.id, { members: [...big.userIds.slice(1).map(user), user(users.aliceSmith)] });
    expect(small.json()).toMatchObject({ status: 'applied', writeMode: 'patch', consistencyRate: 1 });
    const large = await post(s, big.id, { members: [user(users.aliceSmith), user(users.davidKim)] }, '?allowMassRemoval=true');
    expect(large.json()).toMatchObject({ status: 'applied', writeMode: 'put', consistencyRate: 1 });
    expect(s.simulator.stats.byRoute['GET ServiceProviderConfig']).toBe(1);
  });

  it('when WRITE_MODE=auto and the provider has no PATCH, then it puts', async () => {
    const s = await buildSimulatorApp({ env: { WRITE_MODE: 'auto' }, simulator: { capabilities: { patch: false } } });
    const big = await bigGroup(s, 100);
    const res = await post(s, big.id, { members: [...big.userIds.map(user), user(users.aliceSmith)] });
    expect(res.json()).toMatchObject({ status: 'applied', writeMode: 'put' });
  });

  it('when a concurrent writer strikes during a PATCH sequence, then it converges on the desired set', async () => {
    const s = await buildSimulatorApp({ env: { WRITE_MODE: 'patch', PATCH_MAX_OPERATIONS: '3' } });
    const big = await bigGroup(s, 12);
    let patches = 0;
    s.simulator.onRequest((req) => {
      if (req.method === 'PATCH' && ++patches === 2) s.simulator.store.addMembers(big.id, [{ value: users.lauraGarcia, type: 'User' }]);
    });
    const desired = big.userIds.slice(0, 2).map(user);
    const res = await post(s, big.id, { members: desired });
    expect(res.json()).toMatchObject({ status: 'applied', writeMode: 'patch', consistencyRate: 1 });
    expect(memberValues(s, big.id)).toEqual(desired.map((m) => `User:${m.value}`).toSorted());
    expect(s.simulator.stats.byStatus['412']).toBe(1);
  });
});

describe('GET /readyz against real dependencies', () => {
  it('when the upstream fails and then recovers, and when storage closes, then readiness follows', async () => {
    const s = await buildSimulatorApp();
    const store = openSqliteStore({ dataDir: tempDir() });
    const app = await composeApp({
      config: loadConfig({ SYNC_API_TOKENS: 'okta:okta-test-token-0001' }),
      ports: {
        directory: s.directory,
        audit: store,
        metrics: createPrometheusMetrics({ defaultMetrics: false }),
        clock: s.clock,
        readiness: [
          { name: 'upstream', check: () => s.directory.ping({ stats: { upstreamRequests: 0 } }) },
          { name: 'storage', check: () => store.ping() },
        ],
      },
    });
    try {
      expect((await app.inject('/readyz')).json()).toEqual({ status: 'ready', checks: { upstream: 'ok', storage: 'ok' } });
      s.simulator.setFaults({ errorRatio: 1 });
      const down = await app.inject('/readyz');
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({ status: 'not_ready', checks: { upstream: 'unavailable', storage: 'ok' } });
      s.simulator.setFaults({ errorRatio: 0 });
      expect((await app.inject('/readyz')).statusCode).toBe(200);
      store.close();
      const closed = await app.inject('/readyz');
      expect(closed.statusCode).toBe(503);
      expect(closed.json().checks.storage).toBe('unavailable');
    } finally {
      await app.close();
      store.close();
    }
  });
});
