/**
 * Errors of the read and management routes (audit, subscriptions), each with a stable
 * `code` and its HTTP status. The error handler turns them into the error body of docs/api.md "Errors".
 */
export abstract class ApiError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  /** Headers the answer carries (WWW-Authenticate, Retry-After). */
  readonly headers: Readonly<Record<string, string>> = {};

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class SyncNotFoundError extends ApiError {
  readonly code = 'sync_not_found';
  readonly status = 404;
  constructor(syncId: string) {
    super(`no sync ${JSON.stringify(syncId)} in the audit trail`);
  }
}

/** No drift to show for the group: never synced by this service, or not by the caller. */
export class DriftNotFoundError extends ApiError {
  readonly code = 'drift_not_found';
  readonly status = 404;
  constructor(groupId: string) {
    super(`group ${JSON.stringify(groupId)} has no desired set here: it was never synced (applied or unchanged) by this service, or not by you`);
  }
}

export class SubscriptionNotFoundError extends ApiError {
  readonly code = 'subscription_not_found';
  readonly status = 404;
  constructor(id: string) {
    super(`no subscription ${JSON.stringify(id)}`);
  }
}

/** The URL may not receive webhooks (scheme, credentials, or an address the SSRF rules refuse). */
export class InvalidWebhookUrlError extends ApiError {
  readonly code = 'invalid_webhook_url';
  readonly status = 422;
  constructor(reason: string) {
    super(`url is not an acceptable webhook target: ${reason}`);
  }
}

/** A request with this Idempotency-Key is still being processed. */
export class IdempotencyKeyInUseError extends ApiError {
  readonly code = 'idempotency_key_in_use';
  readonly status = 409;
  constructor() {
    super('a request with this Idempotency-Key is still being processed; retry after it has finished');
  }
}

/** The Idempotency-Key was used before for a different request. */
export class IdempotencyKeyReusedError extends ApiError {
  readonly code = 'idempotency_key_reused';
  readonly status = 422;
  constructor() {
    super('this Idempotency-Key was already used for a different request (another group, query or body); use a new key');
  }
}

export class InvalidIdempotencyKeyError extends ApiError {
  readonly code = 'invalid_request';
  readonly status = 400;
  constructor() {
    super('Idempotency-Key must be 1–255 visible ASCII characters');
  }
}

/** The request is malformed in a way the route schema cannot say (unknown query parameters, attribute names in two cases, …). */
export class InvalidRequestError extends ApiError {
  readonly code = 'invalid_request';
  readonly status = 400;
}

/** This caller sent too many requests (the inbound limit per token, INBOUND_RATE_LIMIT). */
export class RateLimitedError extends ApiError {
  readonly code = 'rate_limited';
  readonly status = 429;
  constructor(limit: number, retryAfterSeconds: number) {
    super(`this caller sent more than ${limit} requests per minute; retry in ${retryAfterSeconds} s`);
  }
}

/** No bearer token, a malformed one, or one that is not valid (RFC 6750 §3: with its challenge). */
export class UnauthorizedError extends ApiError {
  readonly code = 'unauthorized';
  readonly status = 401;
  override readonly headers: Readonly<Record<string, string>>;
  constructor(message: string, challenge: string) {
    super(message);
    this.headers = { 'www-authenticate': challenge };
  }
}

/** The token is valid, but not for this route (a token of SCIM_API_TOKENS alone calls /scim/v2 only). */
export class ForbiddenError extends ApiError {
  readonly code = 'forbidden';
  readonly status = 403;
}

/** Too many failed authentications from this address (AUTH_FAILURE_LIMIT). */
export class AuthFailuresLimitedError extends ApiError {
  readonly code = 'rate_limited';
  readonly status = 429;
  override readonly headers: Readonly<Record<string, string>>;
  constructor(retryAfterSeconds: number) {
    super(`too many failed authentications from this address; retry in ${retryAfterSeconds} s`);
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}

/** A route for administrators (ADMIN_API_TOKENS) asked with another token. */
export class AdminRequiredError extends ApiError {
  readonly code = 'forbidden';
  readonly status = 403;
  constructor() {
    super('this route needs an administrator token (ADMIN_API_TOKENS)');
  }
}

export class HeldChangeNotFoundError extends ApiError {
  readonly code = 'held_change_not_found';
  readonly status = 404;
  constructor(id: string) {
    super(`no held change ${JSON.stringify(id)}`);
  }
}

/** A held change whose HELD_CHANGE_TTL ran out before it was decided can no longer be: the IdP's next retry is held afresh. */
export class HeldChangeExpiredError extends ApiError {
  readonly code = 'held_change_expired';
  readonly status = 410;
  constructor(id: string, expiredAt: string | null) {
    super(`held change ${JSON.stringify(id)} expired${expiredAt === null ? '' : ` at ${expiredAt}`} (HELD_CHANGE_TTL) without a decision; the identity provider's next retry of the change is held afresh, under a new id`);
  }
}

/** A held change that was decided already cannot be decided again. */
export class HeldChangeDecidedError extends ApiError {
  readonly code = 'held_change_decided';
  readonly status = 409;
  constructor(id: string, state: string) {
    super(`held change ${JSON.stringify(id)} is ${state} already`);
  }
}
