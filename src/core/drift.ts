/**
 * Drift: whether each group the service synced still holds what it was last synced to.
 *
 * Every `intervalMs` a cycle re-reads every group whose desired set (DesiredSet, recorded
 * with the sync's audit record) is younger than `windowMs`, through the membership
 * backend's `read`, so it works with every backend. The reads are spread evenly over the
 * interval, and every upstream request they send waits its turn under `maxRps`
 * (RequestContext.pace): real syncs keep the rest of the upstream's capacity. A cycle that
 * cannot finish in its interval stretches (the next begins when it ends) and the lag shows
 * in the metrics.
 *
 * A read takes the group's turn as a sync would (SyncRunner.exclusive: the in-process queue
 * and the lock across replicas), never waits behind a sync (a group with a sync running or
 * waiting is skipped this cycle), gives way to a sync that comes while it reads, and is
 * thrown away when the group's desired set changed meanwhile: a sync in flight is never
 * reported as drift.
 *
 * The upstream is compared with the desired set by member value (compareMembers), and the
 * outcome kept in the store (DriftRecord): missing, extra, when first seen, when last
 * checked. A drift found tells the owner's subscribers (group.drift.detected), a drift
 * gone too (group.drift.resolved). With `heal`, the desired set is re-applied through the
 * normal sync runner (actor drift-heal, on behalf of the owner); a heal that fails for a
 * reason a retry cannot fix (validation_failed: a user deactivated since, say) is reported
 * on the record and to subscribers (group.drift.heal_failed) and not tried again until a
 * sync records another desired set.
 */
import type { DomainEvent } from './audit.js';
import { GroupNotFoundError, SyncError } from './errors.js';
import { memberIdentity, type MemberRef } from './membership.js';
import { compareMembers, GAP_MEMBERS_LISTED } from './plan.js';
import type { Clock, DesiredSet, DriftMetrics, DriftRecord, DriftStore, HealReport, MembershipBackend, RequestContext, SchedulerLease } from './ports.js';
import { YieldedToSyncError, type SyncRunner } from './sync-request.js';

/** The actor of a heal's sync in the audit trail. */
export const DRIFT_HEAL_ACTOR = 'drift-heal';

/**
 * The failures of a heal that a retry cannot fix: the group is not healed again until a
 * sync records another desired set. Any other failure (the upstream unavailable, a timeout,
 * a conflict, a busy queue) is tried again at the next cycle.
 */
export const FINAL_HEAL_FAILURES: ReadonlySet<string> = new Set(['validation_failed', 'group_not_found', 'write_not_applied', 'rollback_failed', 'removal_guard']);

export interface DriftLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

const SILENT: DriftLog = { info() {}, warn() {} };

export interface DriftSchedulerDeps {
  readonly clock: Clock;
  readonly store: DriftStore;
  /** The service's sync runner: its group turns, and the normal sync path for heals. */
  readonly runner: Pick<SyncRunner, 'run' | 'exclusive'>;
  /** The membership backend in use (what the syncs use); a cycle that finds none chosen yet reads nothing. */
  readonly backend: (ctx: RequestContext) => Promise<MembershipBackend>;
  /** DRIFT_INTERVAL. */
  readonly intervalMs: number;
  /** DRIFT_WINDOW: groups whose desired set is older are not read. */
  readonly windowMs: number;
  /** DRIFT_MAX_RPS: upstream requests per second, at most, that the reads send (a heal's count too, once it ended). */
  readonly maxRps: number;
  /** DRIFT_HEAL. */
  readonly heal: boolean;
  /** Several replicas: only the holder runs cycles. */
  readonly lease?: SchedulerLease;
  readonly metrics?: DriftMetrics;
  readonly log?: DriftLog;
  readonly newEventId: () => string;
  /** The request id of a heal's sync. */
  readonly newRequestId: () => string;
}

/** What one group's check came to. */
export type CheckOutcome = 'in_sync' | 'drifted' | 'skipped' | 'discarded' | 'failed';

export interface CycleReport {
  /** Epoch ms. */
  readonly startedAt: number;
  readonly endedAt: number;
  /** Groups in the window when the cycle began. */
  readonly groups: number;
  readonly outcomes: Readonly<Record<CheckOutcome, number>>;
  readonly healed: number;
  readonly healFailed: number;
  /** Upstream requests the reads sent. */
  readonly upstreamRequests: number;
  /** How far the cycle ran past its interval (0: it fit). */
  readonly overrunMs: number;
  /** Why no group was read, when none was. */
  readonly idle?: string;
}

