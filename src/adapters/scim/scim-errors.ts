/**
 * SCIM error answers (RFC 7644 §3.12) → the sync's error classes.
 *
 * 412/428 and a 409 that is not a uniqueness clash mean the write lost a race
 * (RFC 7644 §3.14): PreconditionFailedError, so that the use case re-reads and re-plans.
 * Everything else is an UpstreamError carrying status, scimType and detail.
 */
import { PreconditionFailedError, UpstreamError } from '../../core/errors.js';
import { snippet } from './transport.js';

/** Blanks secrets out of raw upstream text (a Redactor's redact); the default leaves it as is. */
export type Redact = (text: string) => string;
const asIs: Redact = (text) => text;

export interface ScimErrorInfo {
  readonly scimType?: string;
  readonly detail?: string;
}

/**
 * Reads `scimType` and `detail` from an error body. Tolerates providers that omit the
 * schema, send `status` as a number instead of a string, or answer with HTML or text
 * (then the detail is a short excerpt of the body). `redact` runs over each field's raw
 * text before it is trimmed to an excerpt (or over the whole raw body when it is not
 * JSON): a secret the upstream echoes is gone before any cut could split it.
 */
export function parseScimError(text: string, redact: Redact = asIs): ScimErrorInfo {
  if (!text.trim()) return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { detail: snippet(redact(text), 200) };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { detail: snippet(redact(text), 200) };
  const body = json as Record<string, unknown>;
  const scimType = typeof body.scimType === 'string' && body.scimType ? snippet(redact(body.scimType), 60) : undefined;
  const rawDetail = [body.detail, body.message, body.error_description, body.error].find((value) => typeof value === 'string' && value !== '');
  const detail = typeof rawDetail === 'string' ? snippet(redact(rawDetail)) : undefined;
  return { scimType, detail };
}

/** The error for a SCIM error answer. `what` names the call, e.g. "SCIM PUT /Groups/{id}". */
export function errorForStatus(what: string, status: number, info: ScimErrorInfo, note = ''): UpstreamError {
  const message =
    `${what} answered ${status}${note}` +
    (info.scimType ? ` (scimType: ${info.scimType})` : '') +
    (info.detail ? `: ${info.detail}` : '');
  const init = { status, scimType: info.scimType, detail: info.detail };
  if (status === 412 || status === 428) return new PreconditionFailedError(message, init);
  if (status === 409 && info.scimType !== 'uniqueness') return new PreconditionFailedError(message, init);
  return new UpstreamError(message, init);
}

export { OutcomeUnknownError } from '../../core/errors.js';

