/**
 * An answer of `applied` is true: after every write the service compares what the upstream
 * holds with the desired set, against simulated providers that do not keep their word.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/simulator.js';
import { bearer } from '../helpers/build-test-app.js';
import { buildSimulatorApp, type SimulatorApp } from '../helpers/simulator-app.js';

const { users, groups } = seedIds;
const user = (value: string) => ({ value, type: 'User' as const });
const heldValues = (s: SimulatorApp, id: string) => (s.simulator.store.getGroup(id)?.members ?? []).map((m) => m.value).toSorted();

function post(s: SimulatorApp, groupId: string, body: unknown) {
  return s.app.inject({ method: 'POST', url: `/groups/${encodeURIComponent(groupId)}/sync`, headers: { ...bearer(), 'content-type': 'application/json' }, payload: JSON.stringify(body) });
}

/** A load group of `userCount` users that holds only the first `holding` of them. */
async function loadGroup(s: SimulatorApp, userCount: number, holding = userCount) {
  const res = await fetch(`${s.simulator.url}/_simulator/groups`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ displayName: 'Load', userCount }) });
  const created = (await res.json()) as { id: string; userIds: string[] };
  if (holding < userCount) s.simulator.store.removeMembers(created.id, created.userIds.slice(holding));
  s.simulator.stats.reset();
  return created;
}

describe('applied means the upstream holds the desired set', () => {
  it('when the provider applies a PATCH to the projection it was asked for, then a 751 → 1,500 sync in WRITE_MODE=patch is applied and the group then holds all 1,500', async () => {
    const s = await buildSimulatorApp({ env: { WRITE_MODE: 'patch' }, simulator: { capabilities: { patchOnProjection: true } } });
    const big = await loadGroup(s, 1500, 751);
    const res = await post(s, big.id, { members: big.userIds.map(user) });
    // No PATCH names a projection, so this provider's bug never fires: applied, and true.
    expect(res.json()).toMatchObject({ status: 'applied', writeMode: 'patch', consistencyRate: 1 });
    expect(heldValues(s, big.id)).toEqual(big.userIds.toSorted());
  });

  it('when the same provider gets a +140 change in WRITE_MODE=auto, then it is applied and the group then holds all of them', async () => {
    const s = await buildSimulatorApp({ env: { WRITE_MODE: 'auto' }, simulator: { capabilities: { patchOnProjection: true } } });
    const big = await loadGroup(s, 1640, 1500);
    const res = await post(s, big.id, { members: big.userIds.map(user) });
    expect(res.json()).toMatchObject({ status: 'applied', writeMode: 'patch', consistencyRate: 1 });
    expect(heldValues(s, big.id)).toEqual(big.userIds.toSorted());
  });

  it('when the PATCH requests of a sequence go out, then none of them names attributes or excludedAttributes', async () => {
    const s = await buildSimulatorApp({ env: { WRITE_MODE: 'patch', PATCH_MAX_OPERATIONS: '2' } });
    const big = await loadGroup(s, 10, 4);
    const queries: string[] = [];
    s.simulator.onRequest((req) => {
      if (req.method === 'PATCH') queries.push(req.query.toString());
    });
    const res = await post(s, big.id, { members: big.userIds.map(user) });
    expect(res.json()).toMatchObject({ status: 'applied', writeMode: 'patch', consistencyRate: 1 });
    expect(queries).toEqual(['', '', '']);
  });

  it('when the provider silently keeps fewer members than written, then 502 write_not_applied says what is missing, and the audit record, the event and a warning say so', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = { level: 'info', stream: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) } };
    const { pino } = await import('pino');
    const s = await buildSimulatorApp({ simulator: { capabilities: { silentMemberLimit: 1000 } }, logger: pino({ level: 'info' }, logger.stream) });
    const big = await loadGroup(s, 1500, 900);
    const res = await post(s, big.id, { members: big.userIds.map(user) });
    expect(res.statusCode).toBe(502);
    const body = res.json();
    expect(body).toMatchObject({ error: 'write_not_applied', syncId: expect.any(String), missingCount: 500, extraCount: 0, extra: [] });
    expect(body.consistencyRate).toBeCloseTo(1000 / 1500, 5);
    expect(body.missing).toHaveLength(100);
    expect(body.missing[0]).toEqual({ value: expect.any(String), type: 'User' });
    expect(body.message).toMatch(/500 of the 1500 desired members are missing/);

    const record = s.audit.records.at(-1);
    expect(record).toMatchObject({ syncId: body.syncId, status: 'write_not_applied', writeMode: 'put' });
    expect(record?.errors[0]).toMatchObject({ code: 'write_not_applied', message: body.message });
    expect(record?.errors.filter((e) => e.code === 'member_missing')).toHaveLength(100);
    const event = s.audit.events.at(-1);
    expect(event).toMatchObject({ type: 'group.sync.failed', data: { syncId: body.syncId, error: 'write_not_applied', missingCount: 500, extraCount: 0 } });
    expect(lines.some((line) => line.level === 40 && line.status === 'write_not_applied')).toBe(true);
    // Not counted as a lost race: the write was not retried.
    expect(s.simulator.stats.byRoute['PUT Groups']).toBe(1);
  });
});

