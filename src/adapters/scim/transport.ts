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
 */
export async function readBody(body: Readable, limit: number, truncate = false): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      if (!truncate) throw new BodyTooLargeError(limit);
      chunks.push(chunk.subarray(0, chunk.length - (size - limit)));
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);
/** Our own mistakes (bad arguments, test mocks that do not match): never retried, never masked. */
const BUG_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_MOCK_ERR_MOCK_NOT_MATCHED']);

export type TransportFailure = 'network' | 'timeout';

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

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Collapses whitespace and keeps at most `max` characters, so an error never echoes a huge body. */
export function snippet(text: string, max = 300): string {
  const flat = text.replace(/[\p{Cc}\s]+/gu, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Replaces every occurrence of the given secrets in `text`. */
export function redact(text: string, secrets: readonly (string | null | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out;
}
