/**
 * The SCIM adapter against the embedded CXone simulator over real loopback HTTP: the main
 * flows, the provider quirks the simulator can play, and its fault injection. The
 * simulator and the adapter share one FakeClock, so token expiry, rate limiting and
 * backoff all run without sleeping.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PreconditionFailedError, TokenEndpointError, UpstreamUnavailableError } from '../../../src/core/errors.js';
import type { RequestContext } from '../../../src/core/ports.js';
import { createCxoneDirectory, type CxoneDirectoryOptions } from '../../../src/adapters/scim/cxone-directory.js';
import { defaultSeed } from '../../../src/simulator/seed.js';
import { createSimulator, seedIds, type SimulatorOptions } from '../../../src/simulator/simulator.js';
import { FakeClock } from '../../fakes/fake-clock.js';

const { groups: G, users: U } = seedIds;
const ctx = (): RequestContext => ({ stats: { upstreamRequests: 0 } });

describe('SCIM directory against the CXone simulator', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
  });

  async function setup(simulatorOptions: SimulatorOptions = {}, options: Partial<CxoneDirectoryOptions> = {}) {
    const clock = new FakeClock();
    const simulator = createSimulator({ scimGroups: true, now: () => clock.now(), ...simulatorOptions });
    const baseUrl = await simulator.listen({ port: 0 });
    cleanups.push(() => simulator.close());
    const directory = createCxoneDirectory({
      baseUrl,
      clientId: 'demo-client',
      clientSecret: 'demo-secret',
      clock,
      random: () => 0.5,
      ...options,
    });
    cleanups.push(() => directory.close());
    return { simulator, directory, clock };
  }

  it('reads a group with its members and weak ETag; an unknown group is null', async () => {
    const { directory } = await setup();
    const snapshot = await directory.getGroup(G.engineeringCore, ctx());
    expect(snapshot?.etag).toMatch(/^W\/".+"$/);
    expect(snapshot?.group.id).toBe(G.engineeringCore);
    expect(snapshot?.group.members).toHaveLength(6);
    expect(snapshot?.group.members).toContainEqual(expect.objectContaining({ value: U.aliceSmith, type: 'User' }));
    expect(snapshot?.group.extra.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:Group']);
    expect(snapshot?.group.meta?.version).toBe(snapshot?.etag);
    expect(await directory.getGroup('00000000-0000-0000-0000-000000000000', ctx())).toBeNull();
  });

  it('replaces a group with If-Match, and a stale ETag is a PreconditionFailedError', async () => {
    const { simulator, directory } = await setup();
    const read = await directory.getGroup(G.contactCenterAgents, ctx());
    if (!read) throw new Error('seed group missing');
    const members = [
      { value: U.aliceSmith, type: 'User' as const },
      { value: G.platform, type: 'Group' as const },
    ];
    const written = await directory.replaceGroup({ ...read.group, members }, read.etag, ctx());
    expect(written.etag).not.toBe(read.etag);
    expect(written.group?.members.map((m) => [m.value, m.type])).toEqual(members.map((m) => [m.value, m.type]));
    expect(simulator.store.memberCount(G.contactCenterAgents)).toBe(2);

    simulator.store.bumpGroup(G.contactCenterAgents);
    await expect(directory.replaceGroup({ ...read.group, members: [] }, written.etag, ctx())).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
  });

  it('when a group is read again, then the read is conditional: 304 gives the same snapshot, a change gives the new group', async () => {
    const { simulator, directory } = await setup();
    const first = await directory.getGroup(G.engineeringCore, ctx());
    simulator.stats.reset();
    expect(await directory.getGroup(G.engineeringCore, ctx())).toEqual(first);
    expect(simulator.stats.byStatus).toEqual({ 304: 1 });

    // Written by this directory: its answer stands in for the next read.
    if (!first) throw new Error('seed group missing');
    const written = await directory.replaceGroup({ ...first.group, members: [{ value: U.aliceSmith, type: 'User' }] }, first.etag, ctx());
    simulator.stats.reset();
    const afterWrite = await directory.getGroup(G.engineeringCore, ctx());
    expect(simulator.stats.byStatus).toEqual({ 304: 1 });
    expect(afterWrite).toEqual({ group: written.group, etag: written.etag });

    // Changed by someone else: the provider answers in full.
    simulator.store.putGroup({ id: G.engineeringCore, displayName: 'Engineering Core', members: [{ value: U.davidKim, type: 'User' }] });
    simulator.stats.reset();
    const changed = await directory.getGroup(G.engineeringCore, ctx());
    expect(simulator.stats.byStatus).toEqual({ 200: 1 });
    expect(changed?.group.members.map((m) => m.value)).toEqual([U.davidKim]);
    expect(changed?.etag).not.toBe(afterWrite?.etag);

    // Deleted: 404 is null, and nothing is kept.
    simulator.store.deleteGroup(G.engineeringCore);
    expect(await directory.getGroup(G.engineeringCore, ctx())).toBeNull();
  });

  it('when a PATCH answers with the whole group it was applied to, then the next read is a 304; in a sequence, it is in full', async () => {
    const { simulator, directory } = await setup();
    const add = (value: string) => [{ op: 'add' as const, path: 'members', value: [{ value, type: 'User' }] }];
    const read = await directory.getGroup(G.engineeringCore, ctx());
    const patched = await directory.patchGroup(G.engineeringCore, add(U.davidKim), read?.etag ?? null, ctx(), { withMembers: true });
    simulator.stats.reset();
    expect(await directory.getGroup(G.engineeringCore, ctx())).toEqual({ group: patched.group, etag: patched.etag });
    expect(simulator.stats.byStatus).toEqual({ 304: 1 });

    // A sequence: its last answer is measured against nothing read here, so it is not kept.
    const first = await directory.patchGroup(G.engineeringCore, add(U.carmenRodriguez), patched.etag, ctx(), { withMembers: false });
    await directory.patchGroup(G.engineeringCore, add(U.aliceSmith), first.etag, ctx(), { withMembers: true });
    simulator.stats.reset();
    await directory.getGroup(G.engineeringCore, ctx());
    expect(simulator.stats.byStatus).toEqual({ 200: 1 });
  });

  it('when a read asks to be fresh, then it is a full GET even with the group kept', async () => {
    const { simulator, directory } = await setup();
    await directory.getGroup(G.engineeringCore, ctx());
    simulator.stats.reset();
    const fresh = await directory.getGroup(G.engineeringCore, ctx(), { fresh: true });
    expect(simulator.stats.byStatus).toEqual({ 200: 1 });
    expect(fresh?.group.members.length).toBeGreaterThan(0);
  });

  it('when a PATCH in the middle of a sequence is answered, then no projection was asked for and the answer gives only its version', async () => {
    const { simulator, directory } = await setup({ capabilities: { patchOnProjection: true } });
    const queries: string[] = [];
    simulator.onRequest((req) => void (req.method === 'PATCH' && queries.push(req.query.toString())));
    const add = (value: string) => [{ op: 'add' as const, path: 'members', value: [{ value, type: 'User' }] }];
    const before = simulator.store.getGroup(G.engineeringCore)?.members.length ?? 0;
    const middle = await directory.patchGroup(G.engineeringCore, add(U.carmenRodriguez), null, ctx(), { withMembers: false });
    expect(middle).toEqual({ group: null, etag: expect.any(String), version: null });
    const last = await directory.patchGroup(G.engineeringCore, add(U.lauraGarcia), middle.etag, ctx(), { withMembers: true });
    expect(last.group?.members).toHaveLength(before + 2);
    expect(queries).toEqual(['', '']);
  });

  it('when a PATCH in the middle of a sequence is answered without an ETag header, then its version comes from meta.version', async () => {
    const { simulator, directory } = await setup({ capabilities: { etag: false } });
    const add = [{ op: 'add' as const, path: 'members', value: [{ value: U.carmenRodriguez, type: 'User' }] }];
    const middle = await directory.patchGroup(G.engineeringCore, add, null, ctx(), { withMembers: false });
    expect(middle).toEqual({ group: null, etag: null, version: simulator.store.getGroup(G.engineeringCore)?.meta.version });
  });

  it('when the provider sends no ETags, or the cache is off, then every read is a plain GET', async () => {
    for (const { simulatorOptions, options } of [
      { simulatorOptions: { capabilities: { etag: false } }, options: {} },
      { simulatorOptions: {}, options: { groupCacheMembers: 0 } },
    ]) {
      const { simulator, directory } = await setup(simulatorOptions, options);
      await directory.getGroup(G.engineeringCore, ctx());
      simulator.stats.reset();
      await directory.getGroup(G.engineeringCore, ctx());
      expect(simulator.stats.byStatus).toEqual({ 200: 1 });
    }
  });

  it('finds users in batches of 50 and reports inactive ones', async () => {
    const { directory } = await setup();
    const ids = [...defaultSeed.users.map((u) => u.id), 'no-such-user'];
    const c = ctx();
    const found = await directory.findUsers(ids, c);
    expect(found.size).toBe(defaultSeed.users.length);
    expect(found.get(U.aliceSmith)?.active).toBe(true);
    expect(found.get(U.isabelCosta)?.active).toBe(false);
    expect(found.has('no-such-user')).toBe(false);
    expect(c.stats.upstreamRequests).toBe(Math.ceil(ids.length / 50));
  });

  it('reads the nesting: group members of groups, and parents of groups', async () => {
    const { directory } = await setup();
    const nodes = await directory.getGroups([G.allStaff, G.engineering, G.engineeringCore], ctx());
    expect(nodes.get(G.allStaff)?.groupMemberIds.toSorted()).toEqual([G.engineering, G.supportTier1, G.supportTier2].toSorted());
    expect(nodes.get(G.engineering)?.groupMemberIds).toEqual([G.engineeringCore]);
    expect(nodes.get(G.engineeringCore)?.groupMemberIds).toEqual([]);

    const parents = await directory.findParentGroups([G.engineeringCore, G.engineering, G.allStaff], ctx());
    expect(parents.get(G.engineeringCore)).toEqual([G.engineering]);
    expect(parents.get(G.engineering)).toEqual([G.allStaff]);
    expect(parents.get(G.allStaff)).toEqual([]);
  });

  it('when the provider has no filters, then every lookup falls back and answers the same', async () => {
    const { directory, simulator } = await setup({ capabilities: { filter: false, maxPageSize: 3, lieAboutTotalResults: true } });
    const users = await directory.findUsers([U.aliceSmith, U.raniaAziz, 'nobody'], ctx());
    expect([...users.keys()].toSorted()).toEqual([U.aliceSmith, U.raniaAziz].toSorted());
    expect(users.get(U.raniaAziz)?.active).toBe(false);
    const nodes = await directory.getGroups([G.engineering, 'nothing'], ctx());
    expect([...nodes.keys()]).toEqual([G.engineering]);
    const parents = await directory.findParentGroups([G.engineeringCore, G.platform], ctx());
    expect(parents.get(G.engineeringCore)).toEqual([G.engineering]);
    expect(parents.get(G.platform)).toEqual([]);
    expect(simulator.stats.byStatus['400']).toBe(3);
  });

  it('when the provider sends no ETag, then reads carry null and writes go without If-Match', async () => {
    const { directory } = await setup({ capabilities: { etag: false } });
    const read = await directory.getGroup(G.platform, ctx());
    expect(read?.etag).toBeNull();
    if (!read) throw new Error('seed group missing');
    const written = await directory.replaceGroup({ ...read.group, displayName: 'Platform Team' }, null, ctx());
    expect(written).toMatchObject({ etag: null, group: { displayName: 'Platform Team' } });
  });

  it('when tokens are revoked, then one refresh and one retry recover', async () => {
    const { directory, simulator } = await setup();
    await directory.ping(ctx());
    simulator.revokeTokens();
    const c = ctx();
    expect(await directory.getGroup(G.platform, c)).not.toBeNull();
    expect(c.stats.upstreamRequests).toBe(2);
    expect(simulator.stats.byRoute['POST oauth']).toBe(2);
  });

  it('when the token expires, then it is refreshed 60 s early', async () => {
    const { directory, simulator, clock } = await setup({ tokenTtlSeconds: 600 });
    await directory.ping(ctx());
    clock.advance(539_000);
    await directory.ping(ctx());
    expect(simulator.stats.byRoute['POST oauth']).toBe(1);
    clock.advance(2_000);
    await directory.ping(ctx());
    expect(simulator.stats.byRoute['POST oauth']).toBe(2);
  });

  it('authenticates with credentials in the body, and a wrong secret is a TokenEndpointError', async () => {
    const { directory } = await setup({}, { tokenAuth: 'post' });
    await directory.ping(ctx());
    const { directory: wrong } = await setup({}, { clientSecret: 'not-the-secret' });
    const error = await wrong.ping(ctx()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenEndpointError);
    expect((error as TokenEndpointError).oauthError).toBe('invalid_client');
    expect(JSON.stringify(error) + String((error as Error).message)).not.toContain('not-the-secret');
  });

  it('when rate limited, then it waits Retry-After on the shared clock and succeeds', async () => {
    const { directory, simulator, clock } = await setup();
    await directory.ping(ctx());
    simulator.setFaults({ rateLimit: { requestsPerSecond: 1, burst: 1 } });
    const c = ctx();
    await directory.getGroup(G.platform, c);
    await directory.getGroup(G.platform, c);
    expect(clock.sleeps.length).toBeGreaterThan(0);
    expect(clock.sleeps.every((ms) => ms >= 1000)).toBe(true);
    expect(c.stats.upstreamRequests).toBe(2 + clock.sleeps.length);
  });

  it('when the provider is down, then retries run out into UpstreamUnavailableError', async () => {
    const { directory, simulator, clock } = await setup();
    await directory.ping(ctx());
    simulator.setFaults({ errorRatio: 1 });
    const c = ctx();
    const error = await directory.getGroup(G.platform, c).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect(error).toMatchObject({ status: 503, retryAfterSeconds: 1 });
    expect(c.stats.upstreamRequests).toBe(5);
    expect(clock.sleeps).toEqual([1000, 1000, 1000, 1000]);
  });

  it('when connections drop, then GETs are retried', async () => {
    // The simulator draws from `random` to decide each drop: two drops, then a pass.
    const draws = [0.1, 0.1];
    const { directory, simulator, clock } = await setup({ random: () => draws.shift() ?? 0.9 });
    await directory.ping(ctx());
    simulator.setFaults({ dropRatio: 0.5 });
    const c = ctx();
    expect(await directory.getGroup(G.platform, c)).not.toBeNull();
    expect(c.stats.upstreamRequests).toBe(3);
    expect(clock.sleeps).toEqual([50, 100]);
    expect(simulator.stats.byStatus['0']).toBe(2);
  });

  it('syncs a 5,000-member group: batched existence checks, one PUT, a full read back', async () => {
    const { directory, simulator } = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 5000; i += 1) ids.push(simulator.store.createUser({ userName: `load${i}@example.com` }).id);
    const c = ctx();
    const found = await directory.findUsers(ids, c);
    expect(found.size).toBe(5000);
    expect(c.stats.upstreamRequests).toBe(100);
    const read = await directory.getGroup(G.contactCenterAgents, ctx());
    if (!read) throw new Error('seed group missing');
    const members = ids.map((value) => ({ value, type: 'User' as const }));
    await directory.replaceGroup({ ...read.group, members }, read.etag, ctx());
    expect((await directory.getGroup(G.contactCenterAgents, ctx()))?.group.members).toHaveLength(5000);
  });

  it('when 20 callers need a token at once, then the simulator issues exactly one', async () => {
    const { directory, simulator } = await setup();
    const results = await Promise.all(Array.from({ length: 20 }, () => directory.getGroup(G.platform, ctx())));
    expect(results.every((r) => r?.group.id === G.platform)).toBe(true);
    expect(simulator.stats.byRoute['POST oauth']).toBe(1);
    expect(simulator.stats.byRoute['GET Groups']).toBe(20);
  });

  it('when the simulator answers 429 with Retry-After as an HTTP-date, then the wait follows the date', async () => {
    const { directory, simulator, clock } = await setup();
    await directory.ping(ctx());
    let limited = false;
    simulator.onRequest(() => {
      if (limited) return;
      limited = true;
      return { status: 429, headers: { 'retry-after': new Date(clock.now() + 7000).toUTCString() }, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '429' } };
    });
    const c = ctx();
    expect((await directory.getGroup(G.platform, c))?.group.id).toBe(G.platform);
    expect(clock.sleeps).toHaveLength(1);
    // HTTP-dates have whole seconds: the wait is 6–7 s depending on where in the second we are
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(6000);
    expect(clock.sleeps[0]).toBeLessThanOrEqual(7000);
    expect(c.stats.upstreamRequests).toBe(2);
  });

  it('when the simulator answers 503 once, then the retry succeeds', async () => {
    const { directory, simulator, clock } = await setup();
    await directory.ping(ctx());
    let failed = false;
    simulator.onRequest(() => {
      if (failed) return;
      failed = true;
      return { status: 503, headers: { 'retry-after': '1' }, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '503' } };
    });
    const c = ctx();
    expect((await directory.getGroup(G.platform, c))?.group.id).toBe(G.platform);
    expect(clock.sleeps).toEqual([1000]);
    expect(c.stats.upstreamRequests).toBe(2);
  });

  it('when totalResults lies and pages are small, then parent lookups still end with the right answer', async () => {
    const { directory, simulator } = await setup({ capabilities: { lieAboutTotalResults: true, maxPageSize: 1 } });
    simulator.store.putGroup({ id: 'p1', displayName: 'P1', members: [{ value: G.platform, type: 'Group' }] });
    simulator.store.putGroup({ id: 'p2', displayName: 'P2', members: [{ value: G.platform, type: 'Group' }] });
    const parents = await directory.findParentGroups([G.platform], ctx());
    expect(parents.get(G.platform)?.toSorted()).toEqual(['p1', 'p2']);
  });

  it('when the tenant allows 10 requests/s, then the shared limiter learns it and later requests are rarely throttled', async () => {
    const { directory, simulator } = await setup({}, { rateLimit: { maxConcurrency: 4 } });
    await directory.ping(ctx());
    simulator.setFaults({ rateLimit: { requestsPerSecond: 10, burst: 10 } });
    simulator.stats.reset();
    for (let i = 0; i < 300; i++) await directory.getGroup(G.platform, ctx());
    const throttled = simulator.stats.byStatus['429'] ?? 0;
    // the first burst teaches the limit; after that the pace stays under it
    expect(throttled).toBeLessThanOrEqual(3);
    // The group is unchanged: after the first answer, each conditional read is a 304.
    expect(simulator.stats.byStatus['200']).toBe(1);
    expect(simulator.stats.byStatus['304']).toBe(299);
  });
});
