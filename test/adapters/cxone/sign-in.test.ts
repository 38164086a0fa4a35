import { afterEach, describe, expect, it } from 'vitest';
import { CxoneSetupError, jwtClaims, refuseUrl } from '../../../src/adapters/cxone/discovery.js';
import { createCxoneSignIn, type CxoneSignInOptions } from '../../../src/adapters/cxone/sign-in.js';
import { createCxoneDirectory } from '../../../src/adapters/scim/cxone-directory.js';
import { CXONE_DEFAULTS } from '../../../src/adapters/scim/defaults.js';
import { createRedactor } from '../../../src/adapters/scim/redactor.js';
import type { UpstreamRequestEvent } from '../../../src/adapters/scim/upstream-observer.js';
import { TokenEndpointError, UpstreamUnavailableError } from '../../../src/core/errors.js';
import { FakeClock } from '../../fakes/fake-clock.js';
import { scanForSecrets } from '../../helpers/secret-scan.js';
import { sendJson, startLoopback } from '../scim/loopback.js';
import { ACCESS_KEY, CLIENT, jwt, loopbackOnly, startFakeCxoneAuth, TENANT, type FakeCxoneAuth } from './fake-cxone-auth.js';

const form = (value: string) => new URLSearchParams([['v', value]]).toString().slice(2);

