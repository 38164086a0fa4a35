/** The PostgreSQL store's own behaviour beyond the storage contract: migrations at start, and what its errors say. */
import { Client } from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { POSTGRES_SCHEMA_VERSION } from '../../../src/adapters/storage/postgres/migrations.js';
import { openPostgresStore } from '../../../src/adapters/storage/postgres/postgres-store.js';
import { StorageError } from '../../../src/core/errors.js';
import { createDatabase, postgresUnderTest } from '../../helpers/postgres.js';

const postgres = postgresUnderTest();

describe.skipIf(!postgres.available)('PostgreSQL store', () => {
  const clusterUrl = postgres.available ? postgres.url : '';

  it('when several replicas start at once on an empty database, then the schema is made once, under the migration lock, and recorded by version', async () => {
    const connectionString = await createDatabase(clusterUrl);
    const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore({ connectionString, poolSize: 2 })));
    onTestFinished(async () => {
      for (const store of stores) await store.close();
    });
    const again = await openPostgresStore({ connectionString, poolSize: 1 });
    await again.close();
    const client = new Client({ connectionString });
    await client.connect();
    onTestFinished(() => client.end());
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it('when the database cannot be reached, then the start fails with a StorageError that names neither the password nor the URL', async () => {
    const url = new URL(clusterUrl);
    url.username = 'sync';
    url.password = 'S3cret-pg-password';
    url.port = '1';
    const opening = openPostgresStore({ connectionString: url.toString() });
    await expect(opening).rejects.toBeInstanceOf(StorageError);
    const message = await opening.catch((error: Error) => error.message);
    expect(message).not.toContain('S3cret-pg-password');
    expect(message).not.toContain(url.toString());
    expect(message).toMatch(/^PostgreSQL: opening the database failed/);
  });

  it('when a newer release migrated the database, then this one refuses to start on it', async () => {
    const connectionString = await createDatabase(clusterUrl);
    await (await openPostgresStore({ connectionString, poolSize: 1 })).close();
    const client = new Client({ connectionString });
    await client.connect();
    await client.query(`INSERT INTO schema_migrations (version, description) VALUES ($1, 'from the future')`, [POSTGRES_SCHEMA_VERSION + 1]);
    await client.end();
    await expect(openPostgresStore({ connectionString })).rejects.toThrow(/newer than this release understands/);
  });
});
