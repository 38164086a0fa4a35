/**
 * The one place where errors become HTTP answers (docs/api.md "Errors"). Every answer
 * has the body { error, message, syncId? }; 5xx bodies hide internals; nothing here ever
 * echoes a token or a secret.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import {
  answerCode,
  AuditUnavailableError,
  ConflictError,
  GroupBusyError,
  GroupNotFoundError,
  QueueTimeoutError,
  SyncCancelledError,
  SyncError,
  SyncInterruptedError,
  UpstreamError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
  ValidationFailedError,
  WriteNotAppliedError,
  gapFields,
  InvalidCursorError,
  RollbackFailedError,
  AgentWriteFailedError,
  RemovalGuardError,
  removalGuardFields,
  GroupQuarantinedError,
  VersionMismatchError,
} from '../../core/errors.js';
import { ApiError } from '../errors.js';
import { quotedName } from '../schemas/sync.js';

export interface HttpError {
  status: number;
  body: Record<string, unknown> & { error: string; message: string };
  headers?: Record<string, string>;
}

export function toHttpError(error: unknown): HttpError {
  if (error instanceof SyncError) return fromSyncError(error);
  if (error instanceof ApiError) return { status: error.status, body: { error: error.code, message: error.message }, ...(Object.keys(error.headers).length > 0 ? { headers: { ...error.headers } } : {}) };
  if (error instanceof InvalidCursorError) return { status: 400, body: { error: 'invalid_request', message: error.message } };
  const fastifyError = error as Partial<FastifyError> | undefined;
  if (fastifyError?.validation) return fromValidation(fastifyError as FastifyError);
  switch (fastifyError?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { error: 'payload_too_large', message: 'request body is larger than the limit for this route' } };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: { error: 'unsupported_media_type', message: 'send the body as application/json or application/scim+json' } };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: { error: 'invalid_request', message: 'body must not be empty' } };
  }
  const status = fastifyError?.statusCode;
  if (error instanceof SyntaxError || fastifyError?.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { status: 400, body: { error: 'invalid_request', message: 'body is not valid JSON, or holds a forbidden key (__proto__, constructor.prototype)' } };
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status: 400, body: { error: 'invalid_request', message: safeMessage(fastifyError?.message) } };
  }
  return { status: 500, body: { error: 'internal_error', message: 'internal error; the details are in the service log' } };
}

function fromSyncError(error: SyncError): HttpError {
  const ids = error.syncId ? { syncId: error.syncId } : {};
  if (error instanceof ValidationFailedError) {
    const omitted = error.errorsOmitted > 0 ? { errorsOmitted: error.errorsOmitted } : {};
    return { status: 422, body: { ...ids, error: error.code, message: error.message, errors: error.errors, ...omitted } };
  }
  if (error instanceof GroupNotFoundError) return { status: 404, body: { error: error.code, message: error.message, ...ids } };
  if (error instanceof WriteNotAppliedError) return { status: 502, body: { error: error.code, message: error.message, ...ids, ...gapFields(error.gap) } };
  if (error instanceof AgentWriteFailedError) return { status: 502, body: { error: 'upstream_error', message: error.message, ...ids, upstreamStatus: error.status, detail: error.detail, failed: error.failures } };
  if (error instanceof RollbackFailedError) return { status: 502, body: { error: error.code, message: error.message, ...ids, members: error.members, failed: error.failures } };
  // Not kept under an Idempotency-Key (a 409): the caller repeats it with allowMassRemoval.
  if (error instanceof RemovalGuardError) return { status: 409, body: { error: error.code, message: error.message, ...ids, ...removalGuardFields(error) } };
  if (error instanceof VersionMismatchError) return { status: 412, body: { error: error.code, message: error.message, ...ids } };
  if (error instanceof GroupQuarantinedError) {
    return {
      status: 503,
      body: { error: error.code, message: error.message, ...ids, quarantinedSince: new Date(error.since).toISOString(), nextProbeAt: new Date(error.nextProbeAt).toISOString() },
      headers: { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterSeconds))) },
    };
  }
  if (error instanceof GroupBusyError || error instanceof QueueTimeoutError) {
    const retryAfter = String(Math.max(1, Math.ceil(error.retryAfterSeconds)));
    return { status: error instanceof GroupBusyError ? 429 : 503, body: { error: error.code, message: error.message, ...ids }, headers: { 'retry-after': retryAfter } };
  }
  // Nobody is listening any more; the status is for the request log (nginx's "client closed request").
  if (error instanceof SyncCancelledError) return { status: 499, body: { error: error.code, message: error.message, ...ids } };
  if (answerCode(error) === 'conflict') {
    return { status: 409, body: { error: 'conflict', message: error instanceof ConflictError ? error.message : 'the group changed concurrently; retry the request', ...ids } };
  }
  if (error instanceof UpstreamUnavailableError) {
    const retryAfter = Math.max(1, Math.ceil(error.retryAfterSeconds));
    return { status: 503, body: { error: error.code, message: error.message, ...ids }, headers: { 'retry-after': String(retryAfter) } };
  }
  if (error instanceof AuditUnavailableError) {
    return { status: 503, body: { error: error.code, message: error.message, ...ids }, headers: { 'retry-after': '5' } };
  }
  if (error instanceof UpstreamTimeoutError) return { status: 504, body: { error: error.code, message: error.message, ...ids }, headers: { 'retry-after': '5' } };
  if (error instanceof SyncInterruptedError) return { status: 503, body: { error: error.code, message: error.message, ...ids }, headers: { 'retry-after': '5' } };
  if (error instanceof UpstreamError) {
    const upstream: Record<string, unknown> = { upstreamStatus: error.status };
    if (error.scimType !== undefined) upstream.scimType = error.scimType;
    if (error.detail !== undefined) upstream.detail = error.detail;
    return { status: 502, body: { error: 'upstream_error', message: error.message, ...ids, ...upstream } };
  }
  return { status: 500, body: { error: 'internal_error', message: 'internal error; the details are in the service log', ...ids } };
}

function fromValidation(error: FastifyError): HttpError {
  const first = error.validation?.[0];
  const part = error.validationContext ?? 'request';
  if (part === 'body' && first?.keyword === 'maxItems' && first.instancePath === '/members') {
    const limit = (first.params as { limit?: number }).limit;
    return { status: 413, body: { error: 'payload_too_large', message: `members must hold at most ${limit} entries (MAX_MEMBERS)` } };
  }
  const field = `${part}${first?.instancePath ?? ''}`;
  let message = first?.message ?? 'is invalid';
  if (first?.keyword === 'anyOf' || first?.keyword === 'enum' || first?.keyword === 'const') {
    const allowed = allowedValues(error.validation ?? [], first.instancePath);
    message = allowed ? `must be one of ${allowed}` : 'has a value that is not allowed';
  }
  if (first?.keyword === 'additionalProperties') {
    const name = String((first.params as { additionalProperty?: unknown }).additionalProperty);
    message = `has an unknown attribute ${quotedName(name)}`;
  }
  if (first?.keyword === 'pattern' && part === 'params') message = 'must be 1–256 characters without "/" or control characters';
  if (first?.keyword === 'required') message = `must have required property '${(first.params as { missingProperty?: string }).missingProperty}'`;
  return { status: 400, body: { error: 'invalid_request', message: `${field} ${message}` } };
}

/** The values an enum (or a union of constants) allows at `path`, quoted; undefined when it allows more than constants. */
function allowedValues(errors: NonNullable<FastifyError['validation']>, path: string): string | undefined {
  const values: unknown[] = [];
  for (const e of errors) {
    if (e.instancePath !== path) continue;
    const params = e.params as { allowedValues?: unknown[]; allowedValue?: unknown };
    if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) values.push(...params.allowedValues);
    else if (e.keyword === 'const') values.push(params.allowedValue);
    else if (e.keyword !== 'anyOf') return undefined;
  }
  return values.length > 0 ? values.map((v) => JSON.stringify(v)).join(', ') : undefined;
}

