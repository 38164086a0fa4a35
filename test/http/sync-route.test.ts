import { describe, expect, it } from 'vitest';
import { UpstreamError, UpstreamTimeoutError, UpstreamUnavailableError } from '../../src/core/errors.js';
import type { MemberRef } from '../../src/core/membership.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { bearer, buildTestApp, TOKENS } from '../helpers/build-test-app.js';

const user = (value: string): MemberRef => ({ value, type: 'User' });
const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function seeded() {
  return new InMemoryDirectory().addUser('alice').addUser('bob').addUser('carol', false).addGroup('g1', [user('alice')]);
}

async function sync(app: Awaited<ReturnType<typeof buildTestApp>>['app'], groupId: string, body: unknown, extra: { query?: string; headers?: Record<string, string>; raw?: string } = {}) {
  return app.inject({
    method: 'POST',
    url: `/groups/${groupId}/sync${extra.query ?? ''}`,
    headers: { 'content-type': 'application/json', ...bearer(), ...extra.headers },
    payload: extra.raw ?? JSON.stringify(body),
  });
}

describe('POST /groups/{groupId}/sync', () => {
  it('when members change, then 200 with the docs/api.md body and one PUT upstream', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    const res = await sync(app, 'g1', { displayName: 'Group g1', members: [user('bob')] }, { headers: { 'x-request-id': 'req-42' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).toBe('req-42');
    const body = res.json();
    expect(body).toEqual({
      syncId: expect.stringMatching(UUIDV7),
      groupId: 'g1',
      status: 'applied',
      added: [user('bob')],
      removed: [user('alice')],
      memberCount: 1,
      consistencyRate: 1,
      etag: 'W/"2"',
      writeMode: 'put',
      latencyMs: expect.any(Number),
      upstreamRequests: 3,
      backend: 'scim-groups',
    });
    expect(directory.membersOf('g1')).toEqual([user('bob')]);
  });

  it('when the body is application/scim+json, then it is accepted', async () => {
    const { app } = await buildTestApp({ directory: seeded() });
    const res = await sync(app, 'g1', { members: [user('alice')] }, { headers: { 'content-type': 'application/scim+json' } });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('unchanged');
  });

  it('when desired equals current, then unchanged and nothing is written', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    const res = await sync(app, 'g1', { members: [user('alice')] });
    expect(res.json()).toMatchObject({ status: 'unchanged', added: [], removed: [], etag: 'W/"1"' });
    expect(directory.count('replaceGroup')).toBe(0);
  });

  it('when dryRun=true, then it answers dry_run and writes nothing', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    const res = await sync(app, 'g1', { members: [user('bob')] }, { query: '?dryRun=true' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'dry_run', added: [user('bob')], removed: [user('alice')] });
    expect(directory.count('replaceGroup')).toBe(0);
    expect(directory.membersOf('g1')).toEqual([user('alice')]);
  });

  it('when members fail validation, then 422 lists every error with the syncId', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    const res = await sync(app, 'g1', { members: [user('carol'), user('u-404'), { value: 'g1', type: 'Group' }] });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({
      syncId: expect.stringMatching(UUIDV7),
      error: 'validation_failed',
      message: '3 members failed validation',
      errors: [
        { code: 'user_inactive', member: user('carol'), message: expect.any(String) },
        { code: 'user_not_found', member: user('u-404'), message: expect.any(String) },
        { code: 'self_reference', member: { value: 'g1', type: 'Group' }, message: expect.any(String) },
      ],
    });
    expect(directory.count('replaceGroup')).toBe(0);
  });

  it('when the group does not exist, then 404 group_not_found', async () => {
    const { app } = await buildTestApp({ directory: seeded() });
    const res = await sync(app, 'nope', { members: [] });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: 'group_not_found', syncId: expect.stringMatching(UUIDV7) });
  });

  it('when the group changes on every attempt, then 409 conflict', async () => {
    const directory = seeded();
    directory.beforeReplace = (id) => directory.touch(id);
    const { app } = await buildTestApp({ directory });
    const res = await sync(app, 'g1', { members: [user('bob')] });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: 'conflict', syncId: expect.any(String) });
    expect(directory.count('replaceGroup')).toBe(4);
  });

  it('when the upstream rejects the write, then 502 upstream_error with upstreamStatus, scimType and detail', async () => {
    const directory = seeded();
    directory.replaceGroup = async () => {
      throw new UpstreamError('SCIM PUT /Groups/g1 answered 400', { status: 400, scimType: 'invalidValue', detail: 'members[0].value is unknown' });
    };
    const { app } = await buildTestApp({ directory });
    const res = await sync(app, 'g1', { members: [user('bob')] });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toEqual({
      error: 'upstream_error',
      message: 'SCIM PUT /Groups/g1 answered 400',
      syncId: expect.any(String),
      upstreamStatus: 400,
      scimType: 'invalidValue',
      detail: 'members[0].value is unknown',
    });
  });

  it('when the upstream stays rate limited, then 503 upstream_unavailable with Retry-After', async () => {
    const directory = seeded();
    directory.getGroup = async () => {
      throw new UpstreamUnavailableError('the upstream kept answering 429', 7.2, 429);
    };
    const { app } = await buildTestApp({ directory });
    const res = await sync(app, 'g1', { members: [] });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('8');
    expect(res.json()).toMatchObject({ error: 'upstream_unavailable' });
  });

  it('when the upstream does not answer in time, then 504 upstream_timeout', async () => {
    const directory = seeded();
    directory.getGroup = async () => {
      throw new UpstreamTimeoutError('no answer from the upstream within 10000 ms');
    };
    const { app } = await buildTestApp({ directory });
    const res = await sync(app, 'g1', { members: [] });
    expect(res.statusCode).toBe(504);
    expect(res.json()).toMatchObject({ error: 'upstream_timeout' });
  });

  it('when a bug throws, then 500 hides the internals', async () => {
    const directory = seeded();
    directory.getGroup = async () => {
      throw new TypeError('secret internal detail at line 42');
    };
    const { app } = await buildTestApp({ directory });
    const res = await sync(app, 'g1', { members: [] });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('secret internal detail');
    expect(res.body).not.toContain('TypeError');
    expect(res.json()).toEqual({ error: 'internal_error', message: expect.any(String) });
  });

  it('when a token from another name calls, then the sync runs as that actor', async () => {
    const { app } = await buildTestApp({ directory: seeded() });
    const res = await sync(app, 'g1', { members: [user('alice')] }, { headers: bearer(TOKENS.entra) });
    expect(res.statusCode).toBe(200);
  });
});

