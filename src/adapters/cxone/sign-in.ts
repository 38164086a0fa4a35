/**
 * Sign-in as NICE CXone does it (CXONE_AUTH), and where the tenant's API lives:
 *
 * - `client_credentials` (RFC 6749 §4.4): the registered application's id and secret at
 *   CXONE_TOKEN_URL, else `${CXONE_BASE_URL}/oauth/token`; the API at CXONE_BASE_URL.
 * - `password` (RFC 6749 §4.3), NICE's grant for back-end applications: the access key id
 *   and secret of the employee the service acts as, as `username` and `password`, the
 *   application's id and secret as HTTP Basic (or in the form: CXONE_TOKEN_AUTH=post), at
 *   CXONE_TOKEN_URL, else the `token_endpoint` CXONE_ISSUER's OpenID configuration names.
 *   The answer's `id_token` names the tenant (`tenantId` claim); the API is at
 *   CXONE_BASE_URL, else the `api_endpoint` CXone's discovery names for that tenant.
 * - `access_key`: `{"accessKeyId", "accessKeySecret"}` as JSON to the regional
 *   CXONE_TOKEN_URL (`https://{region}.nice-incontact.com/authentication/v1/token/access-key`);
 *   the API at CXONE_BASE_URL, else discovered when the answer (`tenantId`, an `id_token`)
 *   or the access token itself names the tenant; when nothing does, a CxoneSetupError
 *   that says to set CXONE_BASE_URL.
 *
 * Every grant goes through the same token cache (single flight, refreshed before expiry)
 * and the same token request (no redirects, bounded answer, redacted errors); the access
 * key secret, the client secret in every form, each access token and each id_token are
 * taught to the redactor. What discovery finds is kept for the life of the process: a
 * tenant's token endpoint and API origin do not move while it runs.
 */
import type { Dispatcher } from 'undici';
import type { Clock } from '../../core/ports.js';
import type { Redactor } from '../scim/redactor.js';
import { clientAuthentication, createTokenCache, createTokenRequester, type IssuedToken, type TokenAuthMethod, type TokenCall, type TokenSource } from '../scim/token-source.js';
import { raceSignal } from '../scim/transport.js';
import type { UpstreamObserver } from '../scim/upstream-observer.js';
import { createDiscovery, CxoneSetupError, jwtClaims } from './discovery.js';

export type CxoneAuthMode = 'client_credentials' | 'password' | 'access_key';

/** CXONE_ISSUER's default: NICE's global issuer, whose discovery documents lead to each tenant. */
export const CXONE_DEFAULT_ISSUER = 'https://cxone.niceincontact.com';
/** Where the client credentials grant asks by default, below CXONE_BASE_URL. */
export const CLIENT_CREDENTIALS_TOKEN_PATH = '/oauth/token';

export interface CxoneSignInOptions {
  readonly mode: CxoneAuthMode;
  /** Default CXONE_DEFAULT_ISSUER. */
  readonly issuer?: string;
  /** The API origin (CXONE_BASE_URL); when set, no API discovery. */
  readonly baseUrl?: string;
  /** The token endpoint (CXONE_TOKEN_URL); when set, no token endpoint discovery. */
  readonly tokenUrl?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly accessKeyId?: string;
  readonly accessKeySecret?: string;
  /** Space-separated scopes (client_credentials and password); none requested when empty. */
  readonly scope?: string;
  /** Client authentication of client_credentials and password. Default `basic`. */
  readonly tokenAuth?: TokenAuthMethod;
  /** CXONE_ALLOW_INSECURE_HTTP, for what discovery finds. */
  readonly allowInsecureHttp?: boolean;
  readonly clock: Clock;
  readonly dispatcher: Dispatcher;
  /** Each token and discovery request. Default 10 s. */
  readonly timeoutMs?: number;
  readonly observer?: UpstreamObserver;
  readonly redactor: Redactor;
}

export interface CxoneSignIn {
  readonly mode: CxoneAuthMode;
  readonly tokenSource: Pick<TokenSource, 'getToken' | 'invalidate'>;
  /**
   * The origin (optionally with a path) the SCIM and admin APIs live below: CXONE_BASE_URL,
   * or found once through discovery (which, without a known tenant, first obtains a token).
   */
  apiBaseUrl(signal?: AbortSignal): Promise<string>;
  /** The tenant the last token named, when one did. */
  tenantId(): string | undefined;
}

/** The settings each mode needs, for a clear TypeError when a caller forgot one (configuration checks them first). */
const REQUIRED: Record<CxoneAuthMode, readonly (keyof CxoneSignInOptions)[]> = {
  client_credentials: ['clientId', 'clientSecret', 'baseUrl'],
  password: ['clientId', 'clientSecret', 'accessKeyId', 'accessKeySecret'],
  access_key: ['accessKeyId', 'accessKeySecret', 'tokenUrl'],
};

