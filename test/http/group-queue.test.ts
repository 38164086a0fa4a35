/**
 * The per-group queue: bounded by GROUP_QUEUE_MAX (429 group_busy beyond it), a queued
 * sync is cancelled when its caller goes away, and a deadline that passes in the queue is
 * a 503 queue_timeout, never an upstream timeout. Every one of them is audited.
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/core/audit.js';
import { seedIds } from '../../src/simulator/simulator.js';
import { bearer, buildTestApp, TOKENS } from '../helpers/build-test-app.js';
import { buildSimulatorApp, type SimulatorApp } from '../helpers/simulator-app.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';

const { users, groups } = seedIds;
const body = (...values: string[]) => JSON.stringify({ members: values.map((value) => ({ value, type: 'User' })) });

function post(s: SimulatorApp, groupId: string, payload: string) {
  return s.app.inject({ method: 'POST', url: `/groups/${groupId}/sync`, headers: { ...bearer(), 'content-type': 'application/json' }, payload });
}

/** Holds every group PUT at the simulator until released; `arrived` resolves at the first. */
function holdPuts(s: SimulatorApp) {
  let arrive!: () => void;
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  s.simulator.onRequest(async (req) => {
    if (req.method !== 'PUT') return;
    arrive();
    await released;
  });
  return { arrived, release };
}

/** Resolves with the audit record of each sync as it is appended, once `count` of them are. */
function auditedRecords(s: SimulatorApp, count: number): Promise<AuditRecord[]> {
  return new Promise((resolve) => {
    const append = s.audit.append.bind(s.audit);
    s.audit.append = async (entry, events) => {
      const record = await append(entry, events);
      if (s.audit.records.length >= count) resolve(s.audit.records);
      return record;
    };
  });
}

describe('the per-group queue', () => {
  it('when GROUP_QUEUE_MAX syncs of a group already wait, then one more is 429 group_busy with Retry-After and audited; other groups are not held up', async () => {
    const s = await buildSimulatorApp({ env: { GROUP_QUEUE_MAX: '2' } });
    const held = holdPuts(s);
    const running = post(s, groups.contactCenterAgents, body(users.aliceSmith));
    await held.arrived;
    const waiting = [post(s, groups.contactCenterAgents, body(users.davidKim)), post(s, groups.contactCenterAgents, body(users.lauraGarcia))];
    await s.app.groupQueue.whenWaiting(groups.contactCenterAgents, 2);

    const busy = await post(s, groups.contactCenterAgents, body(users.nadiaAhmed));
    expect(busy.statusCode).toBe(429);
    expect(busy.headers['retry-after']).toBe('5');
    expect(busy.json()).toMatchObject({ error: 'group_busy', message: expect.stringMatching(/2 syncs of this group are already waiting.*GROUP_QUEUE_MAX/), syncId: expect.any(String) });
    expect(s.audit.records.map((r) => r.status)).toEqual(['group_busy']);
    expect(s.audit.records[0]).toMatchObject({ syncId: busy.json().syncId, upstreamRequests: 0 });

    const elsewhere = await s.app.inject({ method: 'POST', url: `/groups/${groups.platform}/sync?dryRun=true`, headers: { ...bearer(), 'content-type': 'application/json' }, payload: body(users.aliceSmith) });
    expect(elsewhere.json().status).toBe('dry_run');

    held.release();
    const answers = await Promise.all([running, ...waiting]);
    expect(answers.map((a) => a.json().status)).toEqual(['applied', 'applied', 'applied']);
  });

  it('when the caller of a queued sync closes its connection, then the sync is cancelled before it reaches the upstream, and audited as cancelled', async () => {
    const s = await buildSimulatorApp();
    await s.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = s.app.server.address() as AddressInfo;
    const held = holdPuts(s);
    const records = auditedRecords(s, 2);
    const running = fetch(`http://127.0.0.1:${port}/groups/${groups.contactCenterAgents}/sync`, { method: 'POST', headers: { ...bearer(), 'content-type': 'application/json' }, body: body(users.aliceSmith) });
    await held.arrived;

    const payload = body(users.davidKim);
    const queued = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: `/groups/${groups.contactCenterAgents}/sync`, headers: { authorization: `Bearer ${TOKENS.okta}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'idempotency-key': 'queued-1' } });
    queued.on('error', () => {});
    queued.end(payload);
    await s.app.groupQueue.whenWaiting(groups.contactCenterAgents, 1);
    queued.destroy();
    await s.app.groupQueue.whenWaiting(groups.contactCenterAgents, 0);

    held.release();
    expect(((await (await running).json()) as { status: string }).status).toBe('applied');
    const cancelled = (await records).find((r) => r.status !== 'applied');
    expect(cancelled).toMatchObject({ status: 'cancelled', upstreamRequests: 0, errors: [{ code: 'cancelled', message: expect.stringMatching(/closed the connection/) }] });
    expect(s.simulator.stats.byRoute['PUT Groups']).toBe(1);
    expect(s.simulator.store.getGroup(groups.contactCenterAgents)?.members.map((m) => m.value)).toEqual([users.aliceSmith]);

    // The cancelled answer is not kept for its Idempotency-Key: the retry runs.
    const retry = await s.app.inject({ method: 'POST', url: `/groups/${groups.contactCenterAgents}/sync`, headers: { ...bearer(), 'content-type': 'application/json', 'idempotency-key': 'queued-1' }, payload });
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(retry.json()).toMatchObject({ status: 'applied', added: [{ value: users.davidKim, type: 'User' }] });
  });

  it('when a queued sync reaches its deadline while it still waits, then 503 queue_timeout with Retry-After, audited as such, with nothing sent upstream', async () => {
    const directory = new InMemoryDirectory().addUser('a').addUser('b').addGroup('g1');
    let releaseFirst!: () => void;
    const firstRead = new Promise<void>((resolve) => (releaseFirst = resolve));
    const getGroup = directory.getGroup.bind(directory);
    let reads = 0;
    // The first sync's read does not return until released, whatever its own deadline says.
    directory.getGroup = async (id, ctx, options) => {
      if (++reads === 1) await firstRead;
      return getGroup(id, ctx, options);
    };
    const { app, audit } = await buildTestApp({ directory, env: { SYNC_DEADLINE_MS: '200' } });
    const sync = (member: string) => app.inject({ method: 'POST', url: '/groups/g1/sync', headers: { ...bearer(), 'content-type': 'application/json' }, payload: JSON.stringify({ members: [{ value: member, type: 'User' }] }) });
    const first = sync('a');
    await app.groupQueue.whenWaiting('g1', 0);
    const queued = sync('b');
    await app.groupQueue.whenWaiting('g1', 1);
    const answer = await queued;
    expect(answer.statusCode).toBe(503);
    expect(answer.headers['retry-after']).toBe('5');
    expect(answer.json()).toMatchObject({ error: 'queue_timeout', message: expect.stringMatching(/waited .* behind other syncs of this group/), syncId: expect.any(String) });
    expect(audit.records).toEqual([expect.objectContaining({ status: 'queue_timeout', upstreamRequests: 0, errors: [expect.objectContaining({ code: 'queue_timeout' })] })]);
    expect(reads).toBe(1);
    releaseFirst();
    await first;
  });
});
