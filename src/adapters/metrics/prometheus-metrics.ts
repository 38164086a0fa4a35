/**
 * Prometheus metrics on a per-app prom-client Registry (never the global one, so that
 * apps built side by side in one process never collide). One factory owns the registry
 * and hands out the three observers that feed it: the sync use case's SyncMetrics port,
 * the SCIM adapter's UpstreamObserver and the webhook dispatcher's WebhookObserver.
 * Metric names and labels are the contract of docs/api.md "Metrics"; every label value
 * comes from a fixed set (`resource` is never an id), so the series count stays bounded.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { EVENT_TYPES, type EventType } from '../../core/audit.js';
import { MEMBER_ERROR_CODES } from '../../core/errors.js';
import { ATTRIBUTE_OUTCOMES, SYNC_OUTCOME_STATUSES } from '../../core/outcome.js';
import type { DriftMetrics, DriftTotals, SyncMetrics, SyncObservation } from '../../core/ports.js';
import type { QuarantineObserver, QuarantineStoreStep } from '../../core/quarantine.js';
import type { RetryReason, UpstreamObserver, UpstreamRequestEvent, UpstreamResource } from '../scim/index.js';
import type { DeliveryOutcome, WebhookObserver } from '../webhooks/webhook-observer.js';

export interface PrometheusMetrics {
  /** Served at GET /metrics. */
  readonly registry: Registry;
  /** For the sync use case (core port). */
  readonly sync: SyncMetrics;
  /** For the SCIM adapter: every upstream request, retry and token fetch. */
  readonly upstream: UpstreamObserver;
  /** For the webhook dispatcher: every delivery attempt. */
  readonly webhooks: WebhookObserver;
  /** For the audit store: the chain head after each append. */
  readonly audit: AuditObserver;
  /** For the drift scheduler; and where the drift gauges read their totals from at each scrape. */
  readonly drift: DriftObserver;
  /** For quarantine: groups entering and leaving it, and where the number quarantined is read. */
  readonly quarantine: QuarantineMetrics;
}

export interface DriftObserver extends DriftMetrics {
  /**
   * The drift gauges (groups, members, age of the oldest) are read from `totals` at each
   * scrape, so that every replica shows the same figures whichever one runs the scheduler.
   */
  track(totals: () => Promise<DriftTotals>, now: () => number): void;
}

const QUARANTINE_STORE_STEPS: readonly QuarantineStoreStep[] = ['admit', 'count_failure', 'enter', 'clear'];

export interface QuarantineMetrics extends QuarantineObserver {
  /** Where scim_groups_quarantined is read from at each scrape (the store). */
  watch(count: () => Promise<number>): void;
}

export interface AuditObserver {
  /** The audit chain's newest record: its sequence number becomes scim_audit_chain_head_sequence. */
  onHead(head: { readonly seq: number }): void;
}

export interface PrometheusMetricsOptions {
  /** prom-client's process metrics (CPU, memory, event loop, GC). Default true. */
  readonly defaultMetrics?: boolean;
}

/** Seconds; resolves 5 ms to 30 s (docs/api.md "Metrics": latency histograms). */
export const LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];
/** |desired ∩ actual| / |desired ∪ actual|: almost always 1, so resolution sits just below it. */
export const CONSISTENCY_BUCKETS: readonly number[] = [0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1];

// The core's lists (src/core/outcome.ts, errors.ts, audit.ts) as they are; records for this
// adapter's own, so that the compiler tells us when a reason or resource is added.
const SYNC_STATUSES: readonly string[] = SYNC_OUTCOME_STATUSES;
const RETRY_REASONS = keys<RetryReason>({ rate_limited: 1, server_error: 1, network: 1, conflict: 1, unauthorized: 1 });
const RESOURCES = keys<UpstreamResource>({ Users: 1, Groups: 1, ServiceProviderConfig: 1, agents: 1, agent_groups: 1, groups: 1, group_agents: 1, oauth: 1, discovery: 1, other: 1 });
const DELIVERY_OUTCOMES = keys<DeliveryOutcome>({ delivered: 1, retry: 1, failed: 1, disabled: 1 });
const METHODS = ['GET', 'PUT', 'POST', 'PATCH', 'DELETE'];

