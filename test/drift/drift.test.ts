/**
 * Drift, end to end: the service composed as it runs (the SQLite store, the SCIM adapter over
 * loopback to the embedded simulator, the webhook dispatcher to a loopback receiver), with
 * the drift scheduler on a virtual clock (FakeClock: a sleep moves time at once). A group
 * is changed out of band in the simulator; a cycle finds it, the routes report it, the
 * owner's subscriber hears of it, and with DRIFT_HEAL=on the group is put back.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { createPrometheusMetrics } from '../../src/adapters/metrics/prometheus-metrics.js';
import { openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { generateSecret } from '../../src/adapters/webhooks/signing.js';
import { composeService } from '../../src/composition/service.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { buildFullApp, type FullApp } from '../helpers/full-app.js';
import { parsePrometheusText } from '../helpers/prometheus-text.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

const TOKENS = { okta: 'okta-drift-token-0001', entra: 'entra-drift-token-001', ops: 'ops-drift-token-00001' };
const CLIENT = { clientId: 'drift', clientSecret: 'drift-secret-value-01' };
const MINUTE = 60_000;

async function service(env: Record<string, string> = {}, clock = new FakeClock(Date.now())) {
  const full = await buildFullApp({
    env: { SYNC_API_TOKENS: `okta:${TOKENS.okta},entra:${TOKENS.entra}`, ADMIN_API_TOKENS: `ops:${TOKENS.ops}`, WEBHOOK_ALLOW_PRIVATE: 'true', MEMBERSHIP_BACKEND: 'scim-groups', ...env },
    ...CLIENT,
    driftClock: clock,
    dispatchRandom: () => 0,
  });
  const store = full.simulator.store;
  const users = ['ada', 'bob', 'cy', 'di'].map((name) => store.createUser({ userName: `${name}@example.com`, active: true }).id as string);
  const group = store.createGroup({ displayName: 'Sales' }).id as string;
  return { full, clock, users, group, drift: full.drift as NonNullable<FullApp['drift']> };
}

const as = (who: keyof typeof TOKENS) => ({ authorization: `Bearer ${TOKENS[who]}` });

async function sync(full: FullApp, group: string, members: string[], who: keyof typeof TOKENS = 'okta') {
  const res = await full.app.inject({ method: 'POST', url: `/groups/${group}/sync`, headers: as(who), payload: { members: members.map((value) => ({ value, type: 'User' })) } });
  expect(res.statusCode).toBe(200);
  return res.json() as { syncId: string; status: string };
}

async function subscribe(full: FullApp, url: string, who: keyof typeof TOKENS = 'okta') {
  const res = await full.app.inject({ method: 'POST', url: '/subscriptions', headers: as(who), payload: { url, events: ['group.drift.detected', 'group.drift.resolved', 'group.drift.heal_failed'] } });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string };
}

const members = (full: FullApp, group: string) => (full.simulator.store.getGroup(group)?.members ?? []).map((m) => m.value).toSorted();
/** The value of a series without labels, in the text GET /metrics answers. */
async function metric(full: FullApp, name: string): Promise<number | undefined> {
  const families = parsePrometheusText((await full.app.inject({ method: 'GET', url: '/metrics' })).body);
  return families.get(name)?.samples.find((sample) => sample.name === name)?.value;
}

const types = (received: readonly { body: string }[]) => received.map((r) => (JSON.parse(r.body) as { type: string }).type);

