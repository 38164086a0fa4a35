/**
 * Property-based tests of the sync API's input handling (fast-check): random JSON, huge
 * strings, deep nesting, unicode, prototype-pollution keys and numbers where strings
 * belong never produce a 5xx, never reach the upstream when invalid, and always answer
 * with the docs/api.md error body. Over 10,000 generated cases in all; the seed is fixed so a
 * failure reproduces, and fast-check prints the counterexample.
 */
import * as fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { composeApp } from '../../src/composition/app.js';
import { loadConfig } from '../../src/config.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { createPrometheusMetrics } from '../../src/adapters/metrics/prometheus-metrics.js';

const TOKEN = 'fuzz-token-0123456789';
const SEED = 20261128;
const ERROR_CODES = new Set(['invalid_request', 'unauthorized', 'group_not_found', 'payload_too_large', 'unsupported_media_type', 'validation_failed', 'not_found']);

let app: FastifyInstance;
let directory: InMemoryDirectory;

beforeAll(async () => {
  directory = new InMemoryDirectory().addUser('alice').addGroup('g1');
  // Thousands of bad tokens from one address: the failed-authentication limit (its own tests) is off, so each is a 401.
  const config = loadConfig({ SYNC_API_TOKENS: `fuzz:${TOKEN}`, MAX_MEMBERS: '50', INBOUND_RATE_LIMIT: '0', AUTH_FAILURE_LIMIT: '0' });
  app = await composeApp({ config, ports: { directory, audit: new MemoryAuditLog(), clock: new FakeClock(), metrics: createPrometheusMetrics() } });
});
afterAll(() => app.close());

interface Sent {
  url?: string;
  payload?: string;
  headers?: Record<string, string>;
}

async function send({ url = '/groups/g1/sync', payload = '{"members":[]}', headers = {} }: Sent) {
  directory.calls.length = 0;
  const res = await app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers } });
  return { res, calls: [...directory.calls] };
}

/** Every answer: no 5xx; an error answer has the docs/api.md error body, and an invalid request never reached the upstream. */
function expectWellFormed(res: Awaited<ReturnType<typeof send>>['res'], calls: string[]) {
  expect(res.statusCode).toBeLessThan(500);
  if (res.statusCode >= 400) {
    const body = res.json() as Record<string, unknown>;
    expect(typeof body.error).toBe('string');
    expect(typeof body.message).toBe('string');
    expect(ERROR_CODES.has(body.error as string)).toBe(true);
    expect(res.body).not.toMatch(/\n\s+at |node_modules|TypeError|ReferenceError/);
    if ([400, 401, 413, 415].includes(res.statusCode)) expect(calls).toEqual([]);
  }
}

const pollutionKey = fc.constantFrom('__proto__', 'constructor', 'prototype');
const nastyString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', '../Users', '%2F', '"', '\\', '\u202e', '𝕏', 'a'.repeat(2000)),
);
const notAString = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.object({ maxDepth: 1 }), fc.array(fc.integer(), { maxLength: 3 }));
const memberType = fc.constantFrom('User', 'Group', 'user', 'group', 'Robot', '');

