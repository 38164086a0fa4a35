/**
 * The SCIM client's one way to send a request: bearer token, timeouts, retries, error
 * mapping. No redirects are followed (undici's request() never does).
 *
 * Why these retries: a 429 means the request was not processed, so it is retried for
 * every method; other transient answers (5xx but 501/505) and network failures are
 * retried only for idempotent methods (GET, PUT, DELETE), because a POST or PATCH may
 * have been applied before the connection broke. 429 and 503 honour Retry-After
 * (RFC 9110 §10.2.3), capped; the others back off exponentially with full jitter, so
 * that many clients failing together do not retry together. Every logical request has a
 * deadline: when the next wait would outlast it we fail at once instead of sleeping, with
 * the provider's Retry-After passed on. A 401 invalidates the token and retries once with
 * a fresh one (tokens can be revoked before they expire). All waiting goes through the
 * injected Clock, so tests never sleep.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { PreconditionFailedError, UpstreamError, UpstreamTimeoutError, UpstreamUnavailableError } from '../../core/errors.js';
import type { Clock, RequestContext } from '../../core/ports.js';
import { backoffDelay, isIdempotent, isTransientServerError, parseRetryAfter, type RetryOptions } from './retry-policy.js';
import { errorForStatus, OutcomeUnknownError, parseScimError, type ScimErrorInfo } from './scim-errors.js';
import { ShapeError } from './scim-resources.js';
import type { RateLimiter } from './rate-limiter.js';
import type { TokenSource } from './token-source.js';
import {
  abortError,
  BodyTooLargeError,
  classifyTransportError,
  contentLength,
  describeTransportError,
  headerValue,
  neverSent,
  readBody,
} from './transport.js';
import { createRedactor, type Redactor } from './redactor.js';
import type { RetryReason, UpstreamObserver, UpstreamResource } from './upstream-observer.js';

export type ScimMethod = 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface ScimRequest {
  readonly method: ScimMethod;
  /** Below the SCIM base path, ids already percent-encoded, query included: `/Groups/a%2Fb`. */
  readonly path: string;
  /** The path with ids as placeholders, for error messages: `/Groups/{id}`. */
  readonly route: string;
  readonly resource: UpstreamResource;
  /** Serialised once by the caller and sent as is on every attempt. */
  readonly body?: Buffer;
  readonly headers?: Readonly<Record<string, string>>;
  /** Error statuses handed back to the caller instead of thrown (404 for a lookup), with their body as `errorText`. */
  readonly expect?: readonly number[];
  /**
   * `outcome-unknown`: a write that must not be sent twice blindly (it answers per item, and
   * a repeat would fail items the first attempt applied). A 429, or a connection that failed
   * before the request went out, is retried as usual; a failure after it may have been
   * applied (the connection dropped, no answer in time, a 5xx) is not retried but thrown
   * as OutcomeUnknownError, for the caller to re-read. Default: retried when the method is
   * idempotent, as RFC 9110 §9.2.2 allows.
   */
  readonly unsure?: 'outcome-unknown';
}

export interface ScimResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body of a 2xx answer; empty for an expected error status (`expect`). */
  readonly text: string;
  /** The ETag header exactly as received, or null. */
  readonly etag: string | null;
  /** The body of an expected error status (`expect`), unredacted and cut at the response size limit. */
  readonly errorText?: string;
}

/** A successful answer read by a BodyReader: `body` is undefined for an expected error status. */
export interface ScimAnswer<T> {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: T | undefined;
  readonly etag: string | null;
  /** The body of an expected error status (`expect`), unredacted and cut at the response size limit. */
  readonly errorText?: string;
}

/** Reads the body of a 2xx answer, at most `limit` bytes (`expectedBytes`: its Content-Length; `headers`: the answer's). */
export type BodyReader<T> = (body: Readable, limit: number, expectedBytes: number | undefined, headers: IncomingHttpHeaders) => Promise<T>;

/** Finds the base URL when it is not known at start (CXone's API discovery); called until it succeeds, then never again. */
export type BaseUrlSource = (signal?: AbortSignal) => Promise<string>;

