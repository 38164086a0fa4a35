/**
 * The membership backend chosen by MEMBERSHIP_BACKEND=auto, kept in the store so that every
 * process on it makes the same choice: the first writer wins, a restart reads it back, and
 * a database from before the choice was kept (schema version 3) is brought up to date
 * without one. The in-memory fake keeps the same contract.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MIGRATIONS } from '../../../src/adapters/storage/migrations.js';
import { DATABASE_FILE, openSqliteStore } from '../../../src/adapters/storage/sqlite-store.js';
import type { BackendChoiceStore } from '../../../src/core/ports.js';
import { MemoryBackendChoiceStore } from '../../fakes/memory-backend-choice.js';
import { tempDir } from '../../helpers/temp-dir.js';

function sqlite(dataDir = tempDir(), readonly = false) {
  const store = openSqliteStore({ dataDir, readonly });
  onTestFinished(() => store.close());
  return store;
}

describe.each([
  ['the SQLite store', (): BackendChoiceStore => sqlite().backendChoice],
  ['the in-memory fake', (): BackendChoiceStore => new MemoryBackendChoiceStore()],
])('the kept backend choice in %s', (_name, make) => {
  it('when nothing was chosen, then get answers undefined; the first choice is kept and a later one answers it unchanged', async () => {
    const choice = make();
    expect(await choice.get()).toBeUndefined();
    expect(await choice.choose('acd-groups')).toBe('acd-groups');
    expect(await choice.choose('scim-groups')).toBe('acd-groups');
    expect(await choice.get()).toBe('acd-groups');
  });
});

describe('the kept backend choice in the SQLite store', () => {
  it('when the store is opened again (a restart, another process on DATA_DIR), then the choice is read back', async () => {
    const dataDir = tempDir();
    const first = openSqliteStore({ dataDir });
    await first.backendChoice.choose('scim-groups');
    first.close();
    expect(await sqlite(dataDir).backendChoice.get()).toBe('scim-groups');
    expect(await sqlite(dataDir, true).backendChoice.get()).toBe('scim-groups');
  });

  it('when a schema-version-3 database is opened, then it is migrated with no choice kept, and a choice can be made', async () => {
    const dataDir = tempDir();
    mkdirSync(dataDir, { recursive: true });
    const v3 = new Database(join(dataDir, DATABASE_FILE));
    for (const migration of MIGRATIONS.filter((m) => m.version <= 3)) v3.exec(migration.sql);
    v3.pragma('user_version = 3');
    v3.close();
    const store = sqlite(dataDir);
    expect(await store.backendChoice.get()).toBeUndefined();
    expect(await store.backendChoice.choose('teams')).toBe('teams');
  });

  it('when the stored row names no backend this release knows, then get refuses it rather than guess', async () => {
    const dataDir = tempDir();
    const store = sqlite(dataDir);
    await store.backendChoice.choose('scim-groups');
    const raw = new Database(join(dataDir, DATABASE_FILE));
    raw.prepare(`UPDATE membership_backend_choice SET name = 'ldap'`).run();
    raw.close();
    await expect(store.backendChoice.get()).rejects.toThrow(/membership backend "ldap".*not one this release knows/);
  });
});