describe('CXone sign-in (CXONE_AUTH) and discovery', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
  });

  async function setup(options: Partial<CxoneSignInOptions> & { mode: CxoneSignInOptions['mode'] }, prepare: (fake: FakeCxoneAuth) => void = () => {}) {
    const fake = await startFakeCxoneAuth();
    cleanups.push(() => fake.close());
    prepare(fake);
    const net = loopbackOnly();
    cleanups.push(() => net.close());
    const clock = new FakeClock();
    const events: UpstreamRequestEvent[] = [];
    const fetches: string[] = [];
    const redactor = createRedactor();
    const signIn = createCxoneSignIn({
      issuer: fake.issuer,
      clientId: CLIENT.id,
      clientSecret: CLIENT.secret,
      accessKeyId: ACCESS_KEY.id,
      accessKeySecret: ACCESS_KEY.secret,
      clock,
      dispatcher: net.dispatcher,
      redactor,
      observer: { onRequest: (event) => events.push(event), onTokenFetch: (outcome) => fetches.push(outcome) },
      ...options,
    });
    return { fake, signIn, clock, events, fetches, net, redactor };
  }

  describe('password', () => {
    it('when nothing but the issuer is known, then the token endpoint and the API are discovered, and the grant sends the access key as username and password with the application as Basic', async () => {
      const { fake, signIn, events } = await setup({ mode: 'password' });
      expect(await signIn.apiBaseUrl()).toBe(`${fake.issuer}/api-origin`);
      expect(fake.requests.map((req) => `${req.method} ${req.url}`)).toEqual([
        'GET /.well-known/openid-configuration',
        'POST /auth/token',
        `GET /.well-known/cxone-configuration?tenantId=${TENANT}`,
      ]);
      const grant = fake.requestsTo('password')[0];
      expect(grant?.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(Object.fromEntries(new URLSearchParams(grant?.body))).toEqual({ grant_type: 'password', username: ACCESS_KEY.id, password: ACCESS_KEY.secret });
      expect(grant?.headers.authorization).toBe(`Basic ${Buffer.from(`${form(CLIENT.id)}:${form(CLIENT.secret)}`).toString('base64')}`);
      for (const req of fake.requestsTo('openid').concat(fake.requestsTo('cxone'))) expect(req.headers.authorization).toBeUndefined();
      expect(signIn.tenantId()).toBe(TENANT);
      expect(events.map((e) => `${e.method} ${e.resource} ${e.status}`)).toEqual(['GET discovery 200', 'POST oauth 200', 'GET discovery 200']);
    });

    it('when no CXONE_SCOPE is set, then no scope is requested; when it is, exactly that scope', async () => {
      const none = await setup({ mode: 'password' });
      await none.signIn.tokenSource.getToken();
      expect(new URLSearchParams(none.fake.requestsTo('password')[0]?.body).has('scope')).toBe(false);
      const some = await setup({ mode: 'password', scope: 'openid' });
      await some.signIn.tokenSource.getToken();
      expect(new URLSearchParams(some.fake.requestsTo('password')[0]?.body).get('scope')).toBe('openid');
    });

    it('when CXONE_TOKEN_URL and CXONE_BASE_URL are set, then nothing is discovered', async () => {
      const fake = await startFakeCxoneAuth();
      cleanups.push(() => fake.close());
      const direct = createCxoneSignIn({ ...optionsOf(fake, cleanups), mode: 'password', tokenUrl: `${fake.issuer}/auth/token`, baseUrl: 'https://tenant-api.invalid/' });
      expect(await direct.apiBaseUrl()).toBe('https://tenant-api.invalid');
      expect(await direct.tokenSource.getToken()).toMatch(/^at-1-/);
      expect(fake.requests.map((req) => req.path)).toEqual(['/auth/token']);
    });

    it('when CXONE_TOKEN_AUTH=post, then the application credentials travel in the form and no Authorization header is sent', async () => {
      const { fake, signIn } = await setup({ mode: 'password', tokenAuth: 'post' }, (f) =>
        f.answer('password', (req, res) => {
          const body = Object.fromEntries(new URLSearchParams(req.body));
          sendJson(res, 200, { access_token: 'at-post-xxxxxxxx', token_type: 'Bearer', expires_in: 3600, id_token: jwt({ tenantId: TENANT }), echo: body });
        }),
      );
      await signIn.tokenSource.getToken();
      const grant = fake.requestsTo('password')[0];
      expect(grant?.headers.authorization).toBeUndefined();
      expect(Object.fromEntries(new URLSearchParams(grant?.body))).toEqual({ grant_type: 'password', username: ACCESS_KEY.id, password: ACCESS_KEY.secret, client_id: CLIENT.id, client_secret: CLIENT.secret });
    });

    it('when the token is fresh, then it is reused until 60 s before it expires, then one request refreshes it; the API is not discovered again', async () => {
      const { fake, signIn, clock } = await setup({ mode: 'password' });
      await signIn.apiBaseUrl();
      expect(await signIn.tokenSource.getToken()).toMatch(/^at-1-/);
      clock.advance((3600 - 61) * 1000);
      expect(await signIn.tokenSource.getToken()).toMatch(/^at-1-/);
      clock.advance(2000);
      expect(await signIn.tokenSource.getToken()).toMatch(/^at-2-/);
      await signIn.apiBaseUrl();
      expect(fake.requestsTo('password')).toHaveLength(2);
      expect(fake.requestsTo('openid')).toHaveLength(1);
      expect(fake.requestsTo('cxone')).toHaveLength(1);
    });

    it('when 20 callers ask for the API and the token at once, then one discovery of each kind and one token request are made', async () => {
      const { fake, signIn } = await setup({ mode: 'password' });
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? signIn.apiBaseUrl() : signIn.tokenSource.getToken())));
      expect(new Set(answers).size).toBe(2);
      expect([fake.requestsTo('openid'), fake.requestsTo('password'), fake.requestsTo('cxone')].map((list) => list.length)).toEqual([1, 1, 1]);
    });

    it('when the id_token names no tenant and CXONE_BASE_URL is unset, then a setup error says to set CXONE_BASE_URL', async () => {
      const { fake, signIn } = await setup({ mode: 'password' }, (f) => (f.idTokenClaims = { sub: 'user:1' }));
      const error = await signIn.apiBaseUrl().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CxoneSetupError);
      expect((error as Error).message).toMatch(/^CXONE_BASE_URL: .*no id_token with a tenantId claim/);
      expect(fake.requestsTo('cxone')).toHaveLength(0);
      const without = await setup({ mode: 'password' }, (f) => (f.idTokenClaims = null));
      await expect(without.signIn.apiBaseUrl()).rejects.toThrow(CxoneSetupError);
    });

    it('when the issuer has no OpenID configuration (404), then a setup error names CXONE_ISSUER and CXONE_TOKEN_URL; a 503 is unavailable with its Retry-After and the next call asks again', async () => {
      const missing = await setup({ mode: 'password' }, (f) => f.answer('openid', (_req, res) => sendJson(res, 404, { error: 'nope' })));
      const error = await missing.signIn.tokenSource.getToken().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CxoneSetupError);
      expect((error as Error).message).toMatch(/openid-configuration answered 404.*check CXONE_ISSUER, or set CXONE_TOKEN_URL/);
      expect(missing.fetches).toEqual(['failure']);

      const busy = await setup({ mode: 'password' }, (f) => f.answer('openid', (_req, res) => sendJson(res, 503, {}, { 'retry-after': '7' }), 1));
      const unavailable = await busy.signIn.tokenSource.getToken().catch((e: unknown) => e);
      expect(unavailable).toBeInstanceOf(UpstreamUnavailableError);
      expect((unavailable as UpstreamUnavailableError).retryAfterSeconds).toBe(7);
      expect(await busy.signIn.tokenSource.getToken()).toMatch(/^at-1-/);
      expect(busy.fake.requestsTo('openid')).toHaveLength(2);
    });

    it('when a discovery document redirects, then the redirect is not followed', async () => {
      const { fake, signIn } = await setup({ mode: 'password' }, (f) =>
        f.answer('openid', (_req, res) => {
          res.writeHead(302, { location: 'https://elsewhere.invalid/.well-known/openid-configuration' });
          res.end();
        }),
      );
      await expect(signIn.tokenSource.getToken()).rejects.toThrow(/answered 302 \(redirects are not followed\)/);
      expect(fake.requests).toHaveLength(1);
    });

    it.each([
      ['token_endpoint', 'openid', (f: FakeCxoneAuth): void => f.answer('openid', (_req, res) => sendJson(res, 200, { token_endpoint: 'http://auth.cxone-test.invalid/auth/token' }))],
      [
        'api_endpoint',
        'cxone',
        (f: FakeCxoneAuth): void => {
          f.apiEndpoint = 'http://api-na1.cxone-test.invalid';
        },
      ],
    ] as const)('when discovery names a plain-http %s that is not loopback, then it is refused before anything is sent there', async (field, _route, prepare) => {
      const { signIn, net } = await setup({ mode: 'password' }, prepare);
      const error = await signIn.apiBaseUrl().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CxoneSetupError);
      expect((error as Error).message).toMatch(new RegExp(`${field} of .* is plain http and not loopback`));
      expect(net.refused).toEqual([]);
    });

    it.each([
      ['missing', {}],
      ['not a URL', { api_endpoint: 'api-na1 somewhere' }],
      ['carrying credentials', { api_endpoint: 'https://user:pw@api.invalid' }],
    ])('when the API discovery answer is %s, then a setup error names api_endpoint and CXONE_BASE_URL', async (_name, body) => {
      const { signIn, net } = await setup({ mode: 'password' }, (f) => f.answer('cxone', (_req, res) => sendJson(res, 200, body)));
      await expect(signIn.apiBaseUrl()).rejects.toThrow(/api_endpoint of .*; check CXONE_ISSUER, or set CXONE_BASE_URL/);
      expect(net.refused).toEqual([]);
    });

    it('when the token endpoint and discovery echo every secret in their errors, then no error, answer or message holds one', async () => {
      const idToken = jwt({ tenantId: TENANT, sub: 'someone' });
      const { signIn, fake } = await setup({ mode: 'password' });
      fake.idTokenClaims = { tenantId: TENANT, sub: 'someone' };
      const accessToken = await signIn.tokenSource.getToken();
      const basic = String(fake.requestsTo('password')[0]?.headers.authorization).replace(/^Basic /, '');
      const echo = [ACCESS_KEY.secret, CLIENT.secret, basic, accessToken, idToken, `${CLIENT.id}:${CLIENT.secret}`].join(' | ');
      fake.answer('password', (_req, res) => sendJson(res, 400, { error: `invalid_grant ${echo}`, error_description: `refused: ${echo}` }));
      fake.answer('cxone', (_req, res) => sendJson(res, 400, { message: `bad tenant ${echo}` }));
      const texts: string[] = [];
      signIn.tokenSource.invalidate(accessToken);
      const refused = await signIn.tokenSource.getToken().catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(TokenEndpointError);
      const discovery = await signIn.apiBaseUrl().catch((e: unknown) => e);
      expect(discovery).toBeInstanceOf(CxoneSetupError);
      for (const error of [refused, discovery] as Error[]) texts.push(error.message, String(error.stack), JSON.stringify(error), (error as TokenEndpointError).detail ?? '');
      const secrets = new Map([
        ['access key secret', ACCESS_KEY.secret],
        ['client secret', CLIENT.secret],
        ['basic credential', basic],
        ['access token', accessToken],
        ['id_token', idToken],
      ]);
      expect(scanForSecrets(secrets, texts.map((text, i) => [`text ${i}`, text] as const))).toEqual([]);
      expect(texts.join('\n')).toContain('[redacted]');
    });
  });

  describe('access_key', () => {
    it('when signing in, then the access key goes as JSON to CXONE_TOKEN_URL, and the API is CXONE_BASE_URL with nothing discovered', async () => {
      const fake = await startFakeCxoneAuth();
      cleanups.push(() => fake.close());
      const keyed = createCxoneSignIn({ ...optionsOf(fake, cleanups), mode: 'access_key', tokenUrl: `${fake.issuer}/authentication/v1/token/access-key`, baseUrl: 'https://tenant-api.invalid' });
      expect(await keyed.tokenSource.getToken()).toMatch(/^at-1-/);
      expect(await keyed.apiBaseUrl()).toBe('https://tenant-api.invalid');
      const [grant] = fake.requests;
      expect(grant?.method).toBe('POST');
      expect(grant?.path).toBe('/authentication/v1/token/access-key');
      expect(grant?.headers['content-type']).toBe('application/json');
      expect(grant?.headers.authorization).toBeUndefined();
      expect(JSON.parse(grant?.body ?? '')).toEqual({ accessKeyId: ACCESS_KEY.id, accessKeySecret: ACCESS_KEY.secret });
      expect(fake.requests).toHaveLength(1);
    });

    it.each([
      ['a tenantId field', (f: FakeCxoneAuth) => (f.accessKeyExtra = { tenantId: TENANT })],
      ['an id_token', (f: FakeCxoneAuth) => (f.accessKeyExtra = { id_token: jwt({ tenantId: TENANT }) })],
      ['the access token itself', (f: FakeCxoneAuth) => (f.accessToken = () => jwt({ tenantId: TENANT, exp: 1 }))],
    ])('when CXONE_BASE_URL is unset and the answer names the tenant in %s, then the API is discovered for it', async (_how, prepare) => {
      const fake = await startFakeCxoneAuth();
      cleanups.push(() => fake.close());
      prepare(fake);
      const signIn = createCxoneSignIn({ ...optionsOf(fake, cleanups), mode: 'access_key', tokenUrl: `${fake.issuer}/authentication/v1/token/access-key` });
      expect(await signIn.apiBaseUrl()).toBe(`${fake.issuer}/api-origin`);
      expect(fake.requestsTo('cxone')[0]?.query.get('tenantId')).toBe(TENANT);
      expect(fake.requestsTo('openid')).toHaveLength(0);
    });

    it('when CXONE_BASE_URL is unset and nothing names the tenant, then a setup error says to set CXONE_BASE_URL', async () => {
      const fake = await startFakeCxoneAuth();
      cleanups.push(() => fake.close());
      const signIn = createCxoneSignIn({ ...optionsOf(fake, cleanups), mode: 'access_key', tokenUrl: `${fake.issuer}/authentication/v1/token/access-key` });
      const error = await signIn.apiBaseUrl().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CxoneSetupError);
      expect((error as Error).message).toMatch(/^CXONE_BASE_URL: required with CXONE_AUTH=access_key here: the token answer names no tenant/);
      expect(fake.requestsTo('cxone')).toHaveLength(0);
    });

    it('when the access-key endpoint refuses and echoes the secret, then the error names the refusal without the secret', async () => {
      const fake = await startFakeCxoneAuth();
      cleanups.push(() => fake.close());
      fake.answer('access-key', (req, res) => sendJson(res, 401, { error: 'invalid_grant', error_description: `no such key: ${req.body}` }));
      const signIn = createCxoneSignIn({ ...optionsOf(fake, cleanups), mode: 'access_key', tokenUrl: `${fake.issuer}/authentication/v1/token/access-key` });
      const error = (await signIn.tokenSource.getToken().catch((e: unknown) => e)) as TokenEndpointError;
      expect(error).toBeInstanceOf(TokenEndpointError);
      expect(error.message).toContain('invalid_grant');
      expect(scanForSecrets(new Map([['access key secret', ACCESS_KEY.secret]]), [['message', `${error.message} ${JSON.stringify(error)} ${error.detail}`]])).toEqual([]);
    });
  });

  describe('client_credentials', () => {
    it('when signing in, then the client credentials grant goes to ${CXONE_BASE_URL}/oauth/token (or CXONE_TOKEN_URL) and the API is CXONE_BASE_URL', async () => {
      const fake = await startFakeCxoneAuth();
      cleanups.push(() => fake.close());
      fake.answer('password', (req, res) => sendJson(res, 200, { access_token: `cc-${new URLSearchParams(req.body).get('grant_type')}-xxxx`, token_type: 'Bearer', expires_in: 3600 }));
      const signIn = createCxoneSignIn({ ...optionsOf(fake, cleanups), mode: 'client_credentials', baseUrl: fake.issuer, tokenUrl: `${fake.issuer}/auth/token` });
      expect(await signIn.tokenSource.getToken()).toBe('cc-client_credentials-xxxx');
      expect(await signIn.apiBaseUrl()).toBe(fake.issuer);
      expect(fake.requests.map((req) => req.path)).toEqual(['/auth/token']);
      expect(() => createCxoneSignIn({ ...optionsOf(fake, cleanups), mode: 'client_credentials' })).toThrow(/needs baseUrl/);
    });
  });

  it('refuses URLs as the configured ones are refused', () => {
    expect(refuseUrl('https://api-na1.niceincontact.com', false)).toBeUndefined();
    expect(refuseUrl('http://127.0.0.1:9000', false)).toBeUndefined();
    expect(refuseUrl('http://[::1]:9000', false)).toBeUndefined();
    expect(refuseUrl('http://api-na1.niceincontact.com', false)).toMatch(/plain http and not loopback/);
    expect(refuseUrl('http://api-na1.niceincontact.com', true)).toBeUndefined();
    expect(refuseUrl('ftp://api-na1.niceincontact.com', true)).toMatch(/not an http\(s\) URL/);
    expect(refuseUrl('https://a:b@api-na1.niceincontact.com', true)).toMatch(/credentials/);
  });

  it('reads the claims of a JWT and nothing else', () => {
    expect(jwtClaims(jwt({ tenantId: 't-1' }))).toEqual({ tenantId: 't-1' });
    for (const notOne of ['abc', 'a.b.c', `x.${Buffer.from('[1]').toString('base64url')}.y`, 42, undefined]) expect(jwtClaims(notOne)).toBeUndefined();
  });
});

