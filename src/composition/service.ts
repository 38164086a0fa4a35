/**
 * The service: everything `npm start` runs, wired from the configuration in one place. The
 * SQLite store under DATA_DIR (held by its lock) is the audit trail, the subscriptions, the
 * idempotency keys and the webhook outbox; the webhook dispatcher drains the outbox;
 * retention prunes the trail; without CXONE_BASE_URL the embedded CXone SCIM simulator is
 * the upstream. main.ts opens it, listens, and closes it on SIGTERM; the process-like tests
 * (fault, crash, security) build the same thing with composeService.
 */
import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createLogger } from '../adapters/logging/logger.js';
import { createPrometheusMetrics, type AuditObserver, type PrometheusMetrics } from '../adapters/metrics/prometheus-metrics.js';
import { createAuditRetention } from '../adapters/storage/audit-retention.js';
import { createPostgresGroupLocks } from '../adapters/storage/postgres/group-lock.js';
import { createPostgresNameLocks } from '../adapters/storage/postgres/name-lock.js';
import { createPostgresLease } from '../adapters/storage/postgres/scheduler-lease.js';
import { createPostgresRunnerLock, SOLE_RUNNER, type RunnerLock } from '../adapters/storage/postgres/runner-lock.js';
import { createQuarantineProber, type QuarantineProber } from '../adapters/storage/quarantine-prober.js';
import { createOutboxDispatcher, type OutboxDispatcher } from '../adapters/webhooks/outbox-dispatcher.js';
import { createWebhookTargetPolicy, type WebhookTargetPolicy } from '../adapters/webhooks/ssrf-guard.js';
import type { ApiToken, Config } from '../config.js';
import type { ChainHead } from '../core/audit.js';
import { systemClock } from '../core/clock.js';
import { DataDirLockedError, StorageError } from '../core/errors.js';
import type { Clock, GroupLockService, NameLockService, SchedulerLease } from '../core/ports.js';
import { createSimulator, type Simulator } from '../simulator/simulator.js';
import { composeApp, composeRunner, type AppPorts } from './app.js';
import { createDriftScheduler, type DriftScheduler } from '../core/drift.js';
import { expireHeld } from '../core/held-changes.js';
import { createProcessMembership, type ProcessMembership } from './membership.js';
import { lockDataDir, openServiceStore, type DataDirLock, type ServiceStore } from './storage.js';
import { checkUpstreamAtStart, configuredUpstream, createUpstreamDirectory, type Upstream, type UpstreamDirectory } from './upstream.js';

/**
 * The inbound token the simulator mode uses when neither SYNC_API_TOKENS nor ADMIN_API_TOKENS
 * is set; documented in the README. Shorter than the 16 characters configured tokens need:
 * it is public anyway, and only ever guards the embedded simulator.
 */
export const DEMO_TOKEN: ApiToken = { name: 'demo', token: 'demo-token' };

/**
 * What the service does with each new audit chain head: the sequence number becomes the
 * scim_audit_chain_head_sequence gauge, and every `every` records (AUDIT_HEAD_LOG_EVERY;
 * 0: never) the head is logged, so that a copy of the log kept elsewhere anchors the trail.
 */
export function reportAuditHead(observer: AuditObserver, log: { info(details: object, message: string): void }, every: number): (head: ChainHead) => void {
  return (head) => {
    observer.onHead(head);
    if (every > 0 && head.seq % every === 0) log.info({ auditHead: head }, 'audit chain head');
  };
}

export interface ServiceParts {
  readonly config: Readonly<Config>;
  readonly store: ServiceStore;
  readonly directory: UpstreamDirectory;
  readonly metrics: PrometheusMetrics;
  readonly policy: WebhookTargetPolicy;
  readonly logger: Logger;
  /** Jitter of the webhook retry schedule. Default Math.random. */
  readonly dispatchRandom?: () => number;
  /** The app's clock (the readiness cache, the inbound limits, sync latency). Default: the system clock. */
  readonly clock?: Clock;
  /** The per-group lock across replicas (STORE=postgres). */
  readonly groupLock?: GroupLockService;
  /** The names the SCIM front door's creates hold across replicas (STORE=postgres). */
  readonly nameLock?: NameLockService;
  /** Which replica runs the drift scheduler (STORE=postgres); none: this process does. */
  readonly schedulerLease?: SchedulerLease;
  /** The drift scheduler's clock (its spreading, request budget and records). Default: `clock`, else the system clock. */
  readonly driftClock?: Clock;
  /** Which replica probes quarantined groups (STORE=postgres: an advisory lock); default: this process. */
  readonly runnerLock?: RunnerLock;
}

