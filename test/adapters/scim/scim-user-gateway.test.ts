/**
 * The pass-through of SCIM /Users (ScimUserGateway): against the CXone simulator for the
 * resulting state, and against a loopback server for what goes on the wire (CXone's
 * `{path, value}` PATCH form) and for answers the simulator does not give.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamError } from '../../../src/core/errors.js';
import type { RequestContext } from '../../../src/core/ports.js';
import { createCxoneDirectory } from '../../../src/adapters/scim/cxone-directory.js';
import { createScimDirectory } from '../../../src/adapters/scim/scim-directory.js';
import { createSimulator, seedIds } from '../../../src/simulator/simulator.js';
import { FakeClock } from '../../fakes/fake-clock.js';
import { scimError, sendJson, startLoopback, type Handler } from './loopback.js';

const { users: U } = seedIds;
const ctx = (): RequestContext => ({ stats: { upstreamRequests: 0 } });
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';

describe('SCIM user gateway', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
  });

  async function simulated() {
    const clock = new FakeClock();
    const simulator = createSimulator({ now: () => clock.now() });
    const baseUrl = await simulator.listen({ port: 0 });
    cleanups.push(() => simulator.close());
    const directory = createCxoneDirectory({ baseUrl, clientId: 'demo-client', clientSecret: 'demo-secret', clock, random: () => 0.5 });
    cleanups.push(() => directory.close());
    return { simulator, directory };
  }

  async function loopback(handler: Handler) {
    const server = await startLoopback(handler);
    cleanups.push(() => server.close());
    const directory = createScimDirectory({ baseUrl: server.url, tokenSource: { getToken: async () => 'loopback-token-value', invalidate: () => {} }, clock: new FakeClock(), random: () => 0.5, retry: { maxAttempts: 1 } });
    cleanups.push(() => directory.close());
    return { server, directory };
  }

  it('when a user exists, then it is read by id and found by its userName in any case; otherwise null and an empty list', async () => {
    const { directory } = await simulated();
    const user = await directory.getUserResource(U.aliceSmith, ctx());
    expect(user).toMatchObject({ id: U.aliceSmith, userName: 'alice.smith@example.com', active: true });
    expect(await directory.getUserResource('00000000-0000-0000-0000-000000000000', ctx())).toBeNull();

    const found = await directory.listUserResources({ userName: 'ALICE.SMITH@example.com', startIndex: 1, count: 10 }, ctx());
    expect(found.totalResults).toBe(1);
    expect(found.resources.map((u) => u.id)).toEqual([U.aliceSmith]);
    expect(await directory.listUserResources({ userName: 'nobody@example.com', startIndex: 1, count: 10 }, ctx())).toEqual({ totalResults: 0, resources: [] });
    // A filtered page past its one result is empty, with the total still counted.
    expect(await directory.listUserResources({ userName: 'alice.smith@example.com', startIndex: 2, count: 10 }, ctx())).toMatchObject({ totalResults: 1, resources: [] });
  });

  it('when users are listed without a filter, then startIndex and count page through them', async () => {
    const { simulator, directory } = await simulated();
    const first = await directory.listUserResources({ startIndex: 1, count: 2 }, ctx());
    const second = await directory.listUserResources({ startIndex: 3, count: 2 }, ctx());
    expect(first.totalResults).toBe(simulator.store.userCount);
    expect(first.resources).toHaveLength(2);
    expect(second.resources).toHaveLength(2);
    expect(new Set([...first.resources, ...second.resources].map((u) => u.id)).size).toBe(4);
  });

  it('when a user is created, replaced, updated and deactivated, then the simulator holds each change and the CXone agent follows', async () => {
    const { simulator, directory } = await simulated();
    const created = await directory.createUserResource(
      { schemas: [USER_SCHEMA], userName: 'new.agent@example.com', name: { givenName: 'New', familyName: 'Agent' }, emails: [{ value: 'new.agent@example.com', type: 'work', primary: true }], active: true },
      ctx(),
    );
    expect(simulator.store.getUser(created.id)).toMatchObject({ userName: 'new.agent@example.com', active: true });

    const replaced = await directory.replaceUserResource(
      created.id,
      { schemas: [USER_SCHEMA], id: created.id, userName: 'new.agent@example.com', name: { givenName: 'Renamed', familyName: 'Agent' }, emails: [{ value: 'new.agent@example.com', type: 'work', primary: true }], active: true },
      ctx(),
    );
    expect(replaced?.name).toEqual({ givenName: 'Renamed', familyName: 'Agent' });

    const updated = await directory.updateUserResource(
      created.id,
      [
        { path: 'name.familyName', value: 'Updated' },
        { path: 'emails[type eq "work"].value', value: 'updated@example.com' },
      ],
      ctx(),
    );
    expect(updated).toMatchObject({ name: { givenName: 'Renamed', familyName: 'Updated' }, emails: [{ value: 'updated@example.com', type: 'work', primary: true }] });

    const deactivated = await directory.deactivateUser(created.id, ctx());
    expect(deactivated?.active).toBe(false);
    expect(simulator.store.getUser(created.id)?.active).toBe(false);
    expect(simulator.directory.findAgentByUserId(created.id)?.isActive).toBe(false);
  });

  it('when the user does not exist, then replace, update and deactivate answer null', async () => {
    const { directory } = await simulated();
    const nobody = '00000000-0000-0000-0000-000000000000';
    expect(await directory.replaceUserResource(nobody, { schemas: [USER_SCHEMA], userName: 'x@example.com' }, ctx())).toBeNull();
    expect(await directory.updateUserResource(nobody, [{ path: 'active', value: 'true' }], ctx())).toBeNull();
    expect(await directory.deactivateUser(nobody, ctx())).toBeNull();
  });

  it('when the userName is taken, then the create is an UpstreamError 409 with scimType uniqueness', async () => {
    const { directory } = await simulated();
    const error = await directory.createUserResource({ schemas: [USER_SCHEMA], userName: 'alice.smith@example.com' }, ctx()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ status: 409, scimType: 'uniqueness' });
  });

  it('when a user is updated, then the PATCH body is CXone\'s form: PatchOp schema and {path, value} operations with string values, no op', async () => {
    const user = { id: 'u1', userName: 'a@example.com', active: false };
    const { server, directory } = await loopback((_req, res) => sendJson(res, 200, user));
    await directory.updateUserResource('u1', [{ path: 'active', value: 'false' }, { path: 'name.givenName', value: 'Ann' }], ctx());
    const sent = server.requests[0];
    expect(sent?.method).toBe('PATCH');
    expect(sent?.path).toBe('/scim/v2/Users/u1');
    expect(JSON.parse(sent?.body ?? '')).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        { path: 'active', value: 'false' },
        { path: 'name.givenName', value: 'Ann' },
      ],
    });
  });

  it('when the PATCH answers 204 without a body, then the user is read back', async () => {
    const user = { id: 'u1', userName: 'a@example.com', active: false };
    const { server, directory } = await loopback((req, res) => (req.method === 'PATCH' ? sendJson(res, 204, undefined) : sendJson(res, 200, user)));
    const context = ctx();
    expect(await directory.deactivateUser('u1', context)).toEqual(user);
    expect(server.requests.map((r) => r.method)).toEqual(['PATCH', 'GET']);
    expect(context.stats.upstreamRequests).toBe(2);
  });

  it('when the filter holds quotes and backslashes, then it reaches the upstream as a valid SCIM string', async () => {
    const { server, directory } = await loopback((_req, res) => sendJson(res, 200, { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0 }));
    expect(await directory.listUserResources({ userName: 'a"b\\c', startIndex: 1, count: 1 }, ctx())).toEqual({ totalResults: 0, resources: [] });
    expect(server.requests[0]?.query.get('filter')).toBe('userName eq "a\\"b\\\\c"');
  });

  it('when the upstream answers a user without an id, then it is an upstream error naming the request', async () => {
    const { directory } = await loopback((_req, res) => sendJson(res, 200, { userName: 'x' }));
    await expect(directory.getUserResource('u1', ctx())).rejects.toThrow(/SCIM GET \/Users\/\{id\} answered 200 with an unusable body/);
  });

  it('when the upstream refuses a create with 400, then its scimType and detail are kept', async () => {
    const { directory } = await loopback((_req, res) => sendJson(res, 400, scimError(400, 'emails is required', 'invalidValue')));
    await expect(directory.createUserResource({ userName: 'x' }, ctx())).rejects.toMatchObject({ status: 400, scimType: 'invalidValue', detail: 'emails is required' });
  });
});
