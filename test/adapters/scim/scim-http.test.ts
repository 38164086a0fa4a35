import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  PreconditionFailedError,
  UpstreamError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../../../src/core/errors.js';
import type { RequestContext } from '../../../src/core/ports.js';
import { createRateLimiter, type RateLimiter } from '../../../src/adapters/scim/rate-limiter.js';
import { DEFAULT_RETRY, type RetryOptions } from '../../../src/adapters/scim/retry-policy.js';
import { createScimHttp, type ScimHttp, type ScimRequest } from '../../../src/adapters/scim/scim-http.js';
import { createTokenSource } from '../../../src/adapters/scim/token-source.js';
import { safeObserver, type RetryReason, type UpstreamRequestEvent } from '../../../src/adapters/scim/upstream-observer.js';
import { FakeClock } from '../../fakes/fake-clock.js';
import { scimError, sendJson, startLoopback, type Handler, type RecordedRequest } from './loopback.js';

const TOKEN1 = 'Bearer tok1-xxxxxxxx';
const TOKEN2 = 'Bearer tok2-xxxxxxxx';
const GET_GROUP: ScimRequest = { method: 'GET', path: '/Groups/g1', route: '/Groups/{id}', resource: 'Groups' };
const PUT_GROUP: ScimRequest = { ...GET_GROUP, method: 'PUT', body: Buffer.from('{"displayName":"x"}') };
const POST_USER: ScimRequest = { method: 'POST', path: '/Users', route: '/Users', resource: 'Users', body: Buffer.from('{}') };
const PATCH_GROUP: ScimRequest = { ...PUT_GROUP, method: 'PATCH' };

/** Answers the handlers in turn, repeating the last one. */
function sequence(...handlers: Handler[]): Handler {
  let i = 0;
  return (req, res) => {
    const handler = handlers[Math.min(i, handlers.length - 1)] as Handler;
    i += 1;
    return handler(req, res);
  };
}
const ok: Handler = (_req, res) => sendJson(res, 200, { id: 'g1', displayName: 'G' }, { etag: 'W/"1"' });
const status =
  (code: number, headers: Record<string, string> = {}, body: unknown = scimError(code, `status ${code}`)): Handler =>
  (_req, res) =>
    sendJson(res, code, body, headers);

