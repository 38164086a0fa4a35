/**
 * The audit trail's records and the events a sync emits. Every authenticated sync
 * attempt becomes one AuditEntry, whatever its outcome; every webhook subscription
 * created or deleted becomes a SubscriptionAuditEntry in the same chain. Records form a SHA-256 chain:
 * each hash covers the record's content and the previous hash, so an edited or deleted
 * record breaks every link after it (GET /audit/verify).
 */
import type { AttributeSyncReport } from './attribute-sync.js';
import { canonicalJson, sha256Hex } from './canonical-json.js';
import type { MemberError } from './errors.js';
import type { MemberRef } from './membership.js';
import type { SyncStatus } from './sync-status.js';
import type { WriteMode } from './write-mode.js';

/** How a sync attempt ended: a success status, or the code of the error it answered with. */
export type SyncOutcomeStatus =
  | SyncStatus
  | 'validation_failed'
  | 'conflict'
  | 'group_not_found'
  | 'upstream_error'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'internal_error'
  | 'interrupted';

export interface AuditError {
  readonly code: string;
  readonly message: string;
  readonly member?: MemberRef;
}

export interface AuditEntry {
  readonly syncId: string;
  readonly requestId: string;
  readonly actor: string;
  readonly groupId: string;
  readonly status: SyncOutcomeStatus;
  readonly added: readonly MemberRef[];
  readonly removed: readonly MemberRef[];
  readonly memberCount: number;
  /** SHA-256 (hex) of the canonical JSON of the resource that was PUT, or would have been; of the request body when no group was read. */
  readonly payloadSha256: string;
  readonly etagBefore: string | null;
  readonly etagAfter: string | null;
  /** put or patch; null when nothing was written. */
  readonly writeMode: WriteMode | null;
  readonly latencyMs: number;
  readonly upstreamRequests: number;
  readonly errors: readonly AuditError[];
  /** What the attribute sync after an applied write did per user; null when it did not run. */
  readonly attributes: AttributeSyncReport | null;
  /** ISO 8601. */
  readonly createdAt: string;
}

export interface AuditRecord extends AuditEntry {
  readonly prevHash: string;
  readonly hash: string;
}

/** How a change to the webhook subscriptions is recorded in the trail. */
export type SubscriptionChange = 'subscription_created' | 'subscription_deleted';

/**
 * A webhook subscription created or deleted, in the same hash chain as the syncs. Its URL
 * is not recorded: query strings, credentials and often paths hold the receiver's secret,
 * and the trail cannot be scrubbed. `target` (scheme, host, port) says where events went,
 * `urlSha256` identifies the exact URL for whoever knows it.
 */
export interface SubscriptionAuditEntry {
  /** The record's own id (UUIDv7); no sync is involved. Named like a sync's so that the chain has one key. */
  readonly syncId: string;
  readonly requestId: string;
  /** Who created or deleted it (an administrator may delete another caller's). */
  readonly actor: string;
  readonly status: SubscriptionChange;
  readonly subscriptionId: string;
  /** Whose subscription it is (null: created before owners were recorded). */
  readonly owner: string | null;
  readonly events: readonly EventType[];
  /** The URL's origin: scheme, host and port. */
  readonly target: string;
  /** SHA-256 (hex) of the full URL as subscribed. */
  readonly urlSha256: string;
  /** ISO 8601. */
  readonly createdAt: string;
}

export interface SubscriptionAuditRecord extends SubscriptionAuditEntry {
  readonly prevHash: string;
  readonly hash: string;
}

/** Anything the trail holds: a sync attempt or a subscription change. */
export type AnyAuditEntry = AuditEntry | SubscriptionAuditEntry;
export type AnyAuditRecord = AuditRecord | SubscriptionAuditRecord;

const SUBSCRIPTION_CHANGES: ReadonlySet<string> = new Set<SubscriptionChange>(['subscription_created', 'subscription_deleted']);

/** Whether a record (or entry) is a subscription change rather than a sync attempt. */
export function isSubscriptionChange(status: string): status is SubscriptionChange {
  return SUBSCRIPTION_CHANGES.has(status);
}

export const GENESIS_HASH = '0'.repeat(64);

export { sha256Hex };

/** The hash of a record: SHA-256 over the canonical JSON of its content and the previous hash. */
export function chainHash(entry: AnyAuditEntry, prevHash: string): string {
  return sha256Hex(canonicalJson({ ...entry, prevHash }));
}

export function sealRecord<E extends AnyAuditEntry>(entry: E, prevHash: string): E & { readonly prevHash: string; readonly hash: string } {
  return { ...entry, prevHash, hash: chainHash(entry, prevHash) };
}

export type ChainVerdict =
  | { readonly ok: true; readonly records: number }
  | { readonly ok: false; readonly records: number; readonly firstBrokenSyncId: string; readonly reason: string };

/** Walks records oldest first; feed them one at a time so a long chain is never held in memory. */
export class ChainVerifier {
  private expectedPrev = GENESIS_HASH;
  private count = 0;
  private broken: ChainVerdict | null = null;

  /** Returns false once the chain is broken (the verdict is then final). */
  add(record: AnyAuditRecord): boolean {
    if (this.broken) return false;
    this.count++;
    const { prevHash, hash, ...entry } = record;
    if (prevHash !== this.expectedPrev) {
      this.broken = { ok: false, records: this.count, firstBrokenSyncId: record.syncId, reason: 'prevHash does not match the previous record: a record before it was deleted, inserted or edited' };
      return false;
    }
    if (chainHash(entry, prevHash) !== hash) {
      this.broken = { ok: false, records: this.count, firstBrokenSyncId: record.syncId, reason: 'the record content does not match its hash: it was edited' };
      return false;
    }
    this.expectedPrev = hash;
    return true;
  }

  /** The verdict; `lastHash`, when given, is the chain head the store remembers (catches deleted tail records). */
  verdict(lastHash?: string): ChainVerdict {
    if (this.broken) return this.broken;
    if (lastHash !== undefined && lastHash !== this.expectedPrev) {
      return { ok: false, records: this.count, firstBrokenSyncId: '(end of chain)', reason: 'the newest records were deleted: the chain ends before the remembered head' };
    }
    return { ok: true, records: this.count };
  }
}

export type EventType = 'group.sync.completed' | 'group.sync.failed' | 'user.attributes.synced';

/** A fact worth telling subscribers; written to the outbox in the same transaction as its audit record. */
export interface DomainEvent {
  /** Unique per event, stable across delivery attempts (the webhook-id). */
  readonly id: string;
  readonly type: EventType;
  /** ISO 8601. */
  readonly timestamp: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export function toAuditErrors(errors: readonly MemberError[]): AuditError[] {
  return errors.map((e) => ({ code: e.code, message: e.message, member: e.member }));
}
