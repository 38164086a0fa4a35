/**
 * The storage contract: what every store behind the service's storage ports must do (the
 * audit trail and its chain, the audit queries, webhook subscriptions, the outbox,
 * idempotency keys), written once and run against each store by a factory
 * (sqlite.contract.test.ts, postgres.contract.test.ts).
 *
 * A harness is one empty database; open() gives a handle on it, and a second open() a
 * second handle on the same data, as a second replica (or a restarted process) would have.
 * Stores that several processes share at once (`shared: true`) also pass the replica
 * clauses: one chain from concurrent appends, one claim per key, one delivery at a time.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import type { ChainHead } from '../../../src/core/audit.js';
import { InvalidCursorError, StorageError } from '../../../src/core/errors.js';
import type { AgentMapStore, AuditTrail, BackendChoiceStore, ChangeAudit, ChangeRequest, DesiredSet, DriftRecord, DriftStore, GroupExternalIds, HeldChangeStore, IdempotencyStore, MembershipJournal, Outbox, QuarantineNote, QuarantineStore, SubscriptionStore, SyncedGroups } from '../../../src/core/ports.js';
import { FakeClock } from '../../fakes/fake-clock.js';
import { auditEntry, domainEvent } from '../../fakes/audit-entry.js';

export interface ContractStore extends AuditTrail, ChangeAudit, SubscriptionStore, Outbox, IdempotencyStore {
  readonly backendChoice: BackendChoiceStore;
  readonly agentMap: AgentMapStore;
  readonly syncedGroups: SyncedGroups;
  readonly journal: MembershipJournal;
  readonly drift: DriftStore;
  auditHead(): ChainHead | null | Promise<ChainHead | null>;
  pruneAudit(before: number, limit?: number): Promise<{ pruned: number; refused?: string }>;
  ping(): Promise<void>;
  close(): void | Promise<void>;
  readonly groupExternalIds: GroupExternalIds;
  readonly quarantine: QuarantineStore;
  readonly heldChanges: HeldChangeStore;
}

export interface ContractOpenOptions {
  readonly adminActors?: readonly string[];
  readonly staticSubscribers?: readonly string[];
  readonly auditKey?: string;
}

export interface StoreHarness {
  /** A handle on this harness's database (the first one creates it), on the harness's clock. Closed when the test ends. */
  open(options?: ContractOpenOptions): Promise<ContractStore>;
  readonly clock: FakeClock;
}

export interface StoreKind {
  readonly name: string;
  /** Several processes use one database at once (claims and chain appends are serialised by the database). */
  readonly shared: boolean;
  /** A fresh, empty database per call; undefined: the store cannot run here (the suite is skipped, and says why). */
  readonly harness: (() => Promise<StoreHarness>) | undefined;
  /** How long a claimed Idempotency-Key stays claimed while its request runs (shared stores). */
  readonly idempotencyLeaseMs?: number;
  /** How long a claimed delivery stays with the handle that claimed it (shared stores). */
  readonly deliveryLeaseMs?: number;
}

let noteCounter = 0;
/** A quarantine change's audit record, with one event when `withEvent`. */
function quarantineNote(groupId: string, status: QuarantineNote['entry']['status'], withEvent = false): QuarantineNote {
  noteCounter++;
  const entry = { syncId: `qnote-${noteCounter}`, requestId: `req-q-${noteCounter}`, actor: 'admin', groupId, status, reason: 'test', createdAt: '2026-01-01T00:00:00.000Z' };
  const events = withEvent ? [{ id: `msg_q_${noteCounter}`, type: 'group.quarantine.released' as const, timestamp: entry.createdAt, data: { groupId } }] : [];
  return { entry, events };
}

const caller = (actor: string, admin = false): ChangeRequest => ({ actor, admin, requestId: `req-${actor}` });