export function createPrometheusMetrics(options: PrometheusMetricsOptions = {}): PrometheusMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const syncs = new Counter({ name: 'scim_syncs_total', help: 'Sync attempts by outcome (applied, unchanged, dry_run, or the error code)', labelNames: ['status'], registers });
  const syncDuration = new Histogram({ name: 'scim_sync_duration_seconds', help: 'Wall time of a sync attempt, upstream calls and retries included', labelNames: ['status'], buckets: [...LATENCY_BUCKETS], registers });
  const consistency = new Histogram({ name: 'scim_sync_consistency_ratio', help: 'consistencyRate after a write (applied: 1 by verification; write_not_applied: below 1): how closely the upstream matched the desired membership', buckets: [...CONSISTENCY_BUCKETS], registers });
  const validationFailures = new Counter({ name: 'scim_validation_failures_total', help: 'Members refused by validation, by error code', labelNames: ['code'], registers });
  const upstreamRequests = new Counter({ name: 'scim_upstream_requests_total', help: 'Upstream HTTP requests (SCIM and OAuth), retries included, by answer status (or network, timeout)', labelNames: ['method', 'resource', 'status'], registers });
  const upstreamDuration = new Histogram({ name: 'scim_upstream_request_duration_seconds', help: 'Duration of one upstream HTTP request', labelNames: ['method', 'resource'], buckets: [...LATENCY_BUCKETS], registers });
  const retries = new Counter({ name: 'scim_upstream_retries_total', help: 'Upstream requests tried again, by reason (conflict: a write lost a race and the sync re-reads and re-plans)', labelNames: ['reason'], registers });
  const tokenFetches = new Counter({ name: 'scim_oauth_token_fetches_total', help: 'OAuth client-credentials token requests, by outcome', labelNames: ['outcome'], registers });
  const attributeSyncs = new Counter({ name: 'scim_user_attribute_syncs_total', help: 'Users handled by the attribute sync after an applied write, by what happened to their entitlements', labelNames: ['outcome'], registers });
  const groupsInconsistent = new Counter({ name: 'scim_user_groups_inconsistent_total', help: "Users whose provider-computed groups attribute disagreed with the membership just written", registers });
  const deliveries = new Counter({ name: 'scim_webhook_deliveries_total', help: 'Webhook delivery attempts, by event type and outcome', labelNames: ['event', 'outcome'], registers });

  // Known series start at zero, so that rate() and absent() work before the first event.
  for (const status of SYNC_STATUSES) syncs.labels(status).inc(0);
  for (const code of MEMBER_ERROR_CODES) validationFailures.labels(code).inc(0);
  for (const reason of RETRY_REASONS) retries.labels(reason).inc(0);
  for (const outcome of ['success', 'failure']) tokenFetches.labels(outcome).inc(0);
  for (const outcome of ATTRIBUTE_OUTCOMES) attributeSyncs.labels(outcome).inc(0);
  for (const event of EVENT_TYPES) for (const outcome of DELIVERY_OUTCOMES) deliveries.labels(event, outcome).inc(0);

  const sync: SyncMetrics = {
    observeSync: guarded((observation: SyncObservation) => {
      const status = oneOf(observation.status, SYNC_STATUSES, 'internal_error');
      syncs.labels(status).inc();
      syncDuration.labels(status).observe(nonNegative(observation.durationSeconds));
      if (observation.consistencyRate !== null && (observation.status === 'applied' || observation.status === 'write_not_applied')) consistency.observe(observation.consistencyRate);
      for (const code of observation.validationCodes) validationFailures.labels(oneOf(code, MEMBER_ERROR_CODES as readonly string[], 'other')).inc();
      for (const outcome of observation.attributeOutcomes) attributeSyncs.labels(oneOf(outcome, ATTRIBUTE_OUTCOMES as readonly string[], 'other')).inc();
      if (observation.groupsInconsistent > 0) groupsInconsistent.inc(observation.groupsInconsistent);
    }),
  };

  const upstream: UpstreamObserver = {
    onRequest: guarded((event: UpstreamRequestEvent) => {
      const method = oneOf(event.method, METHODS, 'other');
      const resource = oneOf(event.resource, RESOURCES, 'other');
      upstreamRequests.labels(method, resource, statusLabel(event.status)).inc();
      upstreamDuration.labels(method, resource).observe(nonNegative(event.durationMs) / 1000);
    }),
    onRetry: guarded((reason: RetryReason) => retries.labels(oneOf(reason, RETRY_REASONS, 'other')).inc()),
    onTokenFetch: guarded((outcome: 'success' | 'failure') => tokenFetches.labels(outcome === 'success' ? 'success' : 'failure').inc()),
  };

  const webhooks: WebhookObserver = {
    onDelivery: guarded((event: EventType, outcome: DeliveryOutcome) => {
      deliveries.labels(oneOf(event, EVENT_TYPES as readonly string[], 'other'), oneOf(outcome, DELIVERY_OUTCOMES, 'other')).inc();
    }),
  };

  const auditHead = new Gauge({ name: 'scim_audit_chain_head_sequence', help: 'Sequence number of the newest audit record (the chain head); compare it with an outside copy to anchor the trail', registers });
  const audit: AuditObserver = {
    onHead: guarded((head: { readonly seq: number }) => auditHead.set(head.seq)),
  };

  const quarantineEntered = new Counter({ name: 'scim_quarantine_entered_total', help: 'Groups that entered quarantine (QUARANTINE_AFTER failures of their own in a row, or a failure while half-open)', registers });
  const quarantineLeft = new Counter({ name: 'scim_quarantine_left_total', help: 'Groups that left quarantine (a good sync after a good probe, or a release by hand)', registers });
  const quarantineProbes = new Counter({
    name: 'scim_quarantine_probes_total',
    help: 'Probe reads of quarantined groups this process ran, by outcome (half_open: the read succeeded; failed); only the replica holding the prober lock probes',
    labelNames: ['outcome'],
    registers,
  });
  for (const outcome of ['half_open', 'failed']) quarantineProbes.labels(outcome).inc(0);
  const quarantineStoreErrors = new Counter({
    name: 'scim_quarantine_store_errors_total',
    help: "Store failures while a sync read or kept its group's quarantine state (step: admit, count_failure, enter, clear); the sync's answer stands",
    labelNames: ['step'],
    registers,
  });
  for (const step of QUARANTINE_STORE_STEPS) quarantineStoreErrors.labels(step).inc(0);
  let quarantineSource: (() => Promise<number>) | undefined;
  const quarantinedGroups = new Gauge({
    name: 'scim_groups_quarantined',
    help: 'Groups quarantined or half-open now, as the store says (every replica reports the same number)',
    registers,
    async collect() {
      if (quarantineSource === undefined) return;
      try {
        this.set(await quarantineSource());
      } catch {
        // The store cannot answer: the gauge keeps its last value (storage failures show on /readyz).
      }
    },
  });
  void quarantinedGroups;
  const quarantine: QuarantineMetrics = {
    entered: guarded(() => quarantineEntered.inc()),
    left: guarded(() => quarantineLeft.inc()),
    probed: guarded((outcome: string) => quarantineProbes.labels(oneOf(outcome, ['half_open', 'failed'], 'failed')).inc()),
    storeFailed: guarded((_groupId: string, step: QuarantineStoreStep) => quarantineStoreErrors.labels(oneOf(step, QUARANTINE_STORE_STEPS, 'other')).inc()),
    watch(count) {
      quarantineSource = count;
    },
  };

  const drift = createDriftObserver(registers);

  return { registry, sync, upstream, webhooks, audit, drift, quarantine };
}

