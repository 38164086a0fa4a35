/**
 * The simulator's knobs for providers that do not keep their word: a PATCH applied to the
 * projection it was asked for, a body limit, writes answered 5xx after the fact, a silent
 * member limit, and a write whose answer is held until another write has landed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/simulator.js';
import { GROUP_SCHEMA, PATCH_SCHEMA, closeSimulators, readAnswer, startSimulator } from './harness.js';

afterEach(closeSimulators);

const { groups, users } = seedIds;
const groupPath = (id: string) => `/scim/v2/Groups/${id}`;
const addMember = (value: string) => ({ schemas: [PATCH_SCHEMA], Operations: [{ op: 'add', path: 'members', value: [{ value, type: 'User' }] }] });
const values = (members: { value: string }[] | undefined) => (members ?? []).map((m) => m.value).toSorted();

describe('simulator write knobs', () => {
  it('when patchOnProjection is on and a PATCH names excludedAttributes=members, then only the patched members are left', async () => {
    const { request, simulator } = await startSimulator({ capabilities: { patchOnProjection: true } });
    const before = simulator.store.getGroup(groups.engineeringCore)?.members.length ?? 0;
    expect(before).toBeGreaterThan(1);
    const patched = await request('PATCH', `${groupPath(groups.engineeringCore)}?excludedAttributes=members`, { body: addMember(users.lauraGarcia) });
    expect(patched.status).toBe(200);
    expect(values(simulator.store.getGroup(groups.engineeringCore)?.members)).toEqual([users.lauraGarcia]);
    expect(simulator.store.getGroup(groups.engineeringCore)?.displayName).toBe('Engineering Core');

    // Without a projection the same provider patches correctly.
    await request('PATCH', groupPath(groups.engineeringCore), { body: addMember(users.nadiaAhmed) });
    expect(values(simulator.store.getGroup(groups.engineeringCore)?.members)).toEqual([users.lauraGarcia, users.nadiaAhmed].toSorted());
  });

  it('when a body is over maxRequestBytes, then it is read to its end and answered 413, and nothing changes', async () => {
    const { request, simulator } = await startSimulator({ capabilities: { maxRequestBytes: 2048 } });
    const group = simulator.store.getGroup(groups.platform);
    const big = { schemas: [GROUP_SCHEMA], displayName: 'Platform', members: group?.members.map((m) => ({ value: m.value, type: 'User', display: 'x'.repeat(1000) })) };
    const refused = await request('PUT', groupPath(groups.platform), { body: big });
    expect(refused.status).toBe(413);
    expect(refused.body).toMatchObject({ status: '413' });
    expect(simulator.store.getGroup(groups.platform)?.meta.version).toBe(group?.meta.version);
    const small = await request('PUT', groupPath(groups.platform), { body: { ...big, members: big.members?.map(({ value, type }) => ({ value, type })) } });
    expect(small.status).toBe(200);
  });

  it('when failWrites applies, then the write lands (or only its version moves) and the answer is a 5xx, for count writes', async () => {
    const { request, simulator, url } = await startSimulator();
    const put = (members: string[]) => request('PUT', groupPath(groups.contactCenterAgents), { body: { schemas: [GROUP_SCHEMA], displayName: 'Contact Center Agents', members: members.map((value) => ({ value, type: 'User' })) } });
    const faults = await fetch(`${url}/_simulator/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ failWrites: { count: 1 } }) });
    expect((await readAnswer(faults)).body.failWrites).toEqual({ status: 500, apply: true, count: 1 });
    const version = simulator.store.getGroup(groups.contactCenterAgents)?.meta.version;
    expect((await put([users.aliceSmith])).status).toBe(500);
    expect(values(simulator.store.getGroup(groups.contactCenterAgents)?.members)).toEqual([users.aliceSmith]);
    expect(simulator.store.getGroup(groups.contactCenterAgents)?.meta.version).not.toBe(version);
    expect(simulator.faults.failWrites).toBeNull();

    simulator.setFaults({ failWrites: { status: 503, apply: false, count: null } });
    const moved = simulator.store.getGroup(groups.contactCenterAgents)?.meta.version;
    expect((await put([users.davidKim])).status).toBe(503);
    expect(values(simulator.store.getGroup(groups.contactCenterAgents)?.members)).toEqual([users.aliceSmith]);
    expect(simulator.store.getGroup(groups.contactCenterAgents)?.meta.version).not.toBe(moved);
    expect(() => simulator.setFaults({ failWrites: { status: 404 } as never })).toThrow(/failWrites/);
  });

  it('when silentMemberLimit is set, then a write keeps only that many members and still answers 200', async () => {
    const { request, simulator } = await startSimulator({ capabilities: { silentMemberLimit: 2 } });
    const members = [users.aliceSmith, users.davidKim, users.lauraGarcia].map((value) => ({ value, type: 'User' }));
    const put = await request('PUT', groupPath(groups.contactCenterAgents), { body: { schemas: [GROUP_SCHEMA], displayName: 'Contact Center Agents', members } });
    expect(put.status).toBe(200);
    expect(put.body.members).toHaveLength(2);
    expect(simulator.store.memberCount(groups.contactCenterAgents)).toBe(2);
  });

  it('when a hold is armed over the admin API, then the next PUT answer waits until another write to the group has landed', async () => {
    const { request, url, simulator, token } = await startSimulator({ capabilities: { etag: false } });
    const bearer = await token();
    const body = (value: string) => ({ schemas: [GROUP_SCHEMA], displayName: 'Contact Center Agents', members: [{ value, type: 'User' }] });
    const armed = await readAnswer(await fetch(`${url}/_simulator/hold`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method: 'PUT' }) }));
    expect(armed.body).toEqual({ state: 'armed', method: 'PUT' });

    const first = request('PUT', groupPath(groups.contactCenterAgents), { body: body(users.aliceSmith), token: bearer });
    expect((await readAnswer(await fetch(`${url}/_simulator/hold?until=held`))).body).toEqual({ state: 'held', method: 'PUT' });
    // The first write has landed; its answer is kept back.
    expect(values(simulator.store.getGroup(groups.contactCenterAgents)?.members)).toEqual([users.aliceSmith]);

    const second = await request('PUT', groupPath(groups.contactCenterAgents), { body: body(users.davidKim), token: bearer });
    expect(second.status).toBe(200);
    const late = await first;
    // The answer was made when the first write landed: it shows that write, not what the group holds now.
    expect(values(late.body.members)).toEqual([users.aliceSmith]);
    expect(values(simulator.store.getGroup(groups.contactCenterAgents)?.members)).toEqual([users.davidKim]);
    expect(simulator.writeHold?.state).toBe('released');
    expect((await fetch(`${url}/_simulator/hold`, { method: 'DELETE' })).status).toBe(204);
    expect((await readAnswer(await fetch(`${url}/_simulator/hold`))).body).toEqual({ state: null });
    expect((await fetch(`${url}/_simulator/hold?until=soon`)).status).toBe(400);
  });
});
