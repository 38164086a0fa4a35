/**
 * Inbound bearer authentication (RFC 6750). Tokens come from SYNC_API_TOKENS and
 * ADMIN_API_TOKENS; the matching token's name becomes the actor of the audit trail, and a
 * token of ADMIN_API_TOKENS makes the request an administrator's (it sees and manages
 * every subscription and audit record; see the subscription and audit routes). Presented
 * tokens are hashed and compared against every configured hash with timingSafeEqual, so
 * neither the position of a match nor the length of a token shows in the timing.
 * Routes opt out with `config: { public: true }`.
 *
 * Failed authentications (a missing, malformed or unknown token) are counted per client
 * address (request.ip: the socket address, or what X-Forwarded-For says when TRUST_PROXY
 * trusts the proxy) in a one-minute window: past `failureLimit` the address gets 429
 * rate_limited with Retry-After instead of another 401, so tokens cannot be guessed at
 * speed. A valid token is checked first and is never refused by this limit.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { systemClock } from '../../core/clock.js';
import type { Clock } from '../../core/ports.js';
import { AuthFailuresLimitedError, ForbiddenError, UnauthorizedError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the token that authenticated this request. */
    actor: string;
    /** The token is in ADMIN_API_TOKENS: the request sees and manages every caller's subscriptions and audit records. */
    admin: boolean;
  }
  interface FastifyContextConfig {
    /** Served without a bearer token (health, metrics, docs). */
    public?: boolean;
    /** A route of the SCIM front door (/scim/v2): the tokens of SCIM_API_TOKENS call it (else those of SYNC_API_TOKENS and ADMIN_API_TOKENS). */
    scim?: boolean;
  }
}

export interface ApiTokenEntry {
  readonly name: string;
  readonly token: string;
}

export interface AuthOptions {
  tokens: readonly ApiTokenEntry[];
  /** Tokens of administrators (ADMIN_API_TOKENS). */
  adminTokens?: readonly ApiTokenEntry[];
  /**
   * Tokens of the SCIM front door (SCIM_API_TOKENS): when given (not empty), they and only
   * they call the routes marked `config.scim`; a token of this list alone calls nothing
   * else (403). Empty or absent: `tokens` and `adminTokens` call the SCIM routes too.
   */
  scimTokens?: readonly ApiTokenEntry[];
  realm?: string;
  /** Failed authentications per minute per client address before 429 (AUTH_FAILURE_LIMIT); 0 turns the limit off. Default 20. */
  failureLimit?: number;
  /** Times the failure window. Default: the system clock. */
  clock?: Clock;
}

export interface Caller {
  readonly actor: string;
  readonly admin: boolean;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export function createTokenVerifier(tokens: readonly ApiTokenEntry[], adminTokens: readonly ApiTokenEntry[] = []): (presented: string) => Caller | null {
  const known = [...tokens.map(({ name, token }) => ({ name, admin: false, hash: digest(token) })), ...adminTokens.map(({ name, token }) => ({ name, admin: true, hash: digest(token) }))];
  return (presented) => {
    const hash = digest(presented);
    let caller: Caller | null = null;
    for (const entry of known) {
      if (timingSafeEqual(entry.hash, hash) && caller === null) caller = { actor: entry.name, admin: entry.admin };
    }
    return caller;
  };
}

const WINDOW_MS = 60_000;
/** Addresses tracked at most; past it, expired windows are dropped, then the oldest. */
const MAX_TRACKED = 100_000;

/** Failed authentications per address in fixed one-minute windows. */
export function createFailureCounter(limit: number, clock: Clock) {
  const windows = new Map<string, { start: number; count: number }>();
  const current = (address: string) => {
    const entry = windows.get(address);
    return entry && clock.monotonic() - entry.start < WINDOW_MS ? entry : undefined;
  };
  const prune = () => {
    const now = clock.monotonic();
    for (const [address, entry] of windows) if (now - entry.start >= WINDOW_MS) windows.delete(address);
    for (const address of windows.keys()) {
      if (windows.size <= MAX_TRACKED) break;
      windows.delete(address);
    }
  };
  return {
    /** Seconds until the address may fail again, or null when it is under the limit. */
    blockedFor(address: string): number | null {
      if (limit <= 0) return null;
      const entry = current(address);
      if (!entry || entry.count < limit) return null;
      return Math.max(1, Math.ceil((entry.start + WINDOW_MS - clock.monotonic()) / 1000));
    },
    fail(address: string): void {
      if (limit <= 0) return;
      const entry = current(address);
      if (entry) entry.count += 1;
      else {
        windows.delete(address);
        windows.set(address, { start: clock.monotonic(), count: 1 });
        if (windows.size > MAX_TRACKED) prune();
      }
    },
  };
}

export const auth = fp(async (app: FastifyInstance, options: AuthOptions) => {
  const verify = createTokenVerifier(options.tokens, options.adminTokens ?? []);
  const realm = options.realm ?? 'cxone-scim-sync';
  const failures = createFailureCounter(options.failureLimit ?? 20, options.clock ?? systemClock);
  app.decorateRequest('actor', '');
  app.decorateRequest('admin', false);

  const scimTokens = options.scimTokens ?? [];
  const verifyScim = scimTokens.length > 0 ? createTokenVerifier(scimTokens) : verify;

  /** Thrown, so that the error handler of the route's scope answers it (the SCIM front door in its own error format). */
  const deny = (request: FastifyRequest, description: string, invalid: boolean): never => {
    const retryAfter = failures.blockedFor(request.ip);
    if (retryAfter !== null) throw new AuthFailuresLimitedError(retryAfter);
    failures.fail(request.ip);
    const challenge = invalid ? `Bearer realm="${realm}", error="invalid_token", error_description="${description}"` : `Bearer realm="${realm}"`;
    throw new UnauthorizedError(description, challenge);
  };

  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (request.routeOptions.config.public === true) return;
    if (request.routeOptions.url === undefined) return; // unknown route: the 404 handler answers
    const header = request.headers.authorization;
    if (header === undefined) return deny(request, 'a bearer token is required', false);
    const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
    if (!match) return deny(request, 'the Authorization header must be "Bearer <token>"', true);
    const presented = match[1] as string;
    const scim = request.routeOptions.config.scim === true;
    const caller = scim ? verifyScim(presented) : verify(presented);
    if (caller === null) {
      // A valid token of the SCIM front door used elsewhere: known, but not allowed here (not a failed authentication).
      if (!scim && scimTokens.length > 0 && verifyScim(presented) !== null) throw new ForbiddenError('this token may call the SCIM front door (/scim/v2) only');
      return deny(request, 'the bearer token is not valid', true);
    }
    request.actor = caller.actor;
    request.admin = scim ? false : caller.admin;
  });
});
