/**
 * Storage ports: what the HTTP surface and the webhook dispatcher need from durable
 * storage, beyond the AuditLog the core writes to (src/core/ports.ts). The embedded
 * SQLite store implements all of them; a server database can implement them later
 * without touching the core or the routes. Methods are async for that reason, even
 * where SQLite answers synchronously.
 */
import type { AuditLog } from '../../core/ports.js';
import type { AnyAuditRecord, AuditRecord, ChainVerdict, EventType } from '../../core/audit.js';

export const EVENT_TYPES: readonly EventType[] = ['group.sync.completed', 'group.sync.failed', 'user.attributes.synced'];

export const AUDIT_PAGE_MAX = 500;

export interface AuditListQuery {
  /** Only the records of this actor (a caller reads its own; an administrator passes none). */
  readonly actor?: string;
  readonly groupId?: string;
  /** ISO 8601: records created at or after this instant. */
  readonly since?: string;
  /** 1..AUDIT_PAGE_MAX. */
  readonly limit: number;
  /** An opaque cursor from a previous page's nextCursor. */
  readonly cursor?: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

/** Reading the audit trail: GET /syncs/{syncId}, GET /audit, GET /audit/verify. */
export interface AuditQueries {
  /** The record of a sync (a subscription change is not one). */
  findSync(syncId: string): Promise<AuditRecord | undefined>;
  /** Newest first: syncs and subscription changes. Throws InvalidCursorError for a cursor this store did not issue. */
  listRecords(query: AuditListQuery): Promise<Page<AnyAuditRecord>>;
  /** Walks the whole chain, oldest first, without holding it in memory. */
  verifyChain(): Promise<ChainVerdict>;
}

/** An audit trail that can also be read: what the audit routes are served from. */
export interface AuditTrail extends AuditLog, AuditQueries {}

export function isAuditTrail(audit: AuditLog): audit is AuditTrail {
  const candidate = audit as Partial<AuditQueries>;
  return typeof candidate.findSync === 'function' && typeof candidate.listRecords === 'function' && typeof candidate.verifyChain === 'function';
}

export interface Subscription {
  readonly id: string;
  /** The name of the token that created it; null when it was created before owners were recorded (administrators only see it). */
  readonly owner: string | null;
  readonly url: string;
  readonly events: readonly EventType[];
  readonly description: string | null;
  /** ISO 8601. */
  readonly createdAt: string;
  /** True once the receiver answered 410 Gone: nothing more is delivered to it. */
  readonly disabled: boolean;
}

export interface NewSubscription {
  readonly url: string;
  readonly events: readonly EventType[];
  readonly description?: string;
}

/** Only the answer to a create carries the secret; nothing returns it afterwards. */
export interface CreatedSubscription extends Subscription {
  /** `whsec_` + base64 of 32 random bytes (Standard Webhooks). */
  readonly secret: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryAttempt {
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** ISO 8601. */
  readonly at: string;
  /** The receiver's HTTP status, or null when no answer came (network error, timeout, refused target). */
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
}

/** One event on its way to one subscriber, with its attempts so far. */
export interface Delivery {
  readonly id: number;
  /** The webhook-id of every attempt. */
  readonly eventId: string;
  readonly eventType: EventType;
  readonly status: DeliveryStatus;
  /** ISO 8601 of the next attempt while pending, else null. */
  readonly nextAttemptAt: string | null;
  readonly createdAt: string;
  readonly attempts: readonly DeliveryAttempt[];
}

export interface DeliveryListQuery {
  readonly limit: number;
  readonly cursor?: string;
}

/**
 * Who reads or manages subscriptions: a caller its own (those it created), an
 * administrator (ADMIN_API_TOKENS) every one, ownerless ones included.
 */
export interface Viewer {
  readonly actor: string;
  readonly admin: boolean;
}

/** Who asks for a change, and in which request: what its audit record says. */
export interface ChangeRequest extends Viewer {
  readonly requestId: string;
}

/**
 * The /subscriptions API. Secrets are stored, returned once by create, never again.
 * Reads take the viewer: what it may not see is answered exactly like what does not exist.
 * Without a viewer they see everything (the service's own use, tools and tests).
 */
export interface SubscriptionStore {
  /**
   * Creates it, owned by `by.actor`, and appends its audit record to the chain in the same
   * transaction. Without `by`: an ownerless subscription, not audited (tools and tests).
   */
  createSubscription(input: NewSubscription, by?: ChangeRequest): Promise<CreatedSubscription>;
  listSubscriptions(viewer?: Viewer): Promise<readonly Subscription[]>;
  getSubscription(id: string, viewer?: Viewer): Promise<Subscription | undefined>;
  /**
   * Deletes it with its deliveries and, with `by`, appends its audit record in the same
   * transaction; answers what was deleted, or undefined when there was no such
   * subscription that `by` may manage.
   */
  deleteSubscription(id: string, by?: ChangeRequest): Promise<Subscription | undefined>;
  /** Newest first; undefined when there is no such subscription (that the viewer may see). */
  listDeliveries(subscriptionId: string, query: DeliveryListQuery, viewer?: Viewer): Promise<Page<Delivery> | undefined>;
}

/** A delivery that is due, with what the dispatcher needs to send it. */
export interface PendingDelivery {
  readonly id: number;
  readonly eventId: string;
  readonly eventType: EventType;
  /** The exact JSON body to send: `{ type, timestamp, data }`. */
  readonly body: string;
  readonly url: string;
  /** The subscription's secret; null for a static WEBHOOK_URLS subscriber (signed with WEBHOOK_SECRET). */
  readonly secret: string | null;
  /** null for a static subscriber. */
  readonly subscriptionId: string | null;
  /** Attempts already made. */
  readonly attempts: number;
}

export interface AttemptResult {
  /** Epoch milliseconds. */
  readonly at: number;
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
}

export type DeliveryNext = { readonly status: 'delivered' } | { readonly status: 'failed' } | { readonly status: 'pending'; readonly nextAttemptAt: number };

/** The durable webhook outbox: rows written by AuditLog.append in the same transaction as the record. */
export interface Outbox {
  /** Pending deliveries due at `now`, oldest first, leaving out those in `exclude` (in flight). */
  dueDeliveries(now: number, limit: number, exclude: ReadonlySet<number>): Promise<PendingDelivery[]>;
  /** When the earliest pending delivery outside `exclude` falls due (epoch ms), or null when none is pending. */
  nextDueAt(exclude: ReadonlySet<number>): Promise<number | null>;
  /** Records one attempt and what happens next, in one transaction. */
  recordAttempt(deliveryId: number, result: AttemptResult, next: DeliveryNext): Promise<void>;
  /** 410 Gone: turns the subscription off and fails its pending deliveries. */
  disableSubscription(subscriptionId: string): Promise<void>;
  /** Called after an append queued deliveries, so the dispatcher need not poll. Returns an unsubscribe. */
  onQueued(listener: () => void): () => void;
}

/** Storage cannot be used: a corrupt file, an unwritable DATA_DIR. The message is one line for the operator. */
/** The answer stored for an Idempotency-Key, replayed to retries. */
export interface StoredResponse {
  readonly statusCode: number;
  readonly contentType: string;
  readonly body: string;
}

export type IdempotencyClaim =
  | { readonly claimed: true }
  | { readonly claimed: false; readonly fingerprint: string; readonly state: 'processing' }
  | { readonly claimed: false; readonly fingerprint: string; readonly state: 'completed'; readonly response: StoredResponse };

/**
 * Idempotency keys (IETF httpapi Idempotency-Key draft), scoped to the caller: the first
 * answer for a key is kept for a while and replayed to retries with the same request.
 */
export interface IdempotencyStore {
  /** Claims (actor, key) for a new request, atomically; or tells what is already there. Expired entries count as absent. */
  claim(actor: string, key: string, fingerprint: string, ttlMs: number): Promise<IdempotencyClaim>;
  /** Stores the answer of a claimed request. */
  complete(actor: string, key: string, response: StoredResponse): Promise<void>;
  /** Forgets a claim (a transient answer, so a retry runs again). */
  release(actor: string, key: string): Promise<void>;
  /** Forgets every claim still processing: at start, they belong to a process that died. Returns how many. */
  releaseAbandoned(): Promise<number>;
}

export class StorageError extends Error {
  readonly code = 'storage_unavailable';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** A `cursor` query parameter this store did not issue. */
export class InvalidCursorError extends Error {
  readonly code = 'invalid_cursor';
  constructor() {
    super('query/cursor is not a cursor this service issued; start again without it');
    this.name = 'InvalidCursorError';
  }
}

/** Opaque keyset cursors: base64url of `<prefix>:<sequence number>`. */
export function encodeCursor(prefix: string, seq: number): string {
  return Buffer.from(`${prefix}:${seq}`, 'utf8').toString('base64url');
}

export function decodeCursor(prefix: string, cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^([a-z]+):(\d{1,15})$/.exec(text);
  if (!match || match[1] !== prefix) throw new InvalidCursorError();
  return Number(match[2]);
}
