import { afterEach, describe, expect, it } from 'vitest';
import { createAgentMap } from '../../../src/adapters/cxone/agent-map.js';
import { createCxoneConnection } from '../../../src/adapters/cxone/index.js';
import { openSqliteStore } from '../../../src/adapters/storage/sqlite-store.js';
import type { RequestContext } from '../../../src/core/ports.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { closeSimulators, startSimulator } from '../../simulator/harness.js';

const ctx = (): RequestContext => ({ stats: { upstreamRequests: 0 } });

describe('agent map at 100,000 agents', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
    await closeSimulators();
  });

  it('when 100,000 agents are mapped, then they are paged once (a page of 1,000 per request), and after a restart the map comes from the store and is refreshed in one request', { timeout: 120_000 }, async () => {
    let now = Date.parse('2026-03-01T09:00:00Z');
    const harness = await startSimulator({ scimGroups: false, now: () => now });
    const seeded = harness.simulator.directory.agentCount;
    const load = await fetch(`${harness.url}/_simulator/acd-groups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ groupName: 'Scale', agentCount: 100_000 - seeded, memberCount: 0, teamId: 3005 }),
    });
    expect(load.status).toBe(201);
    const total = harness.simulator.directory.agentCount;
    expect(total).toBe(100_000);
    now += 1000;
    const connection = createCxoneConnection({ auth: 'client_credentials', baseUrl: harness.url, clientId: 'demo-client', clientSecret: 'demo-secret' });
    cleanups.push(() => connection.close());
    const dataDir = tempDir();

    const first = openSqliteStore({ dataDir });
    const firstCtx = ctx();
    await createAgentMap({ adminApi: connection.adminApi, store: first.agentMap }).refresh(firstCtx);
    first.close();
    expect(harness.simulator.stats.byRoute['GET admin/agents']).toBe(100);

    now += 60_000;
    harness.simulator.directory.updateAgent(1001, { teamId: 3002 });
    harness.simulator.stats.reset();
    const second = openSqliteStore({ dataDir });
    cleanups.push(() => second.close());
    const map = createAgentMap({ adminApi: connection.adminApi, store: second.agentMap });
    await map.load();
    expect(map.size).toBe(100_000);
    const team = await map.inTeam(3002, ctx());
    expect(harness.simulator.stats.byRoute['GET admin/agents']).toBe(1);
    expect(team.some((agent) => agent.agentId === 1001)).toBe(true);
  });
});
