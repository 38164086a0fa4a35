/**
 * The rows of the tables both stores have kept from the start (audit records and their
 * checkpoints, the chain's notes in `meta`, subscriptions, the outbox's deliveries and
 * attempts, idempotency keys), as both stores read them, and what they become.
 *
 * The seam between the two: the PostgreSQL pool parses bigint columns (sequence numbers,
 * epoch milliseconds) into numbers (`types` in ./postgres/postgres-store.ts), where SQLite
 * hands back its integers as numbers already; timestamps the rows carry as ISO text and
 * JSON columns are text in both. So one row shape serves both; no statement runs in this
 * module.
 */
import { v7 as uuidv7 } from 'uuid';
import {
  chainMacs,
  ChainVerifier,
  GENESIS_HASH,
  sha256Hex,
  storedGroupId,
  type AnyAuditEntry,
  type AnyAuditRecord,
  type AuditEntry,
  type AuditRecord,
  type ChainCheckpoint,
  type ChainFailure,
  type ChainHead,
  type ChainVerdict,
  type DomainEvent,
  type EventType,
  type SubscriptionAuditEntry,
  type SubscriptionChange,
} from '../../core/audit.js';
import type { ChangeRequest, Delivery, DeliveryStatus, IdempotencyClaim, PendingDelivery, StoredResponse, Subscription, Viewer } from '../../core/ports.js';

// ---------------------------------------------------------------- the audit chain

export interface AuditRow {
  seq: number;
  sync_id: string;
  group_id: string;
  status: string;
  created_at: string;
  entry: string;
  prev_hash: string;
  hash: string;
  actor: string | null;
}

export interface CheckpointRow {
  id: number;
  first_seq: number;
  prev_hash: string;
  pruned: number;
  created_at: string;
  mac: string | null;
}

/** The key anchor (meta `audit_key_anchor`): from record `since` on, every record is keyed. */
export interface KeyAnchor {
  readonly since: number;
  readonly from: number;
  readonly mac: string;
}

/** A break in the chain the store noticed when appending (meta `audit_breaks`). */
export interface ChainBreak {
  readonly seq: number;
  readonly failure: ChainFailure;
  readonly reason: string;
}

/** The key anchor as stored; an unreadable one matches no key. */
export function parseAnchor(raw: string | undefined): KeyAnchor | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed = JSON.parse(raw) as { since?: unknown; from?: unknown; mac?: unknown };
    if (typeof parsed.since === 'number' && typeof parsed.from === 'number' && typeof parsed.mac === 'string') return { since: parsed.since, from: parsed.from, mac: parsed.mac };
  } catch {
    // unreadable: it matches no key
  }
  return { since: 1, from: 1, mac: '' };
}

/** The breaks noted so far; an unreadable note is itself a break. */
export function parseBreaks(raw: string | undefined): ChainBreak[] {
  if (raw === undefined) return [];
  try {
    return JSON.parse(raw) as ChainBreak[];
  } catch {
    return [{ seq: 0, failure: 'cut', reason: 'the record of earlier breaks in the chain is unreadable' }];
  }
}

/**
 * The break to note when record `seq` is appended without a remembered head although the
 * trail held records (`last`, the newest left) or had issued some (`counter`).
 */
export function chainCut(seq: number, last: { seq: number } | undefined, counter: number): ChainBreak {
  return {
    seq,
    failure: last === undefined ? 'emptied' : 'head_missing',
    reason:
      last === undefined
        ? `record ${seq} was appended to an emptied trail (${counter} records had been written; the records and the head were deleted)`
        : `record ${seq} was appended after the remembered chain head had been deleted (the newest record left was ${last.seq}; records after it may have been deleted)`,
  };
}

export function toCheckpoint(row: CheckpointRow): ChainCheckpoint {
  return { firstSeq: row.first_seq, prevHash: row.prev_hash, pruned: row.pruned, createdAt: row.created_at };
}

/**
 * The record as stored: the entry JSON with the indexed columns read over it, so an edit
 * to either shows (a subscription change has no group; its group_id is not read back).
 */
export function toRecord(row: AuditRow): AnyAuditRecord {
  const entry = JSON.parse(row.entry) as AnyAuditEntry;
  const group = storedGroupId(entry, row.group_id);
  return { ...entry, ...group, syncId: row.sync_id, status: row.status as AuditEntry['status'], createdAt: row.created_at, prevHash: row.prev_hash, hash: row.hash } as AnyAuditRecord;
}

/**
 * Like toRecord, but a row whose JSON no longer parses still reaches the verifier (and
 * fails its hash), and so does one whose `actor` column (what reads of one's own records
 * filter on) no longer says what its JSON says.
 */
export function toVerifiable(row: AuditRow): AnyAuditRecord {
  try {
    const record = toRecord(row);
    if (row.actor !== null && row.actor !== record.actor) return { ...record, actorColumn: row.actor } as unknown as AnyAuditRecord;
    return record;
  } catch {
    return { syncId: row.sync_id, prevHash: row.prev_hash, hash: row.hash, unreadable: row.entry } as unknown as AuditRecord;
  }
}

