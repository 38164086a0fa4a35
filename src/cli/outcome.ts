/** What became of one group in a CLI sync, whatever the way it ended, and how to say it in one line. */
import { answerCode, RemovalGuardError, SyncError, UpstreamError, ValidationFailedError, type MemberError } from '../core/errors.js';
import type { SyncResult } from '../core/sync-request.js';
import { RemoteSyncError } from './runtime.js';

export type OutcomeStatus = 'applied' | 'unchanged' | 'dry_run' | 'failed' | 'skipped';

export interface GroupOutcome {
  readonly groupId: string;
  readonly status: OutcomeStatus;
  /** The audited sync (absent when the group was skipped, or failed before the sync began). */
  readonly syncId?: string;
  readonly added: number;
  readonly removed: number;
  readonly memberCount: number;
  readonly upstreamRequests: number;
  readonly latencyMs: number;
  readonly error?: OutcomeError;
}

export interface OutcomeError {
  /** The API's error code: validation_failed, group_not_found, conflict, upstream_error, … */
  readonly code: string;
  readonly message: string;
  /** Every refused member, for validation_failed (at most 1,000). */
  readonly errors?: readonly MemberError[];
  /** Refused members beyond those listed in `errors`. */
  readonly errorsOmitted?: number;
  readonly upstreamStatus?: number;
  /** removal_guard: members the sync would have removed, of the group's members. */
  readonly removing?: number;
  readonly of?: number;
}

export function fromResult(result: SyncResult): GroupOutcome {
  return {
    groupId: result.groupId,
    status: result.status,
    syncId: result.syncId,
    added: result.added.length,
    removed: result.removed.length,
    memberCount: result.memberCount,
    upstreamRequests: result.upstreamRequests,
    latencyMs: result.latencyMs,
  };
}

/** The error as the API would name it; anything that is not a SyncError is an internal error, its message kept for the operator. */
export function describeError(error: unknown): OutcomeError & { syncId?: string } {
  if (error instanceof RemoteSyncError) {
    const { error: code, message, syncId, errors, errorsOmitted, upstreamStatus, removing, of } = error.body;
    return {
      code,
      message,
      ...(errors ? { errors } : {}),
      ...(errorsOmitted ? { errorsOmitted } : {}),
      ...(upstreamStatus === undefined ? {} : { upstreamStatus }),
      ...(removing === undefined || of === undefined ? {} : { removing, of }),
      ...(syncId === undefined ? {} : { syncId }),
    };
  }
  if (error instanceof ValidationFailedError) {
    return { code: error.code, message: error.message, errors: error.errors, ...(error.errorsOmitted > 0 ? { errorsOmitted: error.errorsOmitted } : {}), syncId: error.syncId };
  }
  if (error instanceof RemovalGuardError) return { code: error.code, message: error.message, removing: error.removing, of: error.of, syncId: error.syncId };
  if (error instanceof UpstreamError) return { code: answerCode(error), message: error.message, upstreamStatus: error.status, syncId: error.syncId };
  if (error instanceof SyncError) return { code: error.code, message: error.message, syncId: error.syncId };
  return { code: 'internal_error', message: error instanceof Error ? error.message : String(error) };
}

export function fromError(groupId: string, memberCount: number, error: unknown, latencyMs: number): GroupOutcome {
  const { syncId, ...described } = describeError(error);
  return { groupId, status: 'failed', ...(syncId === undefined ? {} : { syncId }), added: 0, removed: 0, memberCount, upstreamRequests: 0, latencyMs, error: described };
}

const MEMBER_ERRORS_SHOWN = 5;

/** One line: the code and what went wrong; for validation, each refused member (the first few). */
export function reason(error: OutcomeError): string {
  if (error.errors && error.errors.length > 0) {
    const shown = error.errors.slice(0, MEMBER_ERRORS_SHOWN).map((e) => `${e.code} ${e.member.type} ${e.member.value}`);
    const more = error.errors.length - shown.length + (error.errorsOmitted ?? 0);
    return `${error.code}: ${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`;
  }
  return `${error.code}: ${error.message}`;
}
