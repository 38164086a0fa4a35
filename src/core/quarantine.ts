/**
 * Quarantine: a group whose syncs fail QUARANTINE_AFTER times in a row with errors of its
 * own is refused at once (503 group_quarantined, no upstream request) instead of being
 * retried blindly. Probes read it on QUARANTINE_BACKOFF (the last delay repeating); a good
 * probe moves it to half-open, where the next sync runs: its success closes the quarantine,
 * one failure of its own quarantines it again at the next backoff step. An administrator
 * releases it by hand.
 *
 * Which errors count is one pure function, belongsToGroup: only what says something about
 * this group. Tenant-wide trouble (429/503 rate limiting and outages, the token endpoint,
 * sign-in, timeouts of a slow upstream) would quarantine every group at once, and a
 * caller's own mistakes (validation, the removal guard, a group that does not exist) are
 * answered as they are.
 *
 * The state lives in the store (QuarantineStore, ./ports.ts). Syncs consult and change it
 * in their group's turn (behind the group lock across replicas); the probes run on one
 * replica at a time (the prober in src/adapters/scheduling).
 */
import type { DomainEvent } from './audit.js';
import {
  AgentWriteFailedError,
  GroupQuarantinedError,
  RollbackFailedError,
  SyncError,
  TokenEndpointError,
  UpstreamError,
  UpstreamUnavailableError,
  WriteNotAppliedError,
  answerCode,
} from './errors.js';
import type { Clock, GroupHealth, MembershipBackend, QuarantineNote, QuarantineStore, RequestContext } from './ports.js';

export interface QuarantinePolicy {
  /** QUARANTINE_AFTER: consecutive failures of the group's own that quarantine it; 0 never. */
  readonly after: number;
  /** QUARANTINE_BACKOFF: ms before each probe, the last repeating. */
  readonly backoff: readonly number[];
}

export interface QuarantineDeps {
  readonly store: QuarantineStore;
  readonly policy: QuarantinePolicy;
  readonly clock: Clock;
  readonly newEventId: () => string;
  /** Ids of the audit records of quarantine changes. Default: the event's id. */
  readonly newRecordId?: () => string;
  /** Told of each group entering and leaving quarantine (the metrics' counters), and of the store failing the bookkeeping. */
  readonly observer?: QuarantineObserver;
}

/** Where a sync's quarantine bookkeeping failed: reading the group's state, counting a failure, quarantining it, clearing it. */
export type QuarantineStoreStep = 'admit' | 'count_failure' | 'enter' | 'clear';

export interface QuarantineObserver {
  entered(): void;
  left(): void;
  /** A probe read of a quarantined group ran here: it succeeded (half_open) or failed. */
  probed?(outcome: 'half_open' | 'failed'): void;
  /**
   * The store failed a sync's quarantine bookkeeping (`step`): the sync's answer stands (a
   * store that cannot be read lets it run; a failure or success not counted is not counted).
   * Told so that it is logged and counted, never silent.
   */
  storeFailed?(groupId: string, step: QuarantineStoreStep, error: unknown): void;
}

/** What a sync tells its quarantine bookkeeping about itself: the records of changes it causes name it. */
export interface SyncContext {
  readonly syncId: string;
  readonly requestId: string;
  /** The sync's caller: its subscriptions hear of what the sync caused, as of the sync itself. */
  readonly actor: string;
  /** ISO 8601. */
  readonly at: string;
}

/** Upstream statuses that speak for the tenant, not for one group: sign-in and permissions, rate limiting, outages. */
const TENANT_WIDE_STATUSES: ReadonlySet<number> = new Set([401, 403, 407, 429, 503]);

/**
 * Whether an error that ended a sync belongs to its group (and so counts toward its
 * quarantine). Counted: the upstream's error answers about this group (upstream_error with
 * a 4xx or 5xx other than sign-in, rate limiting and outage statuses), a write it answered
 * as done but did not apply (write_not_applied), an undo that failed (rollback_failed).
 * Not counted: validation_failed, removal_guard, group_not_found (answers to the request),
 * conflict (another writer), tenant-wide upstream_unavailable (429/503 past the retry
 * budget, a network outage), token-endpoint and sign-in failures, timeouts, and the
 * service's own (queue, shutdown, audit, internal errors, group_quarantined itself).
 */
export function belongsToGroup(error: unknown): boolean {
  if (!(error instanceof SyncError)) return false;
  if (error instanceof WriteNotAppliedError || error instanceof RollbackFailedError || error instanceof AgentWriteFailedError) return true;
  if (error instanceof TokenEndpointError) return false;
  if (error instanceof UpstreamUnavailableError) return false;
  if (error instanceof UpstreamError) {
    if (answerCode(error) !== 'upstream_error') return false; // a lost race: conflict
    return error.status >= 400 && !TENANT_WIDE_STATUSES.has(error.status);
  }
  return false;
}

