/**
 * The token endpoint: OAuth 2.0 client credentials grant (RFC 6749 §4.4), clients
 * authenticated by HTTP Basic (§2.3.1) or by credentials in the form body, errors per §5.2.
 * Tokens are opaque random strings that expire by the injected clock.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface OAuthClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scopes?: readonly string[];
}

export const SCOPE_READ = 'provisioning:read';
export const SCOPE_WRITE = 'provisioning:write';
export const DEFAULT_CLIENT: OAuthClient = { clientId: 'demo-client', clientSecret: 'demo-secret', scopes: [SCOPE_READ, SCOPE_WRITE] };

export interface AccessToken {
  readonly clientId: string;
  readonly scopes: ReadonlySet<string>;
  readonly expiresAt: number;
}

export interface TokenRequest {
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: string;
}

export interface TokenAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Record<string, unknown>;
}

export interface TokenService {
  handle(request: TokenRequest): TokenAnswer;
  /** The token's grant, 'expired', or undefined when unknown (or revoked). */
  verify(token: string): AccessToken | 'expired' | undefined;
  revokeAll(): void;
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** RFC 6749 Appendix B: client_id and secret are form-urlencoded before Basic encoding. */
function formDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** RFC 6749 §5.2; a client that tried HTTP Basic gets a 401 with WWW-Authenticate: Basic. */
function fail(status: number, error: string, description: string, basic = false): TokenAnswer {
  const headers: Record<string, string> = { ...NO_STORE };
  if (basic) headers['www-authenticate'] = 'Basic realm="cxone-simulator", charset="UTF-8"';
  return { status, headers, body: { error, error_description: description } };
}

export function createTokenService(options: { clients: readonly OAuthClient[]; ttlSeconds: number; now: () => number }): TokenService {
  const { ttlSeconds, now } = options;
  const clients = new Map(options.clients.map((client) => [client.clientId, { client, secret: digest(client.clientSecret) }]));
  const tokens = new Map<string, AccessToken>();

  function sweep(): void {
    const t = now();
    for (const [token, grant] of tokens) if (grant.expiresAt <= t) tokens.delete(token);
  }

  function handle(request: TokenRequest): TokenAnswer {
    const mediaType = request.contentType?.split(';')[0]?.trim().toLowerCase();
    if (mediaType !== 'application/x-www-form-urlencoded') {
      return fail(400, 'invalid_request', 'the token request must be application/x-www-form-urlencoded (RFC 6749 §4.4.2)');
    }
    const form = new URLSearchParams(request.body);
    for (const key of new Set(form.keys())) {
      if (form.getAll(key).length > 1) return fail(400, 'invalid_request', `parameter ${JSON.stringify(key)} is repeated (RFC 6749 §3.2)`);
    }

    const authorization = request.authorization;
    const basic = authorization !== undefined && /^basic /i.test(authorization);
    const inBody = form.has('client_id') || form.has('client_secret');
    let clientId: string | undefined;
    let clientSecret: string | undefined;
    if (basic && inBody) return fail(400, 'invalid_request', 'use one client authentication method, not Basic and form credentials together (RFC 6749 §2.3)');
    if (basic) {
      const encoded = authorization.slice(6).trim();
      const decoded = /^[A-Za-z0-9+/]+={0,2}$/.test(encoded) ? Buffer.from(encoded, 'base64').toString('utf8') : '';
      const colon = decoded.indexOf(':');
      if (colon === -1) return fail(401, 'invalid_client', 'malformed Basic credentials', true);
      clientId = formDecode(decoded.slice(0, colon));
      clientSecret = formDecode(decoded.slice(colon + 1));
    } else if (inBody) {
      clientId = form.get('client_id') ?? undefined;
      clientSecret = form.get('client_secret') ?? undefined;
    } else {
      return fail(401, 'invalid_client', 'client authentication is required (HTTP Basic or client_id and client_secret)');
    }
    const known = clientId === undefined ? undefined : clients.get(clientId);
    const presented = digest(clientSecret ?? '');
    const secretOk = timingSafeEqual(presented, known?.secret ?? digest(`\u0000${clientSecret ?? ''}`));
    if (known === undefined || clientSecret === undefined || !secretOk) {
      return fail(401, 'invalid_client', 'unknown client or wrong secret', basic);
    }

    const grantType = form.get('grant_type');
    if (grantType === null) return fail(400, 'invalid_request', 'grant_type is required');
    if (grantType !== 'client_credentials') return fail(400, 'unsupported_grant_type', `grant_type ${JSON.stringify(grantType)} is not supported; use client_credentials`);

    const allowed = known.client.scopes ?? [SCOPE_READ, SCOPE_WRITE];
    const requested = (form.get('scope') ?? '').split(' ').filter((scope) => scope !== '');
    const refused = requested.filter((scope) => !allowed.includes(scope));
    if (refused.length > 0) return fail(400, 'invalid_scope', `scope not granted to this client: ${refused.join(' ')}`);
    const granted = requested.length > 0 ? [...new Set(requested)] : [...allowed];

    if (tokens.size >= 10_000) sweep();
    const token = randomBytes(32).toString('base64url');
    tokens.set(token, { clientId: known.client.clientId, scopes: new Set(granted), expiresAt: now() + ttlSeconds * 1000 });
    return {
      status: 200,
      headers: { ...NO_STORE },
      body: { access_token: token, token_type: 'Bearer', expires_in: ttlSeconds, scope: granted.join(' ') },
    };
  }

  return {
    handle,
    verify(token) {
      const grant = tokens.get(token);
      if (grant === undefined) return undefined;
      if (now() >= grant.expiresAt) {
        tokens.delete(token);
        return 'expired';
      }
      return grant;
    },
    revokeAll() {
      tokens.clear();
    },
  };
}
