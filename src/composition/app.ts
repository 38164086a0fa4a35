/**
 * The HTTP app from the configuration and the ports: the sync runner built from them, the
 * defaults of what is not given, and buildApp (src/http/app.ts) on the result. Tests and
 * the OpenAPI generator build the app through this, with fakes or the simulator; the
 * service does it through composeService (./service.ts).
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { v7 as uuidv7 } from 'uuid';
import type { QuarantineMetrics } from '../adapters/metrics/prometheus-metrics.js';
import { MemoryIdempotencyStore } from '../adapters/storage/memory-idempotency-store.js';
import { createWebhookTargetPolicy } from '../adapters/webhooks/ssrf-guard.js';
import type { Config } from '../config.js';
import { systemClock } from '../core/clock.js';
import {
  isAuditTrail,
  isChangeAudit,
  type AuditLog,
  type Clock,
  type DriftStore,
  type GroupExternalIds,
  type GroupLockService,
  type HeldChangeStore,
  type IdempotencyStore,
  type MembershipBackend,
  type NameLockService,
  type QuarantineStore,
  type ScimDirectory,
  type ScimUserGateway,
  type SubscriptionStore,
  type SyncMetrics,
  type WebhookTargetCheck,
} from '../core/ports.js';
import type { SyncRunner } from '../core/sync-request.js';
import { createScimGroupsBackend } from '../core/scim-groups-backend.js';
import { holdOrPass } from '../core/held-changes.js';
import { MemoryGroupExternalIds } from '../adapters/storage/memory-group-external-ids.js';
import { buildApp } from '../http/app.js';
import { createChangeRecorder } from '../http/scim/change-audit.js';
import type { BackendStatus, ReadinessCheck } from '../http/routes/health.js';
import type { BackendSource } from './membership.js';
import { createSyncRunner } from './sync-runner.js';

/** The metrics the app feeds and serves (src/adapters/metrics: createPrometheusMetrics()). */
export interface AppMetrics {
  /** What the sync use case reports. */
  readonly sync: SyncMetrics;
  /** This app's own registry, served at GET /metrics. */
  readonly registry: Registry;
  /** Groups entering and leaving quarantine, and the number quarantined. */
  readonly quarantine?: QuarantineMetrics;
}

export interface AppPorts {
  /** The upstream's SCIM directory: its users, and the groups of the scim-groups backend. */
  readonly directory: ScimDirectory;
  /** The membership backend of each sync (./membership.ts). Default: scim-groups over `directory`. */
  readonly backend?: BackendSource;
  /** The membership backend in use, or why none is chosen yet, for /readyz. */
  readonly backendStatus?: () => BackendStatus;
  /** Where syncs are recorded. When it also answers queries (AuditTrail), GET /syncs/{syncId}, /audit and /audit/verify are served. */
  readonly audit: AuditLog;
  /** Webhook subscriptions; the /subscriptions routes are served only when given. */
  readonly subscriptions?: SubscriptionStore;
  /** Which webhook URLs are accepted; default: the SSRF rules, relaxed by WEBHOOK_ALLOW_PRIVATE. */
  readonly webhookPolicy?: WebhookTargetCheck;
  /** Where Idempotency-Key answers are kept. Default: in memory (lost on restart). */
  readonly idempotency?: IdempotencyStore;
  readonly metrics: AppMetrics;
  readonly clock?: Clock;
  /** What /readyz checks besides the process itself. */
  readonly readiness?: readonly ReadinessCheck[];
  /** The per-group lock across replicas (STORE=postgres); none: the in-process queue alone. */
  readonly groupLock?: GroupLockService;
  /** The names the SCIM front door's creates hold across replicas (STORE=postgres); none: its creates are serialised in this process alone. */
  readonly nameLock?: NameLockService;
  /** The desired sets and drift records; GET /groups/{groupId}/drift and GET /drift are served only when given. */
  readonly drift?: DriftStore;
  /** Where the SCIM front door keeps group externalIds. Default: in memory (lost on restart). */
  readonly groupExternalIds?: GroupExternalIds;
  /** The upstream's SCIM /Users, for /scim/v2/Users (the SCIM adapter). Without it, the front door serves no /Users. */
  readonly userGateway?: ScimUserGateway;
  /** Each group's failures and quarantine (QUARANTINE_AFTER); the quarantine routes are served when given. */
  readonly quarantine?: QuarantineStore;
  /** Changes the mass-removal guard holds for an administrator; the /guard/held routes are served when given. */
  readonly heldChanges?: HeldChangeStore;
}

