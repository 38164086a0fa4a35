import type { FastifyInstance } from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPrometheusMetrics } from '../../src/adapters/metrics/prometheus-metrics.js';
import { createCxoneDirectory, type CxoneDirectory } from '../../src/adapters/scim/index.js';
import { SOLE_RUNNER } from '../../src/adapters/storage/postgres/runner-lock.js';
import { createQuarantineProber, type QuarantineProber } from '../../src/adapters/storage/quarantine-prober.js';
import { openSqliteStore, type SqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { generateSecret } from '../../src/adapters/webhooks/signing.js';
import { composeApp } from '../../src/composition/app.js';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { loadConfig } from '../../src/config.js';
import type { AuditLog, QuarantineStore } from '../../src/core/ports.js';
import {
  AgentWriteFailedError,
  ConflictError,
  GroupNotFoundError,
  PreconditionFailedError,
  RemovalGuardError,
  StorageError,
  SyncDeadlineError,
  TokenEndpointError,
  UpstreamError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
  OutcomeUnknownError,
  ValidationFailedError,
  WriteNotAppliedError,
} from '../../src/core/errors.js';
import { backoffDelay, belongsToGroup } from '../../src/core/quarantine.js';
import { createScimGroupsBackend } from '../../src/core/scim-groups-backend.js';
import { seedIds } from '../../src/simulator/seed.js';
import { createSimulator, type Simulator } from '../../src/simulator/simulator.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { TOKENS, bearer } from '../helpers/build-test-app.js';
import { tempDir } from '../helpers/temp-dir.js';

const { groups, users } = seedIds;
const ADMIN = 'admin-test-token-0003';
const broken = groups.platform;
const healthy = groups.contactCenterAgents;

interface Setup {
  app: FastifyInstance;
  /** The service log's lines, parsed. */
  logLines: Record<string, unknown>[];
  simulator: Simulator;
  store: SqliteStore;
  clock: FakeClock;
  prober: QuarantineProber;
  dataDir: string;
  reopen(): Promise<{ app: FastifyInstance; store: SqliteStore }>;
}

interface Wrap {
  /** The audit log the syncs record to, in place of the store's. */
  audit?: (store: SqliteStore) => AuditLog;
  /** The quarantine store the syncs use, in place of the store's. */
  quarantine?: (store: SqliteStore) => QuarantineStore;
}

async function setup(env: Record<string, string> = {}, wrap: Wrap = {}): Promise<Setup> {
  const logLines: Record<string, unknown>[] = [];
  const logger = createLogger('info', { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });
  const clock = new FakeClock(Date.parse('2026-03-01T00:00:00Z'));
  const simulator = createSimulator({ scimGroups: true, clients: [{ clientId: 'sync', clientSecret: 'sync-secret-value' }], now: () => clock.now() });
  const url = await simulator.listen({ port: 0, host: '127.0.0.1' });
  const dataDir = tempDir();
  const config = loadConfig({ SYNC_API_TOKENS: `okta:${TOKENS.okta}`, ADMIN_API_TOKENS: `admin:${ADMIN}`, QUARANTINE_AFTER: '3', QUARANTINE_BACKOFF: '1m,5m,30m', ...env });
  const closers: (() => Promise<void> | void)[] = [];
  const build = async () => {
    const metrics = createPrometheusMetrics({ defaultMetrics: false });
    const directory: CxoneDirectory = createCxoneDirectory({ baseUrl: url, clientId: 'sync', clientSecret: 'sync-secret-value', clock, random: () => 0.5, observer: metrics.upstream });
    const store = openSqliteStore({ dataDir, clock, newSecret: generateSecret });
    const app = await composeApp({
      config,
      logger,
      ports: { directory, clock, audit: wrap.audit?.(store) ?? store, metrics, quarantine: wrap.quarantine?.(store) ?? store.quarantine, heldChanges: store.heldChanges },
    });
    const prober = createQuarantineProber({
      store: store.quarantine,
      policy: { after: config.quarantineAfter, backoff: config.quarantineBackoff },
      clock,
      newEventId: () => `msg_${Math.random()}`,
      newRecordId: () => `probe-${clock.now()}-${Math.random()}`,
      observer: metrics.quarantine,
      backend: async () => createScimGroupsBackend({ directory, maxDepth: 3, writeMode: 'put', patchMaxOperations: 100 }),
      lock: SOLE_RUNNER,
      log: { info() {}, error() {} },
    });
    closers.push(async () => {
      await app.close();
      await directory.close();
      store.close();
    });
    return { app, store, prober };
  };
  const first = await build();
  onTestFinished(async () => {
    for (const close of closers.toReversed()) await close();
    await simulator.close();
  });
  // Every event reaches one ownerless subscriber, so that the outbox shows what was emitted.
  await first.store.createSubscription({ url: 'http://127.0.0.1:9/hook', events: ['group.quarantined', 'group.quarantine.released', 'group.sync.failed'] });
  return {
    ...first,
    logLines,
    simulator,
    clock,
    dataDir,
    async reopen() {
      const [close] = closers.splice(0, 1);
      await close?.();
      const next = await build();
      return { app: next.app, store: next.store };
    },
  };
}

function sync(app: FastifyInstance, groupId: string, members: string[], query = '') {
  return app.inject({ method: 'POST', url: `/groups/${groupId}/sync${query}`, headers: { 'content-type': 'application/json', ...bearer() }, payload: { members: members.map((value) => ({ value, type: 'User' })) } });
}

const platformMembers = (s: Setup) => (s.simulator.store.getGroup(broken)?.members ?? []).map((m) => m.value);
const emitted = async (store: SqliteStore): Promise<[string, string][]> => (await store.dueDeliveries(Number.MAX_SAFE_INTEGER, 100, new Set())).map((d) => [d.eventType, (JSON.parse(d.body) as { data: { groupId: string } }).data.groupId]);

/** Quarantines the broken group: QUARANTINE_AFTER (3) failing syncs with 500s. */
async function quarantine(s: Setup): Promise<void> {
  s.simulator.setFaults({ groupErrors: { groupIds: [broken], status: 500 } });
  for (let i = 0; i < 3; i++) expect((await sync(s.app, broken, [users.aliceSmith])).json()).toMatchObject({ error: 'upstream_error', upstreamStatus: 500 });
}

describe('which failures belong to a group', () => {
  it('when the error is the group\'s own, then it counts; validation, the guard, tenant-wide 429/503, sign-in, timeouts and races do not', () => {
    expect(belongsToGroup(new UpstreamError('500', { status: 500 }))).toBe(true);
    expect(belongsToGroup(new UpstreamError('400', { status: 400 }))).toBe(true);
    expect(belongsToGroup(new WriteNotAppliedError('gap', { consistencyRate: 0.5, missing: [], extra: [], missingCount: 1, extraCount: 0 }))).toBe(true);
    expect(belongsToGroup(new AgentWriteFailedError([]))).toBe(true);
    for (const status of [401, 403, 429, 503]) expect(belongsToGroup(new UpstreamError(String(status), { status }))).toBe(false);
    expect(belongsToGroup(new UpstreamUnavailableError('429 past the budget', 5, 429))).toBe(false);
    expect(belongsToGroup(new OutcomeUnknownError('dropped', 500))).toBe(false);
    expect(belongsToGroup(new TokenEndpointError('invalid_client', undefined, 401))).toBe(false);
    expect(belongsToGroup(new TokenEndpointError(undefined, undefined, 500))).toBe(false);
    expect(belongsToGroup(new ValidationFailedError([]))).toBe(false);
    expect(belongsToGroup(new RemovalGuardError(40, 50, 80, { percent: 30, min: 10 }, false))).toBe(false);
    expect(belongsToGroup(new GroupNotFoundError('g'))).toBe(false);
    expect(belongsToGroup(new ConflictError(4))).toBe(false);
    expect(belongsToGroup(new PreconditionFailedError('412', { status: 412 }))).toBe(false);
    expect(belongsToGroup(new UpstreamTimeoutError('slow'))).toBe(false);
    expect(belongsToGroup(new SyncDeadlineError(55_000))).toBe(false);
    expect(belongsToGroup(new Error('bug'))).toBe(false);
  });

  it('when the backoff runs out of steps, then its last delay repeats', () => {
    expect([0, 1, 2, 3, 9].map((step) => backoffDelay([60_000, 300_000, 1_800_000], step))).toEqual([60_000, 300_000, 1_800_000, 1_800_000, 1_800_000]);
  });
});

describe('quarantine of a group that keeps failing', () => {
  it('when the provider answers 500 for one group, then after QUARANTINE_AFTER failures that group alone is quarantined: 503 group_quarantined with Retry-After, no upstream request, audited; the others keep syncing', async () => {
    const s = await setup();
    s.simulator.setFaults({ groupErrors: { groupIds: [broken], status: 500 } });
    for (let i = 0; i < 2; i++) {
      expect((await sync(s.app, broken, [users.aliceSmith])).statusCode).toBe(502);
      expect((await sync(s.app, healthy, i === 0 ? [users.aliceSmith] : [users.davidKim])).json()).toMatchObject({ status: 'applied' });
    }
    expect((await s.app.inject({ method: 'GET', url: `/groups/${broken}/quarantine`, headers: bearer() })).json()).toMatchObject({ state: 'closed', failures: 2, lastError: 'upstream_error' });
    expect((await sync(s.app, broken, [users.aliceSmith])).statusCode).toBe(502);

    const before = s.simulator.stats.total;
    const refused = await sync(s.app, broken, [users.aliceSmith]);
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toMatchObject({ error: 'group_quarantined', syncId: expect.any(String), quarantinedSince: expect.any(String), nextProbeAt: expect.any(String) });
    expect(Date.parse(refused.json().nextProbeAt) - Date.parse(refused.json().quarantinedSince)).toBe(60_000);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(59);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(s.simulator.stats.total).toBe(before);
    expect(await s.store.findSync(refused.json().syncId)).toMatchObject({ status: 'group_quarantined', upstreamRequests: 0, groupId: broken });

    // The others keep syncing.
    expect((await sync(s.app, healthy, [users.bobJohnson])).json()).toMatchObject({ status: 'applied' });
    expect((await s.app.inject({ method: 'GET', url: `/groups/${healthy}/quarantine`, headers: bearer() })).json()).toMatchObject({ state: 'closed', failures: 0 });

    const list = await s.app.inject({ method: 'GET', url: '/quarantine', headers: bearer(ADMIN) });
    expect(list.json()).toEqual({ items: [expect.objectContaining({ groupId: broken, state: 'quarantined', failures: 3, step: 0 })] });
    expect((await s.app.inject({ method: 'GET', url: '/quarantine', headers: bearer() })).statusCode).toBe(403);
    expect((await emitted(s.store)).filter(([type]) => type === 'group.quarantined')).toEqual([['group.quarantined', broken]]);
    const metrics = (await s.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^scim_groups_quarantined 1$/m);
    expect(metrics).toMatch(/^scim_quarantine_entered_total 1$/m);
    expect(metrics).toMatch(/^scim_syncs_total\{status="group_quarantined"\} 1$/m);
  });

  it('when the whole tenant answers 429 past the retry budget, or members fail validation, then no group is quarantined', async () => {
    const s = await setup();
    s.simulator.setFaults({ throttle: { ratio: 1, retryAfterSeconds: 120 } });
    for (let i = 0; i < 4; i++) expect((await sync(s.app, broken, [users.aliceSmith])).json()).toMatchObject({ error: 'upstream_unavailable' });
    s.simulator.setFaults({ throttle: null });
    for (let i = 0; i < 4; i++) expect((await sync(s.app, broken, ['u-404'])).statusCode).toBe(422);
    expect((await s.app.inject({ method: 'GET', url: `/groups/${broken}/quarantine`, headers: bearer() })).json()).toMatchObject({ state: 'closed', failures: 0 });
    expect((await sync(s.app, broken, [...platformMembers(s), users.aliceSmith])).json()).toMatchObject({ status: 'applied' });
  });

  it('when probes fall due on the backoff schedule, then failed probes move to the next delay (the last repeating), a good one makes it half-open, and the next good sync closes it with group.quarantine.released', async () => {
    const s = await setup();
    await quarantine(s);
    const state = async () => (await s.app.inject({ method: 'GET', url: `/groups/${broken}/quarantine`, headers: bearer() })).json();
    expect(await s.prober.runOnce()).toBe(0); // nothing due yet
    for (const delay of [60_000, 300_000, 1_800_000, 1_800_000]) {
      s.clock.advance(delay - 1);
      expect(await s.prober.runOnce()).toBe(0);
      s.clock.advance(1);
      const before = s.simulator.stats.total;
      expect(await s.prober.runOnce()).toBe(1);
      expect(s.simulator.stats.total).toBeGreaterThan(before); // a real read
      // The next probe is due one delay after this one ended (its retries move the fake clock too).
      expect(Date.parse((await state()).nextProbeAt as string) - s.clock.now()).toBe(backoffDelay([60_000, 300_000, 1_800_000], (await state()).step));
    }
    expect((await state()).state).toBe('quarantined');
    expect((await state()).step).toBe(4);

    s.simulator.setFaults({ groupErrors: null });
    s.clock.advance((Date.parse((await state()).nextProbeAt as string) - s.clock.now()));
    expect(await s.prober.runOnce()).toBe(1);
    expect(await state()).toMatchObject({ state: 'half_open', nextProbeAt: null });
    expect((await s.store.listRecords({ limit: 1 })).items[0]).toMatchObject({ status: 'quarantine_half_open', groupId: broken, actor: 'quarantine-probe' });

    const ok = await sync(s.app, broken, [...platformMembers(s), users.aliceSmith]);
    expect(ok.json()).toMatchObject({ status: 'applied' });
    expect(await state()).toMatchObject({ state: 'closed', failures: 0 });
    expect((await emitted(s.store)).filter(([type]) => type?.startsWith('group.quarantine'))).toEqual([
      ['group.quarantined', broken],
      ['group.quarantine.released', broken],
    ]);
    const metrics = (await s.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^scim_groups_quarantined 0$/m);
    expect(metrics).toMatch(/^scim_quarantine_left_total 1$/m);
    // The probes this process ran, by outcome: it shows which replica probes.
    expect(metrics).toMatch(/^scim_quarantine_probes_total\{outcome="failed"\} 4$/m);
    expect(metrics).toMatch(/^scim_quarantine_probes_total\{outcome="half_open"\} 1$/m);
  });

  it('when a half-open group fails once more, then it is quarantined again at the next backoff step', async () => {
    const s = await setup();
    await quarantine(s);
    s.simulator.setFaults({ groupErrors: null });
    s.clock.advance(60_000);
    expect(await s.prober.runOnce()).toBe(1);
    s.simulator.setFaults({ groupErrors: { groupIds: [broken], status: 500 } });
    expect((await sync(s.app, broken, [users.aliceSmith])).statusCode).toBe(502);
    const after = (await s.app.inject({ method: 'GET', url: `/groups/${broken}/quarantine`, headers: bearer() })).json();
    expect(after).toMatchObject({ state: 'quarantined', step: 1, nextProbeAt: new Date(s.clock.now() + 300_000).toISOString() });
    expect((await sync(s.app, broken, [users.aliceSmith])).json()).toMatchObject({ error: 'group_quarantined' });
  });

  it('when an administrator releases a group by hand, then its next sync runs, and the release is audited with group.quarantine.released; other tokens are refused', async () => {
    const s = await setup();
    await quarantine(s);
    expect((await s.app.inject({ method: 'POST', url: `/groups/${broken}/quarantine/release`, headers: bearer() })).statusCode).toBe(403);
    const released = await s.app.inject({ method: 'POST', url: `/groups/${broken}/quarantine/release`, headers: bearer(ADMIN) });
    expect(released.statusCode).toBe(200);
    expect(released.json()).toMatchObject({ groupId: broken, released: true, was: { state: 'quarantined', failures: 3 } });
    expect((await s.store.listRecords({ limit: 1 })).items[0]).toMatchObject({ status: 'quarantine_released', actor: 'admin', groupId: broken });
    expect((await emitted(s.store)).filter(([type]) => type === 'group.quarantine.released')).toEqual([['group.quarantine.released', broken]]);
    s.simulator.setFaults({ groupErrors: null });
    expect((await sync(s.app, broken, [...platformMembers(s), users.aliceSmith])).json()).toMatchObject({ status: 'applied' });
    const again = await s.app.inject({ method: 'POST', url: `/groups/${broken}/quarantine/release`, headers: bearer(ADMIN) });
    expect(again.json()).toMatchObject({ released: false, was: { state: 'closed' } });
    expect(await s.store.verifyChain()).toMatchObject({ ok: true });
    // GET /audit lists the quarantine's own records as they were hashed, beside the syncs'.
    const page = await s.app.inject({ method: 'GET', url: `/audit?groupId=${broken}&limit=100`, headers: bearer(ADMIN) });
    expect(page.statusCode).toBe(200);
    const listed = (page.json() as { items: Record<string, unknown>[] }).items;
    const stored = (await s.store.listRecords({ limit: 100 })).items.filter((r) => 'groupId' in r && r.groupId === broken);
    expect(listed).toEqual(JSON.parse(JSON.stringify(stored)));
    expect(listed.map((r) => r.status)).toEqual(expect.arrayContaining(['quarantine_entered', 'quarantine_released']));
    expect(listed.find((r) => r.status === 'quarantine_released')).toMatchObject({ actor: 'admin', reason: expect.any(String), prevHash: expect.any(String), hash: expect.any(String) });
  });

  it('when the sync that tips a group into quarantine cannot be recorded, then the group is quarantined with its own record and its group.quarantined event all the same', async () => {
    // The sync records fail (audit_unavailable); the quarantine's own record and event are appended with the quarantine.
    const s = await setup({}, { audit: (store) => ({ append: async (entry, events, desired) => (entry.status === 'upstream_error' && entry.groupId === broken ? Promise.reject(new Error('disk full')) : store.append(entry, events, desired)) }) });
    s.simulator.setFaults({ groupErrors: { groupIds: [broken], status: 500 } });
    for (let i = 0; i < 3; i++) expect((await sync(s.app, broken, [users.aliceSmith])).json()).toMatchObject({ error: 'audit_unavailable' });
    expect((await s.store.quarantine.health(broken))?.phase).toBe('quarantined');
    expect((await emitted(s.store)).filter(([type]) => type === 'group.quarantined')).toEqual([['group.quarantined', broken]]);
    expect((await s.store.listRecords({ limit: 1 })).items[0]).toMatchObject({ status: 'quarantine_entered', groupId: broken, actor: 'okta' });
    expect(await s.store.verifyChain()).toMatchObject({ ok: true });
  });

  it('when the store fails while a sync counts its failure, then the answer is the sync\'s own, and the failure is logged (group, step, code) and counted in scim_quarantine_store_errors_total', async () => {
    const s = await setup({}, {
      quarantine: (store) => ({
        ...store.quarantine,
        countFailure: async () => Promise.reject(Object.assign(new Error('SQLITE_BUSY: database is locked (postgres://user:secret@db)'), { code: 'SQLITE_BUSY' })),
        health: async (groupId) => (groupId === healthy ? Promise.reject(new StorageError('the store is gone', { cause: Object.assign(new Error('x'), { code: '57P01' }) })) : store.quarantine.health(groupId)),
      }),
    });
    s.simulator.setFaults({ groupErrors: { groupIds: [broken], status: 500 } });
    for (let i = 0; i < 3; i++) expect((await sync(s.app, broken, [users.aliceSmith])).json()).toMatchObject({ error: 'upstream_error', upstreamStatus: 500 });
    expect((await sync(s.app, healthy, [users.aliceSmith])).json()).toMatchObject({ status: 'applied' });
    expect(await s.store.quarantine.health(broken)).toBeUndefined();
    const warned = s.logLines.filter((line) => line.level === 40 && String(line.msg).startsWith('quarantine: the store failed'));
    expect(warned.map(({ groupId, step, code, cause }) => ({ groupId, step, code, cause }))).toEqual([
      ...Array.from({ length: 3 }, () => ({ groupId: broken, step: 'count_failure', code: 'SQLITE_BUSY', cause: null })),
      { groupId: healthy, step: 'admit', code: 'storage_unavailable', cause: '57P01' },
    ]);
    expect(JSON.stringify(warned)).not.toContain('secret');
    const metrics = (await s.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^scim_quarantine_store_errors_total\{step="count_failure"\} 3$/m);
    expect(metrics).toMatch(/^scim_quarantine_store_errors_total\{step="admit"\} 1$/m);
  });

  it('when the service restarts, then a quarantined group is still quarantined', async () => {
    const s = await setup();
    await quarantine(s);
    const { app } = await s.reopen();
    const before = s.simulator.stats.total;
    expect((await sync(app, broken, [users.aliceSmith])).json()).toMatchObject({ error: 'group_quarantined' });
    expect(s.simulator.stats.total).toBe(before);
  });
});
