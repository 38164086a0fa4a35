/**
 * The audit trail's records and the events a sync emits. Every authenticated sync
 * attempt becomes one AuditEntry, whatever its outcome; every webhook subscription
 * created or deleted becomes a SubscriptionAuditEntry in the same chain. Records form a
 * hash chain: each hash covers the record's content and the previous hash (SHA-256, or
 * HMAC-SHA256 under AUDIT_HMAC_KEY), so an edited or deleted record breaks every link
 * after it; sequence numbers, the remembered head and the counters catch deleted newest
 * records and an emptied trail (GET /audit/verify).
 */
import { createHmac } from 'node:crypto';
import { canonicalJson, sha256Hex } from './canonical-json.js';
import type { MemberError } from './errors.js';
import type { MemberRef } from './membership.js';
import type { AttributeSyncReport, MembershipBackendName, SyncOutcomeStatus, WriteMode } from './outcome.js';

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
  /**
   * The membership backend the sync ran through. Absent from records written before it was
   * recorded (they verify as they were sealed: the hash covers the fields a record has), and
   * from syncs that ended before one was chosen (MEMBERSHIP_BACKEND=auto not yet decided).
   */
  readonly backend?: MembershipBackendName;
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

/**
 * How a change to a group's standing is recorded, each in the same transaction as the
 * change and its event: a group entering quarantine (after the failing sync that tipped it),
 * a probe that found a quarantined group readable, its release (by hand, or by a good sync
 * in half-open); a change the mass-removal guard held, an administrator's decision on it,
 * and its expiry.
 */
export const QUARANTINE_CHANGE_STATUSES = [
  'quarantine_entered',
  'quarantine_half_open',
  'quarantine_released',
  'held_change_created',
  'held_change_approved',
  'held_change_rejected',
  'held_change_expired',
] as const;
export type QuarantineChange = (typeof QUARANTINE_CHANGE_STATUSES)[number];

/**
 * A change to a group's quarantine (./quarantine.ts) or to a held change
 * (./held-changes.ts), in the same chain, with a record of its own: the sync that caused it
 * (if any) has its own record besides.
 */
export interface QuarantineAuditEntry {
  /** The record's own id (UUIDv7); no sync is involved. */
  readonly syncId: string;
  readonly requestId: string;
  /** The caller whose sync tipped it or whose change was held, the administrator who released it or decided the held change, `quarantine-probe` or `held-change-expiry`. */
  readonly actor: string;
  readonly groupId: string;
  readonly status: QuarantineChange;
  /** Why, in words. */
  readonly reason: string;
  /** ISO 8601. */
  readonly createdAt: string;
}

export interface QuarantineAuditRecord extends QuarantineAuditEntry {
  readonly prevHash: string;
  readonly hash: string;
}

/**
 * What the SCIM front door changes outside a sync: a group created (its members follow in
 * the sync's own record), a group's externalId kept or forgotten (it lives in the service's
 * store), a user created, replaced, patched or deactivated in CXone.
 */
export const FRONT_DOOR_CHANGES = ['scim_group_created', 'scim_group_external_id_set', 'scim_user_created', 'scim_user_replaced', 'scim_user_patched', 'scim_user_deactivated'] as const;
export type FrontDoorChange = (typeof FRONT_DOOR_CHANGES)[number];

/**
 * A change the SCIM front door made (or tried) outside a sync, in the same chain. A user
 * record names the attributes the request set, never their values (names, e-mail
 * addresses, passwords, roles: personal or secret, and the trail cannot be scrubbed). A
 * group record carries its displayName and externalId: identifiers of the group that an
 * identity provider chose, neither personal nor secret.
 */
