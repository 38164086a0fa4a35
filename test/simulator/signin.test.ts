/**
 * Sign-in as CXone publishes it: OpenID discovery, the password grant with an access key
 * (the application as HTTP Basic), the id_token that names the tenant, tenant discovery,
 * and the older access-key token endpoint.
 */
import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ACCESS_KEY, DEFAULT_TENANT_ID, seedIds } from '../../src/simulator/simulator.js';
import { basic, closeSimulators, readAnswer, startSimulator } from './harness.js';

afterEach(closeSimulators);

const FORM = 'application/x-www-form-urlencoded';

async function post(url: string, body: Record<string, string>, headers: Record<string, string> = {}) {
  return readAnswer(await fetch(url, { method: 'POST', headers: { 'content-type': FORM, ...headers }, body: new URLSearchParams(body) }));
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return readAnswer(await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }));
}

function claimsOf(jwt: string): Record<string, unknown> {
  const [, payload] = jwt.split('.');
  return JSON.parse(Buffer.from(payload as string, 'base64url').toString('utf8')) as Record<string, unknown>;
}

const password = { grant_type: 'password', username: DEFAULT_ACCESS_KEY.accessKeyId, password: DEFAULT_ACCESS_KEY.accessKeySecret };
const app = { authorization: basic('demo-client', 'demo-secret') };

