import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import type { RequestContext } from '../../../src/core/ports.js';
import { createSimulator, seedIds } from '../../../src/simulator/simulator.js';
import { createUpstreamDirectory } from '../../../src/composition/upstream.js';

const ctx = (): RequestContext => ({ stats: { upstreamRequests: 0 } });

describe('the upstream directory wired from the configuration', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
  });

  it.each<[string, Record<string, string>, Record<number, number>]>([
    ['unset', {}, { 304: 1 }],
    ['0', { GROUP_CACHE_MEMBERS: '0' }, { 200: 1 }],
  ])('when GROUP_CACHE_MEMBERS is %s, then a repeated read of a group is answered %o', async (_name, env, statuses) => {
    const simulator = createSimulator({ scimGroups: true, clients: [{ clientId: 'svc', clientSecret: 'svc-secret' }] });
    const baseUrl = await simulator.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => simulator.close());
    const directory = createUpstreamDirectory(loadConfig(env), { baseUrl, clientId: 'svc', clientSecret: 'svc-secret', simulator: true });
    cleanups.push(() => directory.close());
    await directory.getGroup(seedIds.groups.engineeringCore, ctx());
    simulator.stats.reset();
    await directory.getGroup(seedIds.groups.engineeringCore, ctx());
    expect(simulator.stats.byStatus).toEqual(statuses);
  });
});