export interface ScimHttpOptions {
  /** Origin, optionally with a path prefix; or where to find it before the first request. */
  readonly baseUrl: string | BaseUrlSource;
  readonly scimPath: string;
  readonly tokenSource: Pick<TokenSource, 'getToken' | 'invalidate'>;
  readonly clock: Clock;
  readonly dispatcher: Dispatcher;
  /** headersTimeout and bodyTimeout of each attempt. */
  readonly requestTimeoutMs: number;
  readonly retry: RetryOptions;
  readonly observer: Required<UpstreamObserver>;
  readonly random: () => number;
  readonly maxResponseBytes: number;
  /** Shared by every request of the process: paces them and learns from 429s. */
  readonly limiter?: RateLimiter;
  /** Runs over every field of an error answer before it is trimmed. Default: one that knows only the token of each request. */
  readonly redactor?: Redactor;
  /** Names the API in error messages, e.g. `SCIM` (the default) in "SCIM GET /Groups/{id} answered 500". */
  readonly label?: string;
  /** Accept header, and Content-Type of bodies. Default: SCIM's (RFC 7644 §3.1). */
  readonly mediaTypes?: { readonly accept: string; readonly contentType: string };
  /** The error an error answer becomes. Default: errorForStatus (412, 428 and a 409 that is not a uniqueness clash are lost races). */
  readonly errorFor?: typeof errorForStatus;
}

export interface ScimHttp {
  /** The path every request starts with (the base URL's own path, then the SCIM path), once the base URL is known. */
  basePath(signal?: AbortSignal): Promise<string>;
  /** The answer with its body as text. */
  send(request: ScimRequest, ctx: RequestContext): Promise<ScimResponse>;
  /** The answer with a 2xx body read by `reader` (a large group is parsed as it streams in). */
  read<T>(request: ScimRequest, ctx: RequestContext, reader: BodyReader<T>): Promise<ScimAnswer<T>>;
}

type Failure =
  | { readonly kind: 'status'; readonly status: number; readonly info: ScimErrorInfo; readonly retryAfterMs: number | null }
  | { readonly kind: 'network' | 'timeout'; readonly cause: unknown };

type Outcome<T> = { readonly kind: 'response'; readonly response: ScimAnswer<T> } | Failure;

const ERROR_BODY_BYTES = 16 * 1024;
/** An attempt is not sent with less time than this left in its retry budget (or the request timeout, if shorter). */
const MIN_ATTEMPT_MS = 1000;
const readText: BodyReader<string> = (body, limit, expectedBytes) => readBody(body, limit, false, expectedBytes);
const SCIM_MEDIA_TYPES = { accept: 'application/scim+json, application/json', contentType: 'application/scim+json' } as const;

/** The path every SCIM request starts with: the base URL's own path, then the SCIM path. */
export function scimBasePath(baseUrl: URL | string, scimPath: string): string {
  const base = typeof baseUrl === 'string' ? new URL(baseUrl) : baseUrl;
  return `${base.pathname.replace(/\/+$/, '')}/${scimPath.replace(/^\/+|\/+$/g, '')}`.replace(/\/+$/, '');
}

interface Location {
  readonly origin: string;
  readonly basePath: string;
}

function locate(baseUrl: string, scimPath: string): Location {
  const base = new URL(baseUrl);
  if (base.protocol !== 'https:' && base.protocol !== 'http:') {
    throw new TypeError(`SCIM base URL must be http(s), got ${base.protocol}`);
  }
  return { origin: base.origin, basePath: scimBasePath(base, scimPath) };
}

