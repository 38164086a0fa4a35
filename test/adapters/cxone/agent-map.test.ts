import { afterEach, describe, expect, it } from 'vitest';
import { createAgentMap } from '../../../src/adapters/cxone/agent-map.js';
import { createCxoneConnection, type CxoneConnection } from '../../../src/adapters/cxone/index.js';
import { openSqliteStore, type SqliteStore } from '../../../src/adapters/storage/sqlite-store.js';
import type { AgentMapStore, RequestContext } from '../../../src/core/ports.js';
import { seedIds } from '../../../src/simulator/simulator.js';
import { MemoryAgentMapStore } from '../../fakes/memory-agent-map-store.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { closeSimulators, startSimulator, type Harness } from '../../simulator/harness.js';

const ctx = (): RequestContext => ({ stats: { upstreamRequests: 0 } });
const AGENTS = 'GET admin/agents';

describe('agent map (over the simulator\'s admin API)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
    await closeSimulators();
  });

  interface Setup {
    harness: Harness;
    connection: CxoneConnection;
    /** The query of each GET /agents, in order. */
    queries: URLSearchParams[];
    advance(ms: number): void;
  }

  async function setup(): Promise<Setup> {
    let now = Date.parse('2026-03-01T09:00:00Z');
    const harness = await startSimulator({ scimGroups: false, now: () => now });
    const queries: URLSearchParams[] = [];
    harness.simulator.onRequest((request) => {
      if (request.method === 'GET' && request.path.endsWith('/agents')) queries.push(request.query);
    });
    const connection = createCxoneConnection({ auth: 'client_credentials', baseUrl: harness.url, clientId: 'demo-client', clientSecret: 'demo-secret' });
    cleanups.push(() => connection.close());
    // The seed's agents were last updated when the simulator started; the map's first read comes later.
    now += 1000;
    return { harness, connection, queries, advance: (ms) => (now += ms) };
  }

  function sqlite(dataDir = tempDir()): SqliteStore {
    const store = openSqliteStore({ dataDir });
    cleanups.push(() => store.close());
    return store;
  }

  const agentRequests = (harness: Harness) => harness.simulator.stats.byRoute[AGENTS] ?? 0;

  it('when the store holds nothing, then the first use pages every agent once, with fields narrowed to what the map reads, and keeps them in the store', async () => {
    const { harness, connection, queries } = await setup();
    const store = new MemoryAgentMapStore();
    const map = createAgentMap({ adminApi: connection.adminApi, store });
    const total = harness.simulator.directory.agentCount;
    expect(total).toBeGreaterThan(1000);
    const context = ctx();

    const found = await map.resolve([seedIds.users.aliceSmith], context);

    expect(found.get(seedIds.users.aliceSmith)).toMatchObject({ agentId: seedIds.agents.aliceSmith, userId: seedIds.users.aliceSmith, isActive: true, teamId: 3001 });
    expect(agentRequests(harness)).toBe(Math.ceil(total / 1000));
    expect(context.stats.upstreamRequests).toBeGreaterThanOrEqual(Math.ceil(total / 1000));
    expect(queries.every((query) => query.get('fields') === 'agentId,userID,userName,isActive,teamId,teamUuId' && query.get('updateSince') === null)).toBe(true);
    expect(map.size).toBe(total);
    expect(store.agents.size).toBe(total);
    expect(store.lastPollTime).toBe('2026-03-01T09:00:01.000Z');
  });

  it('when the service starts again over the same store, then the map is read from the store and brought up to date in ONE request with updateSince', async () => {
    const { harness, connection, queries, advance } = await setup();
    const dataDir = tempDir();
    const first = sqlite(dataDir);
    await createAgentMap({ adminApi: connection.adminApi, store: first.agentMap }).refresh(ctx());
    first.close();
    advance(60_000);
    harness.simulator.directory.updateAgent(seedIds.agents.davidKim, { teamId: 3002 });
    harness.simulator.stats.reset();
    queries.length = 0;

    const store = sqlite(dataDir);
    const map = createAgentMap({ adminApi: connection.adminApi, store: store.agentMap });
    await map.load();
    expect(map.size).toBe(harness.simulator.directory.agentCount);
    expect(agentRequests(harness)).toBe(0);
    const found = await map.byAgentIds([seedIds.agents.davidKim], ctx());
    // Known from the store: no refresh was needed to answer.
    expect(agentRequests(harness)).toBe(0);
    expect(found.get(seedIds.agents.davidKim)?.teamId).toBe(3001);

    const team = await map.inTeam(3002, ctx());
    expect(agentRequests(harness)).toBe(1);
    expect(queries[0]?.get('updateSince')).toBe('2026-03-01T09:00:01.000Z');
    expect(team.map((agent) => agent.agentId)).toContain(seedIds.agents.davidKim);
    // The change was kept: a third start sees it without asking.
    expect((await store.agentMap.load()).agents.find((agent) => agent.agentId === seedIds.agents.davidKim)?.teamId).toBe(3002);
    expect((await store.agentMap.load()).lastPollTime).toBe('2026-03-01T09:01:01.000Z');
  });

  it('when a value is not in the map, then one refresh with updateSince runs before the answer: a new agent is found, an unknown value is left out', async () => {
    const { harness, connection, queries, advance } = await setup();
    const map = createAgentMap({ adminApi: connection.adminApi, store: new MemoryAgentMapStore() });
    await map.refresh(ctx());
    advance(1000);
    harness.simulator.directory.createAgent({ agentId: 7001, userID: 'c0ffee00-0000-4000-8000-000000007001', userName: 'newcomer@example.com', teamId: 3003 });
    harness.simulator.stats.reset();
    queries.length = 0;

    const context = ctx();
    const found = await map.resolve(['c0ffee00-0000-4000-8000-000000007001', 'nobody-at-all', seedIds.users.bobJohnson], context);

    expect(agentRequests(harness)).toBe(1);
    expect(queries[0]?.get('updateSince')).toBe('2026-03-01T09:00:01.000Z');
    expect(context.stats.upstreamRequests).toBe(1);
    expect(found.get('c0ffee00-0000-4000-8000-000000007001')).toMatchObject({ agentId: 7001, teamId: 3003 });
    expect(found.has('nobody-at-all')).toBe(false);
    expect(found.get(seedIds.users.bobJohnson)?.agentId).toBe(seedIds.agents.bobJohnson);

    // Every value known: no request at all.
    await map.resolve([seedIds.users.bobJohnson], ctx());
    expect(agentRequests(harness)).toBe(1);
  });

  it('when a value is no agent\'s userID but is one\'s userName, then it resolves to that agent (userID first, userName second, case aside)', async () => {
    const { harness, connection } = await setup();
    const map = createAgentMap({ adminApi: connection.adminApi, store: new MemoryAgentMapStore() });
    const vega = harness.simulator.directory.getAgent(seedIds.agents.tomasVega);
    expect(vega?.userName).toBeTruthy();
    const userName = String(vega?.userName);

    const found = await map.resolve([userName.toUpperCase(), seedIds.users.aliceSmith.toUpperCase()], ctx());

    expect(found.get(userName.toUpperCase())?.agentId).toBe(seedIds.agents.tomasVega);
    expect(found.get(seedIds.users.aliceSmith.toUpperCase())?.agentId).toBe(seedIds.agents.aliceSmith);
  });

  it('when an agent is inactive, then it is resolved and reported with isActive false (the backend refuses it as user_inactive)', async () => {
    const { connection } = await setup();
    const map = createAgentMap({ adminApi: connection.adminApi, store: new MemoryAgentMapStore() });

    const found = await map.resolve([seedIds.users.isabelCosta, seedIds.users.aliceSmith], ctx());

    expect(found.get(seedIds.users.isabelCosta)).toMatchObject({ agentId: seedIds.agents.isabelCosta, isActive: false });
    expect(found.get(seedIds.users.aliceSmith)?.isActive).toBe(true);
  });

  it('when several syncs miss at the same time, then they share one refresh: one request', async () => {
    const { harness, connection } = await setup();
    const store = new MemoryAgentMapStore();
    const map = createAgentMap({ adminApi: connection.adminApi, store });
    await map.refresh(ctx());
    harness.simulator.stats.reset();

    const answers = await Promise.all([map.resolve(['unknown-1'], ctx()), map.resolve(['unknown-2'], ctx()), map.byAgentIds([999_999], ctx()), map.resolve(['unknown-3'], ctx())]);

    expect(answers.map((answer) => answer.size)).toEqual([0, 0, 0, 0]);
    expect(agentRequests(harness)).toBe(1);
    expect(store.saves).toHaveLength(2);
  });

  it('when the first use of an empty map comes from several syncs at once, then every agent is paged once, not once per sync', async () => {
    const { harness, connection } = await setup();
    const store: AgentMapStore = new MemoryAgentMapStore();
    const map = createAgentMap({ adminApi: connection.adminApi, store });

    await Promise.all([map.resolve([seedIds.users.aliceSmith], ctx()), map.inTeam(3001, ctx()), map.resolve(['nobody'], ctx())]);

    expect(agentRequests(harness)).toBe(Math.ceil(harness.simulator.directory.agentCount / 1000));
  });
});
