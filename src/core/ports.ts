/**
 * Ports: what the sync core needs from the outside world. Adapters implement them
 * (src/adapters), tests use in-memory fakes (test/fakes). Nothing here does I/O.
 */
import type { AuditEntry, AuditRecord, DomainEvent } from './audit.js';
import type { MemberErrorCode } from './errors.js';
import type { GroupResource, GroupSnapshot, MemberRef } from './membership.js';
import type { AttributeOutcome, SyncOutcomeStatus } from './outcome.js';

/** Per-sync bookkeeping passed to every directory call. */
export interface RequestContext {
  /** Aborts outstanding upstream work (sync deadline, shutdown). */
  readonly signal?: AbortSignal;
  /** Incremented by the adapter for every upstream HTTP request it sends, retries included. */
  readonly stats: { upstreamRequests: number };
}

export interface UserSummary {
  readonly id: string;
  readonly active: boolean;
}

/** A group as seen by the nesting checks: which groups it holds as direct members. */
export interface GroupNode {
  readonly id: string;
  readonly displayName: string;
  readonly groupMemberIds: readonly string[];
}

/** A user's attributes that the attribute sync reads back after a membership write. */
export interface UserAttributes {
  readonly id: string;
  readonly active: boolean;
  /** Ids of the groups the provider says the user is in (RFC 7643 §4.1.2); undefined when it sends no `groups`. */
  readonly groups?: readonly string[];
  /** The values of the user's `entitlements`. */
  readonly entitlements: readonly string[];
  /** meta.version, for If-Match on a PATCH. */
  readonly version?: string;
}

/** One RFC 7644 §3.5.2 PatchOp operation. */
export interface PatchOperation {
  readonly op: 'add' | 'remove' | 'replace';
  readonly path: string;
  readonly value?: unknown;
}

/** What a full replace (PUT, RFC 7644 §3.5.1) sends. */
export interface GroupWrite {
  readonly id: string;
  readonly displayName: string;
  readonly members: readonly MemberRef[];
  /** Attributes carried over from the read (schemas, externalId, extensions). */
  readonly extra: Readonly<Record<string, unknown>>;
}

/** What the provider says it supports (RFC 7643 §5 ServiceProviderConfig). */
export interface ProviderCapabilities {
  readonly patch: boolean;
  readonly etag: boolean;
  readonly filter: boolean;
}

export interface WriteResult {
  /**
   * The resource the provider returned, when the answer holds it with its members; null
   * when there was no body, or the answer left the members out or they were not read.
   */
  readonly group: GroupResource | null;
  /** The answer's ETag header, exactly as received, or null. */
  readonly etag: string | null;
  /** The version the answer gives the group when `group` is null: the body's meta.version, else meta.lastModified. */
  readonly version?: string | null;
}

/**
 * A SCIM 2.0 service provider's Users and Groups, as the sync needs them.
 *
 * Errors: implementations throw the classes in ./errors.ts — PreconditionFailedError for
 * 412/428 (and for a 409 that is not a uniqueness clash), UpstreamError for other error
 * answers, UpstreamUnavailableError when 429/503 outlast the retry budget,
 * UpstreamTimeoutError when the upstream does not answer in time.
 */
export interface ScimDirectory {
  /**
   * GET /Groups/{id}. null when the group does not exist (404). `fresh`: a full read, never
   * answered from what the directory kept of an earlier read or write (no If-None-Match).
   */
  getGroup(id: string, ctx: RequestContext, options?: { readonly fresh?: boolean }): Promise<GroupSnapshot | null>;

  /** PUT /Groups/{id} with If-Match when ifMatch is not null. */
  replaceGroup(group: GroupWrite, ifMatch: string | null, ctx: RequestContext): Promise<WriteResult>;

  /**
   * PATCH /Groups/{id} (RFC 7644 §3.5.2) with If-Match when ifMatch is not null. The
   * answer's ETag (or the returned resource's meta.version) guards the next PATCH.
   * `withMembers: false`: the members of the answer are not needed (in the middle of a
   * sequence only its version matters), so they are not parsed; the group is null then.
   * Nothing is asked of the provider: `attributes`/`excludedAttributes` on a PATCH is
   * read by some providers as the part of the resource to patch and write back (RFC 7644
   * §3.9 read the wrong way), which would drop every member the PATCH does not name.
   */
  patchGroup(id: string, operations: readonly PatchOperation[], ifMatch: string | null, ctx: RequestContext, options?: { readonly withMembers?: boolean }): Promise<WriteResult>;

  /** GET /ServiceProviderConfig, read once and remembered; all false when the provider has none. */
  capabilities(ctx: RequestContext): Promise<ProviderCapabilities>;

  /** The users among `ids` that exist, keyed by id. Batched; never one request per id when filters work. */
  findUsers(ids: readonly string[], ctx: RequestContext): Promise<Map<string, UserSummary>>;

  /** The groups among `ids` that exist, keyed by id, with their group-typed members. */
  getGroups(ids: readonly string[], ctx: RequestContext): Promise<Map<string, GroupNode>>;

  /** For each id, the ids of the groups that hold it as a direct member. Every id is a key. */
  findParentGroups(ids: readonly string[], ctx: RequestContext): Promise<Map<string, string[]>>;

  /** The users among `ids` that exist, with groups and entitlements. Batched like findUsers. */
  readUsers(ids: readonly string[], ctx: RequestContext): Promise<Map<string, UserAttributes>>;

  /** PATCH /Users/{id} (RFC 7644 §3.5.2), with If-Match when ifMatch is not null. */
  patchUser(id: string, operations: readonly PatchOperation[], ifMatch: string | null, ctx: RequestContext): Promise<void>;
}

/** Time, injectable so that tests never sleep on the wall clock. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** A monotonic reading in milliseconds, for durations. */
  monotonic(): number;
  /** Resolves after `ms` milliseconds (or rejects when the signal aborts). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The audit trail. append() writes the record and, in the same transaction, the events
 * it causes (the webhook outbox), and resolves only once both are durable: a sync is
 * never answered as done before it is recorded.
 */
export interface AuditLog {
  append(entry: AuditEntry, events: readonly DomainEvent[]): Promise<AuditRecord>;
}

export interface SyncObservation {
  readonly status: SyncOutcomeStatus;
  readonly durationSeconds: number;
  /** Of applied syncs only. */
  readonly consistencyRate: number | null;
  readonly validationCodes: readonly MemberErrorCode[];
  /** Per user touched by the attribute sync after an applied write: what happened to its entitlements. */
  readonly attributeOutcomes: readonly AttributeOutcome[];
  /** Users whose provider-computed `groups` disagreed with the write. */
  readonly groupsInconsistent: number;
}

/** What the sync tells the metrics (Prometheus in production). */
export interface SyncMetrics {
  observeSync(observation: SyncObservation): void;
}
