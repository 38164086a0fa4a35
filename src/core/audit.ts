/**
 * The audit trail's records and the events a sync emits. Every authenticated sync
 * attempt becomes one AuditEntry, whatever its outcome. Records form a SHA-256 chain:
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
  | 'interrupted'
  | 'write_not_applied'
  | 'group_busy'
  | 'queue_timeout'
  | 'cancelled';

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
  /** Member errors beyond the first 1,000, counted and not listed; absent when none were left out. */
  readonly errorsOmitted?: number;
  /** What the attribute sync after an applied write did per user; null when it did not run. */
  readonly attributes: AttributeSyncReport | null;
  /** ISO 8601. */
  readonly createdAt: string;
}

export interface AuditRecord extends AuditEntry {
  readonly prevHash: string;
  readonly hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

export { sha256Hex };

/** The hash of a record: SHA-256 over the canonical JSON of its content and the previous hash. */
export function chainHash(entry: AuditEntry, prevHash: string): string {
  return sha256Hex(canonicalJson({ ...entry, prevHash }));
}

export function sealRecord(entry: AuditEntry, prevHash: string): AuditRecord {
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
  add(record: AuditRecord): boolean {
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