export interface ComposedService {
  readonly app: FastifyInstance;
  /** The membership backend: MEMBERSHIP_BACKEND, or what `auto` chooses (kept in the store). */
  readonly membership: ProcessMembership;
  /** Not started: start it once the app listens. */
  readonly dispatcher: OutboxDispatcher;
  /** The drift scheduler, not started; undefined when DRIFT_MAX_RPS=0 turns drift detection off. */
  readonly drift: DriftScheduler | undefined;
  /** Not started: probes quarantined groups (on one replica at a time: `runnerLock`). */
  readonly prober: QuarantineProber;
}

/** The app with every port on the store, and the webhook dispatcher draining the same store's outbox. */
export async function composeService({ config, store, directory, metrics, policy, logger, dispatchRandom, clock, groupLock, nameLock, schedulerLease, driftClock, runnerLock }: ServiceParts): Promise<ComposedService> {
  const membership = createProcessMembership({
    config,
    upstream: directory,
    store: store.backendChoice,
    cxone: { agentMap: store.agentMap, journal: store.journal, syncedGroups: store.syncedGroups, audit: store },
    clock: clock ?? systemClock,
    log: logger.child({ component: 'membership' }),
  });
  const ports: AppPorts = {
    directory,
    backend: membership.source,
    backendStatus: membership.status,
    audit: store,
    subscriptions: store,
    idempotency: store,
    webhookPolicy: policy,
    metrics,
    clock,
    groupLock,
    nameLock,
    groupExternalIds: store.groupExternalIds,
    userGateway: directory,
    quarantine: store.quarantine,
    heldChanges: store.heldChanges,
    readiness: [
      // Public and costly (a token, an upstream request): cached, so that probes cannot load the upstream.
      // What is probed follows the backend (./membership.ts); before `auto` chose one, the probe that chooses.
      { name: 'upstream', check: () => membership.check(), cacheMs: config.readinessCacheMs },
      { name: 'storage', check: () => store.ping() },
    ],
    drift: store.drift,
  };
  // One runner for the app and the drift scheduler: a drift read takes its group's turn in the same queue as the syncs.
  const runner = composeRunner(config, ports, logger);
  const app = await composeApp({ config, ports, logger, runner });
  const schedulerClock = driftClock ?? clock ?? systemClock;
  metrics.drift.track(() => store.drift.driftTotals(), () => schedulerClock.now());
  const drift =
    config.driftMaxRps > 0
      ? createDriftScheduler({
          clock: schedulerClock,
          store: store.drift,
          runner,
          backend: membership.source,
          intervalMs: config.driftInterval,
          windowMs: config.driftWindow,
          maxRps: config.driftMaxRps,
          heal: config.driftHeal === 'on',
          lease: schedulerLease,
          metrics: metrics.drift,
          log: logger.child({ component: 'drift' }),
          newEventId: () => `msg_${uuidv7()}`,
          newRequestId: () => `drift-heal-${uuidv7()}`,
        })
      : undefined;
  const dispatcher = createOutboxDispatcher({
    outbox: store,
    schedule: config.webhookRetrySchedule,
    policy,
    staticUrls: config.webhookUrls,
    staticSecret: config.webhookSecret,
    observer: metrics.webhooks,
    log: logger.child({ component: 'webhooks' }),
    random: dispatchRandom,
  });
  const prober = createQuarantineProber({
    store: store.quarantine,
    policy: { after: config.quarantineAfter, backoff: config.quarantineBackoff },
    clock: clock ?? systemClock,
    newEventId: () => `msg_${uuidv7()}`,
    newRecordId: () => uuidv7(),
    observer: metrics.quarantine,
    backend: membership.source,
    lock: runnerLock ?? SOLE_RUNNER,
    log: logger.child({ component: 'quarantine' }),
    // Held changes whose HELD_CHANGE_TTL ran out expire here too (and before every hold, decision and listing).
    upkeep: () => expireHeld({ store: store.heldChanges, clock: clock ?? systemClock, newId: () => uuidv7(), newEventId: () => `msg_${uuidv7()}`, ttlMs: config.heldChangeTtl }),
  });
  return { app, dispatcher, membership, drift, prober };
}

