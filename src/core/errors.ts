/**
 * Errors of the sync, each with a stable `code` (the `error` field of the HTTP body).
 * They become HTTP in exactly one place: src/http/plugins/error-handler.ts.
 * Adapters throw the upstream ones, so that the core can tell a lost race (412) from a
 * broken upstream without knowing any HTTP client.
 */
import type { MemberRef } from './membership.js';

/** Why a desired member cannot be applied: the `code` of each entry of a 422's `errors`. */
export const MEMBER_ERROR_CODES = [
  'user_not_found',
  'user_inactive',
  'group_not_found',
  'depth_exceeded',
  'cycle_detected',
  'self_reference',
  'duplicate_member',
  'nesting_too_large',
  'member_in_other_team',
  'group_member_not_supported',
] as const;
export type MemberErrorCode = (typeof MEMBER_ERROR_CODES)[number];

export interface MemberError {
  readonly code: MemberErrorCode;
  readonly member: MemberRef;
  readonly message: string;
}

export abstract class SyncError extends Error {
  abstract readonly code: string;
  /** Set by the use case on its way out, so that every error answer names its sync. */
  syncId?: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Member errors one answer, audit record or event lists; the rest are counted (errorsOmitted). */
export const MAX_MEMBER_ERRORS = 1000;

/**
 * One or more desired members cannot be applied. Lists every problem, not just the first,
 * up to MAX_MEMBER_ERRORS: a request with 100,000 bad members must not become a 422, an
 * audit record and a webhook of many megabytes each.
 */
export class ValidationFailedError extends SyncError {
  readonly code = 'validation_failed';
  /** The first MAX_MEMBER_ERRORS problems. */
  readonly errors: readonly MemberError[];
  /** How many more members failed and are not listed. */
  readonly errorsOmitted: number;
  /** The code of every failed member, listed or not (for the metrics). */
  readonly codes: readonly MemberErrorCode[];

  constructor(errors: readonly MemberError[]) {
    const omitted = Math.max(0, errors.length - MAX_MEMBER_ERRORS);
    super(`${errors.length} member${errors.length === 1 ? '' : 's'} failed validation${omitted > 0 ? `; the first ${MAX_MEMBER_ERRORS} are listed` : ''}`);
    this.errors = omitted > 0 ? errors.slice(0, MAX_MEMBER_ERRORS) : errors;
    this.errorsOmitted = omitted;
    this.codes = errors.map((e) => e.code);
  }
}

export class GroupNotFoundError extends SyncError {
  readonly code = 'group_not_found';
  constructor(readonly groupId: string) {
    super(`group ${JSON.stringify(groupId)} does not exist upstream`);
  }
}

/** The group kept changing under us after every retry. */
export class ConflictError extends SyncError {
  readonly code = 'conflict';
  constructor(readonly attempts: number) {
    super(`the group changed concurrently on each of ${attempts} attempts; retry the request`);
  }
}

/** The upstream answered with an error that retrying will not fix. */
export class UpstreamError extends SyncError {
  readonly code: string = 'upstream_error';
  readonly status: number;
  readonly scimType: string | undefined;
  readonly detail: string | undefined;

