/**
 * If-Match on the SCIM front door's PUT and PATCH of a group (RFC 7644 §3.14): the version
 * the caller read is carried into the sync, compared in the group's turn with the version
 * the sync reads itself, and guards the write upstream, so that a change landing between
 * the read and the write is refused by the provider. No extra upstream read for it; the
 * answers of POST and PUT are built from what the sync verified, not from another read.
 */
import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/simulator.js';
import { startScimRig, type ScimRig } from './scim-harness.js';

const { users, groups } = seedIds;
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const addMember = (value: string) => ({ schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value }] }] });

/** The upstream requests a request to the front door made, and the sync records it appended. */
async function counted(rig: ScimRig, send: () => Promise<LightMyRequestResponse>) {
  const before = rig.records().length;
  rig.resetStats();
  const res = await send();
  const records = rig.records().slice(before);
  const syncRequests = records.reduce((sum, r) => sum + r.upstreamRequests + (r.attributes?.upstreamRequests ?? 0), 0);
  return { res, upstream: rig.upstreamRequests(), syncRequests, records, byRoute: rig.simulator.stats.byRoute };
}

/** The group's ETag as the front door answers it. */
async function etagOf(rig: ScimRig, id: string): Promise<string> {
  return (await rig.call('GET', `/scim/v2/Groups/${id}`)).headers.etag as string;
}

