/**
 * Failed authentication is limited per client address (AUTH_FAILURE_LIMIT a minute,
 * default 20): past it, 429 rate_limited with Retry-After instead of another 401, so
 * tokens cannot be guessed at speed. A valid token is never refused by this limit, from
 * any address. TRUST_PROXY decides whether X-Forwarded-For names the client. The clock is
 * the app's (injected): no test waits.
 */
import { describe, expect, it } from 'vitest';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { bearer, buildTestApp, TOKENS } from '../helpers/build-test-app.js';

const directory = () => new InMemoryDirectory().addUser('a').addGroup('g1');

async function limitedApp(env: Record<string, string> = {}) {
  const built = await buildTestApp({ directory: directory(), env: { INBOUND_RATE_LIMIT: '0', ...env } });
  const call = (token: string | undefined, from: { remoteAddress?: string; forwardedFor?: string } = {}) =>
    built.app.inject({
      method: 'GET',
      url: '/audit?limit=1',
      remoteAddress: from.remoteAddress ?? '203.0.113.7',
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(from.forwardedFor ? { 'x-forwarded-for': from.forwardedFor } : {}) },
    });
  return { ...built, call };
}

const WRONG = 'wrong-token-00000000000';

describe('failed authentication is limited per client address', () => {
  it('when one address sends 700 wrong tokens, then only the first 20 are answered 401; the rest get 429 rate_limited with Retry-After', async () => {
    const { call } = await limitedApp();
    const statuses: number[] = [];
    for (let i = 0; i < 700; i++) statuses.push((await call(`${WRONG}${i}`)).statusCode);
    expect(statuses.slice(0, 20)).toEqual(Array.from({ length: 20 }, () => 401));
    expect(statuses.slice(20)).toEqual(Array.from({ length: 680 }, () => 429));
    const limited = await call(WRONG);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toEqual({ error: 'rate_limited', message: expect.stringMatching(/authentication/) });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  it('when missing tokens count too, and the minute passes, then the address gets 401 again', async () => {
    const { call, clock } = await limitedApp();
    for (let i = 0; i < 20; i++) expect((await call(undefined)).statusCode).toBe(401);
    const limited = await call(undefined);
    expect(limited.statusCode).toBe(429);
    const retryAfter = Number(limited.headers['retry-after']);
    clock.advance(retryAfter * 1000 - 1000);
    expect((await call(WRONG)).statusCode).toBe(429);
    clock.advance(1000);
    expect((await call(WRONG)).statusCode).toBe(401);
  });

  it('when an address is over the limit, then a valid token from it is still answered, never 429 by this limit', async () => {
    const { call } = await limitedApp();
    for (let i = 0; i < 30; i++) await call(WRONG);
    expect((await call(WRONG)).statusCode).toBe(429);
    const valid = await call(TOKENS.okta);
    expect(valid.statusCode).toBe(200);
    expect((await call(TOKENS.entra)).statusCode).toBe(200);
  });

  it('when one address is over the limit, then another address is not', async () => {
    const { call } = await limitedApp();
    for (let i = 0; i < 25; i++) await call(WRONG, { remoteAddress: '198.51.100.1' });
    expect((await call(WRONG, { remoteAddress: '198.51.100.1' })).statusCode).toBe(429);
    expect((await call(WRONG, { remoteAddress: '198.51.100.2' })).statusCode).toBe(401);
  });

  it('when AUTH_FAILURE_LIMIT is set, then that many failures a minute are answered 401; 0 turns the limit off', async () => {
    const three = await limitedApp({ AUTH_FAILURE_LIMIT: '3' });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await three.call(WRONG)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const off = await limitedApp({ AUTH_FAILURE_LIMIT: '0' });
    for (let i = 0; i < 100; i++) expect((await off.call(WRONG)).statusCode).toBe(401);
  });

  it('when TRUST_PROXY is false (the default), then X-Forwarded-For does not change whose failures they are', async () => {
    const { call } = await limitedApp({ AUTH_FAILURE_LIMIT: '3' });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(WRONG, { remoteAddress: '10.0.0.9', forwardedFor: `192.0.2.${i}` })).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it('when TRUST_PROXY=true, then X-Forwarded-For names the client: each forwarded address has its own count', async () => {
    const { call } = await limitedApp({ AUTH_FAILURE_LIMIT: '3', TRUST_PROXY: 'true' });
    for (let i = 0; i < 3; i++) expect((await call(WRONG, { remoteAddress: '10.0.0.9', forwardedFor: '192.0.2.1' })).statusCode).toBe(401);
    expect((await call(WRONG, { remoteAddress: '10.0.0.9', forwardedFor: '192.0.2.1' })).statusCode).toBe(429);
    expect((await call(WRONG, { remoteAddress: '10.0.0.9', forwardedFor: '192.0.2.2' })).statusCode).toBe(401);
  });

  it('when TRUST_PROXY names the proxy, then X-Forwarded-For counts only from it', async () => {
    const { call } = await limitedApp({ AUTH_FAILURE_LIMIT: '2', TRUST_PROXY: '10.0.0.0/8' });
    for (let i = 0; i < 2; i++) expect((await call(WRONG, { remoteAddress: '10.0.0.9', forwardedFor: '192.0.2.1' })).statusCode).toBe(401);
    expect((await call(WRONG, { remoteAddress: '10.0.0.9', forwardedFor: '192.0.2.1' })).statusCode).toBe(429);
    expect((await call(WRONG, { remoteAddress: '10.0.0.9', forwardedFor: '192.0.2.3' })).statusCode).toBe(401);
    // Not from the trusted proxy: its X-Forwarded-For is ignored, and the socket address is the client.
    for (let i = 0; i < 2; i++) expect((await call(WRONG, { remoteAddress: '198.51.100.5', forwardedFor: `192.0.2.${10 + i}` })).statusCode).toBe(401);
    expect((await call(WRONG, { remoteAddress: '198.51.100.5', forwardedFor: '192.0.2.99' })).statusCode).toBe(429);
  });

  it('when TRUST_PROXY is a number of hops, then that many proxies may name the client', async () => {
    const { call } = await limitedApp({ AUTH_FAILURE_LIMIT: '1', TRUST_PROXY: '1' });
    expect((await call(WRONG, { remoteAddress: '10.0.0.9', forwardedFor: '192.0.2.1' })).statusCode).toBe(401);
    expect((await call(WRONG, { remoteAddress: '10.0.0.9', forwardedFor: '192.0.2.1' })).statusCode).toBe(429);
    expect((await call(WRONG, { remoteAddress: '10.0.0.9', forwardedFor: '192.0.2.2' })).statusCode).toBe(401);
  });

  it('when the limit answers 429, then public routes still answer', async () => {
    const { call, app } = await limitedApp({ AUTH_FAILURE_LIMIT: '1' });
    await call(WRONG);
    expect((await call(WRONG)).statusCode).toBe(429);
    expect((await app.inject({ url: '/healthz', remoteAddress: '203.0.113.7' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/audit?limit=1', remoteAddress: '203.0.113.7', headers: bearer() })).statusCode).toBe(200);
  });
});
