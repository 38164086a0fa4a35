/**
 * Small pieces shared by the token source and the SCIM client: bounded body reads,
 * classification of undici failures, and what an aborted call throws.
 */
import type { Readable } from 'node:stream';
import { SyncError, UpstreamTimeoutError } from '../../core/errors.js';

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`response body exceeds ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads a response body as UTF-8. Past `limit` bytes: with `truncate` the rest is dropped
 * (error bodies only feed a short detail), otherwise BodyTooLargeError.
 *
 * The bytes go into one buffer of the announced size (`expectedBytes`, from
 * Content-Length), growing by doubling when there is none or it was wrong: a 16 MB
 * answer is held once as bytes, not as its chunks plus their concatenation, before it
 * is decoded.
 */
export async function readBody(body: Readable, limit: number, truncate = false, expectedBytes?: number): Promise<string> {
  // A length over the limit is not believed up front: the body may still be cut short.
  const announced = expectedBytes !== undefined && Number.isSafeInteger(expectedBytes) && expectedBytes >= 0 && expectedBytes <= limit ? expectedBytes : undefined;
  let buffer = Buffer.allocUnsafe(Math.min(announced ?? 16 * 1024, limit));
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    let take = chunk.length;
    if (size + take > limit) {
      body.destroy();
      if (!truncate) throw new BodyTooLargeError(limit);
      take = limit - size;
    }
    if (size + take > buffer.length) {
      const grown = Buffer.allocUnsafe(Math.min(limit, Math.max(size + take, buffer.length * 2)));
      buffer.copy(grown, 0, 0, size);
      buffer = grown;
    }
    chunk.copy(buffer, size, 0, take);
    size += take;
    if (take < chunk.length) break;
  }
  return buffer.toString('utf8', 0, size);
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);
/** Our own mistakes (bad arguments, test mocks that do not match): never retried, never masked. */
const BUG_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_MOCK_ERR_MOCK_NOT_MATCHED']);

export type TransportFailure = 'network' | 'timeout';

/** Connection failures that happen before anything is sent: a request that met one was not applied. */
const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** Whether `error` failed the request before it left (no connection was made), so that sending it again cannot apply it twice. */
export function neverSent(error: unknown): boolean {
  const code = errorCode(error) ?? errorCode((error as { cause?: unknown } | null)?.cause);
  return code !== undefined && NEVER_SENT_CODES.has(code);
}

/** What kind of transport failure `error` is, or null when it is not one (a bug: rethrow). */
export function classifyTransportError(error: unknown): TransportFailure | null {
  if (error instanceof BodyTooLargeError) return null;
  const code = errorCode(error);
  if (code !== undefined && TIMEOUT_CODES.has(code)) return 'timeout';
  if (code !== undefined && BUG_CODES.has(code)) return null;
  if (error instanceof TypeError || error instanceof RangeError) return null;
  return 'network';
}

/** A short, secret-free description of a transport failure for error messages. */
export function describeTransportError(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * What to throw when the caller's signal aborted: its reason when that is one of ours,
 * UpstreamTimeoutError for a timeout (AbortSignal.timeout), otherwise the reason itself.
 */
export function abortError(signal: AbortSignal, what: string): unknown {
  const reason: unknown = signal.reason;
  if (reason instanceof SyncError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new UpstreamTimeoutError(`${what} was cut short: the caller's deadline expired`, { cause: reason });
  }
  return reason ?? new Error(`${what} was aborted`);
}

/** Resolves like `promise`, but rejects as soon as `signal` aborts (the work itself goes on). */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortError(signal, what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal, what));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** A Content-Length header as a number of bytes; undefined when absent or malformed. */
export function contentLength(value: string | string[] | undefined): number | undefined {
  const text = headerValue(value);
  return text !== undefined && /^[0-9]{1,15}$/.test(text) ? Number(text) : undefined;
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Collapses whitespace and keeps at most `max` characters, so an error never echoes a huge
 * body. Redact first (redactor.ts): a cut can split a secret that redaction would find whole.
 */
export function snippet(text: string, max = 300): string {
  const flat = text.replace(/[\p{Cc}\s]+/gu, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