describe('a write the upstream failed', () => {
  it('when a PUT is answered 500 but landed (its retry then gets 412), then the service re-reads and answers applied', async () => {
    const s = await buildSimulatorApp({ env: { SYNC_DEADLINE_MS: '600000' } });
    s.simulator.setFaults({ failWrites: { status: 500, apply: true, count: 1 } });
    const res = await post(s, groups.contactCenterAgents, { members: [user(users.aliceSmith)] });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'applied', added: [user(users.aliceSmith)], consistencyRate: 1 });
    expect(heldValues(s, groups.contactCenterAgents)).toEqual([users.aliceSmith]);
  });

  it('when a PUT is answered 500 and only the version moved, then the caller gets 502 upstream_error with the provider status and detail, not 409', async () => {
    const s = await buildSimulatorApp();
    s.simulator.setFaults({ failWrites: { status: 500, apply: false, count: null } });
    const res = await post(s, groups.contactCenterAgents, { members: [user(users.aliceSmith)] });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({ error: 'upstream_error', upstreamStatus: 500, detail: 'internal server error (injected write fault)' });
    expect(s.audit.records.at(-1)?.status).toBe('upstream_error');
    // One round: the write, its retry (412), the re-read; no conflict rounds.
    expect(s.simulator.stats.byRoute['PUT Groups']).toBe(2);
  });
});

describe('what a PUT sends', () => {
  it('when the body limit fits the members but not their display names, then the PUT carries value and type only and fits', async () => {
    const s = await buildSimulatorApp({ simulator: { capabilities: { maxRequestBytes: 80_000, patch: false } } });
    const big = await loadGroup(s, 1001, 1000);
    const res = await post(s, big.id, { members: big.userIds.map(user) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'applied', writeMode: 'put' });
    const members = big.userIds.map((value) => ({ type: 'User', value }));
    const sent = JSON.stringify({ displayName: 'Load', id: big.id, members, schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'] });
    expect(s.audit.records.at(-1)?.payloadSha256).toBe(createHash('sha256').update(sent).digest('hex'));
  });

  it('when the provider answers a PUT 413 and advertises PATCH, then the sync falls back to PATCH', async () => {
    const s = await buildSimulatorApp({ simulator: { capabilities: { maxRequestBytes: 20_000 } } });
    const big = await loadGroup(s, 1001, 1000);
    const res = await post(s, big.id, { members: big.userIds.slice(1).map(user) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'applied', writeMode: 'patch', consistencyRate: 1 });
    expect(s.simulator.stats.byStatus['413']).toBe(1);
    expect(heldValues(s, big.id)).toEqual(big.userIds.slice(1).toSorted());
    expect(s.audit.records.at(-1)?.writeMode).toBe('patch');
  });

  it('when the provider answers a PUT 413 and has no PATCH, then the caller gets 502 upstream_error with 413', async () => {
    const s = await buildSimulatorApp({ simulator: { capabilities: { maxRequestBytes: 20_000, patch: false } } });
    const big = await loadGroup(s, 1001, 1000);
    const res = await post(s, big.id, { members: big.userIds.slice(1).map(user) });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({ error: 'upstream_error', upstreamStatus: 413 });
  });
});
