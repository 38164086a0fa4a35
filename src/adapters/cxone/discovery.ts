/**
 * CXone discovery: where the token endpoint is (`{issuer}/.well-known/openid-configuration`,
 * OpenID Connect Discovery 1.0 §4, field `token_endpoint`) and where a tenant's API lives
 * (`{issuer}/.well-known/cxone-configuration?tenantId=…`, field `api_endpoint`), as NICE's
 * developer portal ("Getting Started", task 5: API discovery) describes them.
 *
 * Each document is one unauthenticated GET: no credentials go to it, redirects are not
 * followed, the answer is bounded. What a document names is checked before anything is
 * sent there: an http(s) URL without credentials in it, https unless it is loopback or
 * plain http was allowed on purpose (CXONE_ALLOW_INSECURE_HTTP), the rule the configured
 * URLs follow. A document that cannot work (missing, malformed, naming a refused URL) is a
 * CxoneSetupError: retrying does not help, and its message names the setting to fix.
 */
import type { Dispatcher } from 'undici';
import { SyncError, UpstreamError, UpstreamTimeoutError, UpstreamUnavailableError } from '../../core/errors.js';
import type { Clock } from '../../core/ports.js';
import type { Redactor } from '../scim/redactor.js';
import { isTransientServerError, parseRetryAfter } from '../scim/retry-policy.js';
import { BodyTooLargeError, classifyTransportError, describeTransportError, raceSignal, readBody, snippet } from '../scim/transport.js';
import { safeObserver, type UpstreamObserver } from '../scim/upstream-observer.js';

/**
 * Sign-in or discovery cannot work as configured (a document is missing or names a refused
 * URL, the token names no tenant): retrying will not fix it. The start stops on it with its
 * message; a sync that meets it answers 502 upstream_error.
 */
export class CxoneSetupError extends UpstreamError {}

const MAX_DOCUMENT_BYTES = 256 * 1024;

export interface DiscoveryOptions {
  readonly clock: Clock;
  readonly dispatcher: Dispatcher;
  /** headersTimeout and bodyTimeout of each GET. */
  readonly timeoutMs: number;
  readonly observer?: UpstreamObserver;
  readonly redactor: Redactor;
  /** CXONE_ALLOW_INSECURE_HTTP: a discovered plain-http URL that is not loopback is accepted. */
  readonly allowInsecureHttp: boolean;
}

export interface Discovery {
  /** `token_endpoint` of `{issuer}/.well-known/openid-configuration`. */
  tokenEndpoint(issuer: string, signal?: AbortSignal): Promise<string>;
  /** `api_endpoint` of `{issuer}/.well-known/cxone-configuration?tenantId={tenantId}`, without a trailing slash. */
  apiEndpoint(issuer: string, tenantId: string, signal?: AbortSignal): Promise<string>;
}