/** Fastify's own messages are safe, but keep them short and on one line. */
function safeMessage(message: string | undefined): string {
  return (message ?? 'invalid request').replace(/\s+/g, ' ').slice(0, 300);
}

/** A route's path as a pattern over request paths: `:param` is one segment, `*` anything. */
function pathPattern(url: string): RegExp {
  const source = url
    .split(/(:[A-Za-z0-9_]+|\*)/)
    .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

export const errorHandler = fp(async (app: FastifyInstance) => {
  // Every route's path and methods, so that a known path asked with another method answers
  // 405 with Allow (RFC 9110 §15.5.6) instead of a 404 that suggests the path is wrong.
  const routes: { pattern: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const known = routes.find((r) => r.pattern.source === pathPattern(route.url).source);
    if (known) for (const method of methods) known.methods.add(method);
    else routes.push({ pattern: pathPattern(route.url), methods: new Set(methods) });
  });
  app.setErrorHandler((error, request, reply) => {
    const http = toHttpError(error);
    if (http.status >= 500) {
      const operational = error instanceof SyncError;
      request.log[operational ? 'warn' : 'error']({ err: error, code: http.body.error }, 'request failed');
    } else {
      request.log.info({ code: http.body.error, status: http.status }, http.body.message);
    }
    reply.code(http.status).headers(http.headers ?? {}).send(http.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = new Set(routes.filter((r) => r.pattern.test(path)).flatMap((r) => [...r.methods]));
    if (allowed.size > 0 && !allowed.has(request.method)) {
      const allow = [...allowed].toSorted().join(', ');
      reply.code(405).header('allow', allow).send({ error: 'method_not_allowed', message: `${request.method} is not allowed on ${path}; allowed: ${allow}` });
      return;
    }
    reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });
});