/** A verdict on the store's notes about the chain (anchor, checkpoint, head), before any record is walked. */
export function fail(failure: ChainFailure, reason: string): ChainVerdict {
  return { ok: false, records: 0, failure, firstBrokenSyncId: '(chain metadata)', reason };
}

/** What a store notes about its chain besides the records, read in the same snapshot as them. */
export interface ChainNotes {
  readonly anchor: KeyAnchor | undefined;
  readonly checkpointRow: CheckpointRow | undefined;
  readonly headHash: string | undefined;
  readonly headSeq: string | undefined;
  readonly headMac: string | undefined;
  /** The highest sequence number ever issued. */
  readonly counter: number;
}

/**
 * Checks the chain's notes against AUDIT_HMAC_KEY (`auditKey`) before the records are
 * walked: a failed verdict, or the checkpoint the walk starts from and the head it must end at.
 */
export function checkChainNotes(notes: ChainNotes, auditKey: string | undefined): { readonly verdict: ChainVerdict } | { readonly checkpoint: ChainCheckpoint | undefined; readonly head: ChainHead | null } {
  const { anchor, checkpointRow, headHash, headSeq, headMac, counter } = notes;
  if (anchor === undefined && auditKey !== undefined) {
    return { verdict: fail('not_keyed', 'AUDIT_HMAC_KEY is set, but the trail carries no key anchor: it was never sealed with the key (start the service with it once), or a keyed trail was re-sealed without it and the anchor deleted') };
  }
  if (anchor !== undefined && auditKey !== undefined && anchor.mac !== chainMacs.anchor(auditKey, anchor.since, anchor.from)) {
    return { verdict: fail('key_mismatch', 'the key anchor does not match AUDIT_HMAC_KEY: a wrong key, or the anchor was forged') };
  }
  const checkpoint = checkpointRow && toCheckpoint(checkpointRow);
  if (checkpoint && checkpointRow && anchor !== undefined && auditKey !== undefined) {
    const signed = checkpointRow.mac === chainMacs.checkpoint(auditKey, checkpoint);
    if (!signed && checkpoint.firstSeq !== anchor.from) {
      return { verdict: fail('checkpoint_invalid', `the checkpoint that the kept records begin from (record ${checkpoint.firstSeq}) is not sealed with AUDIT_HMAC_KEY: records were deleted and the checkpoint forged`) };
    }
  }
  const head = headHash === undefined ? null : { seq: headSeq === undefined ? counter : Number(headSeq), hash: headHash };
  if (head && anchor !== undefined && auditKey !== undefined && head.seq >= anchor.since && headMac !== chainMacs.head(auditKey, head)) {
    return { verdict: fail('key_mismatch', `the remembered chain head (record ${head.seq}) is not sealed with AUDIT_HMAC_KEY: it was rewritten`) };
  }
  return { checkpoint, head };
}

/** Where the kept chain begins: after the newest checkpoint, or at the genesis. */
export function chainStart(checkpoint: CheckpointRow | undefined): { seq: number; prevHash: string } {
  return checkpoint ? { seq: checkpoint.first_seq, prevHash: checkpoint.prev_hash } : { seq: 1, prevHash: GENESIS_HASH };
}

/** The leading rows of `rows` (oldest first) created before `cutoff` (ISO time): what a pruning takes. */
export function createdBefore(rows: readonly AuditRow[], cutoff: string): AuditRow[] {
  const old: AuditRow[] = [];
  for (const row of rows) {
    if (row.created_at >= cutoff) break;
    old.push(row);
  }
  return old;
}

/**
 * Pruning must not erase evidence: why the rows to prune (oldest first, from `start`) may
 * not be pruned because they do not verify, or undefined when they do.
 */
export function pruneRefusal(rows: readonly AuditRow[], start: { seq: number; prevHash: string }, keyedSince: number | undefined, key: string | undefined): string | undefined {
  const verifier = new ChainVerifier({ start, keyedSince, key });
  for (const row of rows) {
    if (!verifier.add(toVerifiable(row), row.seq)) {
      const verdict = verifier.verdict();
      return verdict.ok ? 'the records do not verify' : verdict.reason;
    }
  }
  return undefined;
}

/** The checkpoint a pruning of `pruned` rows up to `newest` leaves at `now` (epoch ms), counting those `previous` pruned. */
export function nextCheckpoint(previous: CheckpointRow | undefined, newest: AuditRow, pruned: number, now: number): ChainCheckpoint {
  return { firstSeq: newest.seq + 1, prevHash: newest.hash, pruned: (previous?.pruned ?? 0) + pruned, createdAt: new Date(now).toISOString() };
}

