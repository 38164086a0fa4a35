import { afterEach, describe, expect, it } from 'vitest';
import { TokenEndpointError, UpstreamTimeoutError, UpstreamUnavailableError } from '../../../src/core/errors.js';
import { createTokenSource, formEncode, type TokenSourceOptions } from '../../../src/adapters/scim/token-source.js';
import { FakeClock } from '../../fakes/fake-clock.js';
import { sendJson, startLoopback, type Handler } from './loopback.js';

const SECRET = 'sup3r:s3cret/+value';

function issuing(expiresIn?: number): Handler {
  let n = 0;
  return (_req, res) => {
    n += 1;
    sendJson(res, 200, { access_token: `t${n}`, token_type: 'Bearer', ...(expiresIn !== undefined && { expires_in: expiresIn }) });
  };
}

describe('OAuth client credentials token source', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
  });

  async function setup(handler: Handler, overrides: Partial<TokenSourceOptions> = {}) {
    const server = await startLoopback(handler);
    cleanups.push(() => server.close());
    const clock = new FakeClock();
    const source = createTokenSource({
      tokenUrl: `${server.url}/oauth/token`,
      clientId: 'demo client',
      clientSecret: SECRET,
      scope: 'provisioning:read provisioning:write',
      clock,
      ...overrides,
    });
    cleanups.push(() => source.close());
    return { server, source, clock };
  }

  it('when the token is fresh, then it is served from cache until 60 s before expires_in', async () => {
    const { server, source, clock } = await setup(issuing(3600));
    expect(await source.getToken()).toBe('t1');
    clock.advance((3600 - 61) * 1000);
    expect(await source.getToken()).toBe('t1');
    expect(server.requests).toHaveLength(1);
    clock.advance(2000);
    expect(await source.getToken()).toBe('t2');
    expect(server.requests).toHaveLength(2);
  });

  it('when expires_in is missing, then a 300 s lifetime is assumed', async () => {
    const { server, source, clock } = await setup(issuing());
    expect(await source.getToken()).toBe('t1');
    clock.advance(239_000);
    expect(await source.getToken()).toBe('t1');
    clock.advance(2_000);
    expect(await source.getToken()).toBe('t2');
    expect(server.requests).toHaveLength(2);
  });

  it('when auth is basic, then id and secret are form-encoded into an HTTP Basic header (RFC 6749 §2.3.1)', async () => {
    const { server, source } = await setup(issuing(3600));
    await source.getToken();
    const [req] = server.requests;
    expect(req?.method).toBe('POST');
    expect(req?.path).toBe('/oauth/token');
    expect(req?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const basic = Buffer.from(String(req?.headers.authorization).replace(/^Basic /, ''), 'base64').toString('utf8');
    expect(basic).toBe('demo+client:sup3r%3As3cret%2F%2Bvalue');
    const form = new URLSearchParams(req?.body);
    expect(Object.fromEntries(form)).toEqual({ grant_type: 'client_credentials', scope: 'provisioning:read provisioning:write' });
  });

  it('when auth is post, then the credentials travel in the form body and no Authorization header is sent', async () => {
    const { server, source } = await setup(issuing(3600), { auth: 'post' });
    await source.getToken();
    const [req] = server.requests;
    expect(req?.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(new URLSearchParams(req?.body))).toEqual({
      grant_type: 'client_credentials',
      scope: 'provisioning:read provisioning:write',
      client_id: 'demo client',
      client_secret: SECRET,
    });
  });

  it('when 20 callers ask at once, then exactly one token request is made', async () => {
    const { server, source } = await setup(issuing(3600));
    const tokens = await Promise.all(Array.from({ length: 20 }, () => source.getToken()));
    expect(new Set(tokens)).toEqual(new Set(['t1']));
    expect(server.requests).toHaveLength(1);
  });

  it('when many callers invalidate the same refused token, then exactly one refresh happens', async () => {
    const { server, source } = await setup(issuing(3600));
    const first = await source.getToken();
    const refreshed = await Promise.all(
      Array.from({ length: 10 }, async () => {
        source.invalidate(first);
        return source.getToken();
      }),
    );
    expect(new Set(refreshed)).toEqual(new Set(['t2']));
    source.invalidate('t1');
    expect(await source.getToken()).toBe('t2');
    expect(server.requests).toHaveLength(2);
  });

  it('when the token endpoint refuses, then TokenEndpointError names error and error_description and never the secret', async () => {
    const { source } = await setup((_req, res) =>
      sendJson(res, 401, { error: 'invalid_client', error_description: `bad secret ${SECRET}` }),
    );
    const error = await source.getToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenEndpointError);
    const tokenError = error as TokenEndpointError;
    expect(tokenError.oauthError).toBe('invalid_client');
    expect(tokenError.status).toBe(401);
    expect(tokenError.message).toContain('invalid_client');
    expect(tokenError.message).toContain('bad secret');
    for (const text of [tokenError.message, String(tokenError.stack), JSON.stringify(tokenError), tokenError.detail ?? '']) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(formEncode(SECRET));
    }
  });

  it('when the token endpoint answers non-JSON, then TokenEndpointError carries the status', async () => {
    const { source } = await setup((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>bad gateway</html>');
    });
    await expect(source.getToken()).rejects.toMatchObject({ name: 'TokenEndpointError', status: 502 });
  });

  it('when the response has no access_token or a non-Bearer type, then it is refused', async () => {
    let body: unknown = { token_type: 'Bearer' };
    const { source } = await setup((_req, res) => sendJson(res, 200, body));
    await expect(source.getToken()).rejects.toMatchObject({ oauthError: 'invalid_response' });
    body = { access_token: 'x', token_type: 'mac' };
    await expect(source.getToken()).rejects.toThrow(/token_type/);
  });

  it('when the endpoint is unreachable, then UpstreamUnavailableError; when it is slow, UpstreamTimeoutError', async () => {
    const closed = await startLoopback(() => undefined);
    const deadUrl = `${closed.url}/oauth/token`;
    await closed.close();
    const clock = new FakeClock();
    const dead = createTokenSource({ tokenUrl: deadUrl, clientId: 'a', clientSecret: SECRET, clock });
    const error = await dead.getToken().catch((e: unknown) => e);
    await dead.close();
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect(String((error as Error).message)).not.toContain(SECRET);

    const { source } = await setup(() => undefined, { timeoutMs: 50 });
    await expect(source.getToken()).rejects.toBeInstanceOf(UpstreamTimeoutError);
  });

  it('when a failed fetch is followed by a call, then the next call tries again', async () => {
    let fail = true;
    const { source, server } = await setup((_req, res) =>
      fail ? sendJson(res, 503, { error: 'temporarily_unavailable' }) : sendJson(res, 200, { access_token: 'ok', expires_in: 600 }),
    );
    await expect(source.getToken()).rejects.toBeInstanceOf(UpstreamUnavailableError);
    fail = false;
    expect(await source.getToken()).toBe('ok');
    expect(server.requests).toHaveLength(2);
  });

  it('when the token endpoint answers 429 or 503, then it is unavailable for Retry-After seconds, not a refusal of the credentials', async () => {
    for (const status of [429, 503]) {
      const { source } = await setup((_req, res) => {
        res.setHeader('retry-after', '9');
        sendJson(res, status, { error: 'temporarily_unavailable', error_description: 'slow down' });
      });
      const error = (await source.getToken().catch((e: unknown) => e)) as UpstreamUnavailableError;
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect(error).toMatchObject({ status, retryAfterSeconds: 9 });
      expect(error.message).toMatch(/temporarily_unavailable: slow down.*retry in 9 s/);
      expect(error.cause).toBeInstanceOf(TokenEndpointError);
    }
  });

  it('when a caller aborts, then only that caller stops waiting', async () => {
    const { source } = await setup(issuing(3600));
    const controller = new AbortController();
    const aborted = source.getToken(controller.signal);
    const other = source.getToken();
    controller.abort(new Error('caller gone'));
    await expect(aborted).rejects.toThrow('caller gone');
    expect(await other).toBe('t1');
  });

  it('reports fetch outcomes and oauth requests to the observer', async () => {
    const outcomes: string[] = [];
    const resources: unknown[] = [];
    let ok = true;
    const { source, clock } = await setup(
      (_req, res) => (ok ? sendJson(res, 200, { access_token: 'a', expires_in: 1 }) : sendJson(res, 400, { error: 'invalid_scope' })),
      {
        observer: {
          onTokenFetch: (outcome) => outcomes.push(outcome),
          onRequest: (event) => resources.push([event.resource, event.status]),
        },
      },
    );
    await source.getToken();
    ok = false;
    clock.advance(1000);
    await source.getToken().catch(() => undefined);
    expect(outcomes).toEqual(['success', 'failure']);
    expect(resources).toEqual([
      ['oauth', 200],
      ['oauth', 400],
    ]);
  });
});