describe('fuzz: POST /groups/{groupId}/sync', () => {
  it('when the body is any JSON value, then the answer is never a 5xx and errors have the docs/api.md shape', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
        const { res, calls } = await send({ payload: JSON.stringify(value) });
        expectWellFormed(res, calls);
      }),
      { numRuns: 2500, seed: SEED },
    );
  });

  it('when members hold numbers, booleans, objects or odd strings where strings belong, then it is a 400 before any upstream call unless every member is valid (type may be absent)', async () => {
    const member = fc.record(
      { value: fc.oneof(nastyString, notAString), type: fc.oneof(memberType, notAString), display: fc.oneof(nastyString, notAString) },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(member, { maxLength: 6 }), fc.option(fc.oneof(nastyString, notAString), { nil: undefined }), async (members, displayName) => {
        const { res, calls } = await send({ payload: JSON.stringify({ displayName, members }) });
        expectWellFormed(res, calls);
        const valid =
          (displayName === undefined || (typeof displayName === 'string' && displayName.length >= 1 && displayName.length <= 1024)) &&
          members.every(
            (m) =>
              typeof m.value === 'string' && m.value.length >= 1 && m.value.length <= 1024 &&
              (m.type === undefined || m.type === 'User' || m.type === 'Group') &&
              (m.display === undefined || (typeof m.display === 'string' && m.display.length <= 1024)),
          );
        if (!valid) {
          expect(res.statusCode).toBe(400);
          expect(calls).toEqual([]);
        }
      }),
      { numRuns: 2500, seed: SEED },
    );
  });

  it('when prototype-pollution keys appear at any depth, then it is a 400 and nothing is polluted', async () => {
    await fc.assert(
      fc.asyncProperty(pollutionKey, fc.integer({ min: 0, max: 3 }), fc.jsonValue({ maxDepth: 2 }), async (key, depth, inner) => {
        const poisoned = key === '__proto__' ? `{"__proto__":{"polluted":${JSON.stringify(inner ?? null)}}}` : `{"constructor":{"prototype":{"polluted":${JSON.stringify(inner ?? null)}}}}`;
        let nested = poisoned;
        for (let i = 0; i < depth; i++) nested = `{"members":[{"value":"x","type":"User","display":"d","extra":${nested}}]}`;
        const payload = depth === 0 ? `{"members":[],"x":${poisoned}}`.replace('"x":', poisoned.slice(1, -1) + ',"x":') : nested;
        const { res, calls } = await send({ payload });
        expectWellFormed(res, calls);
        expect(res.statusCode).toBe(400);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 1000, seed: SEED },
    );
  });

  it('when the groupId is any string, then invalid ids never reach the upstream and valid ones are looked up exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(nastyString, fc.string({ minLength: 200, maxLength: 400 })), async (groupId) => {
        const { res, calls } = await send({ url: `/groups/${encodeURIComponent(groupId)}/sync` });
        expectWellFormed(res, calls);
        if (calls.length > 0) expect(res.statusCode).toBe(404); // looked up: it does not exist
        // the contract: 1-256 characters, no "/", no control characters, not "." or ".."
        const hasControl = [...groupId].some((c) => (c.codePointAt(0) as number) < 0x20 || c === '\u007f');
        const valid = groupId.length >= 1 && groupId.length <= 256 && !groupId.includes('/') && !hasControl && groupId !== '.' && groupId !== '..';
        if (!valid) expect(calls).toEqual([]);
      }),
      { numRuns: 1500, seed: SEED },
    );
  });

  it('when headers and query strings are random, then the answer is never a 5xx and a bad token is a 401 before anything else', async () => {
    const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 200 });
    await fc.assert(
      fc.asyncProperty(headerValue, headerValue, fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('true', 'false', '1', 'maybe'))), fc.boolean(), async (auth, requestId, query, goodToken) => {
        const qs = new URLSearchParams(query).toString();
        const { res, calls } = await send({
          url: `/groups/g1/sync${qs ? `?${qs}` : ''}`,
          headers: { authorization: goodToken ? `Bearer ${TOKEN}` : auth, 'x-request-id': requestId },
        });
        expectWellFormed(res, calls);
        if (!goodToken && auth !== `Bearer ${TOKEN}`) expect(res.statusCode).toBe(401);
        const echoed = res.headers['x-request-id'];
        expect(typeof echoed).toBe('string');
        if (!/^[A-Za-z0-9._:@-]{1,128}$/.test(requestId)) expect(echoed).not.toBe(requestId);
      }),
      { numRuns: 2000, seed: SEED },
    );
  });

  it('when bodies are huge, deeply nested or over MAX_MEMBERS, then they are refused cleanly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('deep', 'huge-string', 'many-members', 'huge-number'), fc.integer({ min: 1, max: 5 }), async (kind, scale) => {
        let payload: string;
        if (kind === 'deep') payload = `{"members":${'['.repeat(1000 * scale)}${']'.repeat(1000 * scale)}}`;
        else if (kind === 'huge-string') payload = JSON.stringify({ members: [{ value: 'x'.repeat(100_000 * scale), type: 'User' }] });
        else if (kind === 'many-members') payload = JSON.stringify({ members: Array.from({ length: 50 + scale }, (_, i) => ({ value: `u${i}`, type: 'User' })) });
        else payload = `{"members":[{"value":${'9'.repeat(400 * scale)},"type":"User"}]}`;
        const { res, calls } = await send({ payload });
        expectWellFormed(res, calls);
        expect([400, 413]).toContain(res.statusCode);
      }),
      { numRuns: 500, seed: SEED },
    );
  });
});
