/**
 * Idempotency-Key (IETF httpapi Idempotency-Key draft) for routes marked
 * `config: { idempotent: true }`. Keys are scoped to the caller (the token's name). The
 * first answer for a key (a 200 or a 4xx) is stored and replayed to a retry with the same
 * route, query and body, without running it again; the same key with anything else is a
 * 422; a retry while the first is still running is a 409. Transient answers (409
 * conflict, 429, 499 cancelled, 5xx) are not stored, so a retry runs again; nor is a 409
 * removal_guard, so that the caller can repeat it with ?allowMassRemoval=true under the
 * same key.
 *
 * The fingerprint is the SHA-256 of the canonical JSON of method, route, params, query
 * and body, so key order and white space in the body do not matter.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { sha256Hex } from '../../core/audit.js';
import { canonicalJson } from '../../core/canonical-json.js';
import type { IdempotencyStore } from '../../core/ports.js';
import { IdempotencyKeyInUseError, IdempotencyKeyReusedError, InvalidIdempotencyKeyError } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Honour the Idempotency-Key header on this route. */
    idempotent?: boolean;
  }
  interface FastifyRequest {
    /** The claimed key, while this request owns it. */
    idempotencyKey?: string;
  }
}

export interface IdempotencyOptions {
  readonly store: IdempotencyStore;
  /** How long a stored answer is replayed. */
  readonly ttlMs: number;
}

const KEY = /^[\x21-\x7e]{1,255}$/;

export const idempotency = fp(async (app: FastifyInstance, { store, ttlMs }: IdempotencyOptions) => {
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config.idempotent !== true) return;
    const header = request.headers['idempotency-key'];
    if (header === undefined) return;
    const key = Array.isArray(header) ? undefined : header.replace(/^"(.*)"$/, '$1');
    if (key === undefined || !KEY.test(key)) throw new InvalidIdempotencyKeyError();

    const fingerprint = sha256Hex(
      canonicalJson({ method: request.method, route: request.routeOptions.url, params: request.params, query: request.query, body: request.body }),
    );
    const claim = await store.claim(request.actor, key, fingerprint, ttlMs);
    if (claim.claimed) {
      request.idempotencyKey = key;
      return;
    }
    if (claim.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
    if (claim.state === 'processing') throw new IdempotencyKeyInUseError();
    request.log.info({ idempotencyKey: key }, 'replaying the stored answer for this Idempotency-Key');
    return reply.code(claim.response.statusCode).header('content-type', claim.response.contentType).header('idempotent-replayed', 'true').send(claim.response.body);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const key = request.idempotencyKey;
    if (key === undefined) return payload;
    request.idempotencyKey = undefined;
    const status = reply.statusCode;
    // 499: the caller went away and its sync was cancelled; a retry must run it.
    // 409: a lost race, a key in use, or removal_guard (the caller repeats it with allowMassRemoval).
    const final = status === 200 || (status >= 400 && status < 500 && status !== 409 && status !== 429 && status !== 499);
    if (final && typeof payload === 'string') {
      await store.complete(request.actor, key, { statusCode: status, contentType: String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8'), body: payload });
    } else {
      await store.release(request.actor, key);
    }
    return payload;
  });
});