function desiredSet(overrides: Partial<DesiredSet> = {}): DesiredSet {
  return {
    backend: 'scim-groups',
    groupId: 'g1',
    members: [
      { value: 'u1', type: 'User' },
      { value: 'u2', type: 'User' },
    ],
    syncId: 'sync-x',
    owner: 'okta',
    appliedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

function driftRecord(overrides: Partial<DriftRecord> = {}): DriftRecord {
  return {
    backend: 'scim-groups',
    groupId: 'g1',
    owner: 'okta',
    status: 'drifted',
    groupMissing: false,
    missing: [{ value: 'u2', type: 'User' }],
    extra: [{ value: 'u9', type: 'User' }],
    missingCount: 1,
    extraCount: 1,
    firstSeenAt: '2026-01-02T00:00:00.000Z',
    lastCheckedAt: '2026-01-02T00:00:00.000Z',
    resolvedAt: null,
    desiredSyncId: 'sync-x',
    heal: null,
    ...overrides,
  };
}
const none = new Set<number>();

async function harnessOf(kind: StoreKind): Promise<StoreHarness> {
  const make = kind.harness as () => Promise<StoreHarness>;
  return make();
}

/** Opens a handle and closes it when the test ends. */
async function open(harness: StoreHarness, options?: ContractOpenOptions): Promise<ContractStore> {
  const store = await harness.open(options);
  onTestFinished(async () => {
    await store.close();
  });
  return store;
}

export function describeStorageContract(kind: StoreKind): void {
  describe.skipIf(kind.harness === undefined)(`storage contract: ${kind.name}`, () => {
    describe('audit trail', () => {
      it('when records are appended, then each links to the one before, from the genesis, and the head is the newest', async () => {
        const store = await open(await harnessOf(kind));
        expect(await store.auditHead()).toBeNull();
        const a = await store.append(auditEntry(), []);
        const b = await store.append(auditEntry(), []);
        expect(a.prevHash).toBe('0'.repeat(64));
        expect(b.prevHash).toBe(a.hash);
        expect(await store.auditHead()).toEqual({ seq: 2, hash: b.hash });
        expect(await store.verifyChain()).toEqual({ ok: true, records: 2 });
      });

      it('when a sync is looked up, then its record comes back as appended; a subscription change or an unknown id is not a sync', async () => {
        const harness = await harnessOf(kind);
        const store = await open(harness);
        const entry = auditEntry({ groupId: 'g-look' });
        const record = await store.append(entry, []);
        expect(await store.findSync(entry.syncId)).toEqual(record);
        expect(await store.findSync('no-such-sync')).toBeUndefined();
        await store.createSubscription({ url: 'https://hooks.example.com/a', events: ['group.sync.completed'] }, caller('okta'));
        const change = (await store.listRecords({ limit: 1 })).items[0];
        expect(change?.status).toBe('subscription_created');
        expect(await store.findSync(change?.syncId as string)).toBeUndefined();
      });

      it('when the SCIM front door\'s changes are appended, then they are in the chain as appended, a user change has no group, the group filter finds the group change, and no change is a sync', async () => {
        const store = await open(await harnessOf(kind));
        await store.append(auditEntry({ groupId: 'g-fd' }), []);
        const base = { requestId: 'req-1', actor: 'okta-scim', outcome: 'applied' as const, createdAt: '2026-01-02T00:00:00.000Z' };
        const group = { ...base, syncId: 'fd-1', status: 'scim_group_created' as const, resourceType: 'Group' as const, resourceId: 'g-fd', groupId: 'g-fd', attributes: ['displayName', 'externalId'], displayName: 'Night Shift', externalId: 'okta-00g1' };
        const user = { ...base, syncId: 'fd-2', status: 'scim_user_patched' as const, resourceType: 'User' as const, resourceId: 'u-1', attributes: ['emails'] };
        const failed = { ...base, syncId: 'fd-3', status: 'scim_group_created' as const, resourceType: 'Group' as const, resourceId: null, attributes: ['displayName'], displayName: 'X', outcome: 'failed' as const, error: 'upstream_error' };
        for (const entry of [group, user, failed]) await store.appendChange(entry);
        const listed = (await store.listRecords({ limit: 10 })).items;
        expect(listed.slice(0, 3).map(({ prevHash: _p, hash: _h, ...entry }) => entry)).toEqual([failed, user, group]);
        expect((await store.listRecords({ limit: 10, groupId: 'g-fd' })).items.map((r) => r.syncId)).toEqual(['fd-1', expect.any(String)]);
        expect(await store.findSync('fd-1')).toBeUndefined();
        expect(await store.verifyChain()).toEqual({ ok: true, records: 4 });
      });

      it('when the trail is listed, then newest first, filtered by actor, group and time, in pages joined by cursors', async () => {
        const store = await open(await harnessOf(kind));
        for (let i = 0; i < 5; i++) await store.append(auditEntry({ actor: i % 2 === 0 ? 'okta' : 'azure', groupId: `g${i % 2}`, createdAt: `2026-01-0${i + 1}T00:00:00.000Z` }), []);
        const all = await store.listRecords({ limit: 10 });
        expect(all.items.map((r) => r.createdAt.slice(0, 10))).toEqual(['2026-01-05', '2026-01-04', '2026-01-03', '2026-01-02', '2026-01-01']);
        expect(all.nextCursor).toBeNull();
        expect((await store.listRecords({ limit: 10, actor: 'azure' })).items).toHaveLength(2);
        expect((await store.listRecords({ limit: 10, groupId: 'g0' })).items).toHaveLength(3);
        expect((await store.listRecords({ limit: 10, since: '2026-01-04T00:00:00Z' })).items).toHaveLength(2);
        const first = await store.listRecords({ limit: 2 });
        expect(first.items).toHaveLength(2);
        const second = await store.listRecords({ limit: 2, cursor: first.nextCursor as string });
        const third = await store.listRecords({ limit: 2, cursor: second.nextCursor as string });
        expect([...first.items, ...second.items, ...third.items].map((r) => r.syncId)).toEqual(all.items.map((r) => r.syncId));
        expect(third.nextCursor).toBeNull();
      });

      it('when a cursor the store did not issue comes back, then InvalidCursorError', async () => {
        const store = await open(await harnessOf(kind));
        await expect(store.listRecords({ limit: 2, cursor: 'bm90LWEtY3Vyc29y' })).rejects.toBeInstanceOf(InvalidCursorError);
        await expect(store.listRecords({ limit: 2, cursor: Buffer.from('delivery:5').toString('base64url') })).rejects.toBeInstanceOf(InvalidCursorError);
      });

      it('when the store is opened again, then the chain continues from the remembered head and verifies from the new handle', async () => {
        const harness = await harnessOf(kind);
        const first = await open(harness);
        const a = await first.append(auditEntry(), []);
        await first.close();
        const again = await open(harness);
        const b = await again.append(auditEntry(), []);
        expect(b.prevHash).toBe(a.hash);
        expect(await again.verifyChain()).toEqual({ ok: true, records: 2 });
      });

      it('when the trail is keyed (AUDIT_HMAC_KEY), then it verifies with the key, and is not opened for writing without it or with another', async () => {
        const harness = await harnessOf(kind);
        const key = 'k'.repeat(32);
        const store = await open(harness, { auditKey: key });
        await store.append(auditEntry(), []);
        await store.append(auditEntry(), []);
        expect(await store.verifyChain()).toEqual({ ok: true, records: 2 });
        await expect(harness.open({})).rejects.toBeInstanceOf(StorageError);
        await expect(harness.open({ auditKey: 'x'.repeat(32) })).rejects.toBeInstanceOf(StorageError);
      });

      it('when old records are pruned, then the kept chain still verifies from its checkpoint and goes on', async () => {
        const store = await open(await harnessOf(kind));
        for (let i = 0; i < 4; i++) await store.append(auditEntry({ createdAt: `2026-01-0${i + 1}T00:00:00.000Z` }), []);
        const result = await store.pruneAudit(Date.parse('2026-01-03T00:00:00Z'));
        expect(result.pruned).toBe(2);
        await store.append(auditEntry({ createdAt: '2026-01-09T00:00:00.000Z' }), []);
        const verdict = await store.verifyChain();
        expect(verdict.ok).toBe(true);
        expect(verdict.records).toBe(3);
        expect(verdict.ok && verdict.checkpoint?.firstSeq).toBe(3);
      });

      it.skipIf(!kind.shared)('when two replicas append at once, then their records form one chain, in order, with no fork', async () => {
        const harness = await harnessOf(kind);
        const [one, two] = [await open(harness), await open(harness)];
        const appends = [];
        for (let i = 0; i < 20; i++) {
          appends.push(one.append(auditEntry({ groupId: `a${i}` }), []));
          appends.push(two.append(auditEntry({ groupId: `b${i}` }), []));
        }
        const records = await Promise.all(appends);
        const prevs = new Set(records.map((r) => r.prevHash));
        expect(prevs.size).toBe(40);
        expect(await one.verifyChain()).toEqual({ ok: true, records: 40 });
        expect(await two.verifyChain()).toEqual({ ok: true, records: 40 });
        expect((await two.auditHead())?.seq).toBe(40);
      });
    });

    describe('subscriptions', () => {
      it('when a subscription is created, then only the answer holds its secret, and its creation is audited', async () => {
        const store = await open(await harnessOf(kind));
        const created = await store.createSubscription({ url: 'https://hooks.example.com/a', events: ['group.sync.completed'], description: 'ops' }, caller('okta'));
        expect(created.secret).toMatch(/^whsec_/);
        expect(created.owner).toBe('okta');
        const read = await store.getSubscription(created.id);
        expect(read).toEqual({ id: created.id, owner: 'okta', url: 'https://hooks.example.com/a', events: ['group.sync.completed'], description: 'ops', createdAt: created.createdAt, disabled: false });
        expect(JSON.stringify(await store.listSubscriptions())).not.toContain(created.secret);
        const [record] = (await store.listRecords({ limit: 5 })).items;
        expect(record).toMatchObject({ status: 'subscription_created', actor: 'okta' });
        expect(JSON.stringify(record)).not.toContain(created.secret);
        expect(await store.verifyChain()).toEqual({ ok: true, records: 1 });
      });

      it('when a caller reads subscriptions, then it sees its own; an administrator sees all; another caller’s is answered like a missing one', async () => {
        const store = await open(await harnessOf(kind));
        const mine = await store.createSubscription({ url: 'https://hooks.example.com/m', events: ['group.sync.completed'] }, caller('okta'));
        const theirs = await store.createSubscription({ url: 'https://hooks.example.com/t', events: ['group.sync.failed'] }, caller('azure'));
        expect((await store.listSubscriptions({ actor: 'okta', admin: false })).map((s) => s.id)).toEqual([mine.id]);
        expect((await store.listSubscriptions({ actor: 'ops', admin: true })).map((s) => s.id).toSorted()).toEqual([mine.id, theirs.id].toSorted());
        expect(await store.getSubscription(theirs.id, { actor: 'okta', admin: false })).toBeUndefined();
        expect(await store.deleteSubscription(theirs.id, caller('okta'))).toBeUndefined();
        expect(await store.listDeliveries(theirs.id, { limit: 5 }, { actor: 'okta', admin: false })).toBeUndefined();
        expect((await store.deleteSubscription(mine.id, caller('okta')))?.id).toBe(mine.id);
        expect(await store.getSubscription(mine.id)).toBeUndefined();
        expect((await store.listRecords({ limit: 5 })).items.map((r) => r.status)).toEqual(['subscription_deleted', 'subscription_created', 'subscription_created']);
      });
    });

    describe('outbox', () => {
      it('when a sync is appended with events, then each interested subscriber gets a pending delivery with the exact body, in the same step', async () => {
        const harness = await harnessOf(kind);
        const store = await open(harness, { adminActors: ['ops'], staticSubscribers: ['https://static.example.com/hooks'] });
        const own = await store.createSubscription({ url: 'https://hooks.example.com/own', events: ['group.sync.completed'] }, caller('okta'));
        const other = await store.createSubscription({ url: 'https://hooks.example.com/other', events: ['group.sync.completed'] }, caller('azure'));
        const admin = await store.createSubscription({ url: 'https://hooks.example.com/admin', events: ['group.sync.completed'] }, caller('ops', true));
        const failedOnly = await store.createSubscription({ url: 'https://hooks.example.com/failed', events: ['group.sync.failed'] }, caller('okta'));
        let woken = 0;
        const unsubscribe = store.onQueued(() => woken++);
        const entry = auditEntry({ actor: 'okta' });
        const event = domainEvent(entry);
        await store.append(entry, [event]);
        unsubscribe();
        expect(woken).toBe(1);
        const due = await store.dueDeliveries(harness.clock.now(), 10, none);
        expect(due.map((d) => d.url).toSorted()).toEqual(['https://hooks.example.com/admin', 'https://hooks.example.com/own', 'https://static.example.com/hooks']);
        for (const delivery of due) {
          expect(delivery.eventId).toBe(event.id);
          expect(delivery.eventType).toBe('group.sync.completed');
          expect(JSON.parse(delivery.body)).toEqual({ type: event.type, timestamp: event.timestamp, data: event.data });
          expect(delivery.attempts).toBe(0);
        }
        expect(due.find((d) => d.url.endsWith('/own'))?.secret).toBe(own.secret);
        expect(due.find((d) => d.url.endsWith('/own'))?.subscriptionId).toBe(own.id);
        expect(due.find((d) => d.url.startsWith('https://static'))?.secret).toBeNull();
        expect([other.id, admin.id, failedOnly.id]).toHaveLength(3);
      });

      it('when attempts are recorded, then a delivered one leaves the queue, a retried one waits until its time, and its attempts are listed', async () => {
        const harness = await harnessOf(kind);
        const store = await open(harness);
        const sub = await store.createSubscription({ url: 'https://hooks.example.com/a', events: ['group.sync.completed'] }, caller('okta'));
        const now = harness.clock.now();
        const e1 = auditEntry();
        const e2 = auditEntry();
        await store.append(e1, [domainEvent(e1)]);
        await store.append(e2, [domainEvent(e2)]);
        const [d1, d2] = await store.dueDeliveries(now, 10, none);
        expect(d1?.eventId).toBe(domainEvent(e1).id);
        await store.recordAttempt(d1?.id as number, { at: now, statusCode: 204, error: null, durationMs: 12 }, { status: 'delivered' });
        await store.recordAttempt(d2?.id as number, { at: now, statusCode: 500, error: 'HTTP 500', durationMs: 7 }, { status: 'pending', nextAttemptAt: now + 5_000 });
        expect(await store.dueDeliveries(now, 10, none)).toEqual([]);
        expect(await store.nextDueAt(none)).toBe(now + 5_000);
        const later = await store.dueDeliveries(now + 5_000, 10, none);
        expect(later.map((d) => [d.id, d.attempts])).toEqual([[d2?.id, 1]]);
        expect(await store.dueDeliveries(now + 5_000, 10, new Set([d2?.id as number]))).toEqual([]);
        const page = await store.listDeliveries(sub.id, { limit: 1 });
        expect(page?.items[0]).toMatchObject({ id: d2?.id, status: 'pending', nextAttemptAt: new Date(now + 5_000).toISOString(), attempts: [{ attempt: 1, statusCode: 500, error: 'HTTP 500', durationMs: 7 }] });
        const next = await store.listDeliveries(sub.id, { limit: 1, cursor: page?.nextCursor as string });
        expect(next?.items[0]).toMatchObject({ id: d1?.id, status: 'delivered', nextAttemptAt: null });
        expect(next?.nextCursor).toBeNull();
      });

      it('when a receiver answers 410 Gone, then its subscription is disabled and its pending deliveries fail', async () => {
        const harness = await harnessOf(kind);
        const store = await open(harness);
        const sub = await store.createSubscription({ url: 'https://hooks.example.com/a', events: ['group.sync.completed'] }, caller('okta'));
        const entry = auditEntry();
        await store.append(entry, [domainEvent(entry)]);
        await store.disableSubscription(sub.id);
        expect((await store.getSubscription(sub.id))?.disabled).toBe(true);
        expect(await store.dueDeliveries(harness.clock.now(), 10, none)).toEqual([]);
        expect(await store.nextDueAt(none)).toBeNull();
        const more = auditEntry();
        await store.append(more, [domainEvent(more)]);
        expect(await store.dueDeliveries(harness.clock.now(), 10, none)).toEqual([]);
      });

      it.skipIf(!kind.shared)('when two replicas ask for due deliveries at once, then each delivery goes to one of them only, until its lease runs out', async () => {
        const harness = await harnessOf(kind);
        const [one, two] = [await open(harness, { staticSubscribers: ['https://static.example.com/hooks'] }), await open(harness, { staticSubscribers: ['https://static.example.com/hooks'] })];
        for (let i = 0; i < 10; i++) {
          const entry = auditEntry();
          await one.append(entry, [domainEvent(entry)]);
        }
        const now = harness.clock.now();
        const [a, b] = await Promise.all([one.dueDeliveries(now, 10, none), two.dueDeliveries(now, 10, none)]);
        const ids = [...a, ...b].map((d) => d.id);
        expect(ids).toHaveLength(10);
        expect(new Set(ids).size).toBe(10);
        expect(await one.dueDeliveries(now, 10, none)).toEqual([]);
        // A replica that claimed and died: after the lease, another takes its deliveries.
        const lease = kind.deliveryLeaseMs as number;
        expect(await one.nextDueAt(none)).toBe(now + lease);
        harness.clock.advance(lease);
        expect(await two.dueDeliveries(harness.clock.now(), 20, none)).toHaveLength(10);
      });
    });

    describe('drift', () => {
      it('when a sync is appended with its desired set, then the set is kept per backend and group, replaced by the next, and listed while recent', async () => {
        const store = await open(await harnessOf(kind));
        const first = auditEntry({ groupId: 'g1', createdAt: '2026-01-01T00:00:00.000Z' });
        await store.append(first, [], desiredSet({ syncId: first.syncId, appliedAt: first.createdAt }));
        const other = auditEntry({ groupId: 'g1', createdAt: '2026-01-01T00:00:01.000Z' });
        await store.append(other, [], desiredSet({ backend: 'acd-groups', syncId: other.syncId, appliedAt: other.createdAt, members: [{ value: 'u7', type: 'User' }] }));
        const second = auditEntry({ groupId: 'g1', actor: 'azure', createdAt: '2026-01-03T00:00:00.000Z' });
        await store.append(second, [], desiredSet({ syncId: second.syncId, owner: 'azure', appliedAt: second.createdAt, members: [{ value: 'u3', type: 'User' }] }));
        const old = auditEntry({ groupId: 'g0', createdAt: '2025-12-01T00:00:00.000Z' });
        await store.append(old, [], desiredSet({ groupId: 'g0', syncId: old.syncId, appliedAt: old.createdAt }));
        // An append without a desired set (a dry run, a failure) changes nothing.
        await store.append(auditEntry({ groupId: 'g1', status: 'dry_run' }), []);

        expect(await store.drift.desiredSet('scim-groups', 'g1')).toEqual(desiredSet({ syncId: second.syncId, owner: 'azure', appliedAt: second.createdAt, members: [{ value: 'u3', type: 'User' }] }));
        expect((await store.drift.desiredSet('acd-groups', 'g1'))?.members).toEqual([{ value: 'u7', type: 'User' }]);
        expect(await store.drift.desiredSet('teams', 'g1')).toBeUndefined();
        expect(await store.drift.recentlySynced('scim-groups', '2025-12-25T00:00:00.000Z')).toEqual(['g1']);
        expect(await store.drift.recentlySynced('scim-groups', '2025-01-01T00:00:00.000Z')).toEqual(['g0', 'g1']);
        expect(await store.drift.groupDrift('g1')).toEqual({ desired: { backend: 'scim-groups', groupId: 'g1', syncId: second.syncId, owner: 'azure', appliedAt: second.createdAt, memberCount: 1 }, drift: undefined });
        expect((await store.drift.groupDrift('g1', 'acd-groups'))?.desired.syncId).toBe(other.syncId);
        expect(await store.drift.groupDrift('nope')).toBeUndefined();
      });

      it('when the audit trail is pruned, then the desired sets stay', async () => {
        const store = await open(await harnessOf(kind));
        const entry = auditEntry({ groupId: 'g1', createdAt: '2026-01-01T00:00:00.000Z' });
        await store.append(entry, [], desiredSet({ syncId: entry.syncId, appliedAt: entry.createdAt }));
        await store.append(auditEntry({ createdAt: '2026-02-01T00:00:00.000Z' }), []);
        expect((await store.pruneAudit(Date.parse('2026-01-15T00:00:00.000Z'))).pruned).toBe(1);
        expect((await store.drift.desiredSet('scim-groups', 'g1'))?.syncId).toBe(entry.syncId);
      });

      it('when a drift record is saved with its events, then it reads back, pages by owner and status, counts in the totals, and its events reach the owner’s subscribers only', async () => {
        const harness = await harnessOf(kind);
        const store = await open(harness, { adminActors: ['ops'] });
        const own = await store.createSubscription({ url: 'https://hooks.example.com/own', events: ['group.drift.detected'] }, caller('okta'));
        await store.createSubscription({ url: 'https://hooks.example.com/other', events: ['group.drift.detected'] }, caller('azure'));
        await store.createSubscription({ url: 'https://hooks.example.com/admin', events: ['group.drift.detected'] }, caller('ops', true));
        let woken = 0;
        const unsubscribe = store.onQueued(() => woken++);
        const detected = { id: 'msg_drift_1', type: 'group.drift.detected' as const, timestamp: '2026-01-02T00:00:00.000Z', data: { groupId: 'g1' } };
        await store.drift.saveDrift(driftRecord(), [detected]);
        unsubscribe();
        expect(woken).toBe(1);
        const due = await store.dueDeliveries(harness.clock.now(), 10, none);
        expect(due.map((d) => d.url).toSorted()).toEqual(['https://hooks.example.com/admin', 'https://hooks.example.com/own']);
        expect(due.find((d) => d.url.endsWith('/own'))?.subscriptionId).toBe(own.id);
        expect(JSON.parse(due[0]?.body as string)).toEqual({ type: detected.type, timestamp: detected.timestamp, data: detected.data });

        await store.drift.saveDrift(driftRecord({ groupId: 'g2', owner: 'azure', missingCount: 3, extraCount: 0, missing: [], extra: [], firstSeenAt: '2026-01-01T12:00:00.000Z' }), []);
        await store.drift.saveDrift(driftRecord({ groupId: 'g3', status: 'in_sync', missing: [], extra: [], missingCount: 0, extraCount: 0, firstSeenAt: null }), []);
        expect(await store.drift.drift('scim-groups', 'g1')).toEqual(driftRecord());
        expect(await store.drift.drift('acd-groups', 'g1')).toBeUndefined();
        expect(await store.drift.driftTotals()).toEqual({ groups: 2, members: 5, oldestFirstSeenAt: '2026-01-01T12:00:00.000Z' });

        const first = await store.drift.listDrift({ limit: 1 });
        expect(first.items.map((r) => r.groupId)).toEqual(['g1']);
        const next = await store.drift.listDrift({ limit: 1, cursor: first.nextCursor as string });
        expect(next.items.map((r) => r.groupId)).toEqual(['g2']);
        expect(next.nextCursor).toBeNull();
        expect((await store.drift.listDrift({ limit: 10, status: 'all' })).items.map((r) => r.groupId)).toEqual(['g1', 'g2', 'g3']);
        expect((await store.drift.listDrift({ limit: 10, owner: 'azure' })).items.map((r) => r.groupId)).toEqual(['g2']);
        await expect(store.drift.listDrift({ limit: 10, cursor: 'bm9wZTox' })).rejects.toBeInstanceOf(InvalidCursorError);

        // Resolved: it keeps its place in the order, and leaves the totals.
        await store.drift.saveDrift(driftRecord({ status: 'in_sync', missing: [], extra: [], missingCount: 0, extraCount: 0, firstSeenAt: null, resolvedAt: '2026-01-03T00:00:00.000Z' }), []);
        expect(await store.drift.driftTotals()).toEqual({ groups: 1, members: 3, oldestFirstSeenAt: '2026-01-01T12:00:00.000Z' });
        expect((await store.drift.listDrift({ limit: 10, status: 'all' })).items.map((r) => [r.groupId, r.status])).toEqual([
          ['g1', 'in_sync'],
          ['g2', 'drifted'],
          ['g3', 'in_sync'],
        ]);
      });

      it('when the store is opened again, then desired sets and drift records are still there', async () => {
        const harness = await harnessOf(kind);
        const first = await harness.open();
        const entry = auditEntry({ groupId: 'g1' });
        await first.append(entry, [], desiredSet({ syncId: entry.syncId }));
        await first.drift.saveDrift(driftRecord({ desiredSyncId: entry.syncId }), []);
        await first.close();
        const again = await open(harness);
        expect((await again.drift.desiredSet('scim-groups', 'g1'))?.syncId).toBe(entry.syncId);
        expect((await again.drift.drift('scim-groups', 'g1'))?.desiredSyncId).toBe(entry.syncId);
      });
    });

    describe('idempotency keys', () => {
      it('when a key is claimed, then a retry learns it is processing, then gets the stored answer once completed', async () => {
        const store = await open(await harnessOf(kind));
        expect(await store.claim('okta', 'k1', 'fp1', 60_000)).toEqual({ claimed: true });
        expect(await store.claim('okta', 'k1', 'fp1', 60_000)).toEqual({ claimed: false, fingerprint: 'fp1', state: 'processing' });
        const response = { statusCode: 200, contentType: 'application/json', body: '{"ok":true}' };
        await store.complete('okta', 'k1', response);
        expect(await store.claim('okta', 'k1', 'fp2', 60_000)).toEqual({ claimed: false, fingerprint: 'fp1', state: 'completed', response });
        // Scoped to the caller.
        expect(await store.claim('azure', 'k1', 'fp1', 60_000)).toEqual({ claimed: true });
      });

      it('when a claim is released, then a retry runs again; a completed key is not released', async () => {
        const store = await open(await harnessOf(kind));
        await store.claim('okta', 'k1', 'fp1', 60_000);
        await store.release('okta', 'k1');
        expect(await store.claim('okta', 'k1', 'fp1', 60_000)).toEqual({ claimed: true });
        await store.complete('okta', 'k1', { statusCode: 200, contentType: 'application/json', body: '{}' });
        await store.release('okta', 'k1');
        expect((await store.claim('okta', 'k1', 'fp1', 60_000)).claimed).toBe(false);
      });

      it('when a completed key outlives its time to live, then it counts as absent', async () => {
        const harness = await harnessOf(kind);
        const store = await open(harness);
        await store.claim('okta', 'k1', 'fp1', 60_000);
        await store.complete('okta', 'k1', { statusCode: 200, contentType: 'application/json', body: '{}' });
        harness.clock.advance(60_000);
        expect(await store.claim('okta', 'k1', 'fp2', 60_000)).toEqual({ claimed: true });
      });

      it.skipIf(!kind.shared)('when two replicas claim one key at once, then exactly one runs it', async () => {
        const harness = await harnessOf(kind);
        const [one, two] = [await open(harness), await open(harness)];
        for (let i = 0; i < 10; i++) {
          const claims = await Promise.all([one.claim('okta', `k${i}`, 'fp', 60_000), two.claim('okta', `k${i}`, 'fp', 60_000)]);
          expect(claims.filter((c) => c.claimed)).toHaveLength(1);
        }
      });

      it.skipIf(!kind.shared)('when the replica that claimed a key dies, then the key is held until its lease runs out, not forever, and a restart does not drop it', async () => {
        const harness = await harnessOf(kind);
        const one = await open(harness);
        await one.claim('okta', 'k1', 'fp', 86_400_000);
        const two = await open(harness);
        expect(await two.releaseAbandoned()).toBe(0);
        expect((await two.claim('okta', 'k1', 'fp', 86_400_000)).claimed).toBe(false);
        harness.clock.advance((kind.idempotencyLeaseMs as number) - 1);
        expect((await two.claim('okta', 'k1', 'fp', 86_400_000)).claimed).toBe(false);
        harness.clock.advance(1);
        expect(await two.claim('okta', 'k1', 'fp', 86_400_000)).toEqual({ claimed: true });
      });
    });

    describe('what the CXone membership backends keep', () => {
      it('when two handles choose a membership backend, then the first choice is kept and answered to both', async () => {
        const harness = await harnessOf(kind);
        const [one, two] = [await open(harness), await open(harness)];
        expect(await one.backendChoice.get()).toBeUndefined();
        expect(await one.backendChoice.choose('acd-groups')).toBe('acd-groups');
        expect(await two.backendChoice.choose('scim-groups')).toBe('acd-groups');
        expect(await two.backendChoice.get()).toBe('acd-groups');
      });

      it('when the agent map is saved, then another handle loads the same agents and lastPollTime; a later save updates them in place', async () => {
        const harness = await harnessOf(kind);
        const store = await open(harness);
        expect(await store.agentMap.load()).toEqual({ agents: [], lastPollTime: undefined });
        await store.agentMap.save(
          [
            { agentId: 1002, userId: 'u-2', userName: 'bob@example.com', isActive: false, teamId: 3001 },
            { agentId: 1001, userId: 'u-1', isActive: true },
            { agentId: 1003 },
          ],
          '2026-12-01T10:00:00.000Z',
        );
        await store.agentMap.save([{ agentId: 1002, userId: 'u-2', userName: 'bob@example.com', isActive: true, teamId: 3002 }], '2026-12-01T10:05:00.000Z');
        const other = await open(harness);
        expect(await other.agentMap.load()).toEqual({
          agents: [
            { agentId: 1001, userId: 'u-1', isActive: true },
            { agentId: 1002, userId: 'u-2', userName: 'bob@example.com', isActive: true, teamId: 3002 },
            { agentId: 1003 },
          ],
          lastPollTime: '2026-12-01T10:05:00.000Z',
        });
      });

      it('when a journal entry is opened and its steps recorded, then another handle reads it open with its steps, in order, until it is closed', async () => {
        const harness = await harnessOf(kind);
        const store = await open(harness);
        await store.journal.open({ syncId: 's1', backend: 'acd-groups', groupId: '5001', before: { agentIds: [1, 2] }, target: { agentIds: [2, 3] }, openedAt: '2026-12-01T10:00:00.000Z' });
        await store.journal.open({ syncId: 's2', backend: 'teams', groupId: '3004', before: { teams: { 7: 3000 } }, target: { teams: { 7: 3004 } }, openedAt: '2026-12-01T10:00:01.000Z' });
        expect(await store.journal.begin('s1', { action: 'remove', agentIds: [1], undo: false })).toBe(0);
        expect(await store.journal.begin('s1', { action: 'add', agentIds: [3], undo: false })).toBe(1);
        await store.journal.end('s1', 0, 'done');
        await store.journal.end('s1', 1, 'failed', [{ agentId: 3, error: 'Agent is locked' }]);
        await store.journal.setPhase('s1', 'undoing');
        await store.journal.begin('s2', { action: 'team', agentIds: [7], teamId: 3004, undo: false });
        await expect(store.journal.begin('nope', { action: 'add', agentIds: [1], undo: false })).rejects.toBeInstanceOf(StorageError);

        const other = await open(harness);
        expect(await other.journal.openEntries({ backend: 'acd-groups' })).toEqual([
          {
            syncId: 's1',
            backend: 'acd-groups',
            groupId: '5001',
            before: { agentIds: [1, 2] },
            target: { agentIds: [2, 3] },
            phase: 'undoing',
            steps: [
              { action: 'remove', agentIds: [1], undo: false, state: 'done' },
              { action: 'add', agentIds: [3], undo: false, state: 'failed', failed: [{ agentId: 3, error: 'Agent is locked' }] },
            ],
            openedAt: '2026-12-01T10:00:00.000Z',
          },
        ]);
        expect((await other.journal.openEntries({ groupId: '3004' })).map((e) => [e.syncId, e.steps])).toEqual([['s2', [{ action: 'team', agentIds: [7], teamId: 3004, undo: false, state: 'pending' }]]]);
        await other.journal.close('s1');
        expect((await store.journal.openEntries()).map((e) => e.syncId)).toEqual(['s2']);
      });

      it('when an agent is saved with its team by both ids, and a move to a team known only by its user-management id is journaled, then another handle reads both ids back', async () => {
        const harness = await harnessOf(kind);
        const store = await open(harness);
        const uuid = '3f1c9a52-7d4e-4b8a-9c61-0a2b3c4d5e6f';
        await store.agentMap.save([{ agentId: 1001, userId: 'u-1', teamId: 3001, teamUuId: uuid }, { agentId: 1002, teamId: 3002 }], '2026-12-01T10:00:00.000Z');
        await store.journal.open({ syncId: 's3', backend: 'teams', groupId: uuid, before: { teams: { 1002: 3002 } }, target: { teams: { 1002: uuid } }, openedAt: '2026-12-01T10:00:02.000Z' });
        await store.journal.begin('s3', { action: 'team', agentIds: [1002], teamUuid: uuid, undo: false });
        const other = await open(harness);
        expect((await other.agentMap.load()).agents).toEqual([
          { agentId: 1001, userId: 'u-1', teamId: 3001, teamUuId: uuid },
          { agentId: 1002, teamId: 3002 },
        ]);
        expect(await other.journal.openEntries({ groupId: uuid })).toEqual([
          expect.objectContaining({ target: { teams: { 1002: uuid } }, steps: [{ action: 'team', agentIds: [1002], teamUuid: uuid, undo: false, state: 'pending' }] }),
        ]);
      });

      it('when syncs are audited, then a group counts as synced under a backend by its applied or unchanged records (records naming no backend count for every one)', async () => {
        const store = await open(await harnessOf(kind));
        await store.append(auditEntry({ groupId: '3001', status: 'applied', backend: 'teams' }), []);
        await store.append(auditEntry({ groupId: '3002', status: 'validation_failed', backend: 'teams' }), []);
        await store.append(auditEntry({ groupId: '3003', status: 'unchanged', backend: 'acd-groups' }), []);
        await store.append(auditEntry({ groupId: '3005', status: 'unchanged' }), []);
        expect([...(await store.syncedGroups.synced('teams', ['3001', '3002', '3003', '3004', '3005']))].toSorted()).toEqual(['3001', '3005']);
        expect(await store.syncedGroups.synced('teams', [])).toEqual(new Set());
      });
    });

    describe('group externalIds', () => {
      it('when an externalId is kept, then it is found both ways, per backend, survives a reopen, and names one group of a backend at most', async () => {
        const harness = await harnessOf(kind);
        const store = await open(harness);
        const ids = store.groupExternalIds;
        expect(await ids.get('acd-groups', '7')).toBeUndefined();
        expect(await ids.set('acd-groups', '7', 'okta-00g1')).toBe(true);
        expect(await ids.get('acd-groups', '7')).toBe('okta-00g1');
        expect(await ids.find('acd-groups', 'okta-00g1')).toBe('7');
        expect(await ids.find('scim-groups', 'okta-00g1')).toBeUndefined();
        // Another group of the same backend may not take it; another backend may.
        expect(await ids.set('acd-groups', '8', 'okta-00g1')).toBe(false);
        expect(await ids.get('acd-groups', '8')).toBeUndefined();
        expect(await ids.set('scim-groups', '8', 'okta-00g1')).toBe(true);
        // The group may change its own; forgetting frees it.
        expect(await ids.set('acd-groups', '7', 'okta-00g2')).toBe(true);
        expect(await ids.find('acd-groups', 'okta-00g1')).toBeUndefined();
        const again = await open(harness);
        expect(await again.groupExternalIds.get('acd-groups', '7')).toBe('okta-00g2');
        expect(await again.groupExternalIds.set('acd-groups', '7', null)).toBe(true);
        expect(await again.groupExternalIds.find('acd-groups', 'okta-00g2')).toBeUndefined();
      });
    });

    describe('quarantine', () => {
      it('when failures of a group are counted, then each adds one, per group, and the count survives a reopen', async () => {
        const harness = await harnessOf(kind);
        const store = await open(harness);
        expect(await store.quarantine.health('g1')).toBeUndefined();
        await store.quarantine.countFailure('g1', 'upstream_error', 1000);
        await store.quarantine.countFailure('g2', 'upstream_error', 1000);
        expect(await store.quarantine.countFailure('g1', 'write_not_applied', 2000)).toMatchObject({ groupId: 'g1', failures: 2, lastError: 'write_not_applied', phase: null, updatedAt: 2000 });
        const reopened = await open(harness);
        expect(await reopened.quarantine.health('g1')).toMatchObject({ failures: 2, phase: null });
        expect(await reopened.quarantine.health('g2')).toMatchObject({ failures: 1 });
      });

      it('when a group is quarantined, then only the first transition happens, it is listed and due at its probe time, and a reopen keeps it', async () => {
        const harness = await harnessOf(kind);
        const store = await open(harness);
        await store.quarantine.countFailure('g1', 'upstream_error', 1000);
        expect(await store.quarantine.enter('g1', 0, 61_000, 'upstream_error', 1000)).toBe(true);
        expect(await store.quarantine.enter('g1', 0, 99_000, 'upstream_error', 1500)).toBe(false);
        await store.quarantine.countFailure('g2', 'upstream_error', 1000);
        await store.quarantine.enter('g2', 2, 31_000, 'upstream_error', 2000);
        const reopened = await open(harness);
        expect(await reopened.quarantine.health('g1')).toMatchObject({ phase: 'quarantined', step: 0, since: 1000, nextProbeAt: 61_000 });
        expect((await reopened.quarantine.listQuarantined()).map((h) => h.groupId)).toEqual(['g1', 'g2']);
        expect(await reopened.quarantine.countQuarantined()).toBe(2);
        expect(await reopened.quarantine.nextProbeAt()).toBe(31_000);
        expect((await reopened.quarantine.dueProbes(30_999, 10)).map((h) => h.groupId)).toEqual([]);
        expect((await reopened.quarantine.dueProbes(61_000, 10)).map((h) => h.groupId)).toEqual(['g2', 'g1']);
        expect((await reopened.quarantine.dueProbes(61_000, 1)).map((h) => h.groupId)).toEqual(['g2']);
      });

      it('when a probe fails, then the group stays quarantined at the new step; when one succeeds, then it is half-open, audited in the chain (not as a sync), and no longer due', async () => {
        const store = await open(await harnessOf(kind));
        await store.quarantine.countFailure('g1', 'upstream_error', 1000);
        await store.quarantine.enter('g1', 0, 61_000, 'upstream_error', 1000);
        expect(await store.quarantine.probeFailed('g1', 1, 361_000, 'upstream_error', 61_000)).toBe(true);
        expect(await store.quarantine.health('g1')).toMatchObject({ phase: 'quarantined', step: 1, nextProbeAt: 361_000 });
        const note = quarantineNote('g1', 'quarantine_half_open');
        expect(await store.quarantine.halfOpen('g1', 361_000, note)).toBe(true);
        expect(await store.quarantine.halfOpen('g1', 361_000, quarantineNote('g1', 'quarantine_half_open'))).toBe(false);
        expect(await store.quarantine.probeFailed('g1', 2, 999_000, 'upstream_error', 361_000)).toBe(false);
        expect(await store.quarantine.health('g1')).toMatchObject({ phase: 'half_open', nextProbeAt: null });
        expect(await store.quarantine.dueProbes(10_000_000, 10)).toEqual([]);
        const { items } = await store.listRecords({ limit: 10 });
        expect(items.map((r) => [r.syncId, r.status])).toEqual([[note.entry.syncId, 'quarantine_half_open']]);
        expect(await store.findSync(note.entry.syncId)).toBeUndefined();
        expect(await store.verifyChain()).toMatchObject({ ok: true, records: 1 });
      });

      it('when a half-open group fails again, then it is quarantined again, keeping when it was first quarantined', async () => {
        const store = await open(await harnessOf(kind));
        await store.quarantine.countFailure('g1', 'upstream_error', 1000);
        await store.quarantine.enter('g1', 0, 61_000, 'upstream_error', 1000);
        await store.quarantine.halfOpen('g1', 61_000);
        expect(await store.quarantine.countFailure('g1', 'upstream_error', 70_000)).toMatchObject({ phase: 'half_open', failures: 2 });
        expect(await store.quarantine.enter('g1', 1, 370_000, 'upstream_error', 70_000)).toBe(true);
        expect(await store.quarantine.health('g1')).toMatchObject({ phase: 'quarantined', step: 1, since: 1000, nextProbeAt: 370_000 });
      });

      it('when a group is cleared, then it answers what it was, and its note (with its events) is appended only when it was quarantined or half-open', async () => {
        const store = await open(await harnessOf(kind));
        await store.quarantine.countFailure('g1', 'upstream_error', 1000);
        expect(await store.quarantine.clear('g1', quarantineNote('g1', 'quarantine_released', true))).toMatchObject({ failures: 1, phase: null });
        expect(await store.quarantine.clear('g1', quarantineNote('g1', 'quarantine_released', true))).toBeUndefined();
        expect((await store.listRecords({ limit: 10 })).items).toEqual([]);
        await store.quarantine.countFailure('g2', 'upstream_error', 1000);
        await store.quarantine.enter('g2', 0, 61_000, 'upstream_error', 1000);
        const note = quarantineNote('g2', 'quarantine_released', true);
        expect(await store.quarantine.clear('g2', note)).toMatchObject({ phase: 'quarantined' });
        expect(await store.quarantine.health('g2')).toBeUndefined();
        expect((await store.listRecords({ limit: 10 })).items.map((r) => r.status)).toEqual(['quarantine_released']);
        expect(await store.quarantine.countQuarantined()).toBe(0);
      });

      it('when a group is quarantined with its note, then its record and event are appended with it; when the note cannot be appended, then the group is not quarantined either', async () => {
        const store = await open(await harnessOf(kind));
        await store.createSubscription({ url: 'https://hooks.example.com/q', events: ['group.quarantined', 'group.quarantine.released'] });
        const queued = async () => (await store.dueDeliveries(Number.MAX_SAFE_INTEGER, 10, new Set())).map((d) => d.eventId);
        await store.quarantine.countFailure('g1', 'upstream_error', 1000);
        // An event the outbox cannot take (it does not serialise): the append fails inside the transaction.
        const broken = { entry: quarantineNote('g1', 'quarantine_entered').entry, events: [{ id: 'msg_broken', type: 'group.quarantined' as const, timestamp: '2026-01-01T00:00:00.000Z', data: { groupId: 'g1', failures: 10n } }] };
        await expect(store.quarantine.enter('g1', 0, 61_000, 'upstream_error', 1000, broken)).rejects.toThrow(/BigInt/);
        expect(await store.quarantine.health('g1')).toMatchObject({ phase: null, failures: 1 });
        expect((await store.listRecords({ limit: 10 })).items).toEqual([]);
        expect(await queued()).toEqual([]);
        const note = quarantineNote('g1', 'quarantine_entered', true);
        expect(await store.quarantine.enter('g1', 0, 61_000, 'upstream_error', 1000, note)).toBe(true);
        expect(await store.quarantine.enter('g1', 0, 61_000, 'upstream_error', 1000, quarantineNote('g1', 'quarantine_entered', true))).toBe(false);
        expect((await store.listRecords({ limit: 10 })).items.map((r) => [r.syncId, r.status])).toEqual([[note.entry.syncId, 'quarantine_entered']]);
        expect(await queued()).toEqual(note.events.map((e) => e.id));
        expect(await store.quarantine.health('g1')).toMatchObject({ phase: 'quarantined' });
      });

      it.skipIf(!kind.shared)('when two replicas count failures of one group at once, then no count is lost, and one of them quarantines it', async () => {
        const harness = await harnessOf(kind);
        const [one, two] = [await open(harness), await open(harness)];
        await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? one : two).quarantine.countFailure('g1', 'upstream_error', 1000 + i)));
        expect(await one.quarantine.health('g1')).toMatchObject({ failures: 20 });
        const entered = await Promise.all([one.quarantine.enter('g1', 0, 61_000, 'upstream_error', 2000), two.quarantine.enter('g1', 0, 61_000, 'upstream_error', 2000)]);
        expect(entered.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('held changes', () => {
      const change = (id: string, fingerprint = 'fp1') => ({ id, groupId: 'g1', actor: 'entra', fingerprint, removing: 40, of: 50, createdAt: `2026-01-01T00:00:0${id.length % 10}.000Z` });

      it('when a guarded change is held, then the same change is answered with the same id, an approval lets it through once, and a reopen keeps them', async () => {
        const harness = await harnessOf(kind);
        const store = await open(harness);
        expect(await store.heldChanges.holdOrPass(change('h1'))).toEqual({ kind: 'held', id: 'h1', created: true });
        expect(await store.heldChanges.holdOrPass(change('h2'))).toEqual({ kind: 'held', id: 'h1', created: false });
        expect(await store.heldChanges.holdOrPass(change('h3', 'fp2'))).toEqual({ kind: 'held', id: 'h3', created: true });
        const reopened = await open(harness);
        expect(await reopened.heldChanges.decide('h1', 'approved', 'admin', '2026-01-01T01:00:00.000Z')).toMatchObject({ id: 'h1', state: 'approved', decidedBy: 'admin' });
        expect(await reopened.heldChanges.decide('h1', 'rejected', 'admin', '2026-01-01T02:00:00.000Z')).toMatchObject({ state: 'approved' });
        expect(await reopened.heldChanges.holdOrPass(change('h4'))).toEqual({ kind: 'approved', id: 'h1' });
        expect(await reopened.heldChanges.getHeld('h1')).toMatchObject({ state: 'used', removing: 40, of: 50, actor: 'entra' });
        expect(await reopened.heldChanges.holdOrPass(change('h5'))).toEqual({ kind: 'held', id: 'h5', created: true });
        expect((await reopened.heldChanges.listHeld('held')).map((h) => h.id).toSorted()).toEqual(['h3', 'h5']);
        expect(await reopened.heldChanges.getHeld('nope')).toBeUndefined();
        expect(await reopened.heldChanges.decide('nope', 'approved', 'admin', '2026-01-01T01:00:00.000Z')).toBeUndefined();
      });

      it('when a held change is rejected, then the same change stays refused under that id', async () => {
        const store = await open(await harnessOf(kind));
        await store.heldChanges.holdOrPass(change('h1'));
        await store.heldChanges.decide('h1', 'rejected', 'admin', '2026-01-01T01:00:00.000Z');
        expect(await store.heldChanges.holdOrPass(change('h2'))).toEqual({ kind: 'rejected', id: 'h1', created: false });
      });

      it('when a held change is decided with its note, then the note is in the chain once; deciding it again appends nothing', async () => {
        const store = await open(await harnessOf(kind));
        await store.heldChanges.holdOrPass(change('h1'));
        const note = (syncId: string) => ({
          entry: { syncId, requestId: 'req-1', actor: 'admin', groupId: 'g1', status: 'held_change_approved' as const, reason: 'held change h1 approved by admin', createdAt: '2026-01-01T01:00:00.000Z' },
          events: [],
        });
        expect(await store.heldChanges.decide('h1', 'approved', 'admin', '2026-01-01T01:00:00.000Z', note('n1'))).toMatchObject({ state: 'approved' });
        expect(await store.heldChanges.decide('h1', 'rejected', 'admin', '2026-01-01T01:00:01.000Z', note('n2'))).toMatchObject({ state: 'approved' });
        const records = (await store.listRecords({ limit: 10 })).items;
        expect(records.map((r) => [r.syncId, r.status])).toEqual([['n1', 'held_change_approved']]);
        expect(await store.verifyChain()).toMatchObject({ ok: true });
      });

      it('when a change is held with its note, then the note is appended only when it was held now; when changes expire, then each is expired once, with its note, and the same change is held afresh', async () => {
        const harness = await harnessOf(kind);
        const [one, two] = [await open(harness), await open(harness)];
        const heldNote = (id: string) => ({
          entry: { syncId: `rec-${id}`, requestId: 'req-1', actor: 'entra', groupId: 'g1', status: 'held_change_created' as const, reason: `held ${id}`, createdAt: '2026-01-01T00:00:00.000Z' },
          events: [],
        });
        const old = { ...change('h1'), createdAt: '2026-01-01T00:00:00.000Z' };
        expect(await one.heldChanges.holdOrPass(old, heldNote('h1'))).toMatchObject({ kind: 'held', id: 'h1', created: true });
        expect(await one.heldChanges.holdOrPass({ ...old, id: 'h2' }, heldNote('h2'))).toMatchObject({ kind: 'held', id: 'h1', created: false });
        await one.heldChanges.holdOrPass({ ...change('h3', 'fp3'), createdAt: '2026-01-01T00:00:00.000Z' });
        await one.heldChanges.decide('h3', 'approved', 'admin', '2026-01-05T00:00:00.000Z');
        await one.heldChanges.holdOrPass({ ...change('h4', 'fp4'), createdAt: '2026-01-03T00:00:00.000Z' });
        const noteOf = (held: { id: string; groupId: string }) => ({
          entry: { syncId: `exp-${held.id}`, requestId: `expiry-${held.id}`, actor: 'held-change-expiry', groupId: held.groupId, status: 'held_change_expired' as const, reason: 'expired', createdAt: '2026-01-04T00:00:00.000Z' },
          events: [],
        });
        // Two replicas expire at once: each change once. h4 (held later) and h3 (approved later) are not due.
        const [a, b] = await Promise.all([one.heldChanges.expire('2026-01-02T00:00:00.000Z', '2026-01-04T00:00:00.000Z', noteOf), two.heldChanges.expire('2026-01-02T00:00:00.000Z', '2026-01-04T00:00:00.000Z', noteOf)]);
        expect([...a, ...b].map((held) => [held.id, held.state])).toEqual([['h1', 'held']]);
        expect(await one.heldChanges.getHeld('h1')).toMatchObject({ state: 'expired', expiredAt: '2026-01-04T00:00:00.000Z', decidedBy: null });
        expect((await one.heldChanges.listHeld('expired')).map((held) => held.id)).toEqual(['h1']);
        // An approval not used is expired from when it was given.
        expect((await one.heldChanges.expire('2026-01-06T00:00:00.000Z', '2026-01-06T00:00:00.000Z', noteOf)).map((held) => [held.id, held.state])).toEqual([
          ['h3', 'approved'],
          ['h4', 'held'],
        ]);
        expect(await two.heldChanges.holdOrPass({ ...old, id: 'h5', createdAt: '2026-01-06T00:00:00.000Z' }, heldNote('h5'))).toMatchObject({ kind: 'held', id: 'h5', created: true });
        const records = (await one.listRecords({ limit: 10 })).items.map((r) => r.syncId);
        expect(records.toSorted()).toEqual(['exp-h1', 'exp-h3', 'exp-h4', 'rec-h1', 'rec-h5']);
        expect(await one.verifyChain()).toMatchObject({ ok: true });
      });
    });

    it('when the store is asked whether it answers, then it does', async () => {
      const store = await open(await harnessOf(kind));
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}

export { FakeClock };