export interface FrontDoorAuditEntry {
  /** The record's own id (UUIDv7); no sync is involved. */
  readonly syncId: string;
  readonly requestId: string;
  /** The name of the SCIM token that asked. */
  readonly actor: string;
  readonly status: FrontDoorChange;
  readonly resourceType: 'Group' | 'User';
  /** The group's or user's id; null when a create failed before one was given. */
  readonly resourceId: string | null;
  /** Group records with an id: the group's (GET /audit?groupId= finds them). */
  readonly groupId?: string;
  /** The attributes the request set (users: their names only, sub-attributes and filters left out), sorted. */
  readonly attributes: readonly string[];
  /** Group records: the group's name as created. */
  readonly displayName?: string;
  /** Group records: the externalId kept (null: forgotten). */
  readonly externalId?: string | null;
  /** applied: the upstream (or the store, for an externalId) holds the change; failed: it was refused or failed (`error`). */
  readonly outcome: 'applied' | 'failed';
  /** The code the request was answered with, when it failed. */
  readonly error?: string;
  /** ISO 8601. */
  readonly createdAt: string;
}

export interface FrontDoorAuditRecord extends FrontDoorAuditEntry {
  readonly prevHash: string;
  readonly hash: string;
}

const FRONT_DOOR_CHANGE_SET: ReadonlySet<string> = new Set<string>(FRONT_DOOR_CHANGES);

/** Whether a record (or entry) is a change of the SCIM front door made outside a sync. */
export function isFrontDoorChange(status: string): status is FrontDoorChange {
  return FRONT_DOOR_CHANGE_SET.has(status);
}

/** Anything the trail holds: a sync attempt, a subscription change, a quarantine change or a front-door change. */
export type AnyAuditEntry = AuditEntry | SubscriptionAuditEntry | QuarantineAuditEntry | FrontDoorAuditEntry;
export type AnyAuditRecord = AuditRecord | SubscriptionAuditRecord | QuarantineAuditRecord | FrontDoorAuditRecord;

/**
 * The group id a stored record reads back from its group_id column: the column overlays
 * the JSON wherever either has one, so an edit to either shows in the hash; records
 * without a group (subscription changes, user changes, a failed group create) keep it empty.
 */
export function storedGroupId(entry: object, column: string): { readonly groupId?: string } {
  return 'groupId' in entry || column !== '' ? { groupId: column } : {};
}

const QUARANTINE_CHANGES: ReadonlySet<string> = new Set<string>(QUARANTINE_CHANGE_STATUSES);

/** Whether a record (or entry) is a quarantine change rather than a sync attempt. */
export function isQuarantineChange(status: string): status is QuarantineChange {
  return QUARANTINE_CHANGES.has(status);
}

/** Whether a record is the record of a sync (not a subscription, quarantine or front-door change). */
export function isSyncRecord(status: string): boolean {
  return !isSubscriptionChange(status) && !isQuarantineChange(status) && !isFrontDoorChange(status);
}

const SUBSCRIPTION_CHANGES: ReadonlySet<string> = new Set<SubscriptionChange>(['subscription_created', 'subscription_deleted']);

/** Whether a record (or entry) is a subscription change rather than a sync attempt. */
export function isSubscriptionChange(status: string): status is SubscriptionChange {
  return SUBSCRIPTION_CHANGES.has(status);
}

export const GENESIS_HASH = '0'.repeat(64);

export { sha256Hex };

/** HMAC-SHA256 (hex) of `text` under `key`: the record hash of a keyed chain (AUDIT_HMAC_KEY). */
export function hmacSha256Hex(key: string, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('hex');
}

/**
 * The hash of a record: over the canonical JSON of its content and the previous hash,
 * SHA-256 for a plain chain, HMAC-SHA256 under `key` for a keyed one (rewriting a keyed
 * record, or re-sealing it as plain, needs the key).
 */
export function chainHash(entry: AnyAuditEntry, prevHash: string, key?: string): string {
  const text = canonicalJson({ ...entry, prevHash });
  return key === undefined ? sha256Hex(text) : hmacSha256Hex(key, text);
}

export function sealRecord<E extends AnyAuditEntry>(entry: E, prevHash: string, key?: string): E & { readonly prevHash: string; readonly hash: string } {
  return { ...entry, prevHash, hash: chainHash(entry, prevHash, key) };
}

