import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SimulatorEnvError, parseSimulatorEnv, startupLine } from '../../src/simulator/env.js';
import { parseFilter } from '../../src/simulator/filter.js';
import { OrderedMap } from '../../src/simulator/ordered-map.js';
import { defaultSeed, seedIds } from '../../src/simulator/seed.js';
import { DEFAULT_ACCESS_KEY, DEFAULT_TENANT_ID, SCIM_GROUPS_DEFAULT, createSimulator } from '../../src/simulator/simulator.js';

describe('simulator filter parser', () => {
  it('when clauses are joined by or, then each is read with its escapes and literal types', () => {
    expect(parseFilter('  userName EQ "a\\"b\\\\c"  or active eq false Or x.value eq 12 ')).toEqual([
      { attr: 'userName', value: 'a"b\\c' },
      { attr: 'active', value: false },
      { attr: 'x.value', value: 12 },
    ]);
    expect(parseFilter('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "\\u0041"')).toEqual([
      { attr: 'urn:ietf:params:scim:schemas:core:2.0:User:userName', value: 'A' },
    ]);
  });

  it.each(['', 'userName', 'userName eq', 'userName ne "a"', 'a eq "b" and c eq "d"', 'not (a eq "b")', 'a eq "b"or c eq "d"', 'a eq "\\q"', 'a eq "b" c'])(
    'when the filter is %j, then it is refused as invalidFilter',
    (text) => {
      expect(() => parseFilter(text)).toThrow(expect.objectContaining({ status: 400, scimType: 'invalidFilter' }));
    },
  );
});

describe('simulator ordered map', () => {
  it('when entries are deleted and restored, then order and positions come back exactly', () => {
    const map = new OrderedMap<number>();
    for (let i = 0; i < 100; i++) map.set(`k${i}`, i);
    const slot7 = map.delete('k7');
    const slot99 = map.delete('k99');
    map.set('new', 1000);
    expect(map.delete('new')).toBeGreaterThan(0);
    map.restore('k99', 99, slot99);
    map.restore('k7', 7, slot7);
    expect(map.toArray()).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (let i = 0; i < 80; i++) map.delete(`k${i}`);
    map.maybeCompact();
    expect(map.size).toBe(20);
    expect(map.slice(0, 3)).toEqual([80, 81, 82]);
    expect(map.get('k85')).toBe(85);
    expect(map.delete('missing')).toBe(-1);
  });
});

describe('simulator seed', () => {
  it('when the seed loads, then the documented ids, tree and inactive users are there', () => {
    const raw = JSON.parse(readFileSync(new URL('../../src/simulator/seed.json', import.meta.url), 'utf8')) as typeof defaultSeed;
    expect(raw.users).toHaveLength(40);
    const { store } = createSimulator();
    const parents = (id: string) => store.parentGroupIds(id);
    expect(parents(seedIds.groups.engineeringCore)).toEqual([seedIds.groups.engineering]);
    expect(parents(seedIds.groups.engineering)).toEqual([seedIds.groups.allStaff]);
    expect(parents(seedIds.groups.allStaff)).toEqual([]);
    expect(parents(seedIds.groups.platform)).toEqual([]);
    expect(store.getGroup(seedIds.groups.contactCenterAgents)?.members).toEqual([]);
    expect(store.getGroup(seedIds.groups.supportTier1)?.displayName).toBe('Support Tier 1');
    expect(store.getGroup(seedIds.groups.supportTier2)?.displayName).toBe('Support Tier 2');
    for (const id of [seedIds.users.isabelCosta, seedIds.users.raniaAziz, seedIds.users.dmitriVolkov, seedIds.users.marcusJohansson]) {
      expect(store.getUser(id)?.active).toBe(false);
    }
    expect(store.getUser(seedIds.users.aliceSmith)).toMatchObject({ userName: 'alice.smith@example.com', displayName: 'Alice Smith', active: true });
    expect(parents(seedIds.users.lauraGarcia)).toEqual([]);
  });

  it('when the seed is empty or custom, then the store holds just that', () => {
    expect(createSimulator({ seed: 'empty' }).store.userCount).toBe(0);
    const custom = createSimulator({
      seed: { users: [{ id: 'u1', userName: 'u1@example.com' }], groups: [{ id: 'g1', displayName: 'G', members: [{ value: 'u1' }, { value: 'g2' }] }, { id: 'g2', displayName: 'H' }] },
    });
    expect(custom.store.getGroup('g1')?.members.map((m) => [m.value, m.type])).toEqual([['u1', 'User'], ['g2', 'Group']]);
    expect(() => createSimulator({ seed: { users: [], groups: [{ id: 'g', displayName: 'G', members: [{ value: 'nobody' }] }] } })).toThrow(/seed is invalid/);
  });
});

