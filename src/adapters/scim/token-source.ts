/**
 * OAuth 2.0 access tokens: a cached, single-flight token (createTokenCache), the one way to
 * ask a token endpoint and read its answer (createTokenRequester), and the client
 * credentials grant (RFC 6749 §4.4) built from both (createTokenSource). The CXone sign-in
 * (src/adapters/cxone/sign-in.ts) builds its password and access-key grants from the same two.
 *
 * Why single flight and invalidate(token): a sync fans out into many concurrent SCIM
 * requests. When the token expires they would all ask for a new one at once, and when the
 * upstream answers 401 they would all refresh. One shared in-flight fetch means one token
 * request however many callers wait, and invalidate() only drops the cache when it still
 * holds the token that was refused, so a burst of 401s for the same token costs exactly
 * one refresh.
 *
 * Neither the secret nor a token ever appears in an error, a log line or a metric.
 */
import { Agent, type Dispatcher } from 'undici';
import { TokenEndpointError, UpstreamTimeoutError, UpstreamUnavailableError } from '../../core/errors.js';
import { parseRetryAfter } from './retry-policy.js';
import type { Clock } from '../../core/ports.js';
import {
  BodyTooLargeError,
  classifyTransportError,
  describeTransportError,
  raceSignal,
  readBody,
  snippet,
} from './transport.js';
import { createRedactor, type Redactor } from './redactor.js';
import { safeObserver, type UpstreamObserver } from './upstream-observer.js';

export type TokenAuthMethod = 'basic' | 'post';

export interface TokenSourceOptions {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Space-separated scopes; omitted from the request when empty. */
  readonly scope?: string;
  /** Client authentication (RFC 6749 §2.3.1): HTTP Basic (default) or form body. */
  readonly auth?: TokenAuthMethod;
  readonly clock: Clock;
  /** Defaults to an Agent owned (and closed) by the token source. */
  readonly dispatcher?: Dispatcher;
  /** headersTimeout and bodyTimeout of the token request. Default 10 s. */
  readonly timeoutMs?: number;
  /** Lifetime assumed when the response has no expires_in. Default 300 s. */
  readonly defaultExpiresInSeconds?: number;
  /** Refresh this long before expiry (at most half the lifetime). Default 60 s. */
  readonly refreshSkewSeconds?: number;
  readonly observer?: UpstreamObserver;
  /**
   * Blanks secrets out of the endpoint's error text. The token source adds what only it
   * knows: the client secret (also form-encoded), the Basic credential, `id:secret`, and
   * every access token it obtains. Default: a redactor of its own.
   */
  readonly redactor?: Redactor;
}

export interface TokenSource {
  /** A valid access token, fetched when none is cached or the cached one is about to expire. */
  getToken(signal?: AbortSignal): Promise<string>;
  /** Drops the cached token if it is still `token` (the upstream refused it). */
  invalidate(token: string): void;
  /** Closes the dispatcher if the token source created it. */
  close(): Promise<void>;
}

interface CachedToken {
  readonly value: string;
  readonly refreshAt: number;
}

const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;

