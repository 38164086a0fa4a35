/** The storage contract (./storage-contract.ts) against the embedded SQLite store: one process per DATA_DIR. */
import { openSqliteStore } from '../../../src/adapters/storage/sqlite-store.js';
import { generateSecret } from '../../../src/adapters/webhooks/signing.js';
import { FakeClock } from '../../fakes/fake-clock.js';
import { tempDir } from '../../helpers/temp-dir.js';
import { describeStorageContract, type StoreHarness } from './storage-contract.js';

describeStorageContract({
  name: 'SQLite',
  shared: false,
  harness: async (): Promise<StoreHarness> => {
    const dataDir = tempDir();
    const clock = new FakeClock();
    return {
      clock,
      open: async (options = {}) => openSqliteStore({ dataDir, clock, newSecret: generateSecret, ...options }),
    };
  },
});
