/** The per-group lock across replicas on PostgreSQL (session-level advisory locks on connections of their own). */
import { Client } from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPostgresGroupLocks, groupLockKey } from '../../../src/adapters/storage/postgres/group-lock.js';
import { SyncInterruptedError } from '../../../src/core/errors.js';
import { createDatabase, postgresUnderTest } from '../../helpers/postgres.js';

const postgres = postgresUnderTest();

async function setup() {
  const connectionString = await createDatabase(postgres.available ? postgres.url : '');
  const replica = (backend = 'scim https://tenant.example.com') => {
    const locks = createPostgresGroupLocks({ connectionString, backend });
    onTestFinished(() => locks.close());
    return locks;
  };
  const admin = new Client({ connectionString });
  await admin.connect();
  onTestFinished(() => admin.end());
  /** The sessions waiting for or holding advisory locks. */
  const lockSessions = async () => (await admin.query<{ pid: number; granted: boolean }>(`SELECT pid, granted FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).rows;
  /** Resolves once `count` sessions wait for an advisory lock (polled on the server: no wall-clock sleep decides anything). */
  const waiters = async (count: number) => {
    for (;;) {
      if ((await lockSessions()).filter((l) => !l.granted).length === count) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { connectionString, replica, admin, lockSessions, waiters };
}

describe.skipIf(!postgres.available)('PostgreSQL group lock', () => {
  it('when two replicas ask for the lock of one group, then the second gets it only once the first gives it back; other groups and other backends are not held up', async () => {
    const { replica, waiters } = await setup();
    const [one, two] = [replica(), replica()];
    const first = await one.acquire('g1');
    let secondHeld = false;
    const second = two.acquire('g1').then((held) => {
      secondHeld = true;
      return held;
    });
    await waiters(1);
    expect(secondHeld).toBe(false);
    await (await two.acquire('g2')).release();
    await (await replica('scim https://other.example.com').acquire('g1')).release();
    await first.release();
    const held = await second;
    expect(secondHeld).toBe(true);
    expect(held.lost.aborted).toBe(false);
    await held.release();
    expect(groupLockKey('a', 'g')).not.toBe(groupLockKey('b', 'g'));
  });

  it('when a replica syncs one group after another, then it keeps one lock connection between syncs, holding nothing while idle', async () => {
    const { replica, admin, lockSessions } = await setup();
    const [one, two] = [replica(), replica()];
    const sessions = async () => Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)).rows[0]?.n);
    for (let i = 0; i < 5; i++) await (await one.acquire('g1')).release();
    expect(await sessions()).toBe(1);
    expect(await lockSessions()).toEqual([]);
    // The idle session holds no lock: another replica takes it at once.
    await (await two.acquire('g1')).release();
    expect(one.held).toBe(0);
  });

  it('when a sync waiting for the lock is given up (deadline, caller gone), then it stops waiting with that reason and its connection is gone', async () => {
    const { replica, waiters, lockSessions } = await setup();
    const [one, two] = [replica(), replica()];
    const first = await one.acquire('g1');
    const controller = new AbortController();
    const waiting = two.acquire('g1', controller.signal);
    await waiters(1);
    const reason = new Error('deadline');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    await waiters(0);
    expect((await lockSessions()).filter((l) => l.granted)).toHaveLength(1);
    expect(two.held).toBe(0);
    await first.release();
  });

  it('when the connection holding the lock drops, then `lost` aborts with an interruption, and another replica takes the lock', async () => {
    const { replica, admin, lockSessions } = await setup();
    const [one, two] = [replica(), replica()];
    const held = await one.acquire('g1');
    const lost = new Promise<unknown>((resolve) => held.lost.addEventListener('abort', () => resolve(held.lost.reason)));
    const [session] = await lockSessions();
    await admin.query('SELECT pg_terminate_backend($1)', [session?.pid]);
    const reason = await lost;
    expect(reason).toBeInstanceOf(SyncInterruptedError);
    expect((reason as Error).message).toMatch(/lock of group g1 across replicas was lost/);
    const next = await two.acquire('g1');
    await next.release();
    await held.release();
  });

  it('when the database cannot be reached, then taking the lock fails as an interruption that names neither the URL nor its password', async () => {
    const locks = createPostgresGroupLocks({ connectionString: 'postgres://sync:Lock-Pa55word@127.0.0.1:1/cxone', backend: 'scim x' });
    const failure = await locks.acquire('g1').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SyncInterruptedError);
    expect((failure as Error).message).not.toContain('Lock-Pa55word');
    expect(locks.held).toBe(0);
  });
});