export function createTokenSource(options: TokenSourceOptions): TokenSource {
  const url = new URL(options.tokenUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError(`token URL must be http(s), got ${url.protocol}`);
  }
  const auth = options.auth ?? 'basic';
  const timeoutMs = options.timeoutMs ?? 10_000;
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 30_000, connect: { timeout: timeoutMs } });
  const redactor = options.redactor ?? createRedactor();
  const client = clientAuthentication(options.clientId, options.clientSecret, auth, redactor);
  const requester = createTokenRequester({ clock: options.clock, dispatcher, timeoutMs, observer: options.observer, redactor });

  function requestBody(): string {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (options.scope) form.set('scope', options.scope);
    for (const [name, value] of client.form) form.set(name, value);
    return form.toString();
  }

  const cache = createTokenCache({
    clock: options.clock,
    defaultExpiresInSeconds: options.defaultExpiresInSeconds,
    refreshSkewSeconds: options.refreshSkewSeconds,
    observer: options.observer,
    fetch: () => requester.request(url, { contentType: 'application/x-www-form-urlencoded', headers: client.headers, body: requestBody() }),
  });
  return {
    ...cache,
    async close() {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}

/**
 * Client authentication at a token endpoint (RFC 6749 §2.3.1): the header or form fields
 * to send, with every form of the secret an endpoint could echo taught to the redactor
 * (the secret as is and form-encoded, `id:secret`, and the Basic credential made of either).
 */
export function clientAuthentication(
  clientId: string,
  clientSecret: string,
  auth: TokenAuthMethod,
  redactor: Redactor,
): { readonly headers: Readonly<Record<string, string>>; readonly form: readonly [string, string][] } {
  const basicCredential = Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`, 'utf8').toString('base64');
  for (const secret of [clientSecret, formEncode(clientSecret), `${clientId}:${clientSecret}`, `${formEncode(clientId)}:${formEncode(clientSecret)}`, basicCredential]) {
    redactor.addSecret(secret);
  }
  return auth === 'basic'
    ? { headers: { authorization: `Basic ${basicCredential}` }, form: [] }
    : {
        headers: {},
        form: [
          ['client_id', clientId],
          ['client_secret', clientSecret],
        ],
      };
}

/** What a token endpoint issued: the token, its lifetime, and the whole answer (for an id_token, a tenant). */
export interface IssuedToken {
  readonly accessToken: string;
  readonly expiresIn: number | undefined;
  readonly body: Readonly<Record<string, unknown>>;
}

export interface TokenCall {
  readonly contentType: 'application/x-www-form-urlencoded' | 'application/json';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface TokenRequesterOptions {
  readonly clock: Clock;
  readonly dispatcher: Dispatcher;
  readonly timeoutMs: number;
  readonly observer?: UpstreamObserver;
  /** Runs over the endpoint's error text; learns each access token issued. */
  readonly redactor: Redactor;
}

export interface TokenRequester {
  /** POSTs `call` to `url` and reads the answer as RFC 6749 §5.1 (success) or §5.2 (error). */
  request(url: URL, call: TokenCall): Promise<IssuedToken>;
}

/**
 * The one way to ask a token endpoint: no redirects, a timeout, a bounded answer, 429 and
 * 503 as "unavailable for Retry-After seconds" (not a refusal of the credentials), every
 * error field redacted on its raw text, and each access token learned by the redactor as
 * soon as it arrives. Every request is reported as resource `oauth`.
 */
export function createTokenRequester(options: TokenRequesterOptions): TokenRequester {
  const { clock, dispatcher, timeoutMs, redactor } = options;
  const observer = safeObserver(options.observer);
  const redact = (text: string) => redactor.redact(text);

  async function post(url: URL, call: TokenCall): Promise<{ status: number; text: string; retryAfterMs: number | null }> {
    const started = clock.monotonic();
    const report = (status: number | 'network' | 'timeout') =>
      observer.onRequest({ method: 'POST', resource: 'oauth', status, durationMs: clock.monotonic() - started });
    let response: Dispatcher.ResponseData;
    try {
      response = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: { 'content-type': call.contentType, accept: 'application/json', ...call.headers },
        body: call.body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (error) {
      throw transportFailure(url, error, report);
    }
    const status = response.statusCode;
    try {
      const text = await readBody(response.body, MAX_TOKEN_RESPONSE_BYTES, status >= 300);
      report(status);
      return { status, text, retryAfterMs: parseRetryAfter(response.headers['retry-after'], clock.now()) };
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw transportFailure(url, error, report);
      report(status);
      throw new TokenEndpointError('invalid_response', 'the token response is too large', status);
    }
  }

  function transportFailure(url: URL, error: unknown, report: (kind: 'network' | 'timeout') => void): unknown {
    const kind = classifyTransportError(error);
    if (kind === null) return error;
    report(kind);
    const what = `the OAuth token endpoint ${url.origin}${url.pathname}`;
    const reason = redact(describeTransportError(error));
    return kind === 'timeout'
      ? new UpstreamTimeoutError(`${what} did not answer in time (${reason})`)
      : new UpstreamUnavailableError(`${what} is unreachable (${reason})`, 5);
  }

  return {
    async request(url, call) {
      const { status, text, retryAfterMs } = await post(url, call);
      if (status === 429 || status === 503) {
        // Rate limited or briefly down: not a refusal of our credentials. The syncs waiting
        // on this token answer 503 with the endpoint's Retry-After, like a throttled SCIM call.
        const refused = refusal(status, text, redact);
        const seconds = Math.max(1, Math.ceil((retryAfterMs ?? 5000) / 1000));
        throw new UpstreamUnavailableError(`${refused.message}; it asked to retry in ${seconds} s`, seconds, status, { cause: refused });
      }
      const token = parseTokenResponse(status, text, redact);
      redactor.addSecret(token.accessToken);
      return token;
    },
  };
}

export interface TokenCacheOptions {
  readonly clock: Clock;
  /** Obtains a new token (not called while one is in flight). */
  readonly fetch: () => Promise<Pick<IssuedToken, 'accessToken' | 'expiresIn'>>;
  /** Lifetime assumed when the answer has no expires_in. Default 300 s. */
  readonly defaultExpiresInSeconds?: number;
  /** Refresh this long before expiry (at most half the lifetime). Default 60 s. */
  readonly refreshSkewSeconds?: number;
  /** Told the outcome of each fetch. */
  readonly observer?: UpstreamObserver;
}

/** A token cached until shortly before it expires, fetched by one caller at a time whatever the number waiting. */
export function createTokenCache(options: TokenCacheOptions): Pick<TokenSource, 'getToken' | 'invalidate'> {
  const { clock } = options;
  const defaultLifetime = options.defaultExpiresInSeconds ?? 300;
  const skewSeconds = options.refreshSkewSeconds ?? 60;
  const observer = safeObserver(options.observer);
  let cached: CachedToken | null = null;
  let inflight: Promise<CachedToken> | null = null;

  async function fetchToken(): Promise<CachedToken> {
    const requestedAt = clock.now();
    try {
      const token = await options.fetch();
      const lifetime = token.expiresIn ?? defaultLifetime;
      const skew = Math.min(skewSeconds, lifetime / 2);
      observer.onTokenFetch('success');
      return { value: token.accessToken, refreshAt: requestedAt + (lifetime - skew) * 1000 };
    } catch (error) {
      observer.onTokenFetch('failure');
      throw error;
    }
  }

  return {
    getToken(signal) {
      if (cached && clock.now() < cached.refreshAt) return Promise.resolve(cached.value);
      if (!inflight) {
        // Callers share the fetch, so no single caller's signal may abort it.
        inflight = fetchToken().then(
          (token) => {
            cached = token;
            inflight = null;
            return token;
          },
          (error: unknown) => {
            inflight = null;
            throw error;
          },
        );
      }
      return raceSignal(
        inflight.then((token) => token.value),
        signal,
        'the OAuth token request',
      );
    },
    invalidate(token) {
      if (cached?.value === token) cached = null;
    },
  };
}

/** application/x-www-form-urlencoded encoding of one value (RFC 6749 Appendix B), as URLSearchParams does it. */
export function formEncode(value: string): string {
  return new URLSearchParams([['v', value]]).toString().slice(2);
}

/** The body as a JSON object, or undefined when it is not one. */
function jsonObject(text: string): Record<string, unknown> | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
}

/** The error answer of the token endpoint (RFC 6749 §5.2), each field redacted on its raw text, before it is cut. */
function refusal(status: number, text: string, redact: (text: string) => string): TokenEndpointError {
  const body = jsonObject(text);
  const error = typeof body?.error === 'string' ? snippet(redact(body.error), 100) : undefined;
  const description =
    typeof body?.error_description === 'string'
      ? snippet(redact(body.error_description))
      : body === undefined && text.trim()
        ? snippet(redact(text), 200)
        : undefined;
  return new TokenEndpointError(error, description, status);
}

/** RFC 6749 §5.1 (success) and §5.2 (error response). */
function parseTokenResponse(status: number, text: string, redact: (text: string) => string): IssuedToken {
  if (status < 200 || status >= 300) throw refusal(status, text, redact);
  const body = jsonObject(text);
  if (!body) throw new TokenEndpointError('invalid_response', 'the token response is not a JSON object', status);
  const accessToken = body.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw new TokenEndpointError('invalid_response', 'the token response has no access_token', status);
  }
  const tokenType = body.token_type;
  if (typeof tokenType === 'string' && tokenType.toLowerCase() !== 'bearer') {
    throw new TokenEndpointError('invalid_response', `unsupported token_type ${snippet(redact(tokenType), 40)}`, status);
  }
  const rawExpiry = typeof body.expires_in === 'string' ? Number(body.expires_in) : body.expires_in;
  const expiresIn = typeof rawExpiry === 'number' && Number.isFinite(rawExpiry) && rawExpiry > 0 ? rawExpiry : undefined;
  return { accessToken, expiresIn, body };
}
