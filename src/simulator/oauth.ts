/**
 * The token endpoints: OAuth 2.0 client credentials at /oauth/token (RFC 6749 §4.4), and
 * CXone's own sign-in: the password grant with an access key at /auth/token (plus its
 * refresh_token grant) and the access-key endpoint. Clients authenticate by HTTP Basic
 * (§2.3.1) or by credentials in the form body; errors follow §5.2. Access tokens are opaque
 * random strings that expire by the injected clock; CXone grants add an id_token.
 *
 * Shapes: the password grant, its answer (access_token, token_type, expires_in,
 * refresh_token, id_token) and client_secret_basic come from the generated client
 * calljacob/nice-cxone-api, src/services/auth/AuthenticationGlobalauthenticationService.ts
 * (POST /auth/token, tokenAccessKeyRequest, tokenRefreshRequest). The access-key endpoint
 * (POST {region}/authentication/v1/token/access-key with JSON {accessKeyId, accessKeySecret})
 * is the older sign-in NICE's back-end authentication documentation describes; no generated
 * client lists it, so its answer is taken to be the password grant's and its errors
 * (400 invalid_request / invalid_grant) are an assumption.
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

/** An access key of an employee: what the password grant and the access-key endpoint take. */
export interface AccessKey {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** What its tokens may do (the owner's role, in CXone). Default read and write. */
  readonly scopes?: readonly string[];
  /** The owner's user id, the id_token's `sub`. Default derived from the key id. */
  readonly userId?: string;
}

export const DEFAULT_ACCESS_KEY: AccessKey = { accessKeyId: 'demo-access-key-id', accessKeySecret: 'demo-access-key-secret' };

export interface AccessToken {
  /** The OAuth client, or null for the access-key endpoint. */
  readonly clientId: string | null;
  /** The access key, or null for client credentials. */
  readonly accessKeyId: string | null;
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

export interface TokenServiceOptions {
  readonly clients: readonly OAuthClient[];
  readonly accessKeys: readonly AccessKey[];
  readonly ttlSeconds: number;
  readonly now: () => number;
  /** The id_token of a CXone grant for this key's owner and this audience. */
  readonly idToken: (claims: { sub: string; aud: string }) => string;
  /** Whether the access-key endpoint answers an id_token (the password grant always does). */
  readonly accessKeyIdToken: boolean;
}

export interface TokenService {
  /** /oauth/token: client credentials only. */
  handle(request: TokenRequest): TokenAnswer;
  /** /auth/token: the password grant (username = access key id, password = its secret) and refresh_token. */
  handleCxone(request: TokenRequest): TokenAnswer;
  /** /authentication/v1/token/access-key: JSON { accessKeyId, accessKeySecret }. */
  handleAccessKey(request: Omit<TokenRequest, 'authorization'>): TokenAnswer;
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

const REFRESH_TTL_MS = 24 * 3600 * 1000;

interface RefreshGrant {
  readonly clientId: string | null;
  readonly key: AccessKey;
  readonly expiresAt: number;
}

type Form = URLSearchParams;

/** Compares in constant time whether or not the name is known. */
function secretMatches(known: Buffer | undefined, presented: string | undefined): boolean {
  const ok = timingSafeEqual(digest(presented ?? ''), known ?? digest(`\u0000${presented ?? ''}`));
  return known !== undefined && presented !== undefined && ok;
}

/** The form of a token request, or the §5.2 error for its media type or a repeated parameter. */
function readForm(request: TokenRequest): Form | TokenAnswer {
  const mediaType = request.contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/x-www-form-urlencoded') {
    return fail(400, 'invalid_request', 'the token request must be application/x-www-form-urlencoded (RFC 6749 §4.4.2)');
  }
  const form = new URLSearchParams(request.body);
  for (const key of new Set(form.keys())) {
    if (form.getAll(key).length > 1) return fail(400, 'invalid_request', `parameter ${JSON.stringify(key)} is repeated (RFC 6749 §3.2)`);
  }
  return form;
}

function ownerOf(key: AccessKey): string {
  return key.userId ?? `user-${createHash('sha256').update(key.accessKeyId).digest('hex').slice(0, 24)}`;
}

export function createTokenService(options: TokenServiceOptions): TokenService {
  const { ttlSeconds, now } = options;
  const clients = new Map(options.clients.map((client) => [client.clientId, { client, secret: digest(client.clientSecret) }]));
  const accessKeys = new Map(options.accessKeys.map((key) => [key.accessKeyId, { key, secret: digest(key.accessKeySecret) }]));
  const tokens = new Map<string, AccessToken>();
  const refreshTokens = new Map<string, RefreshGrant>();

  function sweep(): void {
    const t = now();
    for (const [token, grant] of tokens) if (grant.expiresAt <= t) tokens.delete(token);
    for (const [token, grant] of refreshTokens) if (grant.expiresAt <= t) refreshTokens.delete(token);
  }

  /** RFC 6749 §2.3: HTTP Basic or client_id and client_secret in the form. */
  function authenticateClient(form: Form, authorization: string | undefined): OAuthClient | TokenAnswer {
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
    if (known === undefined || !secretMatches(known.secret, clientSecret)) return fail(401, 'invalid_client', 'unknown client or wrong secret', basic);
    return known.client;
  }

  function issue(clientId: string | null, accessKeyId: string | null, scopes: Iterable<string>): string {
    if (tokens.size >= 10_000) sweep();
    const token = randomBytes(32).toString('base64url');
    tokens.set(token, { clientId, accessKeyId, scopes: new Set(scopes), expiresAt: now() + ttlSeconds * 1000 });
    return token;
  }

  /** The answer of a CXone grant: an access token, a refresh token and (unless left out) an id_token. */
  function cxoneGrant(clientId: string | null, key: AccessKey, withIdToken: boolean): TokenAnswer {
    const accessToken = issue(clientId, key.accessKeyId, key.scopes ?? [SCOPE_READ, SCOPE_WRITE]);
    if (refreshTokens.size >= 10_000) sweep();
    const refreshToken = randomBytes(32).toString('base64url');
    refreshTokens.set(refreshToken, { clientId, key, expiresAt: now() + REFRESH_TTL_MS });
    const body: Record<string, unknown> = { access_token: accessToken, token_type: 'Bearer', expires_in: ttlSeconds, refresh_token: refreshToken };
    if (withIdToken) body.id_token = options.idToken({ sub: ownerOf(key), aud: clientId ?? key.accessKeyId });
    return { status: 200, headers: { ...NO_STORE }, body };
  }

  function checkAccessKey(accessKeyId: string, secret: string): AccessKey | undefined {
    const known = accessKeys.get(accessKeyId);
    return secretMatches(known?.secret, secret) ? known?.key : undefined;
  }

  function handle(request: TokenRequest): TokenAnswer {
    const form = readForm(request);
    if (!(form instanceof URLSearchParams)) return form;
    const client = authenticateClient(form, request.authorization);
    if (!('clientId' in client)) return client;

    const grantType = form.get('grant_type');
    if (grantType === null) return fail(400, 'invalid_request', 'grant_type is required');
    if (grantType !== 'client_credentials') return fail(400, 'unsupported_grant_type', `grant_type ${JSON.stringify(grantType)} is not supported; use client_credentials`);

    const allowed = client.scopes ?? [SCOPE_READ, SCOPE_WRITE];
    const requested = (form.get('scope') ?? '').split(' ').filter((scope) => scope !== '');
    const refused = requested.filter((scope) => !allowed.includes(scope));
    if (refused.length > 0) return fail(400, 'invalid_scope', `scope not granted to this client: ${refused.join(' ')}`);
    const granted = requested.length > 0 ? [...new Set(requested)] : [...allowed];
    const token = issue(client.clientId, null, granted);
    return {
      status: 200,
      headers: { ...NO_STORE },
      body: { access_token: token, token_type: 'Bearer', expires_in: ttlSeconds, scope: granted.join(' ') },
    };
  }

  function handleCxone(request: TokenRequest): TokenAnswer {
    const form = readForm(request);
    if (!(form instanceof URLSearchParams)) return form;
    const client = authenticateClient(form, request.authorization);
    if (!('clientId' in client)) return client;
    const grantType = form.get('grant_type');
    if (grantType === null) return fail(400, 'invalid_request', 'grant_type is required');
    if (grantType === 'password') {
      const username = form.get('username');
      const secret = form.get('password');
      if (username === null || username === '' || secret === null || secret === '') {
        return fail(400, 'invalid_request', 'the password grant needs username (the access key id) and password (its secret)');
      }
      const key = checkAccessKey(username, secret);
      if (key === undefined) return fail(400, 'invalid_grant', 'unknown access key or wrong secret');
      return cxoneGrant(client.clientId, key, true);
    }
    if (grantType === 'refresh_token') {
      const refreshToken = form.get('refresh_token');
      if (refreshToken === null || refreshToken === '') return fail(400, 'invalid_request', 'refresh_token is required');
      const grant = refreshTokens.get(refreshToken);
      if (grant === undefined || grant.expiresAt <= now() || grant.clientId !== client.clientId) return fail(400, 'invalid_grant', 'the refresh token is unknown, spent or expired');
      refreshTokens.delete(refreshToken);
      return cxoneGrant(client.clientId, grant.key, true);
    }
    return fail(400, 'unsupported_grant_type', `grant_type ${JSON.stringify(grantType)} is not supported here; use password (an access key) or refresh_token`);
  }

  function handleAccessKey(request: Omit<TokenRequest, 'authorization'>): TokenAnswer {
    const mediaType = request.contentType?.split(';')[0]?.trim().toLowerCase();
    if (mediaType !== 'application/json') return fail(400, 'invalid_request', 'send JSON: {"accessKeyId": "…", "accessKeySecret": "…"}');
    let body: unknown;
    try {
      body = JSON.parse(request.body);
    } catch {
      return fail(400, 'invalid_request', 'the request body is not valid JSON');
    }
    const { accessKeyId, accessKeySecret } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    for (const [name, value] of [['accessKeyId', accessKeyId], ['accessKeySecret', accessKeySecret]] as const) {
      if (typeof value !== 'string' || value === '') return fail(400, 'invalid_request', `${name} is required (a non-empty string)`);
    }
    const key = checkAccessKey(accessKeyId as string, accessKeySecret as string);
    if (key === undefined) return fail(400, 'invalid_grant', 'unknown access key or wrong secret');
    return cxoneGrant(null, key, options.accessKeyIdToken);
  }

  return {
    handle,
    handleCxone,
    handleAccessKey,
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
      refreshTokens.clear();
    },
  };
}
