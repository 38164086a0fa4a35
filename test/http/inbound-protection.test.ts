import { describe, expect, it } from 'vitest';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { bearer, buildTestApp, TOKENS } from '../helpers/build-test-app.js';

const directory = () => new InMemoryDirectory().addUser('a').addGroup('g1');

describe('inbound rate limit per token', () => {
  it('when a caller exceeds INBOUND_RATE_LIMIT, then 429 rate_limited with Retry-After, while other callers and public routes go on', async () => {
    const { app } = await buildTestApp({ directory: directory(), env: { INBOUND_RATE_LIMIT: '3' } });
    const post = (token: string) =>
      app.inject({ method: 'POST', url: '/groups/g1/sync', headers: { 'content-type': 'application/json', ...bearer(token) }, payload: '{"members":[]}' });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(TOKENS.okta)).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await post(TOKENS.okta);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json()).toEqual({ error: 'rate_limited', message: expect.stringMatching(/more than 3 requests per minute/) });
    expect((await post(TOKENS.entra)).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) expect((await app.inject('/healthz')).statusCode).toBe(200);
  });

  it('when a request has no valid token, then it is a 401 and does not count against anyone', async () => {
    const { app } = await buildTestApp({ directory: directory(), env: { INBOUND_RATE_LIMIT: '1' } });
    for (let i = 0; i < 3; i++) {
      expect((await app.inject({ method: 'POST', url: '/groups/g1/sync', headers: { authorization: 'Bearer nope-nope-nope' }, payload: {} })).statusCode).toBe(401);
    }
    const res = await app.inject({ method: 'POST', url: '/groups/g1/sync', headers: { 'content-type': 'application/json', ...bearer() }, payload: '{"members":[]}' });
    expect(res.statusCode).toBe(200);
  });
});

describe('security headers and timeouts', () => {
  it('when /docs is served, then it carries a Content-Security-Policy and refuses framing', async () => {
    const { app } = await buildTestApp();
    const res = await app.inject('/docs/');
    expect(res.statusCode).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).toMatch(/connect-src 'self'/);
    expect(csp).not.toMatch(/frame-ancestors 'self'|upgrade-insecure-requests/);
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
  });

  it('when the server is built, then header, request and keep-alive timeouts are set', async () => {
    const { app } = await buildTestApp({ env: { SYNC_DEADLINE_MS: '30000' } });
    await app.ready();
    expect(app.server.headersTimeout).toBe(20_000);
    expect(app.server.requestTimeout).toBe(45_000);
    expect(app.server.keepAliveTimeout).toBe(65_000);
  });
});

describe('malformed HTTP', () => {
  it('when a request is not well-formed HTTP, then the answer is a 400 in the docs/api.md error body, not Node\'s', async () => {
    const { connect } = await import('node:net');
    const { app } = await buildTestApp();
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(address);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nBad\rHeader: y\r\n\r\n'));
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString('utf8')));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toEqual({ error: 'invalid_request', message: 'the request is not well-formed HTTP' });
  });
});