export function createCxoneSignIn(options: CxoneSignInOptions): CxoneSignIn {
  const missing = REQUIRED[options.mode].filter((key) => !options[key]);
  if (missing.length > 0) throw new TypeError(`CXone sign-in ${options.mode} needs ${missing.join(', ')}`);
  const { mode, redactor, clock } = options;
  const issuer = (options.issuer ?? CXONE_DEFAULT_ISSUER).replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const requester = createTokenRequester({ clock, dispatcher: options.dispatcher, timeoutMs, observer: options.observer, redactor });
  const discovery = createDiscovery({ clock, dispatcher: options.dispatcher, timeoutMs, observer: options.observer, redactor, allowInsecureHttp: options.allowInsecureHttp ?? false });
  if (options.accessKeySecret) redactor.addSecret(options.accessKeySecret);

  const client = mode === 'access_key' ? undefined : clientAuthentication(options.clientId as string, options.clientSecret as string, options.tokenAuth ?? 'basic', redactor);
  let tenant: string | undefined;
  let discoveredTokenUrl: Promise<URL> | undefined;

  function tokenUrl(): Promise<URL> {
    if (options.tokenUrl) return Promise.resolve(new URL(options.tokenUrl));
    if (mode === 'client_credentials') return Promise.resolve(new URL(`${(options.baseUrl as string).replace(/\/+$/, '')}${CLIENT_CREDENTIALS_TOKEN_PATH}`));
    // Only the password grant discovers its endpoint; a failed discovery is asked again next time.
    discoveredTokenUrl ??= discovery.tokenEndpoint(issuer).then(
      (href) => new URL(href),
      (error: unknown) => {
        discoveredTokenUrl = undefined;
        throw error;
      },
    );
    return discoveredTokenUrl;
  }

  function call(): TokenCall {
    if (mode === 'access_key') {
      return { contentType: 'application/json', headers: {}, body: JSON.stringify({ accessKeyId: options.accessKeyId, accessKeySecret: options.accessKeySecret }) };
    }
    const form = new URLSearchParams(mode === 'password' ? { grant_type: 'password', username: options.accessKeyId as string, password: options.accessKeySecret as string } : { grant_type: 'client_credentials' });
    if (options.scope) form.set('scope', options.scope);
    for (const [name, value] of client?.form ?? []) form.set(name, value);
    return { contentType: 'application/x-www-form-urlencoded', headers: client?.headers ?? {}, body: form.toString() };
  }

  const tokenSource = createTokenCache({
    clock,
    observer: options.observer,
    fetch: async () => {
      const issued = await requester.request(await tokenUrl(), call());
      if (typeof issued.body.id_token === 'string' && issued.body.id_token !== '') redactor.addSecret(issued.body.id_token);
      tenant = tenantNamedBy(issued) ?? tenant;
      return issued;
    },
  });

  let apiBase: Promise<string> | undefined;
  async function discoverApi(): Promise<string> {
    if (tenant === undefined) await tokenSource.getToken();
    if (tenant === undefined) throw new CxoneSetupError(noTenant(mode), { status: 0 });
    return discovery.apiEndpoint(issuer, tenant);
  }

  return {
    mode,
    tokenSource,
    apiBaseUrl(signal) {
      if (options.baseUrl) return Promise.resolve(options.baseUrl.replace(/\/+$/, ''));
      // Callers share the discovery, so no single caller's signal may abort it.
      apiBase ??= discoverApi().catch((error: unknown) => {
        apiBase = undefined;
        throw error;
      });
      return raceSignal(apiBase, signal, 'CXone API discovery');
    },
    tenantId: () => tenant,
  };
}

/** The tenant a token answer names: the id_token's `tenantId` claim, a `tenantId` field, or the access token's own `tenantId` claim. */
function tenantNamedBy(issued: IssuedToken): string | undefined {
  for (const candidate of [jwtClaims(issued.body.id_token)?.tenantId, issued.body.tenantId, jwtClaims(issued.accessToken)?.tenantId]) {
    if (typeof candidate === 'string' && /^[^\p{Cc}\s]{1,256}$/u.test(candidate)) return candidate;
  }
  return undefined;
}

function noTenant(mode: CxoneAuthMode): string {
  return mode === 'password'
    ? 'CXONE_BASE_URL: required here: the token answer names no tenant (no id_token with a tenantId claim), so the API cannot be discovered; set CXONE_BASE_URL to the API origin'
    : 'CXONE_BASE_URL: required with CXONE_AUTH=access_key here: the token answer names no tenant (no tenantId, no id_token, no tenantId claim in the access token), so the API cannot be discovered; set CXONE_BASE_URL to the API origin';
}
