/** The quarantine prober's lock across replicas on PostgreSQL: one holder at a time, taken over when the holder closes or its session ends. */
import { Client } from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPostgresRunnerLock } from '../../../src/adapters/storage/postgres/runner-lock.js';
import { createDatabase, postgresUnderTest } from '../../helpers/postgres.js';

const postgres = postgresUnderTest();

async function setup() {
  const connectionString = await createDatabase(postgres.available ? postgres.url : '');
  const replica = () => {
    const lock = createPostgresRunnerLock({ connectionString, name: 'quarantine-prober' });
    onTestFinished(() => lock.close());
    return lock;
  };
  return { connectionString, replica };
}

describe.skipIf(!postgres.available)('PostgreSQL runner lock (the quarantine prober)', () => {
  it('when two replicas try the lock, then one holds it (and keeps it) and the other is told no, until the holder closes', async () => {
    const { replica } = await setup();
    const [one, two] = [replica(), replica()];
    expect(await one.tryHold()).toBe(true);
    expect(await two.tryHold()).toBe(false);
    expect(await one.tryHold()).toBe(true);
    await one.close();
    expect(await two.tryHold()).toBe(true);
    expect(await one.tryHold()).toBe(false);
  });

  it('when the holder’s session is ended, then another replica takes the lock, and the old holder knows it holds nothing', async () => {
    const { connectionString, replica } = await setup();
    const [one, two] = [replica(), replica()];
    expect(await one.tryHold()).toBe(true);
    const admin = new Client({ connectionString });
    await admin.connect();
    onTestFinished(() => admin.end());
    // End the session holding this database's advisory lock (the holder's), as a network cut or a restart of the server would; other tests' databases are left alone.
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    await expect.poll(() => two.tryHold(), { timeout: 5000 }).toBe(true);
    expect(await one.tryHold()).toBe(false);
  });
});