/** The verdict on a chain whose records verify but where the store noted a break (`cut`); `syncId` is the record at the break, if any is left. */
export function cutVerdict(cut: ChainBreak, records: number, syncId: string | undefined): ChainVerdict {
  return { ok: false, records, failure: cut.failure, firstBrokenSyncId: syncId ?? '(end of chain)', reason: cut.reason };
}

// ---------------------------------------------------------------- subscriptions

/** The columns a SubscriptionRow is read from. */
export const SUBSCRIPTION_COLUMNS = 'id, owner, url, events, description, created_at, disabled_at';

export interface SubscriptionRow {
  id: string;
  owner: string | null;
  url: string;
  events: string;
  description: string | null;
  created_at: string;
  disabled_at: string | null;
}

export function toSubscription(row: SubscriptionRow): Subscription {
  return {
    id: row.id,
    owner: row.owner,
    url: row.url,
    events: JSON.parse(row.events) as EventType[],
    description: row.description,
    createdAt: row.created_at,
    disabled: row.disabled_at !== null,
  };
}

/** Whether `viewer` may see (and manage) a subscription of `owner`: its own, or any for an administrator; no viewer sees all. */
export function sees(viewer: Viewer | undefined, owner: string | null): boolean {
  return viewer === undefined || viewer.admin || (owner !== null && owner === viewer.actor);
}

/** The audit record of a subscription change at `now` (epoch ms); the URL only as its origin and its hash (its query, path or credentials may be secret). */
export function subscriptionChangeEntry(status: SubscriptionChange, subscription: Subscription, by: ChangeRequest, now: number): SubscriptionAuditEntry {
  return {
    syncId: uuidv7(),
    requestId: by.requestId,
    actor: by.actor,
    status,
    subscriptionId: subscription.id,
    owner: subscription.owner,
    events: [...subscription.events],
    target: new URL(subscription.url).origin,
    urlSha256: sha256Hex(subscription.url),
    createdAt: new Date(now).toISOString(),
  };
}

// ---------------------------------------------------------------- the outbox

/** An active subscription as the outbox reads it when queueing events. */
export interface SubscriberRow {
  id: string;
  url: string;
  events: string;
  owner: string | null;
}

/**
 * The subscriptions that hear of what concerns `actor` (its syncs, the drift of its
 * groups): its own, an administrator's (`adminActors`) and one without an owner.
 */
export function subscribersOf(rows: readonly SubscriberRow[], actor: string, adminActors: ReadonlySet<string>): { id: string; url: string; events: EventType[] }[] {
  const hears = (owner: string | null) => owner === null || adminActors.has(owner) || owner === actor;
  return rows.filter((s) => hears(s.owner)).map((s) => ({ id: s.id, url: s.url, events: JSON.parse(s.events) as EventType[] }));
}

/** Tells the dispatcher's listeners that deliveries were queued; a listener only wakes the dispatcher, so its failure fails nothing. */
export function wakeListeners(listeners: Iterable<() => void>): void {
  for (const listener of listeners) {
    try {
      listener();
    } catch {
      // A listener only wakes the dispatcher; it must not fail the sync.
    }
  }
}

/** The body an outbox event is stored and delivered with. */
export function eventBody(event: DomainEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
}

export interface DeliveryRow {
  id: number;
  event_id: string;
  type: string;
  status: string;
  next_attempt_at: number | null;
  created_at: number;
}

export interface AttemptRow {
  delivery_id: number;
  attempt: number;
  at: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export interface PendingRow {
  id: number;
  event_id: string;
  type: string;
  body: string;
  url: string;
  subscription_id: string | null;
  secret: string | null;
  attempts: number;
}

/** A delivery with its attempts (those of `row`, in order). */
export function toDelivery(row: DeliveryRow, attempts: readonly AttemptRow[]): Delivery {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.type as EventType,
    status: row.status as DeliveryStatus,
    nextAttemptAt: row.status === 'pending' && row.next_attempt_at !== null ? new Date(row.next_attempt_at).toISOString() : null,
    createdAt: new Date(row.created_at).toISOString(),
    attempts: attempts.map((a) => ({ attempt: a.attempt, at: new Date(a.at).toISOString(), statusCode: a.status_code, error: a.error, durationMs: a.duration_ms })),
  };
}

export function toPending(row: PendingRow): PendingDelivery {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.type as EventType,
    body: row.body,
    url: row.url,
    secret: row.secret,
    subscriptionId: row.subscription_id,
    attempts: row.attempts,
  };
}

// ---------------------------------------------------------------- idempotency keys

export interface IdempotencyRow {
  fingerprint: string;
  status: string;
  response: string | null;
}

/** The answer to a claim of a key that another request holds (`row`): its stored response once completed. */
export function toTakenClaim(row: IdempotencyRow): IdempotencyClaim {
  if (row.status === 'completed' && row.response !== null) return { claimed: false, fingerprint: row.fingerprint, state: 'completed', response: JSON.parse(row.response) as StoredResponse };
  return { claimed: false, fingerprint: row.fingerprint, state: 'processing' };
}
