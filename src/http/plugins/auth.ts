/**
 * Inbound bearer authentication (RFC 6750). Tokens come from SYNC_API_TOKENS; the
 * matching token's name becomes the actor of the audit trail. Presented tokens are
 * hashed and compared against every configured hash with timingSafeEqual, so neither
 * the position of a match nor the length of a token shows in the timing.
 * Routes opt out with `config: { public: true }`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the token that authenticated this request. */
    actor: string;
  }
  interface FastifyContextConfig {
    /** Served without a bearer token (health, metrics, docs). */
    public?: boolean;
  }
}

export interface AuthOptions {
  tokens: readonly { name: string; token: string }[];
  realm?: string;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export function createTokenVerifier(tokens: AuthOptions['tokens']): (presented: string) => string | null {
  const known = tokens.map(({ name, token }) => ({ name, hash: digest(token) }));
  return (presented) => {
    const hash = digest(presented);
    let actor: string | null = null;
    for (const entry of known) {
      if (timingSafeEqual(entry.hash, hash) && actor === null) actor = entry.name;
    }
    return actor;
  };
}

export const auth = fp(async (app: FastifyInstance, options: AuthOptions) => {
  const verify = createTokenVerifier(options.tokens);
  const realm = options.realm ?? 'cxone-scim-sync';
  app.decorateRequest('actor', '');

  const deny = (reply: FastifyReply, description: string, invalid: boolean) => {
    const challenge = invalid ? `Bearer realm="${realm}", error="invalid_token", error_description="${description}"` : `Bearer realm="${realm}"`;
    return reply.code(401).header('www-authenticate', challenge).send({ error: 'unauthorized', message: description });
  };

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config.public === true) return;
    if (request.routeOptions.url === undefined) return; // unknown route: the 404 handler answers
    const header = request.headers.authorization;
    if (header === undefined) return deny(reply, 'a bearer token is required', false);
    const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
    if (!match) return deny(reply, 'the Authorization header must be "Bearer <token>"', true);
    const actor = verify(match[1] as string);
    if (actor === null) return deny(reply, 'the bearer token is not valid', true);
    request.actor = actor;
  });
});