export interface ComposeAppOptions {
  readonly config: Config;
  readonly ports: AppPorts;
  /** The request log and the sync log line. Default: no log. */
  readonly logger?: FastifyBaseLogger;
  /** The sync runner, when something besides the app runs syncs and takes group turns with it (the drift scheduler). Default: composeRunner's. */
  readonly runner?: SyncRunner;
}

/** The runner an app built from these ports uses: one per process (it owns the per-group queue). */
export function composeRunner(config: Config, ports: AppPorts, logger?: FastifyBaseLogger): SyncRunner {
  return createSyncRunner(config, {
    directory: ports.directory,
    backend: ports.backend,
    audit: ports.audit,
    metrics: ports.metrics.sync,
    clock: ports.clock ?? systemClock,
    log: logger,
    groupLock: ports.groupLock,
    quarantine: ports.quarantine,
    quarantineObserver: ports.metrics.quarantine,
  });
}

export async function composeApp({ config, ports, logger, runner: given }: ComposeAppOptions): Promise<FastifyInstance> {
  if (ports.quarantine) ports.metrics.quarantine?.watch(() => (ports.quarantine as QuarantineStore).countQuarantined());
  const runner = given ?? composeRunner(config, ports, logger);
  // The front door reads and lists through the same backend the syncs write through.
  let scimGroups: MembershipBackend | undefined;
  const backend: BackendSource =
    ports.backend ??
    (async () => (scimGroups ??= createScimGroupsBackend({ directory: ports.directory, maxDepth: config.maxGroupDepth, writeMode: config.writeMode, patchMaxOperations: config.patchMaxOperations })));
  const consistency =
    ports.quarantine || ports.heldChanges
      ? {
          quarantine: ports.quarantine && { store: ports.quarantine, observer: ports.metrics.quarantine },
          heldChanges: ports.heldChanges,
          heldChangeTtlMs: config.heldChangeTtl,
          newId: () => uuidv7(),
          newEventId: () => `msg_${uuidv7()}`,
        }
      : undefined;
  const subscriptions = ports.subscriptions && {
    store: ports.subscriptions,
    targets: ports.webhookPolicy ?? createWebhookTargetPolicy({ allowPrivate: config.webhookAllowPrivate }),
  };
  return buildApp({
    settings: config,
    parts: {
      runner,
      registry: ports.metrics.registry,
      idempotency: ports.idempotency ?? new MemoryIdempotencyStore(ports.clock ?? systemClock),
      auditQueries: isAuditTrail(ports.audit) ? ports.audit : undefined,
      subscriptions,
      clock: ports.clock,
      readiness: ports.readiness,
      backendStatus: ports.backendStatus,
      drift: ports.drift,
      scim: {
        backend,
        externalIds: ports.groupExternalIds ?? new MemoryGroupExternalIds(),
        ...(ports.nameLock ? { nameLock: ports.nameLock } : {}),
        // What the front door changes outside a sync is audited in the same chain, where the trail takes such records.
        ...(isChangeAudit(ports.audit) ? { changes: createChangeRecorder({ audit: ports.audit, clock: ports.clock ?? systemClock, newId: () => uuidv7() }) } : {}),
        ...(ports.userGateway ? { users: ports.userGateway } : {}),
        // A change the mass-removal guard refuses through the front door is held for an administrator.
        ...(ports.heldChanges
          ? {
              hold: (groupId, change, actor, requestId) =>
                holdOrPass({ store: ports.heldChanges as HeldChangeStore, clock: ports.clock ?? systemClock, newId: () => uuidv7(), newEventId: () => `msg_${uuidv7()}`, ttlMs: config.heldChangeTtl }, groupId, change, actor, requestId),
            }
          : {}),
      },
      consistency,
    },
    logger,
  });
}