/** The service could not be opened for a reason the operator must fix: `line` says it, `kind` picks the exit code. */
export class StartRefusedError extends Error {
  constructor(
    readonly kind: 'config' | 'storage',
    readonly line: string,
  ) {
    super(line);
    this.name = 'StartRefusedError';
  }
}

export interface Service {
  readonly app: FastifyInstance;
  /** The service log (LOG_LEVEL). */
  readonly logger: Logger;
  /** The embedded simulator, when it is the upstream. */
  readonly simulator: Simulator | undefined;
  /** Whether SYNC_API_TOKENS or ADMIN_API_TOKENS is set; if not, DEMO_TOKEN is accepted. */
  readonly tokensConfigured: boolean;
  /** Starts the background work (the webhook dispatcher, audit retention, the drift scheduler); call once the app listens. */
  start(): void;
  /** Stops everything but the app, in order, once the app is closed: the dispatcher, retention, the store, the lock, the upstream. */
  close(): Promise<void>;
}

/**
 * Opens the service as the configuration says, up to listening. StartRefusedError when a
 * webhook URL is refused, DATA_DIR is in use or storage cannot be opened.
 */
export async function openService(config: Readonly<Config>, logger: Logger = createLogger(config.logLevel)): Promise<Service> {
  const webhookPolicy = createWebhookTargetPolicy({ allowPrivate: config.webhookAllowPrivate });
  for (const url of config.webhookUrls) {
    const refused = webhookPolicy.refuseUrl(url);
    if (refused) throw new StartRefusedError('config', `configuration error: WEBHOOK_URLS: ${new URL(url).origin} is refused: ${refused}`);
  }
  // SQLite: one process per DATA_DIR, held until the process ends (the kernel drops it on
  // SIGKILL). PostgreSQL: replicas share the database; no data directory is used.
  let lock: DataDirLock | undefined;
  if (config.store === 'sqlite') {
    try {
      lock = lockDataDir(config);
    } catch (error) {
      if (error instanceof DataDirLockedError) throw new StartRefusedError('config', error.message);
      if (error instanceof StorageError) throw new StartRefusedError('storage', `storage error: ${error.message}`);
      throw error;
    }
  }
  const metrics = createPrometheusMetrics();
  let store: ServiceStore;
  try {
    // An outside copy of the head log lines anchors the trail: a rewrite or a rollback shows against it.
    store = await openServiceStore(config, { onHead: reportAuditHead(metrics.audit, logger, config.auditHeadLogEvery) });
  } catch (error) {
    lock?.release();
    if (error instanceof StorageError) throw new StartRefusedError('storage', `storage error: ${error.message}`);
    throw error;
  }
  // SQLite: this process holds DATA_DIR's lock, so an Idempotency-Key still "processing"
  // belongs to a process that died (kill -9, power loss); forget it, so the caller's retry
  // runs again. PostgreSQL: only claims whose lease ran out (other replicas may be running theirs).
  const abandoned = await store.releaseAbandoned();
  const head = await store.auditHead();
  if (head) metrics.audit.onHead(head);
  logger.info({ store: config.store, file: store.file, abandonedIdempotencyKeys: abandoned, auditHead: head, auditKeyed: config.auditHmacKey !== undefined }, 'storage open');
  const retention = createAuditRetention({ store, days: config.auditRetentionDays, clock: systemClock, log: logger.child({ component: 'audit-retention' }) });

  let simulator: Simulator | undefined;
  // A tenant is described by the configuration (CXONE_AUTH and its settings); without one, the embedded simulator.
  let upstream: Upstream | undefined = configuredUpstream(config);
  if (upstream === undefined) {
    const clientSecret = randomBytes(24).toString('base64url');
    // CXone as published (no SCIM /Groups), unless MEMBERSHIP_BACKEND=scim-groups asks for the RFC 7644 path.
    simulator = createSimulator({ clients: [{ clientId: 'cxone-scim-sync', clientSecret }], ...(config.membershipBackend === 'scim-groups' ? { scimGroups: true } : {}) });
    const baseUrl = await simulator.listen({ port: 0, host: '127.0.0.1' });
    upstream = { baseUrl, clientId: 'cxone-scim-sync', clientSecret, simulator: true };
    logger.warn({ upstream: baseUrl }, 'no CXone tenant is configured (CXONE_BASE_URL, CXONE_TOKEN_URL, CXONE_ISSUER, CXONE_CLIENT_ID, CXONE_ACCESS_KEY_ID are unset): syncing against the embedded CXone SCIM simulator');
  }
  const directory = createUpstreamDirectory(config, upstream, metrics.upstream);
  const signInProblem = await checkUpstreamAtStart(config, directory, logger);
  if (signInProblem !== undefined) {
    await directory.close();
    await simulator?.close();
    await store.close();
    lock?.release();
    throw new StartRefusedError('config', `configuration error: ${signInProblem}`);
  }

  // The demo token is only for a first run against the embedded simulator with no token configured.
  const tokensConfigured = config.syncApiTokens.length > 0 || config.adminApiTokens.length > 0 || config.scimApiTokens.length > 0;
  const syncApiTokens = tokensConfigured ? config.syncApiTokens : [DEMO_TOKEN];
  // Replicas on one database take a group's lock across processes for each sync (keyed on the group id: LOCK_BACKEND below).
  const groupLocks = config.store === 'postgres' ? createPostgresGroupLocks({ connectionString: config.databaseUrl as string, backend: LOCK_BACKEND }) : undefined;
  // …and the SCIM front door's create of a group holds its displayName and externalId across them (one process per DATA_DIR on SQLite: its own creates are serialised).
  const nameLocks = config.store === 'postgres' ? createPostgresNameLocks({ connectionString: config.databaseUrl as string, scope: LOCK_BACKEND }) : undefined;
  // Replicas on one database: one of them at a time runs the drift scheduler, and one probes quarantined groups.
  const schedulerLease = config.store === 'postgres' ? createPostgresLease({ connectionString: config.databaseUrl as string, name: 'drift-scheduler' }) : undefined;
  const runnerLock = config.store === 'postgres' ? createPostgresRunnerLock({ connectionString: config.databaseUrl as string, name: 'quarantine-prober' }) : undefined;
  const { app, dispatcher, membership, drift, prober } = await composeService({ config: { ...config, syncApiTokens }, store, directory, metrics, policy: webhookPolicy, logger, groupLock: groupLocks, nameLock: nameLocks, schedulerLease, runnerLock });
  // Admin-API writes a crash left open are finished before syncs are taken (docs/cxone.md "After a crash").
  await membership.recoverOpenWrites(logger.child({ component: 'recovery' }), AbortSignal.timeout(3 * config.upstreamTimeoutMs), groupLocks);
  return {
    app,
    logger,
    simulator,
    tokensConfigured,
    start() {
      dispatcher.start();
      retention.start();
      drift?.start();
      prober.start();
      // MEMBERSHIP_BACKEND=auto chooses now (or reads the kept choice); a probe that cannot tell is logged and tried again.
      void membership.selector.resolve().then((selection) => {
        if (selection.state === 'chosen') logger.info({ membershipBackend: selection.name, chosenBy: selection.by, setting: config.membershipBackend }, 'membership backend');
      }, (error: unknown) => logger.error({ err: error }, 'choosing the membership backend failed'));
    },
    async close() {
      await drift?.stop();
      await dispatcher.stop();
      await retention.stop();
      await schedulerLease?.close();
      await prober.stop();
      await groupLocks?.close();
      await nameLocks?.close();
      await store.close();
      lock?.release();
      await directory.close();
      await simulator?.close();
    },
  };
}

/**
 * What a group lock across replicas is keyed on besides the group id. One namespace for
 * every membership backend: the replicas of one deployment share one store and so one
 * backend choice, and a replica started with another MEMBERSHIP_BACKEND still excludes the
 * others from a group of the same id (it may hold more than it must, never less). One
 * database serves one deployment (one tenant); the replicas may name the tenant
 * differently (a proxy, a region), so the tenant is not part of the key either.
 */
export const LOCK_BACKEND = 'membership';