function optionsOf(fake: FakeCxoneAuth, cleanups: (() => Promise<void>)[]): Omit<CxoneSignInOptions, 'mode'> {
  const net = loopbackOnly();
  cleanups.push(() => net.close());
  return {
    issuer: fake.issuer,
    clientId: CLIENT.id,
    clientSecret: CLIENT.secret,
    accessKeyId: ACCESS_KEY.id,
    accessKeySecret: ACCESS_KEY.secret,
    clock: new FakeClock(),
    dispatcher: net.dispatcher,
    redactor: createRedactor(),
  };
}

describe('the CXone directory defaults', () => {
  it('when no scope is given, then none is requested (NICE documents none)', async () => {
    expect(CXONE_DEFAULTS.scope).toBe('');
    const upstream = await startLoopback((req, res) => sendJson(res, 200, req.path === '/oauth/token' ? { access_token: 'tok-xxxxxxxx', token_type: 'Bearer' } : {}));
    const directory = createCxoneDirectory({ baseUrl: upstream.url, clientId: 'id', clientSecret: 'secret-value' });
    try {
      await directory.ping({ stats: { upstreamRequests: 0 } });
      expect(Object.fromEntries(new URLSearchParams(upstream.requests[0]?.body))).toEqual({ grant_type: 'client_credentials' });
    } finally {
      await directory.close();
      await upstream.close();
    }
  });
});
