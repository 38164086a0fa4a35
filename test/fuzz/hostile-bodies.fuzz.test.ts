/**
 * Hostile bodies on every route that takes one (POST /groups/{groupId}/sync, POST
 * /subscriptions): nesting 100,000 levels deep at every place a value can sit, attribute
 * names in odd cases, very long or very many names. The answer is never a 5xx: a 400
 * that names the problem, before any upstream request and without an audit record; a
 * SCIM Group resource's ignored attributes (schemas, id, externalId, meta) are the only
 * place where depth is accepted, because they are never read. Seeded, like the other
 * fuzz suites, so that a failure reproduces.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrometheusMetrics } from '../../src/adapters/metrics/prometheus-metrics.js';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { openSqliteStore, type SqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { createWebhookTargetPolicy } from '../../src/adapters/webhooks/ssrf-guard.js';
import { composeApp } from '../../src/composition/app.js';
import { loadConfig } from '../../src/config.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { generateSecret } from '../../src/adapters/webhooks/signing.js';

const TOKEN = 'fuzz-token-0123456789';
const SEED = 20261202;

let app: FastifyInstance;
let directory: InMemoryDirectory;
let audit: MemoryAuditLog;
let store: SqliteStore;
let dataDir: string;

beforeAll(async () => {
  directory = new InMemoryDirectory().addUser('alice').addGroup('g1');
  audit = new MemoryAuditLog();
  dataDir = mkdtempSync(join(tmpdir(), 'cxone-hostile-'));
  store = openSqliteStore({ newSecret: generateSecret, dataDir });
  const config = loadConfig({ SYNC_API_TOKENS: `fuzz:${TOKEN}`, MAX_MEMBERS: '2000', INBOUND_RATE_LIMIT: '0' });
  const webhookPolicy = createWebhookTargetPolicy({ allowPrivate: false, resolve: async () => [{ address: '93.184.216.34', family: 4 }] });
  app = await composeApp({ config, ports: { directory, audit, subscriptions: store, webhookPolicy, clock: new FakeClock(), metrics: createPrometheusMetrics() } });
});
afterAll(async () => {
  await app.close();
  store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function send(url: string, payload: string, idempotencyKey?: string) {
  directory.calls.length = 0;
  const records = audit.records.length;
  const res = await app.inject({
    method: 'POST',
    url,
    payload,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
  });
  return { res, calls: [...directory.calls], audited: audit.records.length - records };
}

/** `depth` levels of arrays or objects around a number. */
function nested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

const depth = fc.constantFrom(1_000, 10_000, 100_000);
const kind = fc.constantFrom<'array' | 'object'>('array', 'object');
let keys = 0;
const idempotencyKey = fc.boolean().map((use) => (use ? `hostile-${++keys}` : undefined));

describe('fuzz: hostile bodies', () => {
  it('when a sync body holds a value nested up to 100,000 levels deep anywhere, then the answer is a 400 naming where, with no upstream request and no audit record, unless the place is an ignored attribute', async () => {
    const places = ['body', 'unknown', 'Unknown-case', 'members', 'member', 'member-unknown', 'value', 'type', 'display', 'displayName', 'ref', 'meta', 'schemas'] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...places), depth, kind, idempotencyKey, async (place, levels, shape, key) => {
        const deep = nested(levels, shape);
        const payload = {
          body: deep,
          unknown: `{"members":[],"x":${deep}}`,
          'Unknown-case': `{"Members":[],"DryRun":${deep}}`,
          members: `{"members":${deep}}`,
          member: `{"members":[${deep}]}`,
          'member-unknown': `{"members":[{"value":"alice","type":"User","extra":${deep}}]}`,
          value: `{"members":[{"value":${deep},"type":"User"}]}`,
          type: `{"members":[{"value":"alice","type":${deep}}]}`,
          display: `{"members":[{"value":"alice","type":"User","display":${deep}}]}`,
          displayName: `{"displayName":${deep},"members":[]}`,
          ref: `{"members":[{"value":"alice","type":"User","$ref":${deep}}]}`,
          meta: `{"meta":${deep},"members":[]}`,
          schemas: `{"SCHEMAS":${deep},"members":[]}`,
        }[place];
        const { res, calls, audited } = await send('/groups/g1/sync', payload, key);
        expect(res.statusCode).toBeLessThan(500);
        if (place === 'meta' || place === 'schemas') {
          expect(res.statusCode).toBe(200);
          return;
        }
        expect(res.statusCode).toBe(400);
        expect(res.json()).toEqual({ error: 'invalid_request', message: expect.stringMatching(/^body/) });
        expect(calls).toEqual([]);
        expect(audited).toBe(0);
      }),
      { numRuns: 150, seed: SEED },
    );
  });

  it('when a subscription body holds a value nested up to 100,000 levels deep anywhere, then the answer is a 400', async () => {
    const places = ['body', 'unknown', 'url', 'events', 'event', 'description'] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...places), depth, kind, async (place, levels, shape) => {
        const deep = nested(levels, shape);
        const good = { url: '"https://hooks.example.com/x"', events: '["group.sync.failed"]' };
        const payload = {
          body: deep,
          unknown: `{"url":${good.url},"events":${good.events},"x":${deep}}`,
          url: `{"url":${deep},"events":${good.events}}`,
          events: `{"url":${good.url},"events":${deep}}`,
          event: `{"url":${good.url},"events":[${deep}]}`,
          description: `{"url":${good.url},"events":${good.events},"description":${deep}}`,
        }[place];
        const { res } = await send('/subscriptions', payload);
        expect(res.statusCode).toBe(400);
        expect(res.json()).toEqual({ error: 'invalid_request', message: expect.stringMatching(/^body/) });
      }),
      { numRuns: 60, seed: SEED },
    );
    expect((await store.listSubscriptions()).length).toBe(0);
  });

  it('when attribute names are odd (any case, very long, control characters, thousands of them), then the answer is a 400 or a sync, never a 5xx, and a refused name is quoted and cut short', async () => {
    const name = fc.oneof(
      fc.constantFrom('members', 'Members', 'MEMBERS', 'displayName', 'DISPLAYNAME', 'value', 'Value', 'TYPE', 'Display', 'id', 'ID', 'Meta', 'externalid', '$ref', '$REF', 'constructor', 'toString', 'hasOwnProperty'),
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.integer({ min: 100, max: 100_000 }).map((n) => 'k'.repeat(n)),
    );
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(name, { maxLength: 4 }), fc.uniqueArray(name, { maxLength: 4 }), fc.integer({ min: 0, max: 5_000 }), async (topNames, memberNames, many) => {
        const member: Record<string, unknown> = { value: 'alice', type: 'User' };
        for (const n of memberNames) member[n] = 'x';
        const body: Record<string, unknown> = { members: [member] };
        for (const n of topNames) body[n] = n.toLowerCase() === 'members' ? [member] : 'x';
        for (let i = 0; i < many; i++) member[`extra${i}`] = i;
        const { res, calls, audited } = await send('/groups/g1/sync', JSON.stringify(body));
        expect(res.statusCode).toBeLessThan(500);
        if (res.statusCode === 400) {
          expect(calls).toEqual([]);
          expect(audited).toBe(0);
          expect(res.json().message.length).toBeLessThan(1000);
        }
        if (many > 0) expect(res.statusCode).toBe(400);
      }),
      { numRuns: 300, seed: SEED },
    );
  });
});