export function createScimHttp(options: ScimHttpOptions): ScimHttp {
  const source = options.baseUrl;
  let located: Location | undefined = typeof source === 'string' ? locate(source, options.scimPath) : undefined;
  /** Where requests go: known at start, or found by the base URL source at the first request (a failure is tried again next time). */
  const where = async (signal: AbortSignal | undefined): Promise<Location> => (located ??= locate(await (source as BaseUrlSource)(signal), options.scimPath));
  const { clock, dispatcher, retry, observer, tokenSource } = options;
  const redactor = options.redactor ?? createRedactor();
  const mediaTypes = options.mediaTypes ?? SCIM_MEDIA_TYPES;
  const errorFor = options.errorFor ?? errorForStatus;
  const label = options.label ?? 'SCIM';

  async function attempt<T>(
    { origin, basePath }: Location,
    request: ScimRequest,
    token: string,
    ctx: RequestContext,
    deadline: number,
    what: string,
    reader: BodyReader<T>,
  ): Promise<Outcome<T>> {
    // A budget the work keeps to (the drift scheduler's DRIFT_MAX_RPS): each request waits its turn.
    if (ctx.pace) await ctx.pace(ctx.signal);
    const headers: Record<string, string> = { accept: mediaTypes.accept, authorization: `Bearer ${token}`, ...request.headers };
    if (request.body) headers['content-type'] = mediaTypes.contentType;
    const timeout = Math.max(1, Math.min(options.requestTimeoutMs, deadline - clock.monotonic()));
    const started = clock.monotonic();
    const report = (status: number | 'network' | 'timeout') =>
      observer.onRequest({ method: request.method, resource: request.resource, status, durationMs: clock.monotonic() - started });
    ctx.stats.upstreamRequests += 1;
    let status: number | undefined;
    try {
      const response = await dispatcher.request({
        origin,
        path: `${basePath}${request.path}`,
        method: request.method,
        headers,
        body: request.body ?? null,
        signal: ctx.signal ?? null,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      status = response.statusCode;
      const etag = headerValue(response.headers.etag) ?? null;
      if (status >= 200 && status < 300) {
        const body = await reader(response.body, options.maxResponseBytes, contentLength(response.headers['content-length']), response.headers);
        report(status);
        return { kind: 'response', response: { status, headers: response.headers, body, etag } };
      }
      const expected = request.expect?.includes(status) === true;
      const text = await readBody(response.body, expected ? options.maxResponseBytes : ERROR_BODY_BYTES, true);
      report(status);
      if (expected) return { kind: 'response', response: { status, headers: response.headers, body: undefined, etag, errorText: text } };
      // Every field is redacted on its raw text, the token this request carried included.
      const info = parseScimError(text, (raw) => redactor.redact(raw, [token]));
      return {
        kind: 'status',
        status,
        info,
        retryAfterMs: parseRetryAfter(response.headers['retry-after'], clock.now()),
      };
    } catch (error) {
      if (ctx.signal?.aborted) throw abortError(ctx.signal, what);
      if (error instanceof ShapeError) {
        // The answer arrived but is not what was asked for: the caller decides what that means.
        report(status ?? 'network');
        error.status ??= status;
        throw error;
      }
      if (error instanceof BodyTooLargeError) {
        report(status ?? 'network');
        throw new UpstreamError(`${what} answered with a body over ${error.limit} bytes`, { status: status ?? 0 });
      }
      const kind = classifyTransportError(error);
      if (kind === null) throw error;
      report(kind);
      return { kind, cause: error };
    }
  }

  function finalError(what: string, failure: Failure, attempts: number, byDeadline: boolean, nextDelayMs: number): Error {
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    const budget = `${Math.round(retry.deadlineMs / 1000)} s`;
    if (failure.kind === 'status') {
      const { status, info } = failure;
      if (status === 429 || status === 503) {
        const waitMs = failure.retryAfterMs ?? nextDelayMs;
        const seconds = Math.max(1, Math.ceil(waitMs / 1000));
        const last = errorFor(what, status, info, tries);
        const why = byDeadline ? `; waiting ${seconds} s more would outlast the ${budget} retry budget` : '';
        return new UpstreamUnavailableError(`${last.message}${why}`, seconds, status, { cause: last });
      }
      if (byDeadline) {
        const last = errorFor(what, status, info, tries);
        return new UpstreamTimeoutError(`${what} did not succeed within ${budget}; last: ${last.message}`, { cause: last });
      }
      return errorFor(what, status, info, status === 401 ? ' after a token refresh' : tries);
    }
    const reason = describeTransportError(failure.cause);
    if (failure.kind === 'timeout') {
      return new UpstreamTimeoutError(`${what} did not answer in time${tries} (${reason})`, { cause: failure.cause });
    }
    if (byDeadline) {
      return new UpstreamTimeoutError(`${what} did not succeed within ${budget}; last: network error (${reason})`, {
        cause: failure.cause,
      });
    }
    const seconds = Math.max(1, Math.ceil(nextDelayMs / 1000));
    return new UpstreamUnavailableError(`${what} failed${tries}: network error (${reason})`, seconds, undefined, {
      cause: failure.cause,
    });
  }

  return {
    async basePath(signal) {
      return (await where(signal)).basePath;
    },
    async send(request, ctx) {
      const { body, ...rest } = await exchange(request, ctx, readText);
      return { ...rest, text: body ?? '' };
    },
    read: exchange,
  };

  async function exchange<T>(request: ScimRequest, ctx: RequestContext, reader: BodyReader<T>): Promise<ScimAnswer<T>> {
    const what = `${label} ${request.method} ${request.route}`;
    const deadline = clock.monotonic() + retry.deadlineMs;
    const outcomeUnknown = request.unsure === 'outcome-unknown';
    const idempotent = !outcomeUnknown && isIdempotent(request.method);
    let attempts = 0;
    let refreshed = false;
    /** An earlier attempt of this write that failed in a way that may have applied it (a 5xx, a lost answer). */
    let unsure: Failure | null = null;
    const location = await where(ctx.signal);
    for (;;) {
      attempts += 1;
      const token = await tokenSource.getToken(ctx.signal);
      const queuedAt = clock.monotonic();
      const release = (await options.limiter?.acquire(ctx.signal)) ?? (() => {});
      // The pacing may have held this attempt until the budget is (nearly) spent: an attempt
      // with a few milliseconds to live would only time out. Say what happened instead.
      const minimum = Math.min(MIN_ATTEMPT_MS, options.requestTimeoutMs);
      if (deadline - queuedAt >= minimum && deadline - clock.monotonic() < minimum) {
        release();
        const waitedMs = clock.monotonic() - queuedAt;
        throw new UpstreamUnavailableError(
          `${what} waited ${Math.round(waitedMs / 1000)} s for the upstream's rate limit and has no time left in its ${Math.round(retry.deadlineMs / 1000)} s retry budget`,
          Math.min(60, Math.max(1, Math.ceil(waitedMs / 1000))),
        );
      }
      let outcome: Outcome<T>;
      try {
        outcome = await attempt(location, request, token, ctx, deadline, what, reader);
      } finally {
        release();
      }
      if (outcome.kind === 'status' && outcome.status === 429) options.limiter?.onThrottled(outcome.retryAfterMs);
      else if (outcome.kind === 'response') options.limiter?.onSuccess();
      if (outcome.kind === 'response') return outcome.response;

      let reason: RetryReason | null = null;
      let waitMs: number;
      if (outcome.kind === 'status') {
        const { status } = outcome;
        if (status === 401) {
          if (refreshed) throw finalError(what, outcome, attempts, false, 0);
          refreshed = true;
          attempts -= 1;
          tokenSource.invalidate(token);
          observer.onRetry('unauthorized');
          continue;
        }
        if (status === 429) reason = 'rate_limited';
        else if (idempotent && isTransientServerError(status)) reason = 'server_error';
        else if (status >= 300 && status < 400) {
          throw errorFor(what, status, outcome.info, ' (redirects are not followed)');
        }
        const retryAfter = status === 429 || status === 503 ? outcome.retryAfterMs : null;
        waitMs = retryAfter === null ? backoffDelay(attempts, retry, options.random) : Math.min(retryAfter, retry.maxRetryAfterMs);
      } else {
        if (idempotent || (outcomeUnknown && neverSent(outcome.cause))) reason = 'network';
        waitMs = backoffDelay(attempts, retry, options.random);
      }

      if (reason === null && outcomeUnknown && (outcome.kind !== 'status' || isTransientServerError(outcome.status))) {
        // Sent, and maybe applied: only a read can tell. Every earlier attempt was refused
        // unprocessed (429, 401) or never left, so this is the only one that may have landed.
        const cause = finalError(what, outcome, attempts, false, waitMs);
        throw new OutcomeUnknownError(`${what}: the outcome is unknown (${cause.message}); it was not sent again: read the state back`, outcome.kind === 'status' ? outcome.status : undefined, { cause });
      }
      if (reason === null) {
        const error = finalError(what, outcome, attempts, false, waitMs);
        if (error instanceof PreconditionFailedError && unsure !== null && outcome.kind === 'status') {
          // Our own failed attempt may have moved the version the retry's If-Match names:
          // this 412 proves no other writer. The provider's first error is the answer.
          const first = finalError(what, unsure, attempts - 1, false, waitMs);
          first.message += `; its retry then answered ${outcome.status}, so the failed attempt may have changed the resource`;
          throw first;
        }
        if (error instanceof PreconditionFailedError) observer.onRetry('conflict');
        throw error;
      }
      if (request.method !== 'GET' && (reason === 'server_error' || reason === 'network')) unsure = outcome;
      if (attempts >= retry.maxAttempts) throw finalError(what, outcome, attempts, false, waitMs);
      if (clock.monotonic() + waitMs > deadline) throw finalError(what, outcome, attempts, true, waitMs);
      observer.onRetry(reason);
      try {
        await clock.sleep(waitMs, ctx.signal);
      } catch (error) {
        if (ctx.signal?.aborted) throw abortError(ctx.signal, what);
        throw error;
      }
    }
  }
}
