/**
 * CXone's discovery documents and the signed id_token of its sign-in.
 *
 * Shapes: `GET /.well-known/openid-configuration`, `GET /.well-known/cxone-configuration
 * ?tenantId=` and `GET /auth/jwks` as the generated client calljacob/nice-cxone-api has them
 * (src/services/auth/AuthenticationGlobalauthenticationService.ts: oidc_discovery,
 * getCXoneConfig, getAuthJwks). The id_token is an RS256 JWT whose claims carry `tenantId`
 * (NICE's "Backend application authentication" flow, as the project's CXone notes describe
 * it); which other claims a real tenant adds is not published, so only iss, sub, aud, iat,
 * exp and tenantId are here.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export const DEFAULT_TENANT_ID = '11ee5ad0-4c1e-4b7a-9a1d-5e1d0c0a7e01';
export const DEFAULT_AREA = 'na1';

interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly kid: string;
}

let signingKey: SigningKey | null = null;

/** One RSA key per process, made on first use (a 2048-bit key takes tens of milliseconds). */
function key(): SigningKey {
  if (signingKey === null) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const der = publicKey.export({ format: 'der', type: 'spki' });
    signingKey = { privateKey, publicKey, kid: `sim-${createHash('sha256').update(der).digest('base64url').slice(0, 16)}` };
  }
  return signingKey;
}

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An RS256 JWT (RFC 7519) over these claims. */
export function signJwt(claims: Record<string, unknown>): string {
  const { privateKey, kid } = key();
  const signingInput = `${base64url({ alg: 'RS256', typ: 'JWT', kid })}.${base64url(claims)}`;
  return `${signingInput}.${sign('sha256', Buffer.from(signingInput), privateKey).toString('base64url')}`;
}

/** The keys that verify signJwt's tokens (RFC 7517). */
export function jwks(): { keys: Record<string, unknown>[] } {
  const { publicKey, kid } = key();
  return { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' }] };
}

/** The simulator is its own issuer: every endpoint lives on its origin. */
export function openidConfiguration(issuer: string): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/auth/authorize`,
    token_endpoint: `${issuer}/auth/token`,
    jwks_uri: `${issuer}/auth/jwks`,
    end_session_endpoint: `${issuer}/auth/authorize/logout`,
    token_endpoint_auth_methods_supported: ['client_secret_basic'],
    token_endpoint_auth_signing_alg_values_supported: ['RS256'],
    scopes_supported: ['openid'],
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    request_object_signing_alg_values_supported: ['none'],
    display_values_supported: ['page', 'popup'],
    claim_types_supported: ['normal'],
  };
}

/** The tenant's discovery document: its API lives on the simulator's own origin. */
export function cxoneConfiguration(origin: string, tenantId: string, area: string): Record<string, unknown> {
  const domain = new URL(origin).host;
  return {
    private: false,
    ui_endpoint: origin,
    auth_endpoint: origin,
    api_endpoint: origin,
    area,
    cluster: `${area.toUpperCase()}-SIM`,
    domain,
    acdDomain: domain,
    uhDomain: domain,
    tenantId,
    globaldomain: domain,
  };
}
