/**
 * The SCIM front door's create of a group across replicas on PostgreSQL: two front doors
 * (two apps, each with its own name-lock connection) on one database and one upstream
 * create the same group at once; the uniqueness check and the create are exclusive across
 * them, so exactly one creates it.
 */
import { Client } from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPrometheusMetrics } from '../../../src/adapters/metrics/prometheus-metrics.js';
import { createCxoneDirectory } from '../../../src/adapters/scim/index.js';
import { MemoryAuditLog } from '../../../src/adapters/storage/memory-audit-log.js';
import { MemoryGroupExternalIds } from '../../../src/adapters/storage/memory-group-external-ids.js';
import { createPostgresNameLocks } from '../../../src/adapters/storage/postgres/name-lock.js';
import { composeApp } from '../../../src/composition/app.js';
import { loadConfig } from '../../../src/config.js';
import { createSimulator, type SimulatorRequest } from '../../../src/simulator/simulator.js';
import { FakeClock } from '../../fakes/fake-clock.js';
import { createDatabase, postgresUnderTest } from '../../helpers/postgres.js';

const postgres = postgresUnderTest();
const SCIM_TOKEN = 'okta-scim-token-000000001';

async function setup() {
  const connectionString = await createDatabase(postgres.available ? postgres.url : '');
  const admin = new Client({ connectionString });
  await admin.connect();
  onTestFinished(() => admin.end());
  const clock = new FakeClock(Date.now());
  const simulator = createSimulator({ scimGroups: true, clients: [{ clientId: 'sync', clientSecret: 'sync-secret-value' }], now: () => clock.now() });
  const url = await simulator.listen({ port: 0 });
  onTestFinished(() => simulator.close());
  // The replicas share the store (here: the externalIds) and the upstream; each has its own lock connection.
  const externalIds = new MemoryGroupExternalIds();
  const replica = async () => {
    const directory = createCxoneDirectory({ baseUrl: url, clientId: 'sync', clientSecret: 'sync-secret-value', clock, random: () => 0.5 });
    const nameLock = createPostgresNameLocks({ connectionString, scope: 'scim test-upstream' });
    const config = loadConfig({ SCIM_API_TOKENS: `okta-scim:${SCIM_TOKEN}` });
    const app = await composeApp({ config, ports: { directory, clock, audit: new MemoryAuditLog(), metrics: createPrometheusMetrics(), groupExternalIds: externalIds, nameLock } });
    onTestFinished(async () => {
      await app.close();
      await nameLock.close();
      await directory.close();
    });
    return app;
  };
  /** Sessions waiting for an advisory lock now. */
  const waiting = async () => (await admin.query<{ n: string }>(`SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)).rows[0]?.n === '0' ? 0 : 1;
  /**
   * Holds the first upstream listing of groups (the uniqueness check) until the other create
   * either lists too (nothing excludes them: both would create) or waits for a name lock on
   * the server. Decided by what happens, polled; no wall-clock sleep decides anything.
   */
  const holdFirstCheck = () => {
    let listings = 0;
    simulator.onRequest(async (req: SimulatorRequest) => {
      if (req.method !== 'GET' || !req.path.endsWith('/Groups') || !req.query.has('filter')) return undefined;
      listings++;
      if (listings > 1) return undefined;
      for (;;) {
        if (listings > 1 || (await waiting()) > 0) return undefined;
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
  };
  const create = (app: Awaited<ReturnType<typeof replica>>, body: unknown) =>
    app.inject({ method: 'POST', url: '/scim/v2/Groups', headers: { authorization: `Bearer ${SCIM_TOKEN}`, 'content-type': 'application/scim+json' }, payload: JSON.stringify(body) });
  return { simulator, replica, holdFirstCheck, create };
}

describe.skipIf(!postgres.available)('the SCIM front door\'s creates across replicas on PostgreSQL', () => {
  it('when two replicas create a group of the same displayName at once, then exactly one answers 201 and the other 409 uniqueness, and the upstream holds one group', async () => {
    const { simulator, replica, holdFirstCheck, create } = await setup();
    const [one, two] = [await replica(), await replica()];
    const groups = simulator.store.groupCount;
    holdFirstCheck();
    const answers = await Promise.all([create(one, { displayName: 'Night Shift' }), create(two, { displayName: 'night shift' })]);
    expect(answers.map((a) => a.statusCode).toSorted()).toEqual([201, 409]);
    expect(answers.find((a) => a.statusCode === 409)?.json()).toMatchObject({ scimType: 'uniqueness' });
    expect(simulator.store.groupCount).toBe(groups + 1);
  });

  it('when two replicas create groups of one externalId at once, then one is created and the other is refused before anything is created upstream', async () => {
    const { simulator, replica, holdFirstCheck, create } = await setup();
    const [one, two] = [await replica(), await replica()];
    const groups = simulator.store.groupCount;
    holdFirstCheck();
    const answers = await Promise.all([create(one, { displayName: 'Late Shift A', externalId: 'ext-late' }), create(two, { displayName: 'Late Shift B', externalId: 'ext-late' })]);
    expect(answers.map((a) => a.statusCode).toSorted()).toEqual([201, 409]);
    expect(answers.find((a) => a.statusCode === 409)?.json()).toMatchObject({ scimType: 'uniqueness' });
    expect(simulator.store.groupCount).toBe(groups + 1);
  });
});