describe('POST /groups/{groupId}/sync: bad input never reaches the upstream', () => {
  const cases: [string, { groupId?: string; raw?: string; body?: unknown; query?: string; headers?: Record<string, string> }, number, RegExp][] = [
    ['malformed JSON', { raw: '{"members": [' }, 400, /not valid JSON/],
    ['an empty body', { raw: '' }, 400, /empty/],
    ['members missing', { body: { displayName: 'x' } }, 400, /body must have required property 'members'/],
    ['members not an array', { body: { members: 'alice' } }, 400, /body\/members must be array/],
    ['a number where a string belongs', { body: { members: [{ value: 5, type: 'User' }] } }, 400, /body\/members\/0\/value must be string/],
    ['a boolean where a string belongs', { body: { members: [{ value: true, type: 'User' }] } }, 400, /body\/members\/0\/value/],
    ['an object where a string belongs', { body: { members: [{ value: { id: 'x' }, type: 'User' }] } }, 400, /body\/members\/0\/value/],
    ['a number displayName', { body: { displayName: 5, members: [] } }, 400, /body\/displayName must be string/],
    ['missing value', { body: { members: [{ type: 'User' }] } }, 400, /body\/members\/0 must have required property 'value'/],
    ['an empty value', { body: { members: [{ value: '', type: 'User' }] } }, 400, /body\/members\/0\/value/],
    ['an unknown member attribute', { body: { members: [{ value: 'alice', type: 'User', primary: true }] } }, 400, /body\/members\/0 has an unknown attribute "primary"/],
    ['an unknown body attribute', { body: { members: [], dryRun: true } }, 400, /body has an unknown attribute "dryRun"/],
    ['an unknown member type', { body: { members: [{ value: 'alice', type: 'Robot' }] } }, 400, /body\/members\/0\/type/],
    ['a lowercase member type', { body: { members: [{ value: 'alice', type: 'user' }] } }, 400, /body\/members\/0\/type/],
    ['a __proto__ key', { raw: '{"members": [], "__proto__": {"polluted": true}}' }, 400, /forbidden key/],
    ['a constructor.prototype key', { raw: '{"members": [], "constructor": {"prototype": {"polluted": true}}}' }, 400, /./],
    ['../Users as groupId', { groupId: '..%2FUsers' }, 400, /params\/groupId/],
    ['.. as groupId', { groupId: '..' }, 404, /./],
    ['%2E%2E as groupId (resolved away by URL parsing)', { groupId: '%2E%2E' }, 404, /./],
    ['. as groupId', { groupId: '.' }, 404, /./],
    ['%2E as groupId', { groupId: 'a%2F.' }, 400, /params\/groupId/],
    ['a control character in groupId', { groupId: 'g%0A1' }, 400, /params\/groupId/],
    ['a 257-character groupId', { groupId: 'g'.repeat(257) }, 400, /params\/groupId/],
    ['dryRun that is not a boolean', { query: '?dryRun=maybe' }, 400, /querystring\/dryRun/],
    ['a text/plain body', { raw: 'members', headers: { 'content-type': 'text/plain' } }, 415, /application\/json/],
  ];

  it.each(cases)('when %s, then a 4xx and zero upstream requests', async (_name, input, status, message) => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    const res = await sync(app, input.groupId ?? 'g1', input.body ?? { members: [] }, { raw: input.raw, query: input.query, headers: input.headers });
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({ error: expect.any(String), message: expect.stringMatching(message) });
    expect(directory.calls).toEqual([]);
  });

  it('when the groupId has 256 characters (and characters like spaces or quotes), then it is accepted and looked up', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    expect((await sync(app, 'g'.repeat(256), { members: [] })).json().error).toBe('group_not_found');
    expect((await sync(app, encodeURIComponent('team "a" b'), { members: [] })).json().error).toBe('group_not_found');
    expect(directory.calls).toEqual(['getGroup', 'getGroup']);
  });

  it('when there are more than MAX_MEMBERS members, then 413 payload_too_large and zero upstream requests', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    const members = Array.from({ length: 100_001 }, (_, i) => ({ value: `u${i}`, type: 'User' }));
    const res = await sync(app, 'g1', { members });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: 'payload_too_large', message: 'members must hold at most 100000 entries (MAX_MEMBERS)' });
    expect(directory.calls).toEqual([]);
  });

  it('when MAX_MEMBERS is lowered, then the limit follows it', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded(), env: { MAX_MEMBERS: '2' } });
    const res = await sync(app, 'g1', { members: [user('a'), user('b'), user('c')] });
    expect(res.statusCode).toBe(413);
    expect(directory.calls).toEqual([]);
  });

  it('when the body is larger than the route limit, then 413 and zero upstream requests', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded(), env: { MAX_MEMBERS: '1' } });
    const res = await sync(app, 'g1', { members: [{ value: 'x', type: 'User', display: 'y'.repeat(1000) }], pad: 'z'.repeat(80_000) });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toBe('payload_too_large');
    expect(directory.calls).toEqual([]);
  });
});

