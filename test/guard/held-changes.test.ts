import { describe, expect, it, onTestFinished } from 'vitest';
import { openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { generateSecret } from '../../src/adapters/webhooks/signing.js';
import { changeFingerprint, holdOrPass } from '../../src/core/held-changes.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { bearer, buildTestApp } from '../helpers/build-test-app.js';
import { tempDir } from '../helpers/temp-dir.js';

const ADMIN = 'admin-test-token-0003';
const members = [{ value: 'u1', type: 'User' as const }];

function heldStore() {
  const store = openSqliteStore({ dataDir: tempDir(), clock: new FakeClock(), newSecret: generateSecret });
  onTestFinished(() => store.close());
  let n = 0;
  return { store, deps: { store: store.heldChanges, clock: new FakeClock(), newId: () => `held-${++n}` } };
}

describe('held changes: holdOrPass, as the SCIM front door calls it', () => {
  it('when a guarded change comes, then it is held; its retries get the same id; once approved, the next retry goes ahead, once', async () => {
    const { deps } = heldStore();
    expect(await holdOrPass(deps, 'g1', { members, removing: 40, of: 41 }, 'entra')).toEqual({ kind: 'held', id: 'held-1', created: true });
    // The same change, members in another order or repeated, is the same change.
    expect(changeFingerprint('g1', [...members, ...members])).toBe(changeFingerprint('g1', members));
    expect(await holdOrPass(deps, 'g1', { members: [...members, ...members], removing: 40, of: 41 }, 'entra')).toEqual({ kind: 'held', id: 'held-1', created: false });
    expect(await holdOrPass(deps, 'g2', { members, removing: 40, of: 41 }, 'entra')).toMatchObject({ kind: 'held', id: 'held-3', created: true });
    await deps.store.decide('held-1', 'approved', 'admin', '2026-01-01T00:00:00.000Z');
    expect(await holdOrPass(deps, 'g1', { members, removing: 40, of: 41 }, 'entra')).toEqual({ kind: 'approved', id: 'held-1' });
    expect(await holdOrPass(deps, 'g1', { members, removing: 40, of: 41 }, 'entra')).toMatchObject({ kind: 'held', created: true });
  });
});

describe('GET /guard/held, POST /guard/held/{id}/approve and /reject', () => {
  it('when an administrator lists and decides held changes, then it sees them, approves or rejects each once, and other tokens are refused', async () => {
    const { store, deps } = heldStore();
    const { app } = await buildTestApp({ directory: new InMemoryDirectory(), env: { ADMIN_API_TOKENS: `admin:${ADMIN}` }, ports: { heldChanges: store.heldChanges } });
    await holdOrPass(deps, 'g1', { members, removing: 40, of: 41 }, 'entra');
    await holdOrPass(deps, 'g2', { members, removing: 12, of: 12 }, 'entra');

    expect((await app.inject({ method: 'GET', url: '/guard/held', headers: bearer() })).statusCode).toBe(403);
    const list = await app.inject({ method: 'GET', url: '/guard/held?state=held', headers: bearer(ADMIN) });
    expect(list.statusCode).toBe(200);
    expect(list.json().items.map((h: { id: string; removing: number; of: number }) => [h.id, h.removing, h.of]).toSorted()).toEqual([
      ['held-1', 40, 41],
      ['held-2', 12, 12],
    ]);

    expect((await app.inject({ method: 'POST', url: '/guard/held/held-1/approve', headers: bearer() })).statusCode).toBe(403);
    const approved = await app.inject({ method: 'POST', url: '/guard/held/held-1/approve', headers: bearer(ADMIN) });
    expect(approved.json()).toMatchObject({ id: 'held-1', state: 'approved', decidedBy: 'admin' });
    const twice = await app.inject({ method: 'POST', url: '/guard/held/held-1/reject', headers: bearer(ADMIN) });
    expect(twice.statusCode).toBe(409);
    expect(twice.json()).toMatchObject({ error: 'held_change_decided' });
    expect((await app.inject({ method: 'POST', url: '/guard/held/held-2/reject', headers: bearer(ADMIN) })).json()).toMatchObject({ state: 'rejected' });
    expect((await app.inject({ method: 'POST', url: '/guard/held/nope/approve', headers: bearer(ADMIN) })).json()).toMatchObject({ error: 'held_change_not_found' });

    expect(await holdOrPass(deps, 'g1', { members, removing: 40, of: 41 }, 'entra')).toEqual({ kind: 'approved', id: 'held-1' });
    expect(await holdOrPass(deps, 'g2', { members, removing: 12, of: 12 }, 'entra')).toEqual({ kind: 'rejected', id: 'held-2', created: false });
  });
});