/** The delay before the probe at backoff `step` (the last delay repeats). */
export function backoffDelay(backoff: readonly number[], step: number): number {
  if (backoff.length === 0) return 60_000;
  return backoff[Math.min(Math.max(0, step), backoff.length - 1)] as number;
}

/** Seconds until the next probe, for Retry-After (at least 1). */
export function retryAfterSeconds(health: GroupHealth, now: number): number {
  return Math.max(1, Math.ceil(((health.nextProbeAt ?? now) - now) / 1000));
}

/**
 * In the group's turn, before anything is sent: throws GroupQuarantinedError when the
 * group is quarantined. Answers the health read (undefined: healthy), which the end of the
 * sync passes back to afterSuccess / afterFailure. A store that cannot be read lets the sync
 * run (told to the observer): it is refused only when the store says so.
 */
export async function admit(deps: QuarantineDeps, groupId: string): Promise<GroupHealth | undefined> {
  let health: GroupHealth | undefined;
  try {
    health = await deps.store.health(groupId);
  } catch (error) {
    storeFailed(deps, groupId, 'admit', error);
    return undefined;
  }
  if (health?.phase === 'quarantined') {
    const now = deps.clock.now();
    throw new GroupQuarantinedError(groupId, health.since ?? now, health.nextProbeAt ?? now, retryAfterSeconds(health, now), health.lastError);
  }
  return health;
}

function storeFailed(deps: Pick<QuarantineDeps, 'observer'>, groupId: string, step: QuarantineStoreStep, error: unknown): void {
  try {
    deps.observer?.storeFailed?.(groupId, step, error);
  } catch {
    // Reporting must not fail the sync.
  }
}

const nextRecordId = (deps: Pick<QuarantineDeps, 'newRecordId' | 'newEventId'>) => (deps.newRecordId ?? deps.newEventId)();

/**
 * A sync of the group succeeded: its failures are forgotten; a half-open (or released
 * meanwhile) quarantine ends with group.quarantine.released and a `quarantine_released`
 * record, in the transaction that ends it. Never throws: a store failure is told to the
 * observer, and the sync's answer stands.
 */
export async function afterSuccess(deps: QuarantineDeps, groupId: string, health: GroupHealth | undefined, context: SyncContext): Promise<void> {
  if (health === undefined) return;
  const note: QuarantineNote | undefined =
    health.phase === null
      ? undefined
      : {
          entry: { syncId: nextRecordId(deps), requestId: context.requestId, actor: context.actor, groupId, status: 'quarantine_released', reason: `sync ${context.syncId} succeeded while the group was ${health.phase === 'half_open' ? 'half-open' : health.phase}`, createdAt: context.at },
          events: [releasedEvent(deps, groupId, health, 'sync_succeeded', context.at, { syncId: context.syncId })],
        };
  try {
    const was = await deps.store.clear(groupId, note);
    if (was !== undefined && was.phase !== null) deps.observer?.left();
  } catch (error) {
    storeFailed(deps, groupId, 'clear', error);
  }
}

/**
 * A sync of the group failed with `error`: counted when it belongs to the group. The
 * QUARANTINE_AFTER-th failure in a row quarantines it at the first backoff step; a failure
 * while half-open quarantines it again at the next step. Entering quarantine, its
 * group.quarantined event and its `quarantine_entered` record are one transaction. Never
 * throws: a store failure is told to the observer, and the sync's answer stands.
 */
export async function afterFailure(deps: QuarantineDeps, groupId: string, health: GroupHealth | undefined, error: unknown, context: SyncContext): Promise<void> {
  if (deps.policy.after <= 0 || !belongsToGroup(error)) return;
  const code = error instanceof SyncError ? answerCode(error) : 'internal_error';
  const now = deps.clock.now();
  let counted: GroupHealth;
  try {
    counted = await deps.store.countFailure(groupId, code, now);
  } catch (failed) {
    storeFailed(deps, groupId, 'count_failure', failed);
    return;
  }
  let step: number;
  if (health?.phase === 'half_open' || counted.phase === 'half_open') step = counted.step + 1;
  else if (counted.failures >= deps.policy.after) step = 0;
  else return;
  const nextProbeAt = now + backoffDelay(deps.policy.backoff, step);
  const next = new Date(nextProbeAt).toISOString();
  const note: QuarantineNote = {
    entry: {
      syncId: nextRecordId(deps),
      requestId: context.requestId,
      actor: context.actor,
      groupId,
      status: 'quarantine_entered',
      reason: `quarantined after sync ${context.syncId} failed with ${code} (${counted.failures} failures of its own in a row); next probe at ${next}`,
      createdAt: context.at,
    },
    events: [{ id: deps.newEventId(), type: 'group.quarantined', timestamp: context.at, data: { groupId, syncId: context.syncId, failures: counted.failures, lastError: code, step, nextProbeAt: next } }],
  };
  try {
    if (await deps.store.enter(groupId, step, nextProbeAt, code, now, note)) deps.observer?.entered();
  } catch (failed) {
    storeFailed(deps, groupId, 'enter', failed);
  }
}

