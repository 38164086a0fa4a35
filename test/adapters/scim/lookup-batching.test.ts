/**
 * Batched lookups are cut by the length of their URL as well as by count: a filter of 50
 * long ids is a request target of tens of kilobytes, which providers (and Node's own HTTP
 * server, at 16 KB of headers) refuse with 414 or 431.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createCxoneDirectory } from '../../../src/adapters/scim/cxone-directory.js';
import { MAX_LOOKUP_TARGET } from '../../../src/adapters/scim/scim-lookups.js';
import type { RequestContext } from '../../../src/core/ports.js';
import { seedIds } from '../../../src/simulator/simulator.js';
import { FakeClock } from '../../fakes/fake-clock.js';
import { bearer } from '../../helpers/build-test-app.js';
import { buildSimulatorApp } from '../../helpers/simulator-app.js';
import { startFakeProvider, type ProviderQuirks } from './fake-provider.js';

const ctx = (): RequestContext => ({ stats: { upstreamRequests: 0 } });
const longIds = (n: number, length = 400) => Array.from({ length: n }, (_, i) => `${String(i).padStart(3, '0')}-${'x'.repeat(length - 4)}`);

describe('batched lookups and long ids', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
  });

  async function setup(quirks: Partial<ProviderQuirks>) {
    const provider = await startFakeProvider(quirks);
    cleanups.push(() => provider.close());
    const directory = createCxoneDirectory({ baseUrl: provider.url, clientId: 'demo-client', clientSecret: 'demo-secret', clock: new FakeClock(), random: () => 0.5 });
    cleanups.push(() => directory.close());
    return { provider, directory };
  }

  it.each([431, 414] as const)('when 60 ids of 400 characters are looked up and the provider refuses request targets over 8 KB with %i, then every batch fits in 8 KB and every user is found', async (status) => {
    const { provider, directory } = await setup({ maxRequestTarget: 8192, longTargetStatus: status });
    const ids = longIds(60);
    for (const id of ids.slice(0, 50)) provider.users.set(id, { id });
    const c = ctx();
    const found = await directory.findUsers(ids, c);
    expect(found.size).toBe(50);
    const lookups = provider.scimRequests();
    expect(lookups.every((r) => r.url.length <= MAX_LOOKUP_TARGET)).toBe(true);
    expect(lookups.every((r) => r.query.has('filter'))).toBe(true);
    // 60 × ~430 bytes of filter per id: 4 requests, not 2 refused and 60 single GETs
    expect(lookups).toHaveLength(4);
    expect(c.stats.upstreamRequests).toBe(4);
  });

  it('when a provider refuses a shorter batch with 431 all the same, then that batch goes one by one and the filter stays in use', async () => {
    const { provider, directory } = await setup({ maxRequestTarget: 4096, longTargetStatus: 431 });
    const ids = longIds(12);
    for (const id of ids) provider.users.set(id, { id });
    expect((await directory.findUsers(ids, ctx())).size).toBe(12);
    const kinds = provider.scimRequests().map((r) => (r.query.has('filter') ? `filter${r.url.length > 4096 ? ' refused' : ''}` : 'single'));
    expect(kinds).toEqual(['filter refused', ...Array.from({ length: 12 }, () => 'single')]);
    await directory.getGroups(['short-1', 'short-2'], ctx());
    await directory.findUsers(['short-3'], ctx());
    expect(provider.scimRequests().slice(13).map((r) => r.query.has('filter'))).toEqual([true, true]);
  });

  it('when ids are short, then batches still hold SCIM_BATCH_SIZE ids', async () => {
    const { provider, directory } = await setup({});
    const ids = Array.from({ length: 120 }, (_, i) => `u${i}`);
    await directory.findUsers(ids, ctx());
    expect(provider.scimRequests().map((r) => r.query.get('count'))).toEqual(['50', '50', '20']);
  });

  it('when a sync adds 60 unknown users with 400-character ids against the simulator, then it answers 422 user_not_found for each, not 502', async () => {
    const s = await buildSimulatorApp();
    const members = longIds(60).map((value) => ({ value, type: 'User' }));
    const res = await s.app.inject({
      method: 'POST',
      url: `/groups/${seedIds.groups.contactCenterAgents}/sync`,
      headers: { ...bearer(), 'content-type': 'application/json' },
      payload: JSON.stringify({ members }),
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toHaveLength(60);
    expect(res.json().errors.every((e: { code: string }) => e.code === 'user_not_found')).toBe(true);
    expect(s.simulator.stats.byRoute['GET Users']).toBeLessThanOrEqual(4);
  });
});
