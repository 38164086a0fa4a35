/**
 * The SCIM form of every error the service answers (RFC 7644 §3.12): one table from each
 * stable code (src/core/errors.ts, src/core/outcome.ts, src/http/errors.ts, and the
 * answers of Fastify itself) to the HTTP status and `scimType` the front door answers
 * under /scim/v2. The service's own status comes from the one place that decides it
 * (../plugins/error-handler.ts toHttpError), with its headers (Retry-After,
 * WWW-Authenticate); this table says what SCIM makes of it, and `detail` names the members
 * concerned. A test checks that every code has an entry.
 */
import { GroupBusyError, MEMBER_ERROR_CODES, ValidationFailedError, WriteNotAppliedError, RollbackFailedError, AgentWriteFailedError, UpstreamError, type MemberErrorCode } from '../../core/errors.js';
import { memberIdentity, type MemberRef } from '../../core/membership.js';
import { FAILURE_STATUSES, type FailureStatus } from '../../core/outcome.js';
import { toHttpError } from '../plugins/error-handler.js';
import { scimErrorBody, ScimHttpError, type ScimErrorBody, type ScimType } from './errors.js';

export interface ScimErrorEntry {
  readonly status: number;
  readonly scimType?: ScimType;
}

/** Codes the front door itself answers (not sync outcomes): its own refusals, and those of the HTTP layer and of Fastify. */
export const FRONT_DOOR_CODES = [
  'invalid_request',
  'payload_too_large',
  'unsupported_media_type',
  'unauthorized',
  'forbidden',
  'rate_limited',
  'not_found',
  'method_not_allowed',
  'audit_unavailable',
  'idempotency_key_in_use',
  'idempotency_key_reused',
  'precondition_failed',
  'uniqueness',
  'not_supported',
  // Codes of the service's other routes and of its storage: never answered under /scim/v2, mapped all the same.
  'sync_not_found',
  'subscription_not_found',
  'invalid_webhook_url',
  'invalid_cursor',
  'storage_unavailable',
  'data_dir_locked',
  'drift_not_found',
  'held_change_not_found',
  'held_change_decided',
  'held_change_expired',
  // Later: the mass-removal guard and the group quarantine.
  'removal_guard',
  'group_quarantined',
] as const;

export type ScimErrorCode = FailureStatus | (typeof FRONT_DOOR_CODES)[number];

/**
 * Each code as SCIM answers it. A refused member (validation_failed and each member code)
 * is a 400 invalidValue: the request named a value the group cannot take, and an identity
 * provider must not retry it unchanged (RFC 7644 §3.12 has no 422).
 */
export const SCIM_ERROR_MAP: Readonly<Record<ScimErrorCode, ScimErrorEntry>> = {
  validation_failed: { status: 400, scimType: 'invalidValue' },
  conflict: { status: 409 },
  group_not_found: { status: 404 },
  upstream_error: { status: 502 },
  upstream_unavailable: { status: 503 },
  upstream_timeout: { status: 504 },
  internal_error: { status: 500 },
  interrupted: { status: 503 },
  write_not_applied: { status: 502 },
  group_busy: { status: 429 },
  queue_timeout: { status: 503 },
  cancelled: { status: 499 },
  rollback_failed: { status: 502 },
  invalid_request: { status: 400, scimType: 'invalidSyntax' },
  payload_too_large: { status: 413, scimType: 'tooMany' },
  unsupported_media_type: { status: 415 },
  unauthorized: { status: 401 },
  forbidden: { status: 403 },
  rate_limited: { status: 429 },
  not_found: { status: 404 },
  method_not_allowed: { status: 405 },
  audit_unavailable: { status: 503 },
  idempotency_key_in_use: { status: 409 },
  idempotency_key_reused: { status: 400, scimType: 'invalidValue' },
  precondition_failed: { status: 412 },
  uniqueness: { status: 409, scimType: 'uniqueness' },
  not_supported: { status: 501 },
  sync_not_found: { status: 404 },
  subscription_not_found: { status: 404 },
  invalid_webhook_url: { status: 400, scimType: 'invalidValue' },
  invalid_cursor: { status: 400, scimType: 'invalidValue' },
  storage_unavailable: { status: 500 },
  data_dir_locked: { status: 500 },
  drift_not_found: { status: 404 },
  held_change_not_found: { status: 404 },
  held_change_decided: { status: 409 },
  held_change_expired: { status: 410 },
  removal_guard: { status: 409, scimType: 'mutability' },
  group_quarantined: { status: 503 },
  // RFC 7644 §3.14: If-Match names another version; no scimType.
  version_mismatch: { status: 412 },
};