const DRIFT_CHECK_OUTCOMES = ['in_sync', 'drifted', 'skipped', 'discarded', 'failed'];
const DRIFT_HEAL_OUTCOMES = ['applied', 'failed'];
/** One read of the totals serves every drift gauge of a scrape. */
const DRIFT_TOTALS_REUSE_MS = 1000;

function createDriftObserver(registers: Registry[]): DriftObserver {
  let source: { totals: () => Promise<DriftTotals>; now: () => number } | undefined;
  let last: { at: number; totals: Promise<DriftTotals | undefined> } | undefined;
  const read = (): Promise<DriftTotals | undefined> => {
    if (source === undefined) return Promise.resolve(undefined);
    const now = source.now();
    if (last === undefined || now - last.at >= DRIFT_TOTALS_REUSE_MS || now < last.at) {
      // A store that cannot answer leaves the gauges as they were: a scrape never fails for it.
      last = { at: now, totals: source.totals().catch(() => undefined) };
    }
    return last.totals;
  };
  const groups = new Gauge({
    name: 'scim_drift_groups',
    help: 'Groups whose upstream membership differs from the desired set they were last synced to, as last checked',
    registers,
    async collect() {
      const totals = await read();
      if (totals) this.set(totals.groups);
    },
  });
  const members = new Gauge({
    name: 'scim_drift_members',
    help: 'Members missing upstream plus members extra upstream, over every drifted group',
    registers,
    async collect() {
      const totals = await read();
      if (totals) this.set(totals.members);
    },
  });
  const oldest = new Gauge({
    name: 'scim_drift_oldest_age_seconds',
    help: 'Age of the oldest drift still open (0 when none is)',
    registers,
    async collect() {
      const totals = await read();
      if (totals && source) this.set(totals.oldestFirstSeenAt === null ? 0 : Math.max(0, (source.now() - Date.parse(totals.oldestFirstSeenAt)) / 1000));
    },
  });
  const lag = new Gauge({ name: 'scim_drift_cycle_lag_seconds', help: 'How far the drift scheduler runs behind its schedule: the lateness of the read in progress, then how far the last cycle ran past DRIFT_INTERVAL (0: on time)', registers });
  const cycleDuration = new Gauge({ name: 'scim_drift_cycle_duration_seconds', help: 'How long the last drift cycle took', registers });
  const checks = new Counter({ name: 'scim_drift_checks_total', help: 'Drift checks of a group, by outcome (in_sync, drifted, skipped: a sync ran or waited, discarded: a sync overlapped the read, failed)', labelNames: ['outcome'], registers });
  const heals = new Counter({ name: 'scim_drift_heals_total', help: 'Drift heals (DRIFT_HEAL=on), by outcome', labelNames: ['outcome'], registers });
  const requests = new Counter({ name: 'scim_drift_upstream_requests_total', help: 'Upstream requests the drift reads sent (held to DRIFT_MAX_RPS)', registers });
  for (const outcome of DRIFT_CHECK_OUTCOMES) checks.labels(outcome).inc(0);
  for (const outcome of DRIFT_HEAL_OUTCOMES) heals.labels(outcome).inc(0);
  for (const gauge of [groups, members, oldest, lag]) gauge.set(0);
  return {
    track(totals, now) {
      source = { totals, now };
      last = undefined;
    },
    observeCheck: guarded((outcome: string) => checks.labels(oneOf(outcome, DRIFT_CHECK_OUTCOMES, 'failed')).inc()),
    observeHeal: guarded((outcome: string) => heals.labels(oneOf(outcome, DRIFT_HEAL_OUTCOMES, 'failed')).inc()),
    setLag: guarded((seconds: number) => lag.set(nonNegative(seconds))),
    observeCycle: guarded((seconds: number, upstreamRequests: number) => {
      cycleDuration.set(nonNegative(seconds));
      if (upstreamRequests > 0) requests.inc(upstreamRequests);
    }),
  };
}

function keys<K extends string>(record: Record<K, 1>): readonly K[] {
  return Object.keys(record) as K[];
}

/** `value` when it is one of the known label values, otherwise `fallback`: a label never takes an open-ended value. */
function oneOf(value: string, known: readonly string[], fallback: string): string {
  return known.includes(value) ? value : fallback;
}

function nonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

function statusLabel(status: UpstreamRequestEvent['status']): string {
  if (status === 'network' || status === 'timeout') return status;
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
}

/** Metrics must never change the outcome of a sync or a delivery. */
function guarded<A extends unknown[]>(hook: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    try {
      hook(...args);
    } catch {
      // A bad observation is dropped; the work it describes goes on.
    }
  };
}