export function createDiscovery(options: DiscoveryOptions): Discovery {
  const { clock, dispatcher, timeoutMs, redactor } = options;
  const observer = safeObserver(options.observer);

  async function document(url: URL, fix: string, signal: AbortSignal | undefined): Promise<Record<string, unknown>> {
    const what = `the discovery document ${url.origin}${url.pathname}`;
    const started = clock.monotonic();
    const report = (status: number | 'network' | 'timeout') => observer.onRequest({ method: 'GET', resource: 'discovery', status, durationMs: clock.monotonic() - started });
    let status: number | undefined;
    try {
      const response = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: { accept: 'application/json' },
        signal: signal ?? null,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      status = response.statusCode;
      const text = await readBody(response.body, MAX_DOCUMENT_BYTES, status >= 300);
      report(status);
      if (status === 429 || isTransientServerError(status)) {
        const seconds = Math.max(1, Math.ceil((parseRetryAfter(response.headers['retry-after'], clock.now()) ?? 5000) / 1000));
        throw new UpstreamUnavailableError(`${what} answered ${status}${excerpt(text)}; retry in ${seconds} s`, seconds, status);
      }
      if (status < 200 || status >= 300) {
        const redirect = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
        throw new CxoneSetupError(`${what} answered ${status}${redirect}${excerpt(text)}; ${fix}`, { status });
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new CxoneSetupError(`${what} is not JSON${excerpt(text)}; ${fix}`, { status });
      }
      if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CxoneSetupError(`${what} is not a JSON object; ${fix}`, { status });
      return json as Record<string, unknown>;
    } catch (error) {
      if (signal?.aborted || error instanceof SyncError) throw error;
      if (error instanceof BodyTooLargeError) throw new CxoneSetupError(`${what} is larger than ${MAX_DOCUMENT_BYTES} bytes; ${fix}`, { status: status ?? 0 });
      const kind = classifyTransportError(error);
      if (kind === null) throw error;
      report(kind);
      const reason = redactor.redact(describeTransportError(error));
      throw kind === 'timeout' ? new UpstreamTimeoutError(`${what} did not answer in time (${reason})`) : new UpstreamUnavailableError(`${what} is unreachable (${reason})`, 5);
    }
  }

  function excerpt(text: string): string {
    const flat = snippet(redactor.redact(text), 200);
    return flat ? `: ${flat}` : '';
  }

  /** The URL a document names in `field`, checked as a configured URL would be. */
  function named(json: Record<string, unknown>, field: string, where: URL, fix: string): string {
    const value = json[field];
    const what = `${field} of ${where.origin}${where.pathname}`;
    if (typeof value !== 'string' || value.trim() === '') throw new CxoneSetupError(`${what} is missing; ${fix}`, { status: 200 });
    const refused = refuseUrl(value.trim(), options.allowInsecureHttp);
    if (refused) throw new CxoneSetupError(`${what} ${refused}; ${fix}`, { status: 200 });
    return new URL(value.trim()).href.replace(/\/+$/, '');
  }

  return {
    async tokenEndpoint(issuer, signal) {
      const url = new URL(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
      const fix = 'check CXONE_ISSUER, or set CXONE_TOKEN_URL';
      return named(await raceSignal(document(url, fix, signal), signal, 'discovery'), 'token_endpoint', url, fix);
    },
    async apiEndpoint(issuer, tenantId, signal) {
      const url = new URL(`${issuer.replace(/\/+$/, '')}/.well-known/cxone-configuration`);
      url.searchParams.set('tenantId', tenantId);
      const fix = 'check CXONE_ISSUER, or set CXONE_BASE_URL';
      return named(await raceSignal(document(url, fix, signal), signal, 'discovery'), 'api_endpoint', url, fix);
    },
  };
}

/** Why `href` may not receive credentials, or undefined when it may: the rule CXONE_BASE_URL and CXONE_TOKEN_URL follow (src/config.ts). */
export function refuseUrl(href: string, allowInsecureHttp: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `is not an http(s) URL (${url.protocol})`;
  if (url.username || url.password) return 'carries credentials in the URL';
  if (url.search || url.hash) return 'carries a query or a fragment';
  if (url.protocol === 'http:' && !allowInsecureHttp && !isLoopbackHost(url.hostname)) {
    return `(${url.origin}) is plain http and not loopback: credentials and tokens would travel in clear (CXONE_ALLOW_INSECURE_HTTP=true allows it)`;
  }
  return undefined;
}

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return host === 'localhost' || host.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '[::1]';
}

/**
 * The claims of a JWT, read without checking its signature: used only for the tenant of a
 * token the token endpoint itself just sent over TLS (OpenID Connect Core 1.0 §3.1.3.7,
 * point 6, allows TLS server validation in place of the signature for such an id_token).
 * Undefined when `token` is not a JWT with a JSON object as its claims.
 */
export function jwtClaims(token: unknown): Record<string, unknown> | undefined {
  if (typeof token !== 'string') return undefined;
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null && !Array.isArray(claims) ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