/** The scimType of a refused member, by its code (all are values the group cannot take). */
export const MEMBER_SCIM_TYPES: Readonly<Record<MemberErrorCode, ScimType>> = Object.fromEntries(MEMBER_ERROR_CODES.map((code) => [code, 'invalidValue'])) as Record<MemberErrorCode, ScimType>;

export interface ScimAnswer {
  readonly status: number;
  readonly body: ScimErrorBody;
  readonly headers: Readonly<Record<string, string>>;
}

/** Members named in a detail at most; the rest are counted. */
const MEMBERS_NAMED = 20;

function named(members: readonly MemberRef[]): string {
  const shown = members.slice(0, MEMBERS_NAMED).map((m) => `${memberIdentity(m).type} ${JSON.stringify(m.value)}`);
  return `${shown.join(', ')}${members.length > MEMBERS_NAMED ? ` and ${members.length - MEMBERS_NAMED} more` : ''}`;
}

/** The detail of an error: its message, the members concerned, and the sync it belongs to. Never a secret: messages are the service's own, already redacted. */
function detailOf(error: unknown, message: string, syncId: string | undefined): string {
  let detail = message;
  if (error instanceof ValidationFailedError) {
    const listed = error.errors.slice(0, MEMBERS_NAMED).map((e) => `${e.member.type} ${JSON.stringify(e.member.value)}: ${e.code} (${e.message})`);
    const more = error.errors.length - listed.length + error.errorsOmitted;
    detail = `${message}: ${listed.join('; ')}${more > 0 ? `; and ${more} more` : ''}`;
  } else if (error instanceof WriteNotAppliedError) {
    const gap = error.gap;
    detail = `${message}${gap.missing.length > 0 ? `; missing: ${named(gap.missing)}` : ''}${gap.extra.length > 0 ? `; not desired: ${named(gap.extra)}` : ''}`;
  } else if (error instanceof AgentWriteFailedError || error instanceof RollbackFailedError) {
    const failed = error.failures.slice(0, MEMBERS_NAMED).map((f) => `${f.member.type} ${JSON.stringify(f.member.value)}`);
    if (failed.length > 0) detail = `${message}; members failed: ${failed.join(', ')}`;
  }
  return syncId === undefined ? detail : `${detail} (syncId ${syncId})`;
}

/**
 * A request that failed its route's schema: an attribute the resource does not have is
 * invalidSyntax (the request is not a resource of that type), a value of the wrong type or
 * form is invalidValue (RFC 7644 §3.12).
 */
function schemaScimType(error: unknown): ScimType | undefined {
  const validation = (error as { validation?: readonly { keyword?: string }[] }).validation;
  if (!Array.isArray(validation) || validation.length === 0) return undefined;
  return validation.some((v) => v.keyword === 'additionalProperties') ? 'invalidSyntax' : 'invalidValue';
}

/** Any error thrown under /scim/v2, as SCIM answers it. */
export function toScimError(error: unknown): ScimAnswer {
  if (error instanceof ScimHttpError) return { status: error.status, body: scimErrorBody(error.status, error.scimType, error.detail), headers: error.headers };
  const http = toHttpError(error);
  // A name (or other unique value) the upstream already has: the request's value is taken, as a create's is (RFC 7644 §3.12), not an upstream failure.
  if (error instanceof UpstreamError && error.status === 409 && error.scimType === 'uniqueness') {
    const syncId = typeof http.body.syncId === 'string' ? http.body.syncId : undefined;
    return { status: 409, body: scimErrorBody(409, 'uniqueness', detailOf(error, http.body.message, syncId)), headers: http.headers ?? {} };
  }
  const code = http.body.error;
  const entry: ScimErrorEntry = (SCIM_ERROR_MAP as Record<string, ScimErrorEntry | undefined>)[code] ?? { status: http.status };
  const scimType = error instanceof ValidationFailedError ? (MEMBER_SCIM_TYPES[error.errors[0]?.code as MemberErrorCode] ?? entry.scimType) : (schemaScimType(error) ?? entry.scimType);
  const syncId = typeof http.body.syncId === 'string' ? http.body.syncId : undefined;
  const status = error instanceof GroupBusyError ? 429 : entry.status;
  return { status, body: scimErrorBody(status, scimType, detailOf(error, http.body.message, syncId)), headers: http.headers ?? {} };
}

/** Every code the table must hold: the sync's outcomes, and the front door's own. */
export const ALL_SCIM_ERROR_CODES: readonly string[] = [...FAILURE_STATUSES, ...FRONT_DOOR_CODES];