describe('authentication', () => {
  it.each([
    ['no Authorization header', {}, 'Bearer realm="cxone-scim-sync"'],
    ['a wrong token', { authorization: 'Bearer not-the-token' }, /error="invalid_token"/],
    ['a Basic scheme', { authorization: 'Basic b2t0YTpzZWNyZXQ=' }, /error="invalid_token"/],
  ])('when %s, then 401 unauthorized with WWW-Authenticate and zero upstream requests', async (_name, headers, challenge) => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    const res = await app.inject({ method: 'POST', url: '/groups/g1/sync', headers: { 'content-type': 'application/json', ...headers }, payload: '{"members":[]}' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(challenge);
    expect(res.json()).toEqual({ error: 'unauthorized', message: expect.any(String) });
    expect(res.body).not.toContain('not-the-token');
    expect(directory.calls).toEqual([]);
  });

  it('when the body is malformed and no token is given, then 401 comes first', async () => {
    const { app } = await buildTestApp({ directory: seeded() });
    const res = await app.inject({ method: 'POST', url: '/groups/g1/sync', headers: { 'content-type': 'application/json' }, payload: '{' });
    expect(res.statusCode).toBe(401);
  });

  it('when /healthz and /readyz are called without a token, then they answer', async () => {
    const { app } = await buildTestApp();
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await app.inject('/readyz')).statusCode).toBe(200);
  });
});

