/**
 * The storage contract (./storage-contract.ts) against the PostgreSQL store, on the test
 * run's throwaway cluster (test/setup/postgres.global.ts), one database per test. Several
 * handles on one database stand for several replicas: the replica clauses run here.
 */
import { openPostgresStore } from '../../../src/adapters/storage/postgres/postgres-store.js';
import { generateSecret } from '../../../src/adapters/webhooks/signing.js';
import { FakeClock } from '../../fakes/fake-clock.js';
import { createDatabase, postgresUnderTest } from '../../helpers/postgres.js';
import { describeStorageContract, type StoreHarness } from './storage-contract.js';

const postgres = postgresUnderTest();
const IDEMPOTENCY_LEASE_MS = 120_000;
const DELIVERY_LEASE_MS = 30_000;

describeStorageContract({
  name: 'PostgreSQL',
  shared: true,
  idempotencyLeaseMs: IDEMPOTENCY_LEASE_MS,
  deliveryLeaseMs: DELIVERY_LEASE_MS,
  harness: !postgres.available
    ? undefined
    : async (): Promise<StoreHarness> => {
        const connectionString = await createDatabase(postgres.url);
        const clock = new FakeClock();
        return {
          clock,
          open: async (options = {}) =>
            openPostgresStore({ connectionString, clock, newSecret: generateSecret, poolSize: 4, idempotencyLeaseMs: IDEMPOTENCY_LEASE_MS, deliveryLeaseMs: DELIVERY_LEASE_MS, ...options }),
        };
      },
});