export function releasedEvent(deps: Pick<QuarantineDeps, 'newEventId'>, groupId: string, was: GroupHealth, reason: 'sync_succeeded' | 'released_by_hand', at: string, extra: Record<string, unknown> = {}): DomainEvent {
  return {
    id: deps.newEventId(),
    type: 'group.quarantine.released',
    timestamp: at,
    data: { groupId, reason, ...extra, quarantinedSince: was.since === null ? null : new Date(was.since).toISOString(), failures: was.failures },
  };
}

export interface ProbeDeps extends QuarantineDeps {
  /** The membership backend a probe reads through (its `read`). */
  readonly backend: (ctx: RequestContext) => Promise<MembershipBackend>;
  readonly newRecordId: () => string;
}

/** The actor of the audit records the probes write. */
export const PROBE_ACTOR = 'quarantine-probe';

/**
 * One probe of a quarantined group: a read through the membership backend. A good read
 * moves it to half-open (audited); a failed one keeps it quarantined at the next backoff
 * step. Answers what happened.
 */
export async function probe(deps: ProbeDeps, health: GroupHealth, signal?: AbortSignal): Promise<'half_open' | 'failed' | 'skipped'> {
  const ctx: RequestContext = { signal, stats: { upstreamRequests: 0 } };
  const now = () => deps.clock.now();
  try {
    const backend = await deps.backend(ctx);
    await backend.read(health.groupId, ctx);
  } catch (error) {
    const step = health.step + 1;
    const code = error instanceof SyncError ? answerCode(error) : 'internal_error';
    const moved = await deps.store.probeFailed(health.groupId, step, now() + backoffDelay(deps.policy.backoff, step), code, now());
    if (moved) deps.observer?.probed?.('failed');
    return moved ? 'failed' : 'skipped';
  }
  const at = new Date(now()).toISOString();
  const recordId = deps.newRecordId();
  const moved = await deps.store.halfOpen(health.groupId, now(), {
    entry: { syncId: recordId, requestId: `probe-${recordId}`, actor: PROBE_ACTOR, groupId: health.groupId, status: 'quarantine_half_open', reason: 'a probe read the group: its next sync runs', createdAt: at },
    events: [],
  });
  if (moved) deps.observer?.probed?.('half_open');
  return moved ? 'half_open' : 'skipped';
}

/** Runs the probes due now, one at a time; answers how many ran. */
export async function runDueProbes(deps: ProbeDeps, limit: number, signal?: AbortSignal): Promise<number> {
  const due = await deps.store.dueProbes(deps.clock.now(), limit);
  let ran = 0;
  for (const health of due) {
    if (signal?.aborted) break;
    await probe(deps, health, signal);
    ran++;
  }
  return ran;
}

/** An administrator's release: the group's failures and quarantine are forgotten, audited with group.quarantine.released. Answers what it was (undefined: it was healthy). */
export async function releaseByHand(deps: Pick<QuarantineDeps, 'store' | 'clock' | 'newEventId' | 'observer'>, groupId: string, by: { actor: string; requestId: string }, recordId: string): Promise<GroupHealth | undefined> {
  const current = await deps.store.health(groupId);
  const at = new Date(deps.clock.now()).toISOString();
  const note = current?.phase
    ? {
        entry: { syncId: recordId, requestId: by.requestId, actor: by.actor, groupId, status: 'quarantine_released' as const, reason: `released by hand by ${by.actor}`, createdAt: at },
        events: [releasedEvent(deps, groupId, current, 'released_by_hand', at, { by: by.actor })],
      }
    : undefined;
  const was = await deps.store.clear(groupId, note);
  if (was?.phase === 'quarantined' || was?.phase === 'half_open') deps.observer?.left();
  return was;
}

/** How a group stands, as GET /groups/{groupId}/quarantine shows it. */
const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export function describeHealth(groupId: string, health: GroupHealth | undefined) {
  return {
    groupId,
    state: health?.phase ?? 'closed',
    failures: health?.failures ?? 0,
    lastError: health?.lastError ?? null,
    since: iso(health?.since),
    nextProbeAt: iso(health?.nextProbeAt),
    step: health?.step ?? 0,
  };
}
