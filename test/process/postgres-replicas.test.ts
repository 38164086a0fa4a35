/**
 * Process-level: service replicas with STORE=postgres on one database of the test run's
 * PostgreSQL cluster, against one stand-alone simulator without ETags.
 */
import { Client } from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { seedIds } from '../../src/simulator/seed.js';
import { createDatabase, postgresUnderTest } from '../helpers/postgres.js';
import { startService, type Service } from '../helpers/service-process.js';
import { startSimulatorProcess } from '../helpers/simulator-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const TOKEN = 'okta-pg-replicas-token-0001';
const ADMIN = 'ops-pg-replicas-token-00001';
const PASSWORD = 'Pg-Replica-Pa55word';
const { users, groups } = seedIds;
const postgres = postgresUnderTest();

function sync(service: Service, groupId: string, members: string[]) {
  return fetch(`${service.url}/groups/${groupId}/sync`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ members: members.map((value) => ({ value, type: 'User' })) }),
  });
}

describe.skipIf(!postgres.available)('process: replicas on PostgreSQL', () => {
  it('when two replicas share one database (and even one DATA_DIR), then both start, their syncs extend one audit chain that either verifies, and the database password is logged nowhere', { timeout: 90_000 }, async () => {
    const simulator = await startSimulatorProcess({ SIM_ETAG: 'false' });
    const url = new URL(await createDatabase(postgres.available ? postgres.url : ''));
    url.password = PASSWORD;
    const dataDir = tempDir();
    const env = {
      CXONE_BASE_URL: simulator.url,
      CXONE_CLIENT_ID: 'demo-client',
      CXONE_CLIENT_SECRET: 'demo-secret',
      SYNC_API_TOKENS: `okta:${TOKEN}`,
      ADMIN_API_TOKENS: `ops:${ADMIN}`,
      DATA_DIR: dataDir,
      STORE: 'postgres',
      DATABASE_URL: url.toString(),
    };
    const [first, second] = await Promise.all([startService(env), startService(env)]);
    const answers = await Promise.all([
      sync(first, groups.contactCenterAgents, [users.aliceSmith]),
      sync(second, groups.supportTier2, [users.davidKim]),
      sync(first, groups.contactCenterAgents, [users.davidKim]),
      sync(second, groups.contactCenterAgents, [users.carmenRodriguez]),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    for (const replica of [first, second]) {
      const verify = await fetch(`${replica.url}/audit/verify`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(await verify.json()).toEqual({ ok: true, records: 4 });
    }
    const ready = await fetch(`${second.url}/readyz`);
    expect(ready.status).toBe(200);
    const opened = first.logs().find((l) => l.msg === 'storage open');
    expect(opened).toMatchObject({ store: 'postgres', file: expect.stringMatching(/^postgres:\/\/127\.0\.0\.1:\d+\/t_/) });
    await Promise.all([first.stop(), second.stop(), simulator.stop()]);
    for (const replica of [first, second]) {
      const text = JSON.stringify(replica.logs()) + replica.stderr();
      expect(text).not.toContain(PASSWORD);
    }
  });

  it('when one replica’s write of a group is in flight, then another replica’s sync of that group waits for the group’s lock and writes only after the first sync ended', { timeout: 90_000 }, async () => {
    const simulator = await startSimulatorProcess({ SIM_ETAG: 'false' });
    const databaseUrl = await createDatabase(postgres.available ? postgres.url : '');
    const env = () => ({
      CXONE_BASE_URL: simulator.url,
      CXONE_CLIENT_ID: 'demo-client',
      CXONE_CLIENT_SECRET: 'demo-secret',
      SYNC_API_TOKENS: `okta:${TOKEN}`,
      DATA_DIR: tempDir(),
      STORE: 'postgres',
      DATABASE_URL: databaseUrl,
    });
    const [first, second] = await Promise.all([startService(env()), startService(env())]);
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    onTestFinished(() => db.end());

    expect((await simulator.admin('PUT', '/hold', { method: 'PUT' })).body).toEqual({ state: 'armed', method: 'PUT' });
    const answerA = sync(first, groups.contactCenterAgents, [users.aliceSmith]);
    expect((await simulator.admin('GET', '/hold?until=held')).body).toEqual({ state: 'held', method: 'PUT' });

    // A's write has landed and its answer is held. B's sync must wait for the group's lock…
    let answeredB = false;
    const answerB = sync(second, groups.contactCenterAgents, [users.davidKim]).finally(() => (answeredB = true));
    for (;;) {
      const { rows } = await db.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
      if (rows.length > 0 || answeredB) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(answeredB).toBe(false);
    // …so it wrote nothing: the hold still waits for another write to the group.
    expect((await simulator.admin('GET', '/hold')).body).toEqual({ state: 'held', method: 'PUT' });

    await simulator.admin('DELETE', '/hold');
    const a = await answerA;
    const b = await answerB;
    const bodyA = (await a.json()) as { status?: string };
    const bodyB = (await b.json()) as { status?: string; removed?: { value: string }[] };
    expect([a.status, bodyA.status]).toEqual([200, 'applied']);
    expect([b.status, bodyB.status]).toEqual([200, 'applied']);
    // B started from A's write: it removed Alice.
    expect(bodyB.removed?.map((m) => m.value)).toEqual([users.aliceSmith]);
    await Promise.all([first.stop(), second.stop(), simulator.stop()]);
  });
});
