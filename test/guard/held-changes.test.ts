import { describe, expect, it, onTestFinished } from 'vitest';
import { openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { generateSecret } from '../../src/adapters/webhooks/signing.js';
import { changeFingerprint, holdOrPass } from '../../src/core/held-changes.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { bearer, buildTestApp } from '../helpers/build-test-app.js';
import { tempDir } from '../helpers/temp-dir.js';

const ADMIN = 'admin-test-token-0003';
const members = [{ value: 'u1', type: 'User' as const }];

const DAY = 86_400_000;

function heldStore() {
  const clock = new FakeClock();
  const store = openSqliteStore({ dataDir: tempDir(), clock, newSecret: generateSecret });
  onTestFinished(() => store.close());
  let n = 0;
  let e = 0;
  return { store, clock, deps: { store: store.heldChanges, clock, newId: () => `held-${++n}`, newEventId: () => `msg_${++e}`, ttlMs: 7 * DAY } };
}

/** What the outbox holds, as [type, held change id]: every event reaches one ownerless subscriber. */
async function subscribed(store: ReturnType<typeof heldStore>['store']) {
  await store.createSubscription({ url: 'http://127.0.0.1:9/hook', events: ['group.change.held', 'group.change.approved', 'group.change.rejected', 'group.change.expired'] });
  return async () => (await store.dueDeliveries(Number.MAX_SAFE_INTEGER, 100, new Set())).map((d) => [d.eventType, (JSON.parse(d.body) as { data: { heldChangeId: string } }).data.heldChangeId]);
}

describe('held changes: holdOrPass, as the SCIM front door calls it', () => {
  it('when a guarded change comes, then it is held; its retries get the same id; once approved, the next retry goes ahead, once', async () => {
    const { deps } = heldStore();
    expect(await holdOrPass(deps, 'g1', { members, removing: 40, of: 41 }, 'entra')).toEqual({ kind: 'held', id: 'held-1', created: true });
    // held-2 is the id of the record of held-1.
    // The same change, members in another order or repeated, is the same change.
    expect(changeFingerprint('g1', [...members, ...members])).toBe(changeFingerprint('g1', members));
    expect(await holdOrPass(deps, 'g1', { members: [...members, ...members], removing: 40, of: 41 }, 'entra')).toEqual({ kind: 'held', id: 'held-1', created: false });
    expect(await holdOrPass(deps, 'g2', { members, removing: 40, of: 41 }, 'entra')).toMatchObject({ kind: 'held', id: 'held-5', created: true });
    await deps.store.decide('held-1', 'approved', 'admin', '2026-01-01T00:00:00.000Z');
    expect(await holdOrPass(deps, 'g1', { members, removing: 40, of: 41 }, 'entra')).toEqual({ kind: 'approved', id: 'held-1' });
    expect(await holdOrPass(deps, 'g1', { members, removing: 40, of: 41 }, 'entra')).toMatchObject({ kind: 'held', created: true });
  });
});

describe('GET /guard/held, POST /guard/held/{id}/approve and /reject', () => {
  it('when an administrator lists and decides held changes, then it sees them, approves or rejects each once, and other tokens are refused', async () => {
    const { store, deps } = heldStore();
    const { app } = await buildTestApp({ directory: new InMemoryDirectory(), env: { ADMIN_API_TOKENS: `admin:${ADMIN}` }, ports: { heldChanges: store.heldChanges } });
    await holdOrPass(deps, 'g1', { members, removing: 40, of: 41 }, 'entra');
    await holdOrPass(deps, 'g2', { members, removing: 12, of: 12 }, 'entra');

    expect((await app.inject({ method: 'GET', url: '/guard/held', headers: bearer() })).statusCode).toBe(403);
    const list = await app.inject({ method: 'GET', url: '/guard/held?state=held', headers: bearer(ADMIN) });
    expect(list.statusCode).toBe(200);
    expect(list.json().items.map((h: { id: string; removing: number; of: number }) => [h.id, h.removing, h.of]).toSorted()).toEqual([
      ['held-1', 40, 41],
      ['held-3', 12, 12],
    ]);

    expect((await app.inject({ method: 'POST', url: '/guard/held/held-1/approve', headers: bearer() })).statusCode).toBe(403);
    const approved = await app.inject({ method: 'POST', url: '/guard/held/held-1/approve', headers: bearer(ADMIN) });
    expect(approved.json()).toMatchObject({ id: 'held-1', state: 'approved', decidedBy: 'admin' });
    const twice = await app.inject({ method: 'POST', url: '/guard/held/held-1/reject', headers: bearer(ADMIN) });
    expect(twice.statusCode).toBe(409);
    expect(twice.json()).toMatchObject({ error: 'held_change_decided' });
    expect((await app.inject({ method: 'POST', url: '/guard/held/held-3/reject', headers: bearer(ADMIN) })).json()).toMatchObject({ state: 'rejected' });
    expect((await app.inject({ method: 'POST', url: '/guard/held/nope/approve', headers: bearer(ADMIN) })).json()).toMatchObject({ error: 'held_change_not_found' });

    expect(await holdOrPass(deps, 'g1', { members, removing: 40, of: 41 }, 'entra')).toEqual({ kind: 'approved', id: 'held-1' });
    expect(await holdOrPass(deps, 'g2', { members, removing: 12, of: 12 }, 'entra')).toEqual({ kind: 'rejected', id: 'held-3', created: false });
  });

  it('when a change is held, approved or rejected, then each is recorded with its group.change event, in the transaction that changed it', async () => {
    const { store, clock, deps } = heldStore();
    const outbox = await subscribed(store);
    const { app } = await buildTestApp({ directory: new InMemoryDirectory(), env: { ADMIN_API_TOKENS: `admin:${ADMIN}` }, ports: { heldChanges: store.heldChanges, audit: store, clock } });
    const one = await holdOrPass(deps, 'g1', { members, removing: 40, of: 41 }, 'entra', 'req-1');
    const two = await holdOrPass(deps, 'g2', { members, removing: 12, of: 12 }, 'entra', 'req-2');
    await holdOrPass(deps, 'g1', { members, removing: 40, of: 41 }, 'entra', 'req-3'); // the IdP's retry: nothing new
    expect((await app.inject({ method: 'POST', url: `/guard/held/${one.id}/approve`, headers: bearer(ADMIN) })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: `/guard/held/${two.id}/reject`, headers: bearer(ADMIN) })).statusCode).toBe(200);
    expect(await outbox()).toEqual([
      ['group.change.held', one.id],
      ['group.change.held', two.id],
      ['group.change.approved', one.id],
      ['group.change.rejected', two.id],
    ]);
    const held = JSON.parse((await store.dueDeliveries(Number.MAX_SAFE_INTEGER, 1, new Set()))[0]?.body ?? '{}') as { data: Record<string, unknown> };
    expect(held.data).toEqual({ heldChangeId: one.id, groupId: 'g1', askedBy: 'entra', removing: 40, of: 41, expiresAt: new Date(clock.now() + 7 * DAY).toISOString() });
    const records = (await store.listRecords({ limit: 10 })).items.map((r) => [r.status, r.actor, r.requestId]);
    expect(records.toReversed()).toEqual([
      ['held_change_created', 'entra', 'req-1'],
      ['held_change_created', 'entra', 'req-2'],
      ['held_change_approved', 'admin', expect.any(String)],
      ['held_change_rejected', 'admin', expect.any(String)],
    ]);
    expect(await store.verifyChain()).toMatchObject({ ok: true });
    // GET /audit lists them as they were hashed.
    const page = await app.inject({ method: 'GET', url: '/audit?limit=10', headers: bearer(ADMIN) });
    expect(page.statusCode).toBe(200);
    expect((page.json() as { items: unknown[] }).items).toEqual(JSON.parse(JSON.stringify((await store.listRecords({ limit: 10 })).items)));
  });

  it('when HELD_CHANGE_TTL passes, then a held change can no longer be approved (410 held_change_expired), it is listed as expired with group.change.expired, and the IdP\'s next retry is held afresh', async () => {
    const { store, clock, deps } = heldStore();
    const outbox = await subscribed(store);
    const { app } = await buildTestApp({ directory: new InMemoryDirectory(), env: { ADMIN_API_TOKENS: `admin:${ADMIN}`, HELD_CHANGE_TTL: '7d' }, ports: { heldChanges: store.heldChanges, clock } });
    const stale = await holdOrPass(deps, 'g1', { members, removing: 40, of: 41 }, 'entra');
    const approvedOnly = await holdOrPass(deps, 'g2', { members, removing: 40, of: 41 }, 'entra');
    clock.advance(DAY);
    expect((await app.inject({ method: 'POST', url: `/guard/held/${approvedOnly.id}/approve`, headers: bearer(ADMIN) })).json()).toMatchObject({ state: 'approved', expiresAt: new Date(clock.now() + 7 * DAY).toISOString() });
    clock.advance(6 * DAY); // the first is 7 days old now, not more
    expect((await app.inject({ method: 'GET', url: '/guard/held?state=held', headers: bearer(ADMIN) })).json().items).toHaveLength(1);
    clock.advance(1);

    const refused = await app.inject({ method: 'POST', url: `/guard/held/${stale.id}/approve`, headers: bearer(ADMIN) });
    expect(refused.statusCode).toBe(410);
    expect(refused.json()).toMatchObject({ error: 'held_change_expired' });
    expect((await app.inject({ method: 'POST', url: `/guard/held/${stale.id}/reject`, headers: bearer(ADMIN) })).json()).toMatchObject({ error: 'held_change_expired' });
    const listed = (await app.inject({ method: 'GET', url: '/guard/held?state=expired', headers: bearer(ADMIN) })).json();
    expect(listed.items).toEqual([expect.objectContaining({ id: stale.id, state: 'expired', expiredAt: new Date(clock.now()).toISOString(), expiresAt: null })]);
    // The IdP's retry of the expired change is held afresh, under a new id; the approval (given a day later) still holds.
    const again = await holdOrPass(deps, 'g1', { members, removing: 40, of: 41 }, 'entra');
    expect(again).toMatchObject({ kind: 'held', created: true });
    expect(again.id).not.toBe(stale.id);
    expect(await holdOrPass(deps, 'g2', { members, removing: 40, of: 41 }, 'entra')).toEqual({ kind: 'approved', id: approvedOnly.id });
    expect((await outbox()).filter(([type]) => type === 'group.change.expired')).toEqual([['group.change.expired', stale.id]]);
    expect((await store.listRecords({ limit: 10 })).items.filter((r) => r.status === 'held_change_expired')).toEqual([expect.objectContaining({ actor: 'held-change-expiry', groupId: 'g1' })]);

    // An approval not used within HELD_CHANGE_TTL of its giving expires too.
    const approvedLate = await holdOrPass(deps, 'g3', { members, removing: 40, of: 41 }, 'entra');
    await app.inject({ method: 'POST', url: `/guard/held/${approvedLate.id}/approve`, headers: bearer(ADMIN) });
    clock.advance(7 * DAY + 1);
    expect(await holdOrPass(deps, 'g3', { members, removing: 40, of: 41 }, 'entra')).toMatchObject({ kind: 'held', created: true });
    expect(await store.heldChanges.getHeld(approvedLate.id)).toMatchObject({ state: 'expired', decidedBy: 'admin' });
    expect(await store.verifyChain()).toMatchObject({ ok: true });
  });
});