/** The newest record of the chain, as the store remembers it apart from the records. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/** Where the kept records begin once older ones were pruned (AUDIT_RETENTION_DAYS). */
export interface ChainCheckpoint {
  /** The sequence number of the oldest record kept. */
  readonly firstSeq: number;
  /** The hash that record continues from: the hash of the newest pruned record. */
  readonly prevHash: string;
  /** Records pruned, by this checkpoint and those before it. */
  readonly pruned: number;
  /** ISO 8601. */
  readonly createdAt: string;
}

/** The MACs that bind the store's own notes on the chain to AUDIT_HMAC_KEY. */
export const chainMacs = {
  /** The key anchor: from this sequence number on, every record is keyed. */
  /** `from`: the oldest record kept when the key was anchored (1 unless records had been pruned). */
  anchor: (key: string, since: number, from: number) => hmacSha256Hex(key, `cxone-scim-sync/audit/keyed-since/${since}/from/${from}`),
  head: (key: string, head: ChainHead) => hmacSha256Hex(key, `cxone-scim-sync/audit/head/${head.seq}/${head.hash}`),
  checkpoint: (key: string, cp: ChainCheckpoint) => hmacSha256Hex(key, `cxone-scim-sync/audit/checkpoint/${cp.firstSeq}/${cp.prevHash}/${cp.pruned}/${cp.createdAt}`),
};

/** What broke the chain; `reason` says it in words. */
export type ChainFailure =
  /** A record's content does not match its hash. */
  | 'edited'
  /** A record's prevHash is not the hash of the record before it. */
  | 'relinked'
  /** Sequence numbers are missing between two records (or before the first). */
  | 'gap'
  /** Records exist, but the remembered head does not. */
  | 'head_missing'
  /** The chain ends before the remembered head: the newest records were deleted. */
  | 'truncated'
  /** No records are left, but the counters say there were some. */
  | 'emptied'
  /** A key is given, but the trail carries no valid key anchor: never keyed, or re-sealed without the key (a downgrade). */
  | 'not_keyed'
  /** The key anchor, the head or a checkpoint does not match the key: a wrong key, or forged. */
  | 'key_mismatch'
  /** The checkpoint of pruned records is not where the kept records begin. */
  | 'checkpoint_invalid'
  /** The store found the chain cut while appending (its head was gone) and continued from what was left. */
  | 'cut';

export type ChainVerdict =
  | {
      readonly ok: true;
      readonly records: number;
      /** Keyed records whose content could not be checked, because no key was given (their links were). */
      readonly unverifiedKeyedRecords?: number;
      /** Present when older records were pruned: where the kept chain begins. */
      readonly checkpoint?: ChainCheckpoint;
    }
  | { readonly ok: false; readonly records: number; readonly failure: ChainFailure; readonly firstBrokenSyncId: string; readonly reason: string };

export interface ChainVerifierOptions {
  /** Where the walk begins: the newest checkpoint, or the genesis (sequence 1, GENESIS_HASH). */
  readonly start?: { readonly seq: number; readonly prevHash: string };
  /** The first keyed sequence number (the key anchor); undefined when the chain was never keyed. */
  readonly keyedSince?: number;
  /** AUDIT_HMAC_KEY: without it, keyed records are checked for their links only. */
  readonly key?: string;
}

/** Walks records oldest first; feed them one at a time so a long chain is never held in memory. */
export class ChainVerifier {
  private expectedPrev: string;
  private expectedSeq: number;
  private count = 0;
  private unverified = 0;
  private broken: ChainVerdict | null = null;

  constructor(private readonly options: ChainVerifierOptions = {}) {
    this.expectedPrev = options.start?.prevHash ?? GENESIS_HASH;
    this.expectedSeq = options.start?.seq ?? 1;
  }

  private fail(failure: ChainFailure, syncId: string, reason: string): false {
    this.broken = { ok: false, records: this.count, failure, firstBrokenSyncId: syncId, reason };
    return false;
  }

