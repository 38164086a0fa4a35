import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { UpstreamError } from '../../src/core/errors.js';
import type { MemberRef } from '../../src/core/membership.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { bearer, buildTestApp, TOKENS } from '../helpers/build-test-app.js';
import { tempDir } from '../helpers/temp-dir.js';

const user = (value: string): MemberRef => ({ value, type: 'User' });
const seeded = () => new InMemoryDirectory().addUser('a').addUser('b').addUser('off', false).addGroup('g1', [user('a')]).addGroup('g2');

type App = Awaited<ReturnType<typeof buildTestApp>>['app'];
function post(app: App, body: unknown, key: string | undefined, { group = 'g1', query = '', token = TOKENS.okta } = {}) {
  return app.inject({
    method: 'POST',
    url: `/groups/${group}/sync${query}`,
    headers: { 'content-type': 'application/json', ...bearer(token), ...(key === undefined ? {} : { 'idempotency-key': key }) },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('Idempotency-Key', () => {
  it('when a request is retried with the same key and body, then the first answer is replayed and nothing is written again', async () => {
    const { app, directory, audit } = await buildTestApp({ directory: seeded() });
    const first = await post(app, { members: [user('b')] }, 'k-1');
    const calls = directory.calls.length;
    const retry = await post(app, '{ "members" : [ { "type": "User", "value": "b" } ] }', 'k-1');
    expect(first.statusCode).toBe(200);
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual(first.json());
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(directory.calls.length).toBe(calls);
    expect(directory.count('replaceGroup')).toBe(1);
    expect(audit.records).toHaveLength(1);
  });

  it('when the same key comes with another body, group or query, then 422 idempotency_key_reused', async () => {
    const { app } = await buildTestApp({ directory: seeded() });
    await post(app, { members: [user('b')] }, 'k-2');
    for (const res of [
      await post(app, { members: [user('a')] }, 'k-2'),
      await post(app, { members: [user('b')] }, 'k-2', { group: 'g2' }),
      await post(app, { members: [user('b')] }, 'k-2', { query: '?dryRun=true' }),
    ]) {
      expect(res.statusCode).toBe(422);
      expect(res.json()).toEqual({ error: 'idempotency_key_reused', message: expect.any(String) });
    }
  });

  it('when two requests with one key run at once, then one is processed, the other gets 409 idempotency_key_in_use, and there is one write', async () => {
    const directory = seeded();
    let releaseGroup!: () => void;
    const gate = new Promise<void>((resolve) => (releaseGroup = resolve));
    const getGroup = directory.getGroup.bind(directory);
    directory.getGroup = async (id, ctx) => {
      await gate;
      return getGroup(id, ctx);
    };
    const { app } = await buildTestApp({ directory });
    const first = post(app, { members: [user('b')] }, 'k-3');
    await new Promise((resolve) => setImmediate(resolve));
    const second = await post(app, { members: [user('b')] }, 'k-3');
    releaseGroup();
    expect(second.statusCode).toBe(409);
    expect(second.json()).toEqual({ error: 'idempotency_key_in_use', message: expect.any(String) });
    expect((await first).statusCode).toBe(200);
    expect(directory.count('replaceGroup')).toBe(1);
  });

  it('when another caller uses the same key, then it is a different key (scoped to the actor)', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    await post(app, { members: [user('b')] }, 'k-4');
    const other = await post(app, { members: [user('a')] }, 'k-4', { token: TOKENS.entra });
    expect(other.statusCode).toBe(200);
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(directory.count('replaceGroup')).toBe(2);
  });

  it('when the first answer was a 422, then the retry gets the same 422 without running again', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    const first = await post(app, { members: [user('off')] }, 'k-5');
    const calls = directory.calls.length;
    const retry = await post(app, { members: [user('off')] }, 'k-5');
    expect(first.statusCode).toBe(422);
    expect(retry.json()).toEqual(first.json());
    expect(directory.calls.length).toBe(calls);
  });

  it('when the first answer was transient (5xx or 409 conflict), then a retry runs again', async () => {
    const directory = seeded();
    let fail = true;
    const replace = directory.replaceGroup.bind(directory);
    directory.replaceGroup = async (w, m, ctx) => {
      if (fail) throw new UpstreamError('SCIM PUT /Groups/{id} answered 500', { status: 500 });
      return replace(w, m, ctx);
    };
    const { app } = await buildTestApp({ directory });
    expect((await post(app, { members: [user('b')] }, 'k-6')).statusCode).toBe(502);
    fail = false;
    const retry = await post(app, { members: [user('b')] }, 'k-6');
    expect(retry.statusCode).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
  });

  it('when 24 hours have passed, then the key can be used afresh', async () => {
    const { app, clock, directory } = await buildTestApp({ directory: seeded() });
    await post(app, { members: [user('b')] }, 'k-7');
    clock.advance(24 * 60 * 60 * 1000 + 1);
    const later = await post(app, { members: [user('a')] }, 'k-7');
    expect(later.statusCode).toBe(200);
    expect(later.headers['idempotent-replayed']).toBeUndefined();
    expect(directory.membersOf('g1')).toEqual([user('a')]);
  });

  it('when the key is malformed, then 400 before anything runs', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    const res = await post(app, { members: [] }, 'has space');
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('invalid_request');
    expect(directory.calls).toEqual([]);
  });

  it('when no key is sent, then every request runs', async () => {
    const { app, directory } = await buildTestApp({ directory: seeded() });
    await post(app, { members: [user('b')] }, undefined);
    await post(app, { members: [user('a')] }, undefined);
    expect(directory.count('replaceGroup')).toBe(2);
  });
});

describe('SQLite idempotency store', () => {
  it('when a key is claimed, completed and the store reopened, then the answer is still there; abandoned claims are released', async () => {
    const dataDir = tempDir();
    const clock = new FakeClock();
    let store = openSqliteStore({ dataDir, clock });
    expect(await store.claim('okta', 'k', 'fp', 1000)).toEqual({ claimed: true });
    expect(await store.claim('okta', 'k', 'fp', 1000)).toEqual({ claimed: false, fingerprint: 'fp', state: 'processing' });
    await store.complete('okta', 'k', { statusCode: 200, contentType: 'application/json', body: '{"ok":true}' });
    expect(await store.claim('okta', 'open', 'fp2', 1000)).toEqual({ claimed: true });
    store.close();

    store = openSqliteStore({ dataDir, clock });
    expect(await store.claim('okta', 'k', 'fp', 1000)).toEqual({ claimed: false, fingerprint: 'fp', state: 'completed', response: { statusCode: 200, contentType: 'application/json', body: '{"ok":true}' } });
    expect(await store.releaseAbandoned()).toBe(1);
    expect(await store.claim('okta', 'open', 'fp2', 1000)).toEqual({ claimed: true });
    await store.release('okta', 'open');
    expect(await store.claim('okta', 'open', 'fp3', 1000)).toEqual({ claimed: true });
    clock.advance(1001);
    expect(await store.claim('okta', 'k', 'other', 1000)).toEqual({ claimed: true });
    store.close();
  });
});
