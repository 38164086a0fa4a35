/**
 * The store, opened as the configuration says (STORE): SQLite under DATA_DIR and its lock
 * (one process; the same store for the service and for the CLI, so that a CLI sync is
 * audited in the same chain), or PostgreSQL at DATABASE_URL (several replicas share it;
 * the data directory lock does not apply).
 */
import { join, resolve } from 'node:path';
import { lockDataDir as lock, type DataDirLock } from '../adapters/storage/data-dir-lock.js';
import { openPostgresStore } from '../adapters/storage/postgres/postgres-store.js';
import { DATABASE_FILE, openSqliteStore, type PruneResult, type SqliteStore } from '../adapters/storage/sqlite-store.js';
import { generateSecret } from '../adapters/webhooks/signing.js';
import type { Config } from '../config.js';
import type { ChainHead } from '../core/audit.js';
import type { AgentMapStore, AuditTrail, BackendChoiceStore, ChangeAudit, DriftStore, GroupExternalIds, HeldChangeStore, IdempotencyStore, MembershipJournal, Outbox, QuarantineStore, SubscriptionStore, SyncedGroups } from '../core/ports.js';

export type { DataDirLock, SqliteStore };

/** What the service needs of its store, whichever it is. */
export interface ServiceStore extends AuditTrail, ChangeAudit, SubscriptionStore, Outbox, IdempotencyStore {
  /** Where it is, for the log: the database file, or the PostgreSQL host and database (never the credentials). */
  readonly file: string;
  auditHead(): ChainHead | null | Promise<ChainHead | null>;
  pruneAudit(before: number, limit?: number): Promise<PruneResult>;
  ping(): Promise<void>;
  close(): void | Promise<void>;
  /** The membership backend MEMBERSHIP_BACKEND=auto chose. */
  readonly backendChoice: BackendChoiceStore;
  /** CXone's agent map (acd-groups, teams). */
  readonly agentMap: AgentMapStore;
  /** The groups this service syncs, from the audit trail (teams: member_in_other_team). */
  readonly syncedGroups: SyncedGroups;
  /** The admin-API write journal (acd-groups, teams). */
  readonly journal: MembershipJournal;
  /** The desired set each group was last synced to, and its drift (the drift scheduler, the drift routes). */
  readonly drift: DriftStore;
  /** The externalIds of the groups of the SCIM front door. */
  readonly groupExternalIds: GroupExternalIds;
  /** Each group's run of failures and its quarantine. */
  readonly quarantine: QuarantineStore;
  /** Changes the mass-removal guard holds for an administrator (the SCIM front door). */
  readonly heldChanges: HeldChangeStore;
}

/** Margin of the Idempotency-Key lease past SYNC_DEADLINE_MS + SHUTDOWN_TIMEOUT_MS: the last 10 s a shutdown waits, and the audit append. */
export const IDEMPOTENCY_LEASE_MARGIN_MS = 15_000;

/** How long a replica keeps a webhook delivery it claimed: well past an attempt's 5 s timeout. */
export const DELIVERY_LEASE_MS = 30_000;

/**
 * How long a PostgreSQL claim of an Idempotency-Key holds while its request runs: longer
 * than any sync may run (its deadline, then the shutdown timeout), so that only a replica
 * that died leaves a key behind, and only until then.
 */
export function idempotencyLeaseMs(config: Pick<Config, 'syncDeadlineMs' | 'shutdownTimeoutMs'>): number {
  return config.syncDeadlineMs + config.shutdownTimeoutMs + IDEMPOTENCY_LEASE_MARGIN_MS;
}

/**
 * The service's store as STORE says. Throws StorageError with a one-line reason (never
 * DATABASE_URL itself). The caller holds DATA_DIR's lock first when it is SQLite.
 */
export async function openServiceStore(config: Readonly<Config>, options: { readonly onHead?: (head: ChainHead) => void } = {}): Promise<ServiceStore> {
  if (config.store === 'sqlite') return openStore(config, options);
  return openPostgresStore({
    connectionString: config.databaseUrl as string,
    staticSubscribers: config.webhookUrls,
    adminActors: config.adminApiTokens.map((t) => t.name),
    auditKey: config.auditHmacKey,
    newSecret: generateSecret,
    onHead: options.onHead,
    idempotencyLeaseMs: idempotencyLeaseMs(config),
    deliveryLeaseMs: DELIVERY_LEASE_MS,
  });
}

/**
 * DATA_DIR's lock, held until released or until the process ends (the kernel drops it on
 * SIGKILL). Throws DataDirLockedError while another process holds it, StorageError when it
 * cannot be made.
 */
export function lockDataDir(config: Readonly<Config>): DataDirLock {
  return lock(config.dataDir);
}

/** Opens the store (creating it if need be; `readonly`: an existing one, for reading only). Throws StorageError with a one-line reason. */
export function openStore(config: Readonly<Config>, options: { readonly readonly?: boolean; readonly onHead?: (head: ChainHead) => void } = {}): SqliteStore {
  return openSqliteStore({
    dataDir: config.dataDir,
    staticSubscribers: config.webhookUrls,
    adminActors: config.adminApiTokens.map((t) => t.name),
    auditKey: config.auditHmacKey,
    newSecret: generateSecret,
    readonly: options.readonly,
    onHead: options.onHead,
  });
}

/** The database file under DATA_DIR, whether or not it exists. */
export function databaseFile(config: Readonly<Config>): string {
  return join(resolve(config.dataDir), DATABASE_FILE);
}