describe('simulator CXone sign-in', () => {
  it('when the OpenID configuration is read, then it names this issuer, its token endpoint and its keys', async () => {
    const { url } = await startSimulator();
    const answer = await readAnswer(await fetch(`${url}/.well-known/openid-configuration`));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toContain('application/json');
    expect(answer.body).toMatchObject({
      issuer: url,
      token_endpoint: `${url}/auth/token`,
      jwks_uri: `${url}/auth/jwks`,
      token_endpoint_auth_methods_supported: ['client_secret_basic'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
  });

  it('when an access key signs in with the password grant, then the answer carries a bearer token and an id_token naming the tenant', async () => {
    const { url, request } = await startSimulator();
    const discovery = await readAnswer(await fetch(`${url}/.well-known/openid-configuration`));
    const answer = await post(discovery.body.token_endpoint, password, app);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(answer.body.access_token).toMatch(/^[\w-]{20,}$/);
    expect(answer.body.refresh_token).toMatch(/^[\w-]{20,}$/);
    const claims = claimsOf(answer.body.id_token);
    expect(claims).toMatchObject({ iss: url, aud: 'demo-client', tenantId: DEFAULT_TENANT_ID });
    expect(typeof claims.sub).toBe('string');
    expect(claims.exp).toBe((claims.iat as number) + 3600);
    expect(JSON.stringify(answer.body)).not.toContain(DEFAULT_ACCESS_KEY.accessKeySecret);

    // The id_token is signed with a key from jwks_uri.
    const jwks = await readAnswer(await fetch(`${url}/auth/jwks`));
    const [header, payload, signature] = (answer.body.id_token as string).split('.') as [string, string, string];
    const { kid, alg } = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid: string; alg: string };
    expect(alg).toBe('RS256');
    const jwk = jwks.body.keys.find((key: { kid: string }) => key.kid === kid) as JsonWebKey;
    const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
    expect(verify('sha256', Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'))).toBe(true);

    const user = await request('GET', `/scim/v2/Users/${seedIds.users.aliceSmith}`, { token: answer.body.access_token });
    expect(user.status).toBe(200);
  });

  it('when the password grant is wrong, then the OAuth errors answer and no secret is echoed', async () => {
    const { url } = await startSimulator();
    const token = `${url}/auth/token`;
    const wrongKey = await post(token, { ...password, password: 'not-the-secret' }, app);
    expect([wrongKey.status, wrongKey.body.error]).toEqual([400, 'invalid_grant']);
    expect(JSON.stringify(wrongKey.body)).not.toContain('not-the-secret');
    const unknownKey = await post(token, { ...password, username: 'nobody' }, app);
    expect([unknownKey.status, unknownKey.body.error]).toEqual([400, 'invalid_grant']);
    const noClient = await post(token, password);
    expect([noClient.status, noClient.body.error]).toEqual([401, 'invalid_client']);
    const wrongClient = await post(token, password, { authorization: basic('demo-client', 'nope') });
    expect([wrongClient.status, wrongClient.body.error]).toEqual([401, 'invalid_client']);
    expect(wrongClient.headers.get('www-authenticate')).toMatch(/^Basic /);
    const noUser = await post(token, { grant_type: 'password', password: 'x' }, app);
    expect([noUser.status, noUser.body.error]).toEqual([400, 'invalid_request']);
    const clientCredentials = await post(token, { grant_type: 'client_credentials' }, app);
    expect([clientCredentials.status, clientCredentials.body.error]).toEqual([400, 'unsupported_grant_type']);
    expect((await fetch(token)).status).toBe(405);
  });

  it('when a refresh token is used, then a new pair is issued and the old refresh token is spent', async () => {
    const { url, request } = await startSimulator();
    const first = await post(`${url}/auth/token`, password, app);
    const refreshed = await post(`${url}/auth/token`, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token }, app);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.access_token).not.toBe(first.body.access_token);
    expect((await request('GET', '/scim/v2/Users?count=1', { token: refreshed.body.access_token })).status).toBe(200);
    const again = await post(`${url}/auth/token`, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token }, app);
    expect([again.status, again.body.error]).toEqual([400, 'invalid_grant']);
  });

  it('when tenant discovery is asked for this tenant, then it answers this origin as api_endpoint and the area', async () => {
    const { url } = await startSimulator({ tenantId: 'tenant-under-test', area: 'eu1' });
    const answer = await readAnswer(await fetch(`${url}/.well-known/cxone-configuration?tenantId=tenant-under-test`));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ api_endpoint: url, auth_endpoint: url, area: 'eu1', tenantId: 'tenant-under-test', private: false });
    const other = await readAnswer(await fetch(`${url}/.well-known/cxone-configuration?tenantId=someone-else`));
    expect(other.status).toBe(404);
    const missing = await readAnswer(await fetch(`${url}/.well-known/cxone-configuration`));
    expect([missing.status, missing.body.error]).toEqual([400, 'invalid_request']);
  });

  it('when an access key posts to the access-key endpoint, then it gets a token that works and an id_token naming the tenant', async () => {
    const { url, request } = await startSimulator();
    const answer = await postJson(`${url}/authentication/v1/token/access-key`, { accessKeyId: DEFAULT_ACCESS_KEY.accessKeyId, accessKeySecret: DEFAULT_ACCESS_KEY.accessKeySecret });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(claimsOf(answer.body.id_token).tenantId).toBe(DEFAULT_TENANT_ID);
    expect((await request('GET', '/scim/v2/Users?count=1', { token: answer.body.access_token })).status).toBe(200);

    const wrong = await postJson(`${url}/authentication/v1/token/access-key`, { accessKeyId: DEFAULT_ACCESS_KEY.accessKeyId, accessKeySecret: 'wrong-secret' });
    expect([wrong.status, wrong.body.error]).toEqual([400, 'invalid_grant']);
    expect(JSON.stringify(wrong.body)).not.toContain('wrong-secret');
    const form = await post(`${url}/authentication/v1/token/access-key`, { accessKeyId: 'a', accessKeySecret: 'b' });
    expect([form.status, form.body.error]).toEqual([400, 'invalid_request']);
    const missing = await postJson(`${url}/authentication/v1/token/access-key`, { accessKeyId: DEFAULT_ACCESS_KEY.accessKeyId });
    expect(missing.status).toBe(400);
    expect(missing.body.error_description).toContain('accessKeySecret');
  });

  it('when credentials are configured, then only those sign in, and accessKeyIdToken false answers the access-key endpoint without an id_token', async () => {
    const { url } = await startSimulator({
      clients: [{ clientId: 'app-1', clientSecret: 'app-secret-1' }],
      accessKeys: [{ accessKeyId: 'KEY1', accessKeySecret: 'key-secret-1', userId: 'user-of-key-1' }],
      tenantId: 'tenant-1',
    });
    const ok = await post(`${url}/auth/token`, { grant_type: 'password', username: 'KEY1', password: 'key-secret-1' }, { authorization: basic('app-1', 'app-secret-1') });
    expect(claimsOf(ok.body.id_token)).toMatchObject({ sub: 'user-of-key-1', tenantId: 'tenant-1', aud: 'app-1' });
    const demo = await post(`${url}/auth/token`, password, { authorization: basic('app-1', 'app-secret-1') });
    expect(demo.body.error).toBe('invalid_grant');

    const bare = await startSimulator({ accessKeyIdToken: false });
    const answer = await postJson(`${bare.url}/authentication/v1/token/access-key`, { accessKeyId: DEFAULT_ACCESS_KEY.accessKeyId, accessKeySecret: DEFAULT_ACCESS_KEY.accessKeySecret });
    expect(answer.status).toBe(200);
    expect(answer.body.id_token).toBeUndefined();
  });

  it('when a password-grant token outlives its lifetime by the injected clock, then it answers 401', async () => {
    let now = Date.parse('2026-03-01T00:00:00Z');
    const { url, request } = await startSimulator({ now: () => now, tokenTtlSeconds: 60 });
    const answer = await post(`${url}/auth/token`, password, app);
    expect(answer.body.expires_in).toBe(60);
    expect(claimsOf(answer.body.id_token).iat).toBe(now / 1000);
    now += 60_000;
    expect((await request('GET', '/scim/v2/Users?count=1', { token: answer.body.access_token })).status).toBe(401);
  });
});