describe('drift', () => {
  it('when a group is changed out of band, then the next cycle reports the drift on both routes, in the metrics and to the owner’s subscriber; put right, it is resolved', async () => {
    const { full, clock, users, group, drift } = await service();
    const [ada, bob, cy] = users as [string, string, string];
    const receiver = await startWebhookReceiver();
    await subscribe(full, receiver.url);
    const synced = await sync(full, group, [ada, bob]);

    // Synced, not read yet.
    const before = await full.app.inject({ method: 'GET', url: `/groups/${group}/drift`, headers: as('okta') });
    expect(before.json()).toMatchObject({ groupId: group, status: 'unchecked', desired: { syncId: synced.syncId, memberCount: 2, owner: 'okta' } });

    // Out of band: bob removed, cy added, directly in the provider.
    full.simulator.store.removeMembers(group, [bob]);
    full.simulator.store.addMembers(group, [{ value: cy, type: 'User' }]);
    clock.advance(15 * MINUTE);
    const cycle = await drift.runCycle();
    expect(cycle).toMatchObject({ groups: 1, outcomes: { drifted: 1, in_sync: 0 }, upstreamRequests: 1 });

    const seen = await full.app.inject({ method: 'GET', url: `/groups/${group}/drift`, headers: as('okta') });
    expect(seen.statusCode).toBe(200);
    const record = seen.json();
    expect(record).toMatchObject({ groupId: group, backend: 'scim-groups', status: 'drifted', groupMissing: false, missing: [{ value: bob, type: 'User' }], extra: [{ value: cy }], missingCount: 1, extraCount: 1, desiredSyncId: synced.syncId, heal: null });
    expect(record.firstSeenAt).toBe(new Date(clock.now()).toISOString());
    expect(record.owner).toBeUndefined();
    // Another caller's group is answered like one never synced; an administrator sees it.
    expect((await full.app.inject({ method: 'GET', url: `/groups/${group}/drift`, headers: as('entra') })).json()).toMatchObject({ error: 'drift_not_found' });
    expect((await full.app.inject({ method: 'GET', url: '/drift', headers: as('entra') })).json()).toEqual({ items: [], nextCursor: null });
    const listed = (await full.app.inject({ method: 'GET', url: '/drift', headers: as('ops') })).json();
    expect(listed.items.map((r: { groupId: string }) => r.groupId)).toEqual([group]);
    expect((await full.app.inject({ method: 'GET', url: '/groups/never-synced/drift', headers: as('ops') })).statusCode).toBe(404);

    const [detected] = await receiver.waitFor(1);
    expect(JSON.parse(detected?.body as string)).toMatchObject({ type: 'group.drift.detected', data: { groupId: group, missing: [{ value: bob }], extra: [{ value: cy }], missingCount: 1, extraCount: 1, desiredSyncId: synced.syncId } });

    expect(await metric(full, 'scim_drift_groups')).toBe(1);
    expect(await metric(full, 'scim_drift_members')).toBe(2);
    expect(await metric(full, 'scim_drift_oldest_age_seconds')).toBe(0);

    // Still drifted a cycle later: the same drift, first seen when it was; no second event.
    clock.advance(15 * MINUTE);
    await drift.runCycle();
    const later = (await full.app.inject({ method: 'GET', url: `/groups/${group}/drift`, headers: as('okta') })).json();
    expect(later.firstSeenAt).toBe(record.firstSeenAt);
    expect(Date.parse(later.lastCheckedAt)).toBeGreaterThan(Date.parse(record.lastCheckedAt));
    expect(await metric(full, 'scim_drift_oldest_age_seconds')).toBeGreaterThanOrEqual(15 * 60);

    // Put right out of band: resolved.
    full.simulator.store.addMembers(group, [{ value: bob, type: 'User' }]);
    full.simulator.store.removeMembers(group, [cy]);
    clock.advance(15 * MINUTE);
    expect((await drift.runCycle()).outcomes.in_sync).toBe(1);
    const received = await receiver.waitFor(2);
    expect(types(received)).toEqual(['group.drift.detected', 'group.drift.resolved']);
    expect(JSON.parse(received[1]?.body as string).data).toMatchObject({ groupId: group, resolvedBy: 'upstream', firstSeenAt: record.firstSeenAt });
    expect((await full.app.inject({ method: 'GET', url: `/groups/${group}/drift`, headers: as('okta') })).json()).toMatchObject({ status: 'in_sync', missing: [], extra: [], firstSeenAt: null });
    expect(await metric(full, 'scim_drift_groups')).toBe(0);
  });

  it('when DRIFT_HEAL=on and a group drifts, then it is put back through a sync audited as drift-heal, and the drift is resolved', async () => {
    const { full, clock, users, group, drift } = await service({ DRIFT_HEAL: 'on' });
    const [ada, bob, cy] = users as [string, string, string];
    const receiver = await startWebhookReceiver();
    await subscribe(full, receiver.url);
    await sync(full, group, [ada, bob]);
    full.simulator.store.removeMembers(group, [ada]);
    full.simulator.store.addMembers(group, [{ value: cy, type: 'User' }]);
    clock.advance(15 * MINUTE);

    const cycle = await drift.runCycle();
    expect(cycle).toMatchObject({ outcomes: { drifted: 1 }, healed: 1 });
    expect(members(full, group)).toEqual([ada, bob].toSorted());
    const record = (await full.app.inject({ method: 'GET', url: `/groups/${group}/drift`, headers: as('okta') })).json();
    expect(record).toMatchObject({ status: 'in_sync', heal: { outcome: 'applied' } });
    const heal = (await full.app.inject({ method: 'GET', url: `/syncs/${record.heal.syncId}`, headers: as('ops') })).json();
    expect(heal).toMatchObject({ actor: 'drift-heal', status: 'applied', groupId: group, added: [{ value: ada }], removed: [{ value: cy }] });
    // The desired set stays the owner's: the owner still sees its group.
    expect(record.desired).toMatchObject({ owner: 'okta', syncId: record.heal.syncId });
    const received = await receiver.waitFor(2);
    expect(types(received)).toEqual(['group.drift.detected', 'group.drift.resolved']);
    expect(JSON.parse(received[1]?.body as string).data).toMatchObject({ resolvedBy: 'drift-heal', healSyncId: record.heal.syncId });
  });

  it('when a heal fails validation (a user deactivated since), then it stops, is reported on the record and to subscribers, and is not tried again until a sync records another desired set', async () => {
    const { full, clock, users, group, drift } = await service({ DRIFT_HEAL: 'on' });
    const [ada, bob] = users as [string, string];
    const receiver = await startWebhookReceiver();
    await subscribe(full, receiver.url);
    await sync(full, group, [ada, bob]);
    // Out of band: ada leaves the group and is deactivated.
    full.simulator.store.removeMembers(group, [ada]);
    full.simulator.store.patchUser(ada, [{ op: 'replace', path: 'active', value: false }]);
    clock.advance(15 * MINUTE);

    expect(await drift.runCycle()).toMatchObject({ outcomes: { drifted: 1 }, healed: 0, healFailed: 1 });
    const record = (await full.app.inject({ method: 'GET', url: `/groups/${group}/drift`, headers: as('okta') })).json();
    expect(record).toMatchObject({ status: 'drifted', missing: [{ value: ada }], heal: { outcome: 'failed', error: 'validation_failed', retryable: false } });
    expect(record.heal.syncId).toEqual(expect.any(String));
    const received = await receiver.waitFor(2);
    expect(types(received)).toEqual(['group.drift.detected', 'group.drift.heal_failed']);
    expect(JSON.parse(received[1]?.body as string).data).toMatchObject({ groupId: group, error: 'validation_failed', syncId: record.heal.syncId });

    // The next cycles do not try again: no new heal in the audit trail.
    const heals = async () => (await full.store.listRecords({ limit: 50, actor: 'drift-heal' })).items.length;
    expect(await heals()).toBe(1);
    for (let i = 0; i < 3; i++) {
      clock.advance(15 * MINUTE);
      expect((await drift.runCycle()).outcomes.drifted).toBe(1);
    }
    expect(await heals()).toBe(1);

    // A new sync of the group (ada dropped): another desired set; the group holds it, the drift is gone.
    await sync(full, group, [bob]);
    clock.advance(15 * MINUTE);
    expect((await drift.runCycle()).outcomes.in_sync).toBe(1);
    expect(await heals()).toBe(1);
    const resolved = await receiver.waitFor(3);
    expect(JSON.parse(resolved[2]?.body as string)).toMatchObject({ type: 'group.drift.resolved', data: { resolvedBy: 'sync' } });
  });

  it('when a sync of the group comes while its drift read is in flight, then the read gives way and nothing is reported as drift', async () => {
    const { full, clock, users, group, drift } = await service();
    const [ada, bob, cy] = users as [string, string, string];
    await sync(full, group, [ada, bob]);
    clock.advance(15 * MINUTE);
    // While the drift read's GET is in the provider, the group is changed and a sync of it comes.
    let syncing: Promise<unknown> | undefined;
    full.simulator.onRequest(async (request) => {
      if (request.method !== 'GET' || !request.path.endsWith(`/Groups/${group}`) || syncing !== undefined) return;
      full.simulator.store.addMembers(group, [{ value: cy, type: 'User' }]);
      syncing = full.app.inject({ method: 'POST', url: `/groups/${group}/sync`, headers: as('okta'), payload: { members: [ada, cy].map((value) => ({ value, type: 'User' })) } });
      await full.app.groupQueue.whenWaiting(group, 1);
    });
    const cycle = await drift.runCycle();
    full.simulator.onRequest(null);
    expect(cycle.outcomes).toMatchObject({ discarded: 1, drifted: 0 });
    expect(((await syncing) as { statusCode: number }).statusCode).toBe(200);
    expect((await full.app.inject({ method: 'GET', url: `/groups/${group}/drift`, headers: as('okta') })).json()).toMatchObject({ status: 'unchecked' });
    // The next cycle compares with what that sync applied: in sync.
    clock.advance(15 * MINUTE);
    expect((await drift.runCycle()).outcomes).toMatchObject({ in_sync: 1, drifted: 0 });
  });

  it('when a sync of the group runs or waits as its turn comes, then the group is skipped this cycle', async () => {
    const { full, users, group, drift } = await service();
    const [ada] = users as [string];
    await sync(full, group, [ada]);
    const hold = full.simulator.holdNextWrite();
    const running = full.app.inject({ method: 'POST', url: `/groups/${group}/sync?allowMassRemoval=true`, headers: as('okta'), payload: { members: [] } });
    await hold.held;
    expect((await drift.runCycle()).outcomes).toMatchObject({ skipped: 1, drifted: 0 });
    hold.release();
    expect((await running).statusCode).toBe(200);
  });

  it('when the service starts again on the same store, then the drift it found is still reported, and its next cycle continues it without a second event', async () => {
    const { full, clock, users, group, drift } = await service();
    const [ada, bob] = users as [string, string];
    const receiver = await startWebhookReceiver();
    const subscription = await subscribe(full, receiver.url);
    await sync(full, group, [ada, bob]);
    full.simulator.store.removeMembers(group, [bob]);
    clock.advance(15 * MINUTE);
    await drift.runCycle();
    const first = (await full.app.inject({ method: 'GET', url: `/groups/${group}/drift`, headers: as('okta') })).json();
    expect(first.status).toBe('drifted');

    // A second process on the same DATA_DIR (the first one's store left as it is).
    const store = openSqliteStore({ dataDir: full.dataDir, newSecret: generateSecret, adminActors: ['ops'] });
    const again = await composeService({ config: full.config, store, directory: full.directory, metrics: createPrometheusMetrics({ defaultMetrics: false }), policy: full.policy, logger: createLogger('silent'), driftClock: clock });
    try {
      const shown = (await again.app.inject({ method: 'GET', url: `/groups/${group}/drift`, headers: as('okta') })).json();
      expect(shown).toEqual(first);
      clock.advance(15 * MINUTE);
      expect((await again.drift?.runCycle())?.outcomes.drifted).toBe(1);
      const continued = (await again.app.inject({ method: 'GET', url: `/groups/${group}/drift`, headers: as('okta') })).json();
      expect(continued.firstSeenAt).toBe(first.firstSeenAt);
      expect((await store.listDeliveries(subscription.id, { limit: 10 }))?.items.map((d) => d.eventType)).toEqual(['group.drift.detected']);
    } finally {
      await again.app.close();
      store.close();
    }
  });
});