export interface DriftScheduler {
  /** One cycle now, to its end (tests drive it on a virtual clock). */
  runCycle(signal?: AbortSignal): Promise<CycleReport>;
  /** One group's check now, outside any cycle (no spreading; the request budget holds). */
  checkGroup(groupId: string, signal?: AbortSignal): Promise<CheckOutcome>;
  /** Runs cycles one after another until stop(). */
  start(): void;
  stop(): Promise<void>;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A heal that failed for good against this very desired set is not tried again. */
function blocked(record: DriftRecord, desired: DesiredSet): boolean {
  return record.heal?.outcome === 'failed' && record.heal.retryable === false && record.heal.desiredSyncId === desired.syncId;
}

/** What group.drift.detected says: the gap as first seen (the members listed, at most 100 a side). */
function detectedData(record: DriftRecord): Record<string, unknown> {
  return {
    groupId: record.groupId,
    backend: record.backend,
    groupMissing: record.groupMissing,
    missing: record.missing,
    extra: record.extra,
    missingCount: record.missingCount,
    extraCount: record.extraCount,
    firstSeenAt: record.firstSeenAt,
    desiredSyncId: record.desiredSyncId,
  };
}

/** The record of a check: the gap between the desired set and what the upstream holds (null: no group). */
export function compareWithDesired(desired: DesiredSet, held: { readonly members: readonly MemberRef[] } | null, previous: DriftRecord | undefined, now: number): DriftRecord {
  const gap =
    held === null
      ? { equal: false, missing: desired.members.slice(0, GAP_MEMBERS_LISTED).map(memberIdentity), extra: [], missingCount: desired.members.length, extraCount: 0 }
      : compareMembers(desired.members, held.members);
  // The same drift goes on while the group stays drifted against the same desired set; a
  // newer sync verified the group whole, so a drift against its set is a new one.
  const continuing = previous?.status === 'drifted' && previous.desiredSyncId === desired.syncId;
  const drifted = held === null || !gap.equal;
  return {
    backend: desired.backend,
    groupId: desired.groupId,
    owner: desired.owner,
    status: drifted ? 'drifted' : 'in_sync',
    groupMissing: held === null,
    missing: drifted ? gap.missing : [],
    extra: drifted ? gap.extra : [],
    missingCount: drifted ? gap.missingCount : 0,
    extraCount: drifted ? gap.extraCount : 0,
    firstSeenAt: drifted ? (continuing ? previous.firstSeenAt : new Date(now).toISOString()) : null,
    lastCheckedAt: iso(now),
    resolvedAt: !drifted && previous?.status === 'drifted' ? iso(now) : (previous?.resolvedAt ?? null),
    desiredSyncId: desired.syncId,
    heal: previous?.heal ?? null,
  };
}

/** The reads' request budget: each request waits until its turn, one every 1/maxRps seconds. */
function createPacer(clock: Clock, maxRps: number) {
  const spacing = 1000 / maxRps;
  let nextFree = Number.NEGATIVE_INFINITY;
  return {
    async pace(signal?: AbortSignal): Promise<void> {
      const at = Math.max(clock.now(), nextFree);
      nextFree = at + spacing;
      const wait = at - clock.now();
      if (wait > 0) await clock.sleep(wait, signal);
      else if (signal?.aborted) throw signal.reason;
    },
    /** Requests already sent outside the pacer (a heal's sync): the next ones wait for them. */
    charge(requests: number): void {
      if (requests > 0) nextFree = Math.max(clock.now(), nextFree) + requests * spacing;
    },
  };
}

export function createDriftScheduler(deps: DriftSchedulerDeps): DriftScheduler {
  const { clock, store, runner } = deps;
  const log = deps.log ?? SILENT;
  const pacer = createPacer(clock, deps.maxRps);

  async function currentBackend(): Promise<MembershipBackend | string> {
    try {
      return await deps.backend({ stats: { upstreamRequests: 0 } });
    } catch (error) {
      return error instanceof Error ? error.message : 'no membership backend is chosen yet';
    }
  }

  /** Reads the group in its turn and compares; records what it found. */
  async function check(backend: MembershipBackend, groupId: string, signal: AbortSignal | undefined, spent: { requests: number }): Promise<{ outcome: CheckOutcome; healed?: boolean }> {
    const desired = await store.desiredSet(backend.name, groupId);
    if (desired === undefined) return { outcome: 'skipped' };
    const stats = { upstreamRequests: 0 };
    let turn: Awaited<ReturnType<typeof runner.exclusive<{ readonly members: readonly MemberRef[] } | null>>>;
    try {
      turn = await runner.exclusive(
        groupId,
        async (turnSignal) => {
          const ctx: RequestContext = { signal: turnSignal, stats, pace: (s) => pacer.pace(s) };
          try {
            const snapshot = await backend.read(groupId, ctx);
            return { members: snapshot.group.members };
          } catch (error) {
            // The group itself is gone upstream: every desired member is missing.
            if (error instanceof GroupNotFoundError) return null;
            throw error;
          }
        },
        signal,
      );
    } catch (error) {
      spent.requests += stats.upstreamRequests;
      if (error instanceof YieldedToSyncError) return { outcome: 'discarded' };
      if (signal?.aborted) throw signal.reason;
      log.warn({ groupId, err: error }, 'drift: the group could not be read');
      return { outcome: 'failed' };
    }
    spent.requests += stats.upstreamRequests;
    if (!turn.ran) return { outcome: 'skipped' };
    // A sync that recorded another desired set meanwhile (another process, or one that ran
    // between the lookup and the read): what was read is not compared with a stale set.
    const after = await store.desiredSet(backend.name, groupId);
    if (after === undefined || after.syncId !== desired.syncId) return { outcome: 'discarded' };

    const now = clock.now();
    const previous = await store.drift(backend.name, groupId);
    const record = compareWithDesired(desired, turn.value, previous, now);
    const events = transitionEvents(previous, record, now);
    await store.saveDrift(record, events);
    if (record.status === 'in_sync') return { outcome: 'in_sync' };
    if (!deps.heal || blocked(record, desired)) return { outcome: 'drifted' };
    return { outcome: 'drifted', healed: await heal(desired, record) };
  }

  function transitionEvents(previous: DriftRecord | undefined, record: DriftRecord, now: number): DomainEvent[] {
    const timestamp = iso(now);
    const wasDrifted = previous?.status === 'drifted';
    if (record.status === 'drifted' && (!wasDrifted || previous.desiredSyncId !== record.desiredSyncId)) {
      return [{ id: deps.newEventId(), type: 'group.drift.detected', timestamp, data: detectedData(record) }];
    }
    if (record.status === 'in_sync' && wasDrifted) {
      // Gone without a heal: a sync put it right (its desired set is newer), or someone did upstream.
      const resolvedBy = previous.desiredSyncId === record.desiredSyncId ? 'upstream' : 'sync';
      return [{ id: deps.newEventId(), type: 'group.drift.resolved', timestamp, data: { groupId: record.groupId, backend: record.backend, firstSeenAt: previous.firstSeenAt, resolvedAt: timestamp, resolvedBy, desiredSyncId: record.desiredSyncId } }];
    }
    return [];
  }

  /** Re-applies the desired set through the normal sync runner; true when the group holds it again. */
  async function heal(desired: DesiredSet, record: DriftRecord): Promise<boolean> {
    let report: HealReport;
    let events: DomainEvent[] = [];
    let next: DriftRecord;
    try {
      const result = await runner.run({
        groupId: desired.groupId,
        desired: { members: desired.members },
        dryRun: false,
        actor: DRIFT_HEAL_ACTOR,
        onBehalfOf: desired.owner,
        requestId: deps.newRequestId(),
        // Never undo a newer sync: the heal is called off in its turn when the desired set changed.
        stillWanted: async () => (await store.desiredSet(desired.backend, desired.groupId))?.syncId === desired.syncId,
      });
      pacer.charge(result.upstreamRequests);
      const at = iso(clock.now());
      report = { outcome: 'applied', syncId: result.syncId, at, desiredSyncId: desired.syncId };
      next = { ...record, status: 'in_sync', missing: [], extra: [], missingCount: 0, extraCount: 0, groupMissing: false, firstSeenAt: null, resolvedAt: at, desiredSyncId: result.syncId, heal: report };
      events = [{ id: deps.newEventId(), type: 'group.drift.resolved', timestamp: at, data: { groupId: record.groupId, backend: record.backend, firstSeenAt: record.firstSeenAt, resolvedAt: at, resolvedBy: DRIFT_HEAL_ACTOR, healSyncId: result.syncId, desiredSyncId: result.syncId } }];
      deps.metrics?.observeHeal('applied');
      log.info({ groupId: desired.groupId, syncId: result.syncId, missing: record.missingCount, extra: record.extraCount }, 'drift healed');
    } catch (error) {
      const code = error instanceof SyncError ? error.code : 'internal_error';
      // Called off: a newer sync came first; the next check compares with its set.
      if (code === 'cancelled') return false;
      const at = iso(clock.now());
      const retryable = !FINAL_HEAL_FAILURES.has(code);
      const syncId = error instanceof SyncError ? (error.syncId ?? null) : null;
      const message = error instanceof SyncError ? error.message : 'internal error';
      report = { outcome: 'failed', syncId, at, error: code, message, retryable, desiredSyncId: desired.syncId };
      next = { ...record, heal: report };
      if (!retryable) {
        events = [{ id: deps.newEventId(), type: 'group.drift.heal_failed', timestamp: at, data: { groupId: record.groupId, backend: record.backend, syncId, error: code, message, desiredSyncId: desired.syncId, firstSeenAt: record.firstSeenAt } }];
      }
      deps.metrics?.observeHeal('failed');
      log.warn({ groupId: desired.groupId, syncId, error: code, retryable }, retryable ? 'drift heal failed; it is tried again at the next cycle' : 'drift heal failed; it is not tried again until a sync records another desired set');
    }
    await store.saveDrift(next, events);
    return report.outcome === 'applied';
  }

  async function runCycle(signal?: AbortSignal): Promise<CycleReport> {
    const startedAt = clock.now();
    const outcomes: Record<CheckOutcome, number> = { in_sync: 0, drifted: 0, skipped: 0, discarded: 0, failed: 0 };
    const spent = { requests: 0 };
    let healed = 0;
    let healFailed = 0;
    const report = (groups: number, idle?: string): CycleReport => {
      const endedAt = clock.now();
      const overrunMs = Math.max(0, endedAt - startedAt - deps.intervalMs);
      return { startedAt, endedAt, groups, outcomes, healed, healFailed, upstreamRequests: spent.requests, overrunMs, ...(idle === undefined ? {} : { idle }) };
    };
    const backend = await currentBackend();
    if (typeof backend === 'string') return report(0, backend);
    const ids = await store.recentlySynced(backend.name, iso(startedAt - deps.windowMs));
    const spacing = ids.length > 0 ? deps.intervalMs / ids.length : 0;
    for (const [index, groupId] of ids.entries()) {
      if (signal?.aborted) break;
      // Spread over the interval: each group has its slot; a late cycle reads at once.
      const slot = startedAt + index * spacing;
      const wait = slot - clock.now();
      if (wait > 0) await clock.sleep(wait, signal);
      deps.metrics?.setLag(Math.max(0, clock.now() - slot) / 1000);
      let outcome: CheckOutcome;
      try {
        const checked = await check(backend, groupId, signal, spent);
        outcome = checked.outcome;
        if (checked.healed === true) healed++;
        else if (checked.healed === false) healFailed++;
      } catch (error) {
        if (signal?.aborted) break;
        log.warn({ groupId, err: error }, 'drift: the check failed');
        outcome = 'failed';
      }
      outcomes[outcome]++;
      deps.metrics?.observeCheck(outcome);
    }
    const done = report(ids.length);
    deps.metrics?.setLag(done.overrunMs / 1000);
    deps.metrics?.observeCycle((done.endedAt - done.startedAt) / 1000, done.upstreamRequests);
    if (ids.length > 0) log.info({ groups: ids.length, ...outcomes, healed, healFailed, upstreamRequests: done.upstreamRequests, overrunSeconds: done.overrunMs / 1000 }, 'drift cycle done');
    return done;
  }

  async function checkGroup(groupId: string, signal?: AbortSignal): Promise<CheckOutcome> {
    const backend = await currentBackend();
    if (typeof backend === 'string') return 'skipped';
    const checked = await check(backend, groupId, signal, { requests: 0 });
    deps.metrics?.observeCheck(checked.outcome);
    return checked.outcome;
  }

  let stopping: AbortController | undefined;
  let loop: Promise<void> | undefined;

  async function run(stop: AbortSignal): Promise<void> {
    let lease: Awaited<ReturnType<SchedulerLease['tryAcquire']>> = null;
    try {
      while (!stop.aborted) {
        if (deps.lease && (lease === null || lease.lost.aborted)) {
          await lease?.release();
          lease = await deps.lease.tryAcquire().catch((error: unknown) => {
            log.warn({ err: error }, 'drift: the scheduler lease could not be asked for');
            return null;
          });
          if (lease === null) {
            // Another replica runs the scheduler; ask again an interval later.
            await clock.sleep(deps.intervalMs, stop);
            continue;
          }
          log.info({}, 'drift: this replica runs the drift scheduler');
        }
        const signal = lease ? AbortSignal.any([stop, lease.lost]) : stop;
        const cycle = await runCycle(signal).catch((error: unknown) => {
          if (!signal.aborted) log.warn({ err: error }, 'drift: the cycle failed');
          return undefined;
        });
        // The next cycle begins an interval after this one began, or at once when it ran late (it stretched).
        const next = (cycle?.startedAt ?? clock.now()) + deps.intervalMs;
        const wait = next - clock.now();
        if (wait > 0) await clock.sleep(wait, stop);
      }
    } catch (error) {
      if (!stop.aborted) throw error;
    } finally {
      await lease?.release();
    }
  }

  return {
    runCycle,
    checkGroup,
    start() {
      if (loop !== undefined) return;
      stopping = new AbortController();
      loop = run(stopping.signal).catch((error: unknown) => log.warn({ err: error }, 'drift: the scheduler stopped'));
    },
    async stop() {
      stopping?.abort(new Error('the drift scheduler is stopping'));
      await loop;
      loop = undefined;
    },
  };
}