  constructor(message: string, init: { status: number; scimType?: string; detail?: string }, options?: ErrorOptions) {
    super(message, options);
    this.status = init.status;
    this.scimType = init.scimType;
    this.detail = init.detail;
  }
}

/**
 * The write lost a race: 412 Precondition Failed, 428 Precondition Required, or a 409 that
 * is not a uniqueness clash (RFC 7644 §3.14). The use case re-reads and re-plans.
 */
export class PreconditionFailedError extends UpstreamError {
  override readonly code = 'precondition_failed';
}

/** The token endpoint refused to issue a token (RFC 6749 §5.2). */
export class TokenEndpointError extends UpstreamError {
  constructor(
    readonly oauthError: string | undefined,
    readonly oauthErrorDescription: string | undefined,
    status: number,
  ) {
    const what = oauthError ? `${oauthError}${oauthErrorDescription ? `: ${oauthErrorDescription}` : ''}` : `HTTP ${status}`;
    super(`the OAuth token endpoint refused to issue a token (${what})`, { status, detail: oauthErrorDescription });
  }
}

/** Upstream rate limiting or outage outlasted the retry budget. */
export class UpstreamUnavailableError extends SyncError {
  readonly code = 'upstream_unavailable';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The upstream did not answer in time. */
/**
 * A write that must not be repeated blindly (ScimRequest `unsure: 'outcome-unknown'`)
 * failed after it was sent: the connection dropped, no answer came in time, or a 5xx came
 * back. It may or may not have been applied, and it was not sent again; the caller reads
 * the state back before it decides. If it reaches a caller of the service, 503: the change
 * may be partly applied, and a retry re-reads first.
 */
export class OutcomeUnknownError extends UpstreamUnavailableError {
  readonly outcomeUnknown = true;
  constructor(message: string, status: number | undefined, options?: ErrorOptions) {
    super(message, 1, status, options);
  }
}

export class UpstreamTimeoutError extends SyncError {
  readonly code = 'upstream_timeout';
}

/** The sync ran past its overall deadline (SYNC_DEADLINE_MS). */
export class SyncDeadlineError extends UpstreamTimeoutError {
  constructor(deadlineMs: number) {
    super(`the sync did not finish within its ${Math.round(deadlineMs / 1000)} s deadline; it may be partly applied upstream: retry the request`);
  }
}

/**
 * The sync was cut off before its end: the service is shutting down (at the shutdown
 * deadline), or the group's lock across replicas was lost or could not be taken.
 */
export class SyncInterruptedError extends SyncError {
  readonly code = 'interrupted';
  constructor(message = 'the service is shutting down and cut this sync off; it may be partly applied upstream: retry the request') {
    super(message);
  }
}

/** The audit record of a sync could not be written; the sync is not reported as done. */
export class AuditUnavailableError extends SyncError {
  readonly code = 'audit_unavailable';
}

/** One agent whose change CXone's admin API refused (or whose outcome a read-back did not confirm). */
export interface AgentFailure {
  readonly member: MemberRef;
  readonly agentId: number;
  readonly action: 'add' | 'remove';
  /** The provider's error, as it answered it. */
  readonly error: string;
  /** The HTTP status of the answer that refused it; absent when no answer came and a read-back showed it not applied. */
  readonly status?: number;
}

export function describeAgentFailures(failures: readonly AgentFailure[]): string {
  const shown = failures.slice(0, 20).map((f) => `${f.member.type} ${JSON.stringify(f.member.value)} (agent ${f.agentId}, ${f.action}): ${f.error}`);
  return shown.join('; ') + (failures.length > shown.length ? `; and ${failures.length - shown.length} more` : '');
}

/**
 * CXone's admin API refused some agents of the write (its per-agent results), and what this
 * sync had already written was undone: the group is back to what was read. A 502
 * upstream_error naming each failed member and the provider's error.
 */
export class AgentWriteFailedError extends UpstreamError {
  constructor(readonly failures: readonly AgentFailure[]) {
    super(`CXone refused ${failures.length} agent change${failures.length === 1 ? '' : 's'}, and what this sync had written was undone (the group is as it was read): ${describeAgentFailures(failures)}`, {
      // The status of the answer that carried the refusals (200 with per-agent results, as published), 0 when none came.
      status: failures.find((f) => f.status !== undefined)?.status ?? 0,
      detail: describeAgentFailures(failures),
    });
  }
}

/**
 * Undoing a failed admin-API write failed too: the group is left in between, as `members`
 * says. The write's journal stays open; the next sync of the group and the next start
 * finish the undo first.
 */
export class RollbackFailedError extends SyncError {
  readonly code = 'rollback_failed';
  constructor(
    message: string,
    /** The group's members as last read (null when it could not be read). */
    readonly members: readonly MemberRef[] | null,
    /** The agents whose undo (or whose first write) failed. */
    readonly failures: readonly AgentFailure[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** How far the group upstream is from the desired set after a write (member values only). */
export interface MembershipGap {
  /** |desired ∩ actual| / |desired ∪ actual| by member value. */
  readonly consistencyRate: number;
  /** Desired members the upstream does not hold (the first 100). */
  readonly missing: readonly MemberRef[];
  /** Members the upstream holds that were not desired (the first 100). */
  readonly extra: readonly MemberRef[];
  readonly missingCount: number;
  readonly extraCount: number;
}

/**
 * The write was answered as done, but the group upstream does not hold the desired set,
 * and no other writer can be shown to have changed it since: the provider applied the
 * write wrong (or, when it gives no version, that cannot be told apart from another writer).
 */
export class WriteNotAppliedError extends SyncError {
  readonly code = 'write_not_applied';
  constructor(
    message: string,
    readonly gap: MembershipGap,
  ) {
    super(message);
  }
}

/** The numbers of a write_not_applied, as the answer, the event and the audit record carry them. */
export function gapFields(gap: MembershipGap) {
  return { consistencyRate: gap.consistencyRate, missingCount: gap.missingCount, extraCount: gap.extraCount, missing: gap.missing, extra: gap.extra };
}

/** The per-group queue is full: GROUP_QUEUE_MAX syncs of this group already wait behind the one running. */
export class GroupBusyError extends SyncError {
  readonly code = 'group_busy';
  constructor(
    readonly queueMax: number,
    readonly retryAfterSeconds: number,
  ) {
    super(`${queueMax} syncs of this group are already waiting behind the one running (GROUP_QUEUE_MAX); retry in ${retryAfterSeconds} s`);
  }
}

/** The sync's deadline passed while it waited behind other syncs of the same group; nothing was sent upstream. */
export class QueueTimeoutError extends SyncError {
  readonly code = 'queue_timeout';
  constructor(
    waitedMs: number,
    readonly retryAfterSeconds: number,
  ) {
    super(`the sync waited ${Math.round(waitedMs / 1000)} s behind other syncs of this group and reached its deadline before it could start; nothing was written: retry the request`);
  }
}

/** The caller went away (closed its connection) while the sync waited in the queue; it was never started. */
export class SyncCancelledError extends SyncError {
  readonly code = 'cancelled';
  constructor(message = 'the caller closed the connection while the sync waited behind other syncs of this group; it was cancelled before anything was written') {
    super(message);
  }
}

/**
 * The code a caller is answered with for an error of the sync, and the status its record
 * takes: a lost race that escaped the retries (precondition_failed: a 412, a 428, a 409 that
 * is no uniqueness clash) is a conflict, like one the retries ran out on.
 */
export function answerCode(error: SyncError): string {
  return error instanceof PreconditionFailedError ? 'conflict' : error.code;
}

/** Errors that are part of normal operation (bad input, upstream trouble), as opposed to bugs. */
export function isOperational(error: unknown): error is SyncError {
  return error instanceof SyncError;
}

// ---------------------------------------------------------------- errors of the storage ports

/** Storage cannot be used: a corrupt file, an unwritable DATA_DIR. The message is one line for the operator. */
export class StorageError extends Error {
  readonly code = 'storage_unavailable';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** A `cursor` query parameter the store did not issue. */
export class InvalidCursorError extends Error {
  readonly code = 'invalid_cursor';
  constructor() {
    super('query/cursor is not a cursor this service issued; start again without it');
    this.name = 'InvalidCursorError';
  }
}

/** Another process holds DATA_DIR's lock: the service, or a CLI command that writes. One process per data directory. */
export class DataDirLockedError extends Error {
  readonly code = 'data_dir_locked';
  constructor(readonly dataDir: string) {
    super(`DATA_DIR ${dataDir} is in use by another cxone-scim-sync process (a running service, or a CLI sync or reconcile); one process per data directory`);
    this.name = 'DataDirLockedError';
  }
}

/**
 * The mass-removal guard (./removal-guard.ts) refused the sync: it would remove more of the
 * group than REMOVAL_GUARD_PERCENT and REMOVAL_GUARD_MIN allow, or empty it. Nothing was
 * written; the caller repeats it with allowMassRemoval when the removal is meant.
 */
export class RemovalGuardError extends SyncError {
  readonly code = 'removal_guard';
  constructor(
    readonly removing: number,
    readonly of: number,
    readonly percent: number,
    readonly limits: { readonly percent: number; readonly min: number },
    readonly emptying: boolean,
  ) {
    super(
      emptying
        ? `the sync would remove all ${of} members of the group (an empty members list); nothing was written: repeat it with ?allowMassRemoval=true if that is meant`
        : `the sync would remove ${removing} of the group's ${of} members (${percent}%), more than REMOVAL_GUARD_PERCENT (${limits.percent}%) and REMOVAL_GUARD_MIN (${limits.min}) allow; nothing was written: repeat it with ?allowMassRemoval=true if that is meant`,
    );
  }
}

/** The numbers of a removal_guard, as the answer, the event and the audit record carry them. */
export function removalGuardFields(error: RemovalGuardError) {
  return { removing: error.removing, of: error.of, percent: error.percent, limits: { percent: error.limits.percent, min: error.limits.min } };
}

/**
 * The group is quarantined (./quarantine.ts): its syncs failed QUARANTINE_AFTER times in a
 * row with errors of its own. It is answered at once, without an upstream request, until a
 * probe read finds the group readable again (or an administrator releases it).
 */
export class GroupQuarantinedError extends SyncError {
  readonly code = 'group_quarantined';
  constructor(
    readonly groupId: string,
    /** When the group was quarantined (epoch ms). */
    readonly since: number,
    /** When it is next probed (epoch ms). */
    readonly nextProbeAt: number,
    readonly retryAfterSeconds: number,
    readonly lastError: string | null,
  ) {
    super(
      `group ${JSON.stringify(groupId)} is quarantined since ${new Date(since).toISOString()} after repeated failures of its own${lastError ? ` (last: ${lastError})` : ''}; nothing was sent upstream. It is probed again at ${new Date(nextProbeAt).toISOString()}; an administrator can release it (POST /groups/{groupId}/quarantine/release)`,
    );
  }
}

/**
 * The caller's If-Match (RFC 7644 §3.14) names a version the group no longer has: compared
 * in the group's turn with the version the sync read, or the provider refused the write
 * guarded by it because another writer got in between. Nothing of this request was written.
 */
export class VersionMismatchError extends SyncError {
  readonly code = 'version_mismatch';
  constructor(
    readonly groupId: string,
    readonly expected: string,
    readonly current: string | null,
  ) {
    super(`If-Match ${expected} does not match the group's current version ${current ?? '(none)'}; nothing was written: read the group again`);
  }
}

const opaqueTag = (tag: string) => tag.trim().replace(/^W\//, '');

/** Entity tags compared weakly (RFC 9110 §8.8.3.2): `W/"3"` and `"3"` are one version; an If-Match list matches when one of its tags does; `*` matches any. */
export function ifMatchHolds(ifMatch: string, current: string | null): boolean {
  if (ifMatch.trim() === '*') return true;
  return current !== null && ifMatch.split(',').some((tag) => opaqueTag(tag) === opaqueTag(current));
}
