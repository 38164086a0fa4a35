/** The drift scheduler's lease across replicas on PostgreSQL: one holder at a time, given back when released or when its session ends. */
import { Client } from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPostgresLease } from '../../../src/adapters/storage/postgres/scheduler-lease.js';
import { createDatabase, postgresUnderTest } from '../../helpers/postgres.js';

const postgres = postgresUnderTest();

async function setup() {
  const connectionString = await createDatabase(postgres.available ? postgres.url : '');
  const replica = () => {
    const lease = createPostgresLease({ connectionString, name: 'drift-scheduler' });
    onTestFinished(() => lease.close());
    return lease;
  };
  return { connectionString, replica };
}

describe.skipIf(!postgres.available)('PostgreSQL scheduler lease', () => {
  it('when two replicas ask for the lease, then one holds it and the other is told no at once, until it is given back', async () => {
    const { replica } = await setup();
    const [one, two] = [replica(), replica()];
    const held = await one.tryAcquire();
    expect(held).not.toBeNull();
    expect(await two.tryAcquire()).toBeNull();
    await held?.release();
    const taken = await two.tryAcquire();
    expect(taken?.lost.aborted).toBe(false);
    expect(await one.tryAcquire()).toBeNull();
    await taken?.release();
  });

  it('when the holder’s session is ended, then its lease is lost (lost aborts) and another replica takes it', async () => {
    const { connectionString, replica } = await setup();
    const [one, two] = [replica(), replica()];
    const held = await one.tryAcquire();
    const lost = new Promise<void>((resolve) => held?.lost.addEventListener('abort', () => resolve(), { once: true }));
    const admin = new Client({ connectionString });
    await admin.connect();
    onTestFinished(() => admin.end());
    // Only this test's database: other test files share the cluster.
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
    await lost;
    expect(held?.lost.aborted).toBe(true);
    const taken = await two.tryAcquire();
    expect(taken).not.toBeNull();
    await taken?.release();
    await held?.release();
  });
});
