import { describe, expect, it } from 'vitest';
import { bearer, buildTestApp } from '../helpers/build-test-app.js';

describe('a known path with the wrong method', () => {
  it('when the sync route is called with GET, then 405 method_not_allowed with Allow: POST, in the API error body', async () => {
    const { app } = await buildTestApp();
    const res = await app.inject({ method: 'GET', url: '/groups/g1/sync', headers: bearer() });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(res.json()).toEqual({ error: 'method_not_allowed', message: 'GET is not allowed on /groups/g1/sync; allowed: POST' });
  });

  it('when a read-only route is called with DELETE, then 405 with Allow listing GET and HEAD', async () => {
    const { app } = await buildTestApp();
    const res = await app.inject({ method: 'DELETE', url: '/audit?limit=5', headers: bearer() });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.json()).toMatchObject({ error: 'method_not_allowed' });
  });

  it('when a path matches a route with parameters under another method, then 405 names every method of that path', async () => {
    const { app } = await buildTestApp();
    const res = await app.inject({ method: 'PUT', url: '/syncs/0193b8a4-7c1e-7000-8000-3f2a9d1c0b11', headers: bearer() });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  it('when no route has the path, then still 404 not_found', async () => {
    const { app } = await buildTestApp();
    const res = await app.inject({ method: 'GET', url: '/groups/g1/nothing', headers: bearer() });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: 'not_found' });
  });
});
