/**
 * Process-level: two service processes, each with its own DATA_DIR, write one group of one
 * stand-alone simulator that sends no ETags, so nothing upstream orders their writes. The
 * simulator holds the answer to the first write until the second write has landed: the
 * first process learns of its success only after its write was overwritten.
 */
import { describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/seed.js';
import { startService, type Service } from '../helpers/service-process.js';
import { startSimulatorProcess } from '../helpers/simulator-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const TOKEN = 'okta-two-instances-token-0001';
const { users, groups } = seedIds;

function sync(service: Service, members: string[]) {
  return fetch(`${service.url}/groups/${groups.contactCenterAgents}/sync`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ members: members.map((value) => ({ value, type: 'User' })) }),
  });
}

interface Answer {
  status?: string;
  error?: string;
  removed?: { value: string }[];
}

describe('process: two instances against a provider without ETags', () => {
  it('when one instance’s write is overwritten before it reads it back, then it does not answer applied for that write', { timeout: 90_000 }, async () => {
    const simulator = await startSimulatorProcess({ SIM_ETAG: 'false' });
    const env = (dataDir: string) => ({
      CXONE_BASE_URL: simulator.url,
      CXONE_CLIENT_ID: 'demo-client',
      CXONE_CLIENT_SECRET: 'demo-secret',
      SYNC_API_TOKENS: `okta:${TOKEN}`,
      DATA_DIR: dataDir,
    });
    const [first, second] = await Promise.all([startService(env(tempDir())), startService(env(tempDir()))]);

    expect((await simulator.admin('PUT', '/hold', { method: 'PUT' })).body).toEqual({ state: 'armed', method: 'PUT' });
    const answerA = sync(first, [users.aliceSmith]);
    expect((await simulator.admin('GET', '/hold?until=held')).body).toEqual({ state: 'held', method: 'PUT' });

    // The first write has landed and its answer is held; the second instance writes over it.
    const b = await sync(second, [users.davidKim]);
    const bodyB = (await b.json()) as Answer;
    const a = await answerA;
    const bodyA = (await a.json()) as Answer;
    expect((await simulator.admin('GET', '/hold')).body).toEqual({ state: 'released', method: 'PUT' });

    // A may answer applied only for a write made after it saw B's: then it replaced David.
    const verdictA = a.status === 200 ? { status: bodyA.status, replacedB: bodyA.removed?.some((m) => m.value === users.davidKim) ?? false } : { status: bodyA.error };
    expect([{ status: 'applied', replacedB: true }, { status: 'conflict' }]).toContainEqual(verdictA);
    expect([200, 409]).toContain(b.status);
    expect(['applied', 'conflict']).toContain(bodyB.status ?? bodyB.error);

    // The group holds one of the two sets whole, never a mix.
    const token = await fetch(`${simulator.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('demo-client:demo-secret').toString('base64')}` },
      body: 'grant_type=client_credentials',
    }).then(async (r) => ((await r.json()) as { access_token: string }).access_token);
    const held = (await fetch(`${simulator.url}/scim/v2/Groups/${groups.contactCenterAgents}`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json())) as { members?: { value: string }[] };
    const values = (held.members ?? []).map((m) => m.value);
    expect([[users.aliceSmith], [users.davidKim]]).toContainEqual(values);

    await Promise.all([first.stop(), second.stop(), simulator.stop()]);
  });
});