  /** Returns false once the chain is broken (the verdict is then final). `seq` is the record's sequence number (default: the next one). */
  add(record: AnyAuditRecord, seq: number = this.expectedSeq): boolean {
    if (this.broken) return false;
    this.count++;
    const { prevHash, hash, ...entry } = record;
    if (seq !== this.expectedSeq) {
      const missing = seq - this.expectedSeq === 1 ? `record ${this.expectedSeq} is` : `records ${this.expectedSeq} to ${seq - 1} are`;
      return this.fail('gap', record.syncId, `a gap in the sequence: ${missing} missing (deleted) before record ${seq}`);
    }
    if (prevHash !== this.expectedPrev) {
      return this.fail('relinked', record.syncId, `record ${seq}: prevHash does not match the previous record: a record before it was deleted, inserted or edited`);
    }
    const keyed = this.options.keyedSince !== undefined && seq >= this.options.keyedSince;
    if (keyed && this.options.key === undefined) this.unverified++;
    else if (chainHash(entry, prevHash, keyed ? this.options.key : undefined) !== hash) {
      return this.fail('edited', record.syncId, `record ${seq}: the record content does not match its ${keyed ? 'keyed hash (HMAC)' : 'hash'}: it was edited${keyed ? ', or re-sealed without the key' : ''}`);
    }
    this.expectedPrev = hash;
    this.expectedSeq = seq + 1;
    return true;
  }

  /** The sequence number and hash the chain ends on so far. */
  get end(): ChainHead {
    return { seq: this.expectedSeq - 1, hash: this.expectedPrev };
  }

  /**
   * The verdict. `head` is the chain head the store remembers (null: it is missing), which
   * catches deleted newest records; `counter` the highest sequence number ever issued.
   * Called without arguments, only the records fed are judged.
   */
  verdict(head?: ChainHead | null, counter = 0): ChainVerdict {
    if (this.broken) return this.broken;
    if (head !== undefined) {
      const last = this.end;
      if (head === null) {
        if (this.count > 0) return { ok: false, records: this.count, failure: 'head_missing', firstBrokenSyncId: '(end of chain)', reason: `the remembered chain head is missing, with ${this.count} records left: it was deleted, and the newest records may have gone with it` };
        if (counter > 0 || last.seq > 0) return { ok: false, records: 0, failure: 'emptied', firstBrokenSyncId: '(end of chain)', reason: `the trail is empty, but ${Math.max(counter, last.seq)} records were written: every record and the head were deleted` };
      } else if (head.seq !== last.seq || head.hash !== last.hash) {
        if (this.count === 0 && head.seq > last.seq) return { ok: false, records: 0, failure: 'emptied', firstBrokenSyncId: '(end of chain)', reason: `the trail is empty, but its head is record ${head.seq}: the records were deleted` };
        const what = head.seq > last.seq ? `records ${last.seq + 1} to ${head.seq} were deleted` : 'it does not match the newest record';
        return { ok: false, records: this.count, failure: 'truncated', firstBrokenSyncId: '(end of chain)', reason: `the newest records were deleted: the chain ends at record ${last.seq} before the remembered head, record ${head.seq} (${what})` };
      }
    }
    return { ok: true, records: this.count, ...(this.unverified > 0 ? { unverifiedKeyedRecords: this.unverified } : {}) };
  }
}

/**
 * The events the service emits (a sync; the drift scheduler: a drift found, gone, or a heal
 * that failed for good; a group entering or leaving quarantine), and the types a webhook
 * subscription may ask for.
 */
export const EVENT_TYPES = [
  'group.sync.completed',
  'group.sync.failed',
  'user.attributes.synced',
  'group.drift.detected',
  'group.drift.resolved',
  'group.drift.heal_failed',
  'group.quarantined',
  'group.quarantine.released',
  'group.change.held',
  'group.change.approved',
  'group.change.rejected',
  'group.change.expired',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

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