describe('If-Match on the SCIM front door', () => {
  it('when If-Match names a version the group no longer has, then PATCH and PUT answer 412 with the SCIM body, nothing is written upstream, and the refusal is audited as version_mismatch', async () => {
    const rig = await startScimRig('scim-groups');
    const stale = await etagOf(rig, groups.platform);
    rig.simulator.store.bumpGroup(groups.platform);
    const before = rig.members(groups.platform);

    for (const send of [
      () => rig.call('PATCH', `/scim/v2/Groups/${groups.platform}`, addMember(users.nadiaAhmed), { 'if-match': stale }),
      () => rig.call('PUT', `/scim/v2/Groups/${groups.platform}`, { displayName: 'Platform', members: [{ value: users.nadiaAhmed }] }, { 'if-match': stale }),
    ]) {
      const { res, byRoute, records } = await counted(rig, send);
      expect(res.statusCode).toBe(412);
      expect(res.json()).toEqual({ schemas: [ERROR], status: '412', detail: expect.stringContaining(stale) });
      expect(Object.keys(byRoute).filter((route) => !route.startsWith('GET '))).toEqual([]);
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ status: 'version_mismatch', actor: 'okta-scim', groupId: groups.platform, writeMode: null });
    }
    expect(rig.members(groups.platform)).toEqual(before);
    expect(rig.events().at(-1)).toMatchObject({ type: 'group.sync.failed', data: { error: 'version_mismatch' } });
  });

  it('when If-Match names the current version, then the change is applied and answered with the new ETag, and costs no upstream request more than without If-Match', async () => {
    const rig = await startScimRig('scim-groups');
    // Warm up: the token and the provider's ServiceProviderConfig are fetched once.
    await rig.call('GET', `/scim/v2/Groups/${groups.platform}`);

    const without = await counted(rig, () => rig.call('PATCH', `/scim/v2/Groups/${groups.platform}`, addMember(users.lauraGarcia)));
    expect(without.res.statusCode).toBe(204);
    const etag = await etagOf(rig, groups.platform);
    const withIfMatch = await counted(rig, () => rig.call('PATCH', `/scim/v2/Groups/${groups.platform}`, addMember(users.nadiaAhmed), { 'if-match': etag }));
    expect(withIfMatch.res.statusCode).toBe(204);
    expect(withIfMatch.res.headers.etag).not.toBe(etag);
    expect(rig.members(groups.platform)).toContain(users.nadiaAhmed);
    // Every upstream request is the sync's own: no read before it to check If-Match.
    expect(withIfMatch.upstream).toBe(withIfMatch.syncRequests);
    expect(withIfMatch.upstream).toBe(without.upstream);

    // A weak tag matches its strong form, and * matches any version.
    const current = await etagOf(rig, groups.platform);
    const put = await counted(rig, () => rig.call('PUT', `/scim/v2/Groups/${groups.platform}`, { displayName: 'Platform', members: rig.members(groups.platform).map((value) => ({ value })) }, { 'if-match': current.replace(/^W\//, '') }));
    expect(put.res.statusCode).toBe(200);
    expect((await rig.call('PATCH', `/scim/v2/Groups/${groups.platform}`, addMember(users.lauraGarcia), { 'if-match': '*' })).statusCode).toBe(204);
  });

  it('when the group changes upstream between the sync\'s read and its write, then the provider refuses the write guarded by the version read and the answer is 412, not success', async () => {
    const rig = await startScimRig('scim-groups');
    const etag = await etagOf(rig, groups.platform);
    const before = rig.members(groups.platform);
    // Another writer gets in just before our write reaches the provider.
    let raced = false;
    rig.simulator.onRequest((req) => {
      if (!raced && (req.method === 'PATCH' || req.method === 'PUT') && req.path.endsWith(`/Groups/${groups.platform}`)) {
        raced = true;
        rig.simulator.store.bumpGroup(groups.platform);
      }
      return undefined;
    });
    const { res, byRoute, records } = await counted(rig, () => rig.call('PATCH', `/scim/v2/Groups/${groups.platform}`, addMember(users.nadiaAhmed), { 'if-match': etag }));
    expect(raced).toBe(true);
    expect(res.statusCode).toBe(412);
    expect(res.json()).toMatchObject({ schemas: [ERROR], status: '412' });
    expect(rig.members(groups.platform)).toEqual(before);
    // One write went out (refused by the provider), none after it.
    expect(Object.entries(byRoute).filter(([route]) => route.startsWith('PATCH ') || route.startsWith('PUT ')).reduce((sum, [, n]) => sum + n, 0)).toBe(1);
    expect(records.map((r) => r.status)).toEqual(['version_mismatch']);
  });

  it('when the backend has no ETags (acd-groups), then If-Match is ignored, as RFC 7644 §3.14 allows, and the change is applied', async () => {
    const rig = await startScimRig('acd-groups');
    const res = await rig.call('PATCH', '/scim/v2/Groups/5002', addMember(users.nadiaAhmed), { 'if-match': 'W/"no-such-version"' });
    expect(res.statusCode).toBe(204);
    expect(res.headers.etag).toBeUndefined();
    expect(rig.members('5002')).toContain(users.nadiaAhmed);
  });

  it('when a group is created or replaced, then the answer is built from what the sync verified: no upstream read after the sync', async () => {
    const rig = await startScimRig('scim-groups');
    await rig.call('GET', `/scim/v2/Groups/${groups.platform}`);

    const created = await counted(rig, () => rig.call('POST', '/scim/v2/Groups', { displayName: 'Night Shift', externalId: 'ext-night', members: [{ value: users.lauraGarcia }] }));
    expect(created.res.statusCode).toBe(201);
    const body = created.res.json<Record<string, unknown>>();
    expect(body).toMatchObject({ displayName: 'Night Shift', externalId: 'ext-night', members: [{ value: users.lauraGarcia, type: 'User' }] });
    const id = body.id as string;
    expect(rig.members(id)).toEqual([users.lauraGarcia]);
    // The list for uniqueness and the POST, then the sync's own requests, and nothing else.
    expect(created.byRoute['POST Groups']).toBe(1);
    expect(created.upstream).toBe(created.syncRequests + 2);
    expect(created.res.headers.etag).toBe((body.meta as { version: string }).version);

    const replaced = await counted(rig, () => rig.call('PUT', `/scim/v2/Groups/${id}`, { displayName: 'Night Shift', externalId: 'ext-night', members: [{ value: users.nadiaAhmed }] }));
    expect(replaced.res.statusCode).toBe(200);
    expect(replaced.res.json()).toMatchObject({ id, displayName: 'Night Shift', externalId: 'ext-night', members: [{ value: users.nadiaAhmed, type: 'User' }] });
    expect(replaced.upstream).toBe(replaced.syncRequests);
    // The answer's ETag is the group's version as a read now gives it.
    expect(replaced.res.headers.etag).toBe(await etagOf(rig, id));
  });
});
