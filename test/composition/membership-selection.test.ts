/**
 * MEMBERSHIP_BACKEND=auto against the embedded simulator: SCIM /Groups answering 200 chooses
 * scim-groups, 404 (CXone as published) acd-groups; 401, 403, 5xx or no answer choose
 * nothing and say why, and a later probe chooses. The choice is kept in the store (first
 * writer wins) so that a second service on it reads it without probing; a backend named in
 * the setting is used as set.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { createCxoneDirectory } from '../../src/adapters/scim/index.js';
import { openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { backendSource, createBackendSelector, createMembershipBackend, NOT_PROBED_YET, selectMembershipBackend, type GroupsProbe, type SelectionLog } from '../../src/composition/membership.js';
import { loadConfig } from '../../src/config.js';
import { createSimulator, type SimulatorOptions } from '../../src/simulator/simulator.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { FakeAdminApiClient } from '../fakes/fake-admin-api-client.js';
import { InMemoryAgentDirectory } from '../fakes/in-memory-agent-directory.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { MemoryBackendChoiceStore } from '../fakes/memory-backend-choice.js';
import { tempDir } from '../helpers/temp-dir.js';

const AUTO = { membershipBackend: 'auto' } as const;

async function upstream(options: SimulatorOptions = {}) {
  const simulator = createSimulator({ clients: [{ clientId: 'probe', clientSecret: 'probe-secret-value' }], ...options });
  const baseUrl = await simulator.listen({ port: 0 });
  const directory = createCxoneDirectory({ baseUrl, clientId: 'probe', clientSecret: 'probe-secret-value', clock: new FakeClock(), random: () => 0.5, requestTimeoutMs: 2000 });
  onTestFinished(async () => {
    await directory.close();
    await simulator.close();
  });
  const probe: GroupsProbe = (ctx) => directory.probeGroups(ctx);
  const groupProbes = () => simulator.stats.log.filter((entry) => entry.path.includes('/Groups')).length;
  return { simulator, directory, probe, groupProbes };
}

function recordingLog() {
  const lines: { level: string; details: object; message: string }[] = [];
  const log: SelectionLog = {
    info: (details, message) => lines.push({ level: 'info', details, message }),
    warn: (details, message) => lines.push({ level: 'warn', details, message }),
  };
  return { log, lines };
}

describe('MEMBERSHIP_BACKEND=auto: the probe of SCIM /Groups', () => {
  it('when the provider serves SCIM /Groups (200), then scim-groups is chosen and kept', async () => {
    const { probe, groupProbes } = await upstream({ scimGroups: true });
    const store = new MemoryBackendChoiceStore();
    expect(await selectMembershipBackend(AUTO, probe, store)).toEqual({ state: 'chosen', name: 'scim-groups', by: 'probe' });
    expect(store.chosen).toBe('scim-groups');
    expect(groupProbes()).toBe(1);
  });

  it('when SCIM /Groups is a 404 (CXone as published), then acd-groups is chosen and kept', async () => {
    const { probe } = await upstream({ scimGroups: false });
    const store = new MemoryBackendChoiceStore();
    expect(await selectMembershipBackend(AUTO, probe, store)).toEqual({ state: 'chosen', name: 'acd-groups', by: 'probe' });
    expect(store.chosen).toBe('acd-groups');
  });

  it('when SCIM /Users is a 404 as well, then nothing is chosen: the SCIM path is wrong, and the reason says so', async () => {
    const { simulator, probe } = await upstream({ scimGroups: false });
    simulator.onRequest(({ path }) => (path.includes('/Users') ? { status: 404, body: { status: '404', detail: 'no such endpoint' } } : undefined));
    const store = new MemoryBackendChoiceStore();
    const selection = await selectMembershipBackend(AUTO, probe, store);
    expect(selection).toEqual({ state: 'pending', reason: expect.stringContaining('CXONE_SCIM_PATH') });
    expect(store.chosen).toBeUndefined();
  });

  it.each([
    [401, /answered 401/],
    [403, /answered 403/],
    [503, /answered 503/],
    [500, /answered 500/],
  ])('when SCIM /Groups answers %i, then nothing is chosen or kept, the reason names the status; a later probe that gets 404 chooses acd-groups', async (status, why) => {
    const { simulator, probe } = await upstream({ scimGroups: false });
    simulator.onRequest(({ path }) => (path.includes('/Groups') ? { status, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status), detail: 'secret-ish detail at http://10.0.0.1' } } : undefined));
    const store = new MemoryBackendChoiceStore();
    const { log, lines } = recordingLog();
    const down = await selectMembershipBackend(AUTO, probe, store, log);
    expect(down).toEqual({ state: 'pending', reason: expect.stringMatching(why) });
    expect(down.state === 'pending' && down.reason).not.toMatch(/http|10\.0\.0\.1|secret/);
    expect(store.chosen).toBeUndefined();
    expect(lines.some((l) => l.level === 'warn')).toBe(true);

    simulator.onRequest(null);
    expect(await selectMembershipBackend(AUTO, probe, store)).toEqual({ state: 'chosen', name: 'acd-groups', by: 'probe' });
    expect(store.chosen).toBe('acd-groups');
  });

  it('when the token endpoint refuses the client, then nothing is chosen and the reason says the sign-in failed', async () => {
    const { simulator, probe } = await upstream();
    simulator.onRequest(({ path }) => (path.includes('token') ? { status: 401, body: { error: 'invalid_client' } } : undefined));
    const selection = await selectMembershipBackend(AUTO, probe, new MemoryBackendChoiceStore());
    expect(selection).toEqual({ state: 'pending', reason: expect.stringMatching(/sign-in failed \(the token endpoint answered 401 invalid_client\)/) });
  });

  it('when the token endpoint is unavailable (503, retries spent), then the reason says the sign-in failed, not SCIM /Groups', async () => {
    const { simulator, probe } = await upstream();
    simulator.onRequest(({ path }) => (path.includes('token') ? { status: 503, body: { error: 'temporarily_unavailable' } } : undefined));
    const selection = await selectMembershipBackend(AUTO, probe, new MemoryBackendChoiceStore());
    expect(selection).toEqual({ state: 'pending', reason: expect.stringMatching(/^the sign-in failed \(the token endpoint answered 503\)/) });
  });

  it('when the token endpoint names an error of its own (it may echo a secret), then the reason leaves it out', async () => {
    const { simulator, probe } = await upstream();
    simulator.onRequest(({ path }) => (path.includes('token') ? { status: 400, body: { error: 'probe-secret-value' } } : undefined));
    const selection = await selectMembershipBackend(AUTO, probe, new MemoryBackendChoiceStore());
    expect(selection).toEqual({ state: 'pending', reason: expect.stringContaining('the sign-in failed (the token endpoint answered 400)') });
    expect(JSON.stringify(selection)).not.toContain('probe-secret-value');
  });

  it('when the upstream does not answer at all, then nothing is chosen and the reason says no answer; once it is back, the probe chooses', async () => {
    const { simulator } = await upstream({ scimGroups: true });
    const url = simulator.url;
    await simulator.close();
    const directory = createCxoneDirectory({ baseUrl: url, clientId: 'probe', clientSecret: 'probe-secret-value', clock: new FakeClock(), random: () => 0.5, requestTimeoutMs: 500 });
    onTestFinished(() => directory.close());
    const store = new MemoryBackendChoiceStore();
    const down = await selectMembershipBackend(AUTO, (ctx) => directory.probeGroups(ctx), store);
    expect(down).toEqual({ state: 'pending', reason: expect.stringMatching(/no answer|did not answer/) });

    const { probe } = await upstream({ scimGroups: true });
    expect(await selectMembershipBackend(AUTO, probe, store)).toEqual({ state: 'chosen', name: 'scim-groups', by: 'probe' });
  });
});

describe('MEMBERSHIP_BACKEND=auto: the kept choice', () => {
  it('when a second service opens the same DATA_DIR, then it reads the kept choice and does not probe', async () => {
    const dataDir = tempDir();
    const { probe, groupProbes } = await upstream({ scimGroups: false });
    const first = openSqliteStore({ dataDir });
    expect(await selectMembershipBackend(AUTO, probe, first.backendChoice)).toMatchObject({ name: 'acd-groups', by: 'probe' });
    first.close();
    expect(groupProbes()).toBe(1);

    // The upstream now has SCIM /Groups: the kept choice still wins, without a probe.
    const second = openSqliteStore({ dataDir });
    onTestFinished(() => second.close());
    const other = await upstream({ scimGroups: true });
    expect(await selectMembershipBackend(AUTO, other.probe, second.backendChoice)).toEqual({ state: 'chosen', name: 'acd-groups', by: 'kept' });
    expect(other.groupProbes()).toBe(0);
  });

  it('when another process kept a different choice between the probe and the write, then the first kept one is used', async () => {
    const store = new MemoryBackendChoiceStore();
    const racing: GroupsProbe = async () => {
      store.chosen = 'scim-groups';
      return 'no-groups';
    };
    const { log, lines } = recordingLog();
    expect(await selectMembershipBackend(AUTO, racing, store, log)).toEqual({ state: 'chosen', name: 'scim-groups', by: 'kept' });
    expect(lines.map((l) => l.message).join('\n')).toContain('scim-groups was kept first');
  });
});

describe('MEMBERSHIP_BACKEND set explicitly', () => {
  it('when it names a backend, then that one is used without a probe; a different kept choice is a warning, not a failure', async () => {
    const store = new MemoryBackendChoiceStore('acd-groups');
    let probes = 0;
    const probe: GroupsProbe = async () => {
      probes++;
      return 'groups';
    };
    const { log, lines } = recordingLog();
    expect(await selectMembershipBackend({ membershipBackend: 'scim-groups' }, probe, store, log)).toEqual({ state: 'chosen', name: 'scim-groups', by: 'setting' });
    expect(probes).toBe(0);
    expect(store.chosen).toBe('acd-groups');
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', message: expect.stringMatching(/MEMBERSHIP_BACKEND=scim-groups is used as set, although MEMBERSHIP_BACKEND=auto chose acd-groups earlier/) })]);

    const quiet = recordingLog();
    expect(await selectMembershipBackend({ membershipBackend: 'acd-groups' }, probe, store, quiet.log)).toMatchObject({ name: 'acd-groups', by: 'setting' });
    expect(quiet.lines).toEqual([]);
  });
});

describe('the backend selector of a process', () => {
  it('when the probe fails, then it tries again only after retryMs, one try at a time; once chosen it never changes', async () => {
    const clock = new FakeClock();
    const store = new MemoryBackendChoiceStore();
    let answer: 'fail' | 'groups' | 'no-groups' = 'fail';
    let probes = 0;
    const probe: GroupsProbe = async () => {
      probes++;
      if (answer === 'fail') throw new Error('connect ECONNREFUSED');
      return answer;
    };
    const selector = createBackendSelector({ config: AUTO, probe, store, clock, retryMs: 5000, probeTimeoutMs: 1000 });
    expect(selector.current()).toEqual({ state: 'pending', reason: NOT_PROBED_YET });
    const [a, b] = await Promise.all([selector.resolve(), selector.resolve()]);
    expect(a).toEqual({ state: 'pending', reason: expect.stringContaining('no answer') });
    expect(b).toBe(a);
    expect(probes).toBe(1);

    answer = 'groups';
    clock.advance(4999);
    expect((await selector.resolve()).state).toBe('pending');
    expect(probes).toBe(1);
    clock.advance(1);
    expect(await selector.resolve()).toEqual({ state: 'chosen', name: 'scim-groups', by: 'probe' });
    expect(probes).toBe(2);

    // Never changes while the process runs, whatever the store or the upstream say later.
    store.chosen = 'acd-groups';
    answer = 'no-groups';
    clock.advance(60_000);
    expect(await selector.resolve()).toEqual({ state: 'chosen', name: 'scim-groups', by: 'probe' });
    expect(probes).toBe(2);
  });

  it('when none is chosen, then a sync asking for its backend fails 503 upstream_unavailable naming the reason; the next sync probes again at once (not after retryMs) and gets the backend', async () => {
    const clock = new FakeClock();
    let up = false;
    let probes = 0;
    const probe: GroupsProbe = async () => {
      probes++;
      if (!up) throw new Error('connect ECONNREFUSED');
      return 'groups';
    };
    const selector = createBackendSelector({ config: AUTO, probe, store: new MemoryBackendChoiceStore(), clock, retryMs: 60_000, probeTimeoutMs: 1000 });
    const deps = { config: loadConfig({}), directory: new InMemoryDirectory() };
    const source = backendSource(selector, (name) => createMembershipBackend(name, deps), 5);
    const ctx = { stats: { upstreamRequests: 0 } };
    await expect(source(ctx)).rejects.toMatchObject({ code: 'upstream_unavailable', retryAfterSeconds: 5, message: expect.stringMatching(/no membership backend is chosen yet \(MEMBERSHIP_BACKEND=auto\): SCIM GET \/Groups got no answer/) });
    up = true;
    const [a, b] = await Promise.all([source(ctx), source(ctx)]);
    expect([a.name, b.name]).toEqual(['scim-groups', 'scim-groups']);
    expect(probes).toBe(2);
  });
});

describe('createMembershipBackend', () => {
  it('when asked for a backend, then it is that one; acd-groups and teams need the admin API, the agent map and the store, teams its fallback team', () => {
    const deps = { config: loadConfig({}), directory: new InMemoryDirectory() };
    expect(createMembershipBackend('scim-groups', deps).name).toBe('scim-groups');
    expect(() => createMembershipBackend('acd-groups', deps)).toThrow("the acd-groups membership backend needs CXone's admin API, the agent map and the store");
    expect(() => createMembershipBackend('teams', deps)).toThrow("the teams membership backend needs CXone's admin API, the agent map and the store");

    const store = openSqliteStore({ dataDir: tempDir() });
    onTestFinished(() => store.close());
    const cxone = {
      ...deps,
      adminApi: new FakeAdminApiClient(),
      agents: new InMemoryAgentDirectory([]),
      stores: { agentMap: store.agentMap, journal: store.journal, syncedGroups: store.syncedGroups, audit: store },
    };
    expect(createMembershipBackend('acd-groups', cxone).name).toBe('acd-groups');
    expect(() => createMembershipBackend('teams', cxone)).toThrow('the teams membership backend needs TEAMS_FALLBACK_TEAM_ID');
    const teams = { ...cxone, config: loadConfig({ MEMBERSHIP_BACKEND: 'teams', TEAMS_FALLBACK_TEAM_ID: '3000' }) };
    expect(createMembershipBackend('teams', teams).name).toBe('teams');
  });
});
