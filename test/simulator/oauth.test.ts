import { afterEach, describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/simulator.js';
import { ERROR_SCHEMA, basic, closeSimulators, readAnswer, startSimulator } from './harness.js';

afterEach(closeSimulators);

const FORM = 'application/x-www-form-urlencoded';

async function tokenRequest(url: string, body: Record<string, string>, headers: Record<string, string> = {}) {
  return readAnswer(
    await fetch(`${url}/oauth/token`, { method: 'POST', headers: { 'content-type': FORM, ...headers }, body: new URLSearchParams(body) }),
  );
}

describe('simulator OAuth token endpoint (RFC 6749 §4.4)', () => {
  it('when the client authenticates with HTTP Basic, then it gets a bearer token that works on SCIM', async () => {
    const { url, request } = await startSimulator();
    const answer = await tokenRequest(url, { grant_type: 'client_credentials' }, { authorization: basic('demo-client', 'demo-secret') });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'provisioning:read provisioning:write' });
    expect(answer.body.access_token).toMatch(/^[\w-]{20,}$/);
    const group = await request('GET', `/scim/v2/Groups/${seedIds.groups.platform}`, { token: answer.body.access_token });
    expect(group.status).toBe(200);
  });

  it('when the credentials are in the form body, then a token is issued for the requested scope', async () => {
    const { url } = await startSimulator();
    const answer = await tokenRequest(url, { grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'demo-secret', scope: 'provisioning:read' });
    expect(answer.status).toBe(200);
    expect(answer.body.scope).toBe('provisioning:read');
  });

  it('when Basic credentials need form-encoding, then they are decoded per RFC 6749 §2.3.1', async () => {
    const { url } = await startSimulator({ clients: [{ clientId: 'app:1', clientSecret: 'p@ss w%rd' }] });
    const answer = await tokenRequest(url, { grant_type: 'client_credentials' }, { authorization: basic('app:1', 'p@ss w%rd') });
    expect(answer.status).toBe(200);
  });

  it('when the secret is wrong over Basic, then 401 invalid_client with WWW-Authenticate: Basic', async () => {
    const { url } = await startSimulator();
    const answer = await tokenRequest(url, { grant_type: 'client_credentials' }, { authorization: basic('demo-client', 'nope') });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
    expect(answer.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  it('when the secret is wrong in the form, then 401 invalid_client without a Basic challenge', async () => {
    const { url } = await startSimulator();
    const answer = await tokenRequest(url, { grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'nope' });
    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe('invalid_client');
    expect(answer.headers.get('www-authenticate')).toBeNull();
  });

  it('when the grant type, scope or request is wrong, then the §5.2 error codes answer', async () => {
    const { url } = await startSimulator();
    const auth = { authorization: basic('demo-client', 'demo-secret') };
    expect((await tokenRequest(url, { grant_type: 'password' }, auth)).body.error).toBe('unsupported_grant_type');
    expect((await tokenRequest(url, {}, auth)).body.error).toBe('invalid_request');
    const scope = await tokenRequest(url, { grant_type: 'client_credentials', scope: 'provisioning:admin' }, auth);
    expect([scope.status, scope.body.error]).toEqual([400, 'invalid_scope']);
    const both = await tokenRequest(url, { grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'demo-secret' }, auth);
    expect([both.status, both.body.error]).toEqual([400, 'invalid_request']);
    const json = await readAnswer(
      await fetch(`${url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: '{"grant_type":"client_credentials"}' }),
    );
    expect([json.status, json.body.error]).toEqual([400, 'invalid_request']);
    const get = await readAnswer(await fetch(`${url}/oauth/token`));
    expect(get.status).toBe(405);
  });

  it('when the token expires by the injected clock, then SCIM answers 401 and a new token works', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const { request, token } = await startSimulator({ now: () => now, tokenTtlSeconds: 60 });
    const first = await token();
    expect((await request('GET', '/scim/v2/Users?count=1', { token: first })).status).toBe(200);
    now += 60_000;
    const expired = await request('GET', '/scim/v2/Users?count=1', { token: first });
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '401' });
    expect(expired.headers.get('www-authenticate')).toContain('invalid_token');
    expect((await request('GET', '/scim/v2/Users?count=1', { token: await token() })).status).toBe(200);
  });

  it('when tokens are revoked, then the next SCIM request answers 401', async () => {
    const { simulator, request, token } = await startSimulator();
    const bearer = await token();
    expect((await request('GET', '/scim/v2/ServiceProviderConfig', { token: bearer })).status).toBe(200);
    simulator.revokeTokens();
    expect((await request('GET', '/scim/v2/ServiceProviderConfig', { token: bearer })).status).toBe(401);
  });

  it('when a SCIM request has no or a bogus bearer token, then 401 SCIM error with a Bearer challenge', async () => {
    const { request } = await startSimulator();
    const none = await request('GET', '/scim/v2/Users', { token: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toBe('application/scim+json');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect((await request('GET', '/scim/v2/Users', { token: 'forged' })).status).toBe(401);
  });

  it('when the token has only the read scope, then reads work and writes answer 403', async () => {
    const { request, token } = await startSimulator();
    const readOnly = await token({ scope: 'provisioning:read' });
    expect((await request('GET', `/scim/v2/Groups/${seedIds.groups.platform}`, { token: readOnly })).status).toBe(200);
    const write = await request('PATCH', `/scim/v2/Groups/${seedIds.groups.platform}`, {
      token: readOnly,
      body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: 'X' }] },
    });
    expect(write.status).toBe(403);
    expect(write.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '403' });
    expect(write.headers.get('www-authenticate')).toContain('insufficient_scope');
  });
});
