import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { MockAgent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { PreconditionFailedError, UpstreamError } from '../../../src/core/errors.js';
import type { RequestContext } from '../../../src/core/ports.js';
import { createCxoneDirectory, type CxoneDirectoryOptions } from '../../../src/adapters/scim/cxone-directory.js';
import { createScimDirectory } from '../../../src/adapters/scim/scim-directory.js';
import { groupWriteSha256 } from '../../../src/core/scim-group.js';
import { FakeClock } from '../../fakes/fake-clock.js';
import { startFakeProvider, type FakeProvider, type ProviderQuirks } from './fake-provider.js';
import { scimError, sendJson } from './loopback.js';

const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

const ctx = (): RequestContext => ({ stats: { upstreamRequests: 0 } });
const addUsers = (p: FakeProvider, n: number, prefix = 'u') => {
  for (let i = 1; i <= n; i += 1) p.users.set(`${prefix}${i}`, { id: `${prefix}${i}` });
};

function seedGroups(p: FakeProvider) {
  p.groups.set('g1', { id: 'g1', displayName: 'One', version: 1, members: [{ value: 'g2', type: 'Group' }, { value: 'u1', type: 'User' }] });
  p.groups.set('g2', { id: 'g2', displayName: 'Two', version: 1, members: [] });
  p.groups.set('g3', { id: 'g3', displayName: 'Three', version: 1, members: [{ value: 'g1', type: 'Group' }] });
}

function seedNesting(p: FakeProvider) {
  p.groups.set('top', { id: 'top', displayName: 'Top', version: 1, members: [{ value: 'mid', type: 'Group' }] });
  p.groups.set('mid', { id: 'mid', displayName: 'Mid', version: 1, members: [{ value: 'leaf', type: 'Group' }] });
  p.groups.set('also', { id: 'also', displayName: 'Also', version: 1, members: [{ value: 'leaf', type: 'Group' }] });
  p.groups.set('leaf', { id: 'leaf', displayName: 'Leaf', version: 1, members: [] });
}

describe('SCIM directory against a loopback provider', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
  });

  async function setup(quirks: Partial<ProviderQuirks> = {}, options: Partial<CxoneDirectoryOptions> = {}) {
    const provider = await startFakeProvider(quirks);
    cleanups.push(() => provider.close());
    const clock = new FakeClock();
    const directory = createCxoneDirectory({
      baseUrl: provider.url,
      clientId: 'demo-client',
      clientSecret: 'demo-secret',
      clock,
      random: () => 0.5,
      ...options,
    });
    cleanups.push(() => directory.close());
    return { provider, directory, clock };
  }
  describe('getGroup', () => {
    it('returns the normalised group, the extra attributes and the ETag exactly as received', async () => {
      const { provider, directory } = await setup();
      provider.groups.set('g1', {
        id: 'g1',
        displayName: 'Engineering',
        version: 3,
        extra: { externalId: 'ext-1', 'urn:example:ext': { cost: 7 } },
        members: [
          { value: 'u1', type: 'User', display: 'Alice' },
          { value: 'g2', $ref: 'https://x.example/scim/v2/Groups/g2' },
          { value: 'u2', $ref: 'https://x.example/scim/v2/Users/u2' },
          { value: 'u3' },
          { value: 'g3', type: 'group' },
        ],
      });
      const snapshot = await directory.getGroup('g1', ctx());
      expect(snapshot?.etag).toBe('W/"3"');
      expect(snapshot?.group).toEqual({
        id: 'g1',
        displayName: 'Engineering',
        members: [
          { value: 'u1', type: 'User', display: 'Alice' },
          { value: 'g2', type: 'Group' },
          { value: 'u2', type: 'User' },
          { value: 'u3', type: 'User' },
          { value: 'g3', type: 'Group' },
        ],
        meta: { version: 'W/"3"' },
        extra: { schemas: [GROUP_SCHEMA], externalId: 'ext-1', 'urn:example:ext': { cost: 7 } },
      });
    });

    it('returns null for 404 and a null etag when the provider sends none', async () => {
      const { provider, directory } = await setup({ etags: false });
      provider.groups.set('g1', { id: 'g1', displayName: 'G', version: 1, members: [] });
      expect(await directory.getGroup('missing', ctx())).toBeNull();
      expect((await directory.getGroup('g1', ctx()))?.etag).toBeNull();
    });

    it('percent-encodes ids with /, " and spaces in the path', async () => {
      const { provider, directory } = await setup();
      const id = 'a/b "c" d';
      provider.groups.set(id, { id, displayName: 'Odd', version: 1, members: [] });
      expect((await directory.getGroup(id, ctx()))?.group.id).toBe(id);
      expect(provider.scimRequests()[0]?.url).toBe('/scim/v2/Groups/a%2Fb%20%22c%22%20d');
    });

    it('when a large group arrives in chunks of unknown length, then it is read as it streams in, with the same result', async () => {
      const { provider, directory } = await setup();
      const members = Array.from({ length: 20_000 }, (_, i) => ({ value: `user-${i}`, type: 'User', display: `Ünïcode "${i}" {[,]}`, $ref: `https://x/scim/v2/Users/user-${i}` }));
      const text = JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: 'g1', displayName: 'Big', members, meta: { version: 'W/"9"' } });
      expect(Buffer.byteLength(text)).toBeGreaterThan(1024 * 1024);
      provider.interpose((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/scim+json', etag: 'W/"9"' });
        const bytes = Buffer.from(text);
        for (let at = 0; at < bytes.length; at += 7001) res.write(bytes.subarray(at, at + 7001));
        res.end();
      });
      const read = await directory.getGroup('g1', ctx());
      expect(read?.etag).toBe('W/"9"');
      expect(read?.group.members).toHaveLength(20_000);
      expect(read?.group.members[12_345]).toEqual({ value: 'user-12345', type: 'User', display: 'Ünïcode "12345" {[,]}' });
      expect(read?.group.extra.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:Group']);
    });

    it('when a large answer breaks off or is damaged midway, then UpstreamError, and the next request works', async () => {
      const { provider, directory } = await setup();
      provider.groups.set('g1', { id: 'g1', displayName: 'G', version: 1, members: [] });
      const members = Array.from({ length: 20_000 }, (_, i) => ({ value: `user-${i}`, type: 'User', display: `User number ${i} of a large group` }));
      const text = JSON.stringify({ id: 'g1', displayName: 'G', members });
      expect(Buffer.byteLength(text)).toBeGreaterThan(1_500_000);
      const damaged = text.replace('{"value":"user-15000"', '{"value":"user-15000",,');
      const answers: ((res: ServerResponse) => void)[] = [
        (res) => {
          res.writeHead(200, { 'content-type': 'application/scim+json' });
          res.end(damaged);
        },
        (res) => {
          res.writeHead(200, { 'content-type': 'application/scim+json' });
          res.end(text.slice(0, 1_500_000));
        },
      ];
      for (const answer of answers) {
        provider.interpose((_req, res) => answer(res));
        const error = await directory.getGroup('g1', ctx()).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UpstreamError);
        expect((error as UpstreamError).detail).toBe('the body is not valid JSON');
      }
      expect((await directory.getGroup('g1', ctx()))?.group.id).toBe('g1');
    });

    it('when the upstream JSON has the wrong shape, then UpstreamError with a clear detail', async () => {
      const { provider, directory } = await setup();
      provider.interpose(
        (_req, res) => sendJson(res, 200, { id: 'g1', displayName: 'G', members: { value: 'u1' } }),
        (_req, res) => sendJson(res, 200, { id: 'g1', displayName: 'G', members: [{ type: 'User' }] }),
        (_req, res) => sendJson(res, 200, { id: 'g1', displayName: 'G', members: [{ value: 'x', type: 'Robot' }] }),
        (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/scim+json' });
          res.end('{"id": "g1", ');
        },
        (_req, res) => sendJson(res, 200, { id: 'other', displayName: 'G' }),
      );
      const details: (string | undefined)[] = [];
      for (let i = 0; i < 5; i += 1) {
        const error = await directory.getGroup('g1', ctx()).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UpstreamError);
        details.push((error as UpstreamError).detail);
      }
      expect(details).toEqual([
        '"members" is not an array',
        'members[0] has no string "value"',
        'members[0].type is another string, expected "User" or "Group"',
        'the body is not valid JSON',
        'the id in the body differs from the id requested',
      ]);
    });
  });

  describe('replaceGroup', () => {
    const write = {
      id: 'g1',
      displayName: 'Renamed',
      members: [{ value: 'u1', type: 'User' as const, display: 'Alice' }, { value: 'g2', type: 'Group' as const }],
      extra: { schemas: [GROUP_SCHEMA, 'urn:example:ext'], externalId: 'ext-1', meta: { version: 'stale' } },
    };

    it('PUTs the whole group with If-Match exactly as received, each member as value and type only, and returns the new group and ETag', async () => {
      const { provider, directory } = await setup();
      provider.groups.set('g1', { id: 'g1', displayName: 'G', version: 7, members: [] });
      const result = await directory.replaceGroup(write, 'W/"7"', ctx());
      const [req] = provider.scimRequests();
      expect(req?.method).toBe('PUT');
      expect(req?.headers['if-match']).toBe('W/"7"');
      expect(JSON.parse(req?.body ?? '')).toEqual({
        schemas: [GROUP_SCHEMA, 'urn:example:ext'],
        externalId: 'ext-1',
        id: 'g1',
        displayName: 'Renamed',
        members: [
          { value: 'u1', type: 'User' },
          { value: 'g2', type: 'Group' },
        ],
      });
      expect(result.etag).toBe('W/"8"');
      expect(result.group?.members).toHaveLength(2);
      // The audit record's payloadSha256 is the digest of exactly these bytes.
      expect(createHash('sha256').update(req?.body ?? '').digest('hex')).toBe(groupWriteSha256(write));
    });

    it('omits If-Match when ifMatch is null and defaults schemas to the core Group schema', async () => {
      const { provider, directory } = await setup();
      provider.groups.set('g1', { id: 'g1', displayName: 'G', version: 1, members: [] });
      await directory.replaceGroup({ ...write, extra: {} }, null, ctx());
      const [req] = provider.scimRequests();
      expect(req?.headers['if-match']).toBeUndefined();
      expect(JSON.parse(req?.body ?? '').schemas).toEqual([GROUP_SCHEMA]);
    });

    it('when the ETag is stale, then PreconditionFailedError', async () => {
      const { provider, directory } = await setup();
      provider.groups.set('g1', { id: 'g1', displayName: 'G', version: 2, members: [] });
      await expect(directory.replaceGroup(write, 'W/"1"', ctx())).rejects.toBeInstanceOf(PreconditionFailedError);
    });

    it('when the provider answers 204, then group is null', async () => {
      const { provider, directory } = await setup();
      provider.interpose((_req, res) => {
        res.writeHead(204, { etag: '"abc"' });
        res.end();
      });
      expect(await directory.replaceGroup(write, null, ctx())).toEqual({ group: null, etag: '"abc"', version: null });
    });

    it('when the answer to a write has all that was sent, then it stands in for the next read (If-None-Match); with less, it does not', async () => {
      const { provider, directory } = await setup();
      const answer = (extra: Record<string, unknown>) => (_req: unknown, res: ServerResponse) =>
        sendJson(res, 200, { id: 'g1', displayName: 'Renamed', members: [{ value: 'u1', type: 'User' }], meta: { version: 'W/"8"' }, ...extra }, { etag: 'W/"8"' });
      provider.groups.set('g1', { id: 'g1', displayName: 'Renamed', version: 8, members: [{ value: 'u1', type: 'User' }] });

      provider.interpose(answer({ schemas: [GROUP_SCHEMA, 'urn:example:ext'], externalId: 'ext-1' }));
      await directory.replaceGroup(write, 'W/"7"', ctx());
      await directory.getGroup('g1', ctx());
      expect(provider.scimRequests().at(-1)?.headers['if-none-match']).toBe('W/"8"');

      // A provider that leaves externalId out of its answer: the next read is in full, so that
      // the next full replace carries externalId over from what the provider really holds.
      provider.interpose(answer({ schemas: [GROUP_SCHEMA] }));
      await directory.replaceGroup(write, 'W/"7"', ctx());
      await directory.getGroup('g1', ctx());
      expect(provider.scimRequests().at(-1)?.headers['if-none-match']).toBeUndefined();
    });

    it('when the answer to a write leaves the members out, then it has no group but its version, and the next read is in full', async () => {
      const { provider, directory } = await setup();
      provider.groups.set('g1', { id: 'g1', displayName: 'Renamed', version: 8, members: [{ value: 'u1', type: 'User' }] });
      provider.interpose((_req, res) =>
        sendJson(res, 200, { schemas: [GROUP_SCHEMA, 'urn:example:ext'], externalId: 'ext-1', id: 'g1', displayName: 'Renamed', meta: { version: 'W/"8"' } }, { etag: 'W/"8"' }),
      );
      expect(await directory.replaceGroup(write, 'W/"7"', ctx())).toEqual({ group: null, etag: 'W/"8"', version: 'W/"8"' });
      const read = await directory.getGroup('g1', ctx());
      expect(provider.scimRequests().at(-1)?.headers['if-none-match']).toBeUndefined();
      expect(read?.group.members).toEqual([{ value: 'u1', type: 'User' }]);
    });

    it('when a large answer to a write is damaged, then the write still counts, without a group but with its ETag', async () => {
      const { provider, directory } = await setup();
      const members = Array.from({ length: 20_000 }, (_, i) => ({ value: `user-${i}`, type: 'User', display: `User number ${i} of a large group` }));
      const text = JSON.stringify({ id: 'g1', displayName: 'G', members });
      expect(Buffer.byteLength(text)).toBeGreaterThan(1024 * 1024);
      provider.interpose((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/scim+json', etag: 'W/"2"' });
        res.end(text.replace('"user-19000"', '"user-19000" 7'));
      });
      expect(await directory.replaceGroup(write, 'W/"1"', ctx())).toEqual({ group: null, etag: 'W/"2"', version: null });
    });

    it('round-trips a 100,000-member group', async () => {
      const { provider, directory } = await setup();
      const members = Array.from({ length: 100_000 }, (_, i) => ({ value: `user-${i}`, type: 'User' as const }));
      provider.groups.set('big', { id: 'big', displayName: 'Big', version: 1, members: [] });
      const result = await directory.replaceGroup({ id: 'big', displayName: 'Big', members, extra: {} }, 'W/"1"', ctx());
      expect(result.group?.members).toHaveLength(100_000);
      const read = await directory.getGroup('big', ctx());
      expect(read?.group.members[99_999]).toEqual({ value: 'user-99999', type: 'User' });
    });

    it('when a PUT is retried, then the same body is sent again', async () => {
      const { provider, directory, clock } = await setup();
      provider.groups.set('g1', { id: 'g1', displayName: 'G', version: 1, members: [] });
      provider.interpose((_req, res) => sendJson(res, 503, scimError(503, 'busy'), { 'retry-after': '2' }));
      const c = ctx();
      await directory.replaceGroup(write, 'W/"1"', c);
      const [first, second] = provider.scimRequests();
      expect(second?.body).toBe(first?.body);
      expect(clock.sleeps).toEqual([2000]);
      expect(c.stats.upstreamRequests).toBe(2);
    });
  });

  describe('findUsers', () => {
    it('batches 120 ids into ceil(120/50) = 3 filtered requests', async () => {
      const { provider, directory } = await setup();
      addUsers(provider, 120);
      provider.users.set('u7', { id: 'u7', active: false });
      provider.users.set('u8', { id: 'u8', active: true });
      const ids = [...Array.from({ length: 118 }, (_, i) => `u${i + 1}`), 'nobody-1', 'nobody-2'];
      const c = ctx();
      const found = await directory.findUsers(ids, c);
      expect(c.stats.upstreamRequests).toBe(3);
      expect(provider.scimRequests()).toHaveLength(3);
      expect(found.size).toBe(118);
      expect(found.get('u7')).toEqual({ id: 'u7', active: false });
      expect(found.get('u8')).toEqual({ id: 'u8', active: true });
      expect(found.get('u1')).toEqual({ id: 'u1', active: true });
      expect(found.has('nobody-1')).toBe(false);
      const [req] = provider.scimRequests();
      expect(req?.query.get('attributes')).toBe('id,active');
      expect(provider.scimRequests().map((r) => r.query.get('count')).toSorted()).toEqual(['20', '50', '50']);
      expect(req?.query.get('filter')).toMatch(/^id eq "u1" or id eq "u2" or /);
    });

    it('escapes " and \\ in filter values and percent-encodes the query', async () => {
      const { provider, directory } = await setup();
      const odd = 'we"ird\\ id/x';
      provider.users.set(odd, { id: odd });
      const found = await directory.findUsers([odd], ctx());
      expect(found.has(odd)).toBe(true);
      const [req] = provider.scimRequests();
      expect(req?.query.get('filter')).toBe('id eq "we\\"ird\\\\ id/x"');
      expect(req?.url).toContain('filter=id%20eq%20%22we%5C%22ird%5C%5C%20id%2Fx%22');
      expect(req?.url).not.toContain(' ');
    });

    it('when the provider rejects filters, then it falls back to single GETs and remembers', async () => {
      const { provider, directory } = await setup({ filters: 'reject-400' });
      addUsers(provider, 3);
      const ids = ['u1', 'u2', 'u3', 'gone'];
      expect([...(await directory.findUsers(ids, ctx())).keys()].toSorted()).toEqual(['u1', 'u2', 'u3']);
      const first = provider.scimRequests().length;
      expect(first).toBe(1 + 4);
      const c = ctx();
      expect((await directory.findUsers(ids, c)).size).toBe(3);
      expect(c.stats.upstreamRequests).toBe(4);
      expect(provider.scimRequests().slice(first).every((r) => !r.query.has('filter'))).toBe(true);
    });

    it('when a batch URL is too long (414), then that batch goes one by one but filters stay in use', async () => {
      const { provider, directory } = await setup();
      addUsers(provider, 2);
      provider.interpose((_req, res) => sendJson(res, 414, scimError(414, 'URI too long')));
      expect((await directory.findUsers(['u1', 'u2'], ctx())).size).toBe(2);
      const c = ctx();
      expect((await directory.findUsers(['u1', 'u2'], c)).size).toBe(2);
      expect(c.stats.upstreamRequests).toBe(1);
      expect(provider.scimRequests().map((r) => r.query.has('filter'))).toEqual([true, false, false, true]);
    });

    it('when the first batch is refused, then the other batches do not try the filter', async () => {
      const { provider, directory } = await setup({ filters: 'reject-400' }, { userBatchSize: 2 });
      addUsers(provider, 6);
      const c = ctx();
      expect((await directory.findUsers(['u1', 'u2', 'u3', 'u4', 'u5', 'u6'], c)).size).toBe(6);
      expect(c.stats.upstreamRequests).toBe(1 + 6);
    });

    it('when filters answer 501, then it falls back too', async () => {
      const { provider, directory } = await setup({ filters: 'reject-501' });
      addUsers(provider, 2);
      expect((await directory.findUsers(['u1', 'u2'], ctx())).size).toBe(2);
    });

    it('when the provider ignores filters and returns every user, then only the asked ids count', async () => {
      const { provider, directory } = await setup({ filters: 'ignore', maxPageSize: 10 });
      addUsers(provider, 30);
      provider.users.set('u2', { id: 'u2', active: false });
      const found = await directory.findUsers(['u2', 'u25', 'missing'], ctx());
      expect([...found.keys()].toSorted()).toEqual(['u2', 'u25']);
      expect(found.get('u2')?.active).toBe(false);
    });
  });

  describe('getGroups', () => {
    it('returns group nodes with their group-typed members, in one filtered request', async () => {
      const { provider, directory } = await setup();
      seedGroups(provider);
      const c = ctx();
      const found = await directory.getGroups(['g1', 'g2', 'nope'], c);
      expect(found.get('g1')).toEqual({ id: 'g1', displayName: 'One', groupMemberIds: ['g2'] });
      expect(found.get('g2')).toEqual({ id: 'g2', displayName: 'Two', groupMemberIds: [] });
      expect(found.has('nope')).toBe(false);
      expect(c.stats.upstreamRequests).toBe(1);
      expect(provider.scimRequests()[0]?.query.get('attributes')).toBe('id,displayName,members');
    });

    it('when filters are rejected, then single GETs find the groups', async () => {
      const { provider, directory } = await setup({ filters: 'reject-400' });
      seedGroups(provider);
      const found = await directory.getGroups(['g1', 'g3', 'nope'], ctx());
      expect([...found.keys()].toSorted()).toEqual(['g1', 'g3']);
      expect(found.get('g3')?.groupMemberIds).toEqual(['g1']);
    });

    it('when filters are ignored, then the results are still only the asked groups', async () => {
      const { provider, directory } = await setup({ filters: 'ignore' });
      seedGroups(provider);
      const found = await directory.getGroups(['g2'], ctx());
      expect([...found.keys()]).toEqual(['g2']);
    });
  });

  describe('findParentGroups', () => {
    it('queries members.value per id and keys every id, with [] for none', async () => {
      const { provider, directory } = await setup();
      seedNesting(provider);
      const c = ctx();
      const parents = await directory.findParentGroups(['leaf', 'mid', 'top'], c);
      expect(parents.get('leaf')?.toSorted()).toEqual(['also', 'mid']);
      expect(parents.get('mid')).toEqual(['top']);
      expect(parents.get('top')).toEqual([]);
      expect(c.stats.upstreamRequests).toBe(3);
      const filters = provider.scimRequests().map((r) => r.query.get('filter'));
      expect(filters.toSorted()).toEqual(['members.value eq "leaf"', 'members.value eq "mid"', 'members.value eq "top"']);
      expect(provider.scimRequests()[0]?.query.get('attributes')).toBe('id,displayName');
    });

    it('pages through many parents', async () => {
      const { provider, directory } = await setup({ maxPageSize: 4 }, { pageSize: 4 });
      for (let i = 0; i < 10; i += 1) provider.groups.set(`p${i}`, { id: `p${i}`, displayName: `P${i}`, version: 1, members: [{ value: 'x', type: 'Group' }] });
      const parents = await directory.findParentGroups(['x'], ctx());
      expect(parents.get('x')).toHaveLength(10);
      expect(provider.scimRequests()).toHaveLength(3);
    });

    it('when filters are rejected, then it scans all groups once and remembers', async () => {
      const { provider, directory } = await setup({ filters: 'reject-400', maxPageSize: 2 }, { pageSize: 2 });
      seedNesting(provider);
      const parents = await directory.findParentGroups(['leaf', 'mid', 'top'], ctx());
      expect(parents.get('leaf')?.toSorted()).toEqual(['also', 'mid']);
      expect(parents.get('mid')).toEqual(['top']);
      expect(parents.get('top')).toEqual([]);
      // one refused filter (the probe), then two pages of the scan
      expect(provider.scimRequests()).toHaveLength(3);
      const c = ctx();
      await directory.findParentGroups(['leaf'], c);
      expect(c.stats.upstreamRequests).toBe(2);
      expect(provider.scimRequests().slice(-2).every((r) => !r.query.has('filter') && r.query.get('attributes') === 'id,members')).toBe(true);
    });

    it('when the provider ignores filters, then the members it sends unasked reveal it and a scan answers', async () => {
      const { provider, directory } = await setup({ filters: 'ignore' });
      seedNesting(provider);
      provider.interpose((_req, res) =>
        sendJson(res, 200, {
          totalResults: 4,
          Resources: [...provider.groups.values()].map((g) => ({ id: g.id, displayName: g.displayName, members: g.members })),
        }),
      );
      const parents = await directory.findParentGroups(['leaf'], ctx());
      expect(parents.get('leaf')?.toSorted()).toEqual(['also', 'mid']);
    });

    it('when totalResults is too high, then an empty page ends the scan', async () => {
      const { provider, directory } = await setup({ filters: 'reject-400', maxPageSize: 3, totalResults: (n) => n + 500 }, { pageSize: 3 });
      seedNesting(provider);
      const parents = await directory.findParentGroups(['leaf'], ctx());
      expect(parents.get('leaf')?.toSorted()).toEqual(['also', 'mid']);
      // 1 refused filter + pages of 3 and 1 + the empty page that ends it
      expect(provider.scimRequests()).toHaveLength(4);
    });

    it('when totalResults is too low, then every resource of the pages read is kept', async () => {
      const { provider, directory } = await setup({ totalResults: () => 1 });
      seedNesting(provider);
      const parents = await directory.findParentGroups(['leaf'], ctx());
      expect(parents.get('leaf')?.toSorted()).toEqual(['also', 'mid']);
      expect(provider.scimRequests()).toHaveLength(1);
    });

    it('returns an empty map for no ids without a request', async () => {
      const { provider, directory } = await setup();
      expect((await directory.findParentGroups([], ctx())).size).toBe(0);
      expect(provider.scimRequests()).toHaveLength(0);
    });
  });

  it('ping reads /ServiceProviderConfig', async () => {
    const { provider, directory } = await setup();
    await directory.ping(ctx());
    expect(provider.scimRequests()[0]?.path).toBe('/scim/v2/ServiceProviderConfig');
  });
});

describe('SCIM directory on an injected MockAgent', () => {
  it('sends the PUT through the injected dispatcher', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const pool = agent.get('https://tenant.example');
    let seen: { headers: unknown; body: unknown } | undefined;
    pool
      .intercept({ path: '/scim/v2/Groups/g%201', method: 'PUT' })
      .reply((options) => {
        seen = { headers: options.headers, body: options.body };
        return { statusCode: 200, data: { id: 'g 1', displayName: 'G', members: [] }, responseOptions: { headers: { etag: 'W/"2"' } } };
      });
    const directory = createScimDirectory({
      baseUrl: 'https://tenant.example',
      tokenSource: { getToken: async () => 'mock-token', invalidate: () => undefined },
      clock: new FakeClock(),
      dispatcher: agent,
    });
    const result = await directory.replaceGroup({ id: 'g 1', displayName: 'G', members: [], extra: {} }, 'W/"1"', {
      stats: { upstreamRequests: 0 },
    });
    expect(result.etag).toBe('W/"2"');
    expect(result.group?.id).toBe('g 1');
    expect(seen?.headers).toMatchObject({ 'if-match': 'W/"1"', authorization: 'Bearer mock-token' });
    await agent.close();
  });
});