describe('request ids', () => {
  it('when X-Request-Id is absent, then one is generated and echoed', async () => {
    const { app } = await buildTestApp();
    const res = await app.inject('/healthz');
    expect(res.headers['x-request-id']).toMatch(UUIDV7);
  });

  it('when X-Request-Id carries characters that could inject headers or logs, then it is replaced', async () => {
    const { app } = await buildTestApp();
    const res = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'abc def<script>' } });
    expect(res.headers['x-request-id']).toMatch(UUIDV7);
  });
});

describe('GET /readyz', () => {
  it('when a check fails, then 503 names it as unavailable, and it recovers when the check passes', async () => {
    let healthy = false;
    const { app } = await buildTestApp({
      ports: { readiness: [{ name: 'upstream', check: async () => { if (!healthy) throw new Error('the OAuth token endpoint refused to issue a token (invalid_client)'); } }] },
    });
    const down = await app.inject('/readyz');
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({ status: 'not_ready', checks: { upstream: 'unavailable' } });
    healthy = true;
    const up = await app.inject('/readyz');
    expect(up.json()).toEqual({ status: 'ready', checks: { upstream: 'ok' } });
  });
});

describe('malformed URLs', () => {
  it('when the path holds broken percent-encoding or an absurdly long id, then 400 invalid_request in the docs/api.md error body, without echoing the URL', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    for (const url of ['/groups/%E0%A4%A/sync', `/groups/${'a'.repeat(5000)}/sync`]) {
      const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json', ...bearer() }, payload: '{"members":[]}' });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ error: 'invalid_request', message: expect.any(String) });
      expect(res.body).not.toContain('aaaa');
    }
    expect(directory.calls).toEqual([]);
  });
});

describe('sync deadline', () => {
  it('when the upstream hangs past SYNC_DEADLINE_MS, then 504 with Retry-After, also for a sync queued behind it, and both are audited', async () => {
    const directory = seeded();
    directory.getGroup = (_id, ctx) =>
      new Promise((_resolve, reject) => {
        ctx.signal?.addEventListener('abort', () => reject(ctx.signal?.reason), { once: true });
      });
    const { app, audit } = await buildTestApp({ directory, env: { SYNC_DEADLINE_MS: '150' } });
    const [first, queued] = await Promise.all([sync(app, 'g1', { members: [] }), sync(app, 'g1', { members: [user('bob')] })]);
    for (const res of [first, queued]) {
      expect(res.statusCode).toBe(504);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json()).toMatchObject({ error: 'upstream_timeout', message: expect.stringMatching(/deadline/), syncId: expect.any(String) });
    }
    expect(audit.records.map((r) => r.status)).toEqual(['upstream_timeout', 'upstream_timeout']);
  });
});