describe('SCIM HTTP layer: tokens, retries, error mapping', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
  });

  /** A loopback upstream whose /oauth/token issues tok1-…, tok2-… and whose SCIM answers come from `scim`. */
  async function setup(scim: Handler, retry: Partial<RetryOptions> = {}, requestTimeoutMs = 5_000, limiter?: (clock: FakeClock) => RateLimiter) {
    let issued = 0;
    const server = await startLoopback((req, res) => {
      if (req.path === '/oauth/token') {
        issued += 1;
        sendJson(res, 200, { access_token: `tok${issued}-${'x'.repeat(8)}`, token_type: 'Bearer', expires_in: 3600 });
        return;
      }
      return scim(req, res);
    });
    cleanups.push(() => server.close());
    const agent = new Agent();
    cleanups.push(() => agent.close());
    const clock = new FakeClock();
    const events: UpstreamRequestEvent[] = [];
    const retries: RetryReason[] = [];
    const tokenSource = createTokenSource({
      tokenUrl: `${server.url}/oauth/token`,
      clientId: 'id',
      clientSecret: 'secret',
      clock,
      dispatcher: agent,
    });
    const http: ScimHttp = createScimHttp({
      baseUrl: server.url,
      scimPath: '/scim/v2',
      tokenSource,
      clock,
      dispatcher: agent,
      requestTimeoutMs,
      retry: { ...DEFAULT_RETRY, ...retry },
      observer: safeObserver({ onRequest: (e) => events.push(e), onRetry: (r) => retries.push(r) }),
      random: () => 0.5,
      maxResponseBytes: 1024 * 1024,
      ...(limiter && { limiter: limiter(clock) }),
    });
    const ctx: RequestContext = { stats: { upstreamRequests: 0 } };
    const scimRequests = () => server.requests.filter((r) => r.path.startsWith('/scim/v2'));
    const tokenRequests = () => server.requests.filter((r) => r.path === '/oauth/token');
    return { http, clock, ctx, events, retries, scimRequests, tokenRequests };
  }

  it('sends the bearer token, the SCIM Accept header and a SCIM Content-Type for bodies', async () => {
    const { http, ctx, scimRequests } = await setup(ok);
    const response = await http.send(PUT_GROUP, ctx);
    expect(response.etag).toBe('W/"1"');
    const [req] = scimRequests() as [RecordedRequest];
    expect(req.url).toBe('/scim/v2/Groups/g1');
    expect(req.headers.authorization).toBe(TOKEN1);
    expect(req.headers.accept).toBe('application/scim+json, application/json');
    expect(req.headers['content-type']).toBe('application/scim+json');
    expect(req.body).toBe('{"displayName":"x"}');
  });

  it('when SCIM answers 401, then the token is refreshed once and the request retried once', async () => {
    const { http, ctx, retries, scimRequests, tokenRequests } = await setup((req, res) =>
      req.headers.authorization === TOKEN1 ? sendJson(res, 401, scimError(401, 'token revoked')) : ok(req, res),
    );
    const response = await http.send(GET_GROUP, ctx);
    expect(response.status).toBe(200);
    expect(tokenRequests()).toHaveLength(2);
    expect(scimRequests().map((r) => r.headers.authorization)).toEqual([TOKEN1, TOKEN2]);
    expect(retries).toEqual(['unauthorized']);
    expect(ctx.stats.upstreamRequests).toBe(2);
  });

  it('when SCIM answers 401 twice, then UpstreamError 401 without the token in it', async () => {
    const { http, ctx, scimRequests, tokenRequests } = await setup((req, res) =>
      sendJson(res, 401, scimError(401, `refused ${String(req.headers.authorization)}`)),
    );
    const error = (await http.send(GET_GROUP, ctx).catch((e: unknown) => e)) as UpstreamError;
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.status).toBe(401);
    expect(error.message).toMatch(/^SCIM GET \/Groups\/\{id\} answered 401 after a token refresh/);
    expect(error.message).not.toContain('tok2');
    expect(JSON.stringify(error)).not.toMatch(/tok\d/);
    expect(scimRequests()).toHaveLength(2);
    expect(tokenRequests()).toHaveLength(2);
  });

  it('when 429 carries Retry-After in seconds, then the clock sleeps exactly that long, for any method', async () => {
    const { http, ctx, clock, retries } = await setup(sequence(status(429, { 'retry-after': '3' }), ok));
    await http.send(POST_USER, ctx);
    expect(clock.sleeps).toEqual([3000]);
    expect(retries).toEqual(['rate_limited']);
    expect(ctx.stats.upstreamRequests).toBe(2);
  });

  it('when 429 carries Retry-After as an HTTP-date, then the clock sleeps until that date', async () => {
    const { http, ctx, clock } = await setup(sequence(status(429, { 'retry-after': 'Thu, 01 Jan 2026 00:00:07 GMT' }), ok));
    await http.send(GET_GROUP, ctx);
    expect(clock.sleeps).toEqual([7000]);
  });

  it('when the upstream pacing held a request past its retry budget, then it is not sent: 503 with the wait as Retry-After', async () => {
    let limiter: RateLimiter | undefined;
    const { http, ctx, clock, scimRequests } = await setup(ok, { deadlineMs: 30_000 }, 5_000, (c) => {
      limiter = createRateLimiter({ requestsPerSecond: Infinity, maxConcurrency: 4, clock: c });
      return limiter;
    });
    limiter?.onThrottled(40_000);
    const error = await http.send(GET_GROUP, ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect(error).toMatchObject({ retryAfterSeconds: 40, message: expect.stringContaining("waited 40 s for the upstream's rate limit") as unknown });
    expect(scimRequests()).toEqual([]);
    expect(ctx.stats.upstreamRequests).toBe(0);
    expect(limiter?.state().inFlight).toBe(0);

    // A wait that leaves time for the attempt sends it.
    limiter?.onThrottled(5_000);
    expect((await http.send(GET_GROUP, ctx)).status).toBe(200);
    expect(clock.sleeps.at(-1)).toBe(5_000);
  });

  it('when Retry-After exceeds the cap, then the wait is capped', async () => {
    const { http, ctx, clock } = await setup(sequence(status(429, { 'retry-after': '600' }), ok), {
      maxRetryAfterMs: 60_000,
      deadlineMs: 120_000,
    });
    await http.send(GET_GROUP, ctx);
    expect(clock.sleeps).toEqual([60_000]);
  });

  it('when 503 without Retry-After precedes success, then it backs off with jitter and succeeds', async () => {
    const { http, ctx, clock, retries } = await setup(sequence(status(503), status(503), ok));
    const response = await http.send(GET_GROUP, ctx);
    expect(response.status).toBe(200);
    expect(clock.sleeps).toEqual([50, 100]);
    expect(retries).toEqual(['server_error', 'server_error']);
    expect(ctx.stats.upstreamRequests).toBe(3);
  });

  it('when 5xx answers a POST or PATCH, then it is not retried', async () => {
    const { http, ctx, clock, scimRequests } = await setup(status(500));
    await expect(http.send(POST_USER, ctx)).rejects.toMatchObject({ name: 'UpstreamError', status: 500 });
    await expect(http.send(PATCH_GROUP, ctx)).rejects.toMatchObject({ name: 'UpstreamError', status: 500 });
    expect(scimRequests()).toHaveLength(2);
    expect(clock.sleeps).toEqual([]);
  });

  it('when 503 answers a POST, then UpstreamUnavailableError at once', async () => {
    const { http, ctx, scimRequests } = await setup(status(503, { 'retry-after': '9' }));
    const error = await http.send(POST_USER, ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect(error).toMatchObject({ retryAfterSeconds: 9, status: 503 });
    expect(scimRequests()).toHaveLength(1);
  });

  it('when a 500 persists on GET, then it gives up after maxAttempts with exponential backoff', async () => {
    const { http, ctx, clock } = await setup(status(500));
    const error = (await http.send(GET_GROUP, ctx).catch((e: unknown) => e)) as UpstreamError;
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.status).toBe(500);
    expect(error.message).toContain('after 5 attempts');
    expect(clock.sleeps).toEqual([50, 100, 200, 400]);
    expect(ctx.stats.upstreamRequests).toBe(5);
  });

  it('when the socket is destroyed on a GET, then the request is retried', async () => {
    const { http, ctx, clock, retries, scimRequests } = await setup(
      sequence((_req, res) => {
        res.socket?.destroy();
      }, ok),
    );
    const response = await http.send(GET_GROUP, ctx);
    expect(response.status).toBe(200);
    expect(scimRequests()).toHaveLength(2);
    expect(retries).toEqual(['network']);
    expect(clock.sleeps).toEqual([50]);
    expect(ctx.stats.upstreamRequests).toBe(2);
  });

  it('when the socket is destroyed on a POST, then UpstreamUnavailableError without retry', async () => {
    const { http, ctx, events } = await setup((_req, res) => {
      res.socket?.destroy();
    });
    await expect(http.send(POST_USER, ctx)).rejects.toBeInstanceOf(UpstreamUnavailableError);
    expect(ctx.stats.upstreamRequests).toBe(1);
    expect(events.map((e) => e.status)).toEqual(['network']);
  });

  it('when waiting for Retry-After would pass the deadline, then UpstreamUnavailableError with retryAfterSeconds', async () => {
    const { http, ctx, clock } = await setup(status(429, { 'retry-after': '20' }), { deadlineMs: 30_000 });
    const error = await http.send(GET_GROUP, ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamUnavailableError);
    expect(error).toMatchObject({ retryAfterSeconds: 20, status: 429 });
    expect((error as Error).message).toMatch(/retry budget/);
    expect(clock.sleeps).toEqual([20_000]);
    expect(ctx.stats.upstreamRequests).toBe(2);
  });

  it('when 5xx backoff would pass the deadline, then UpstreamTimeoutError naming the last answer', async () => {
    const { http, ctx, clock } = await setup(status(502), { deadlineMs: 120, baseDelayMs: 200 });
    const error = await http.send(GET_GROUP, ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect((error as Error).message).toContain('answered 502');
    expect(clock.sleeps).toEqual([100]);
  });

  it('when the upstream does not answer in time, then UpstreamTimeoutError', async () => {
    const { http, ctx } = await setup(() => undefined, { maxAttempts: 1 }, 30);
    await expect(http.send(GET_GROUP, ctx)).rejects.toBeInstanceOf(UpstreamTimeoutError);
  });

  it('maps 412 and 428 to PreconditionFailedError, each reported as a conflict retry', async () => {
    const { http, ctx, retries } = await setup(sequence(status(412), status(428)));
    await expect(http.send(PUT_GROUP, ctx)).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(http.send(PUT_GROUP, ctx)).rejects.toMatchObject({ code: 'precondition_failed', status: 428 });
    expect(retries).toEqual(['conflict', 'conflict']);
  });

  it('when a PUT answered 500 is retried and its retry gets 412, then the 500 is the error, not a conflict', async () => {
    const { http, ctx, retries, scimRequests } = await setup(sequence(status(500, {}, scimError(500, 'database hiccup')), status(412)));
    const error = (await http.send(PUT_GROUP, ctx).catch((e: unknown) => e)) as UpstreamError;
    expect(error).not.toBeInstanceOf(PreconditionFailedError);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ status: 500, detail: 'database hiccup' });
    expect(error.message).toMatch(/answered 500.*its retry then answered 412/);
    expect(retries).toEqual(['server_error']);
    expect(scimRequests()).toHaveLength(2);
  });

  it('maps 409 uniqueness to UpstreamError and any other 409 to PreconditionFailedError', async () => {
    const { http, ctx, retries } = await setup(
      sequence(status(409, {}, scimError(409, 'name taken', 'uniqueness')), status(409, {}, scimError(409, 'version clash', 'mutability'))),
    );
    const unique = await http.send(PUT_GROUP, ctx).catch((e: unknown) => e);
    expect(unique).toBeInstanceOf(UpstreamError);
    expect(unique).not.toBeInstanceOf(PreconditionFailedError);
    expect(unique).toMatchObject({ status: 409, scimType: 'uniqueness' });
    await expect(http.send(PUT_GROUP, ctx)).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(retries).toEqual(['conflict']);
  });

  it('parses SCIM error bodies with a string status into status, scimType and detail', async () => {
    const { http, ctx } = await setup(status(403, {}, { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '403', scimType: 'sensitive', detail: 'not allowed to write this group' }));
    const error = (await http.send(PUT_GROUP, ctx).catch((e: unknown) => e)) as UpstreamError;
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ status: 403, scimType: 'sensitive', detail: 'not allowed to write this group', code: 'upstream_error' });
    expect(error.message).toBe('SCIM PUT /Groups/{id} answered 403 (scimType: sensitive): not allowed to write this group');
  });

  it('when an error body is huge HTML, then the detail is a short excerpt', async () => {
    const { http, ctx } = await setup((_req, res) => {
      res.writeHead(400, { 'content-type': 'text/html' });
      res.end(`<html><body>${'x'.repeat(200_000)}</body></html>`);
    });
    const error = (await http.send(PUT_GROUP, ctx).catch((e: unknown) => e)) as UpstreamError;
    expect(error.status).toBe(400);
    expect(error.detail?.startsWith('<html><body>xxx')).toBe(true);
    expect(error.detail?.length).toBeLessThanOrEqual(201);
    expect(error.message.length).toBeLessThan(300);
  });

  it('when the error detail echoes the token, then it is redacted', async () => {
    const { http, ctx } = await setup((req, res) =>
      sendJson(res, 400, scimError(400, `bad request with header ${String(req.headers.authorization)}`)),
    );
    const error = (await http.send(PUT_GROUP, ctx).catch((e: unknown) => e)) as UpstreamError;
    expect(error.detail).toBe('bad request with header Bearer [redacted]');
    expect(error.message).not.toContain('tok1');
  });

  it('does not follow redirects', async () => {
    const { http, ctx, scimRequests } = await setup((_req, res) => {
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    });
    const error = (await http.send(GET_GROUP, ctx).catch((e: unknown) => e)) as UpstreamError;
    expect(error.status).toBe(302);
    expect(error.message).toContain('redirects are not followed');
    expect(scimRequests()).toHaveLength(1);
  });

  it('hands back the statuses the caller expects instead of throwing', async () => {
    const { http, ctx } = await setup(status(404));
    const response = await http.send({ ...GET_GROUP, expect: [404] }, ctx);
    expect(response.status).toBe(404);
  });

  it('reports each attempt to the observer with a fixed resource label and no id', async () => {
    const { http, ctx, events } = await setup(sequence(status(503), ok));
    await http.send({ ...GET_GROUP, path: '/Groups/secret-id-123' }, ctx);
    expect(events.map(({ method, resource, status: s }) => [method, resource, s])).toEqual([
      ['GET', 'Groups', 503],
      ['GET', 'Groups', 200],
    ]);
    expect(JSON.stringify(events)).not.toContain('secret-id-123');
  });

  it('when the caller aborts during a backoff, then the abort reason is thrown', async () => {
    const { http, clock } = await setup(status(503));
    const controller = new AbortController();
    const ctx: RequestContext = { signal: controller.signal, stats: { upstreamRequests: 0 } };
    const sleep = clock.sleep.bind(clock);
    clock.sleep = async (ms, signal) => {
      controller.abort(new Error('shutting down'));
      return sleep(ms, signal);
    };
    await expect(http.send(GET_GROUP, ctx)).rejects.toThrow('shutting down');
    expect(ctx.stats.upstreamRequests).toBe(1);
  });
});