describe('simulator CLI environment', () => {
  it('when nothing is set, then the defaults apply and the demo secret is shown', () => {
    const config = parseSimulatorEnv({});
    expect(config).toEqual({
      port: 8081,
      host: '127.0.0.1',
      clientId: 'demo-client',
      clientSecret: 'demo-secret',
      accessKeyId: DEFAULT_ACCESS_KEY.accessKeyId,
      accessKeySecret: DEFAULT_ACCESS_KEY.accessKeySecret,
      tenantId: DEFAULT_TENANT_ID,
      faults: {},
      capabilities: {},
      behaviours: {},
      scimGroups: SCIM_GROUPS_DEFAULT,
    });
    expect(startupLine('http://127.0.0.1:8081', config)).toContain('CXONE_BASE_URL=http://127.0.0.1:8081 CXONE_CLIENT_ID=demo-client CXONE_CLIENT_SECRET=demo-secret');
  });

  it('when faults and credentials are set, then they are parsed and a real secret is never printed', () => {
    const config = parseSimulatorEnv({
      SIMULATOR_PORT: '9000',
      SIMULATOR_CLIENT_ID: 'bench',
      SIMULATOR_CLIENT_SECRET: 's3cret-value',
      SIM_LATENCY_MS: '5-40',
      SIM_RATE_LIMIT: '50',
      SIM_ERROR_RATIO: '0.01',
      SIM_DROP_RATIO: '0',
    });
    expect(config.faults).toEqual({ latencyMs: [5, 40], rateLimit: { requestsPerSecond: 50 }, errorRatio: 0.01, dropRatio: 0 });
    expect(parseSimulatorEnv({ SIM_LATENCY_MS: '20' }).faults).toEqual({ latencyMs: 20 });
    const line = startupLine('http://127.0.0.1:9000', config);
    expect(line).not.toContain('s3cret-value');
    expect(line).toContain('CXONE_CLIENT_ID=bench');
    expect(line.split('\n')).toHaveLength(1);
  });

  it('when capabilities are set, then ETags, the PATCH projection bug and the body limit follow them', () => {
    const config = parseSimulatorEnv({ SIM_ETAG: 'false', SIM_PATCH_ON_PROJECTION: 'true', SIM_MAX_REQUEST_BYTES: '4096' });
    expect(config.capabilities).toEqual({ etag: false, patchOnProjection: true, maxRequestBytes: 4096 });
    expect(startupLine('http://127.0.0.1:9000', config)).toContain('"etag":false');
  });

  it('when CXone sign-in, behaviours and admin-API faults are set, then they are parsed and only demo secrets are printed', () => {
    const config = parseSimulatorEnv({
      SIMULATOR_ACCESS_KEY_ID: 'KEY-7',
      SIMULATOR_ACCESS_KEY_SECRET: 'real-access-key-secret',
      SIMULATOR_TENANT_ID: 'tenant-7',
      SIM_MEMBERSHIP_MOVES_LAST_UPDATED: 'true',
      SIM_ADD_EXISTING: 'success',
      SIM_REMOVE_ABSENT: 'success',
      SIM_EMPTY_LIST: '200',
      SIM_AGENT_FAILURE_RATIO: '0.05',
      SIM_THROTTLE_RATIO: '0.1',
      SIM_THROTTLE_RETRY_AFTER: 'none',
    });
    expect(config).toMatchObject({ accessKeyId: 'KEY-7', accessKeySecret: 'real-access-key-secret', tenantId: 'tenant-7' });
    expect(config.behaviours).toEqual({ membershipMovesLastUpdated: true, addExisting: 'success', removeAbsent: 'success', emptyList: 200 });
    expect(config.faults).toEqual({ agentFailures: { ratio: 0.05 }, throttle: { ratio: 0.1, retryAfterSeconds: null } });
    expect(parseSimulatorEnv({ SIM_THROTTLE_RATIO: '0.1' }).faults).toEqual({ throttle: { ratio: 0.1, retryAfterSeconds: 1 } });
    expect(parseSimulatorEnv({ SIM_THROTTLE_RATIO: '0.1', SIM_THROTTLE_RETRY_AFTER: '7' }).faults.throttle).toEqual({ ratio: 0.1, retryAfterSeconds: 7 });
    const line = startupLine('http://127.0.0.1:9000', config);
    expect(line).not.toContain('real-access-key-secret');
    expect(line).toContain('CXONE_ISSUER=http://127.0.0.1:9000');
    expect(line).toContain('CXONE_ACCESS_KEY_ID=KEY-7');
    expect(line.split('\n')).toHaveLength(1);
    const demo = startupLine('http://127.0.0.1:9000', parseSimulatorEnv({}));
    expect(demo).toContain(`CXONE_ACCESS_KEY_SECRET=${DEFAULT_ACCESS_KEY.accessKeySecret}`);
    expect(demo).toContain('/incontactapi/services/v31.0');
  });

  it('when the stand-alone simulator starts from its environment, then sign-in, behaviours and faults are the ones set', async () => {
    const { runSimulatorWith } = await import('../../src/simulator/main.js');
    const simulator = runSimulatorWith(parseSimulatorEnv({ SIMULATOR_ACCESS_KEY_ID: 'K', SIMULATOR_ACCESS_KEY_SECRET: 'S', SIMULATOR_TENANT_ID: 'T', SIM_EMPTY_LIST: '200', SIM_AGENT_FAILURE_RATIO: '1', SIM_SCIM_GROUPS: 'false' }));
    const url = await simulator.listen();
    try {
      const token = await fetch(`${url}/authentication/v1/token/access-key`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accessKeyId: 'K', accessKeySecret: 'S' }) });
      const body = (await token.json()) as { id_token: string; access_token: string };
      expect(JSON.parse(Buffer.from(body.id_token.split('.')[1] as string, 'base64url').toString('utf8')).tenantId).toBe('T');
      expect(simulator.behaviours.emptyList).toBe(200);
      expect(simulator.faults.agentFailures?.ratio).toBe(1);
      expect(simulator.scimGroups).toBe(false);
    } finally {
      await simulator.close();
    }
  });

  it.each([
    ['SIMULATOR_PORT', 'http'],
    ['SIMULATOR_PORT', '70000'],
    ['SIM_LATENCY_MS', '40-5'],
    ['SIM_LATENCY_MS', 'fast'],
    ['SIM_RATE_LIMIT', '0'],
    ['SIM_ERROR_RATIO', '1.5'],
    ['SIM_DROP_RATIO', '-0.1'],
    ['SIM_ETAG', 'no'],
    ['SIM_PATCH_ON_PROJECTION', '1'],
    ['SIM_MAX_REQUEST_BYTES', '0'],
    ['SIM_MEMBERSHIP_MOVES_LAST_UPDATED', 'yes'],
    ['SIM_ADD_EXISTING', 'ignore'],
    ['SIM_REMOVE_ABSENT', 'ok'],
    ['SIM_EMPTY_LIST', '404'],
    ['SIM_AGENT_FAILURE_RATIO', '2'],
    ['SIM_THROTTLE_RATIO', '-1'],
    ['SIM_THROTTLE_RETRY_AFTER', 'soon'],
  ])('when %s is %j, then one error line names the variable', (name, value) => {
    expect(() => parseSimulatorEnv({ [name]: value })).toThrow(SimulatorEnvError);
    expect(() => parseSimulatorEnv({ [name]: value })).toThrow(new RegExp(`^${name}: `));
  });
});
