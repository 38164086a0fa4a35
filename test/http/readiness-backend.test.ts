/**
 * /readyz and the membership backend: under MEMBERSHIP_BACKEND=auto the service is ready once
 * a probe of SCIM /Groups chose a backend (200: scim-groups, 404: acd-groups, CXone as
 * published), shows which, and probes what that backend needs (SCIM /ServiceProviderConfig,
 * or the admin API, since CXone has no /ServiceProviderConfig). Before a choice it is not
 * ready and says why; syncs answer 503 upstream_unavailable and are audited; a later probe
 * chooses. A kept choice is used without probing; a backend set explicitly is used as set.
 */
import { describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/simulator.js';
import type { SimulatorOptions } from '../../src/simulator/simulator.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { buildFullApp } from '../helpers/full-app.js';

const TOKEN = 'okta-backend-readiness-token-5b2e';

async function service(simulator: Omit<SimulatorOptions, 'clients'>, env: Record<string, string> = {}) {
  const clock = new FakeClock();
  const full = await buildFullApp({
    clientId: 'backend-readiness',
    clientSecret: 'backend-readiness-client-secret-1',
    env: { SYNC_API_TOKENS: `okta:${TOKEN}`, LOG_LEVEL: 'debug', ...env },
    simulator,
    appClock: clock,
    clock: new FakeClock(),
    dispatch: false,
  });
  const seen = (fragment: string) => full.simulator.stats.log.filter((entry) => entry.path.includes(fragment)).length;
  const sync = (members: { value: string; type: string }[]) =>
    full.app.inject({ method: 'POST', url: `/groups/${seedIds.groups.contactCenterAgents}/sync`, headers: { authorization: `Bearer ${TOKEN}` }, payload: { members } });
  return { ...full, clock, seen, sync };
}

describe('GET /readyz under MEMBERSHIP_BACKEND=auto', () => {
  it('when the provider serves SCIM /Groups, then scim-groups is chosen, shown and kept, and the upstream probe is /ServiceProviderConfig', async () => {
    const s = await service({ scimGroups: true });
    const res = await s.app.inject('/readyz');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { upstream: 'ok', storage: 'ok' }, backend: { setting: 'auto', name: 'scim-groups', chosenBy: 'probe' } });
    expect(await s.store.backendChoice.get()).toBe('scim-groups');
    expect(s.seen('/Groups')).toBe(1);
    expect(s.seen('/ServiceProviderConfig')).toBe(1);
  });

  it('when SCIM /Groups is a 404 (CXone as published), then acd-groups is chosen and shown, and the upstream probe is the admin API, not /ServiceProviderConfig', async () => {
    const s = await service({ scimGroups: false });
    const res = await s.app.inject('/readyz');
    expect(res.json()).toEqual({ status: 'ready', checks: { upstream: 'ok', storage: 'ok' }, backend: { setting: 'auto', name: 'acd-groups', chosenBy: 'probe' } });
    expect(await s.store.backendChoice.get()).toBe('acd-groups');
    expect(s.seen('/ServiceProviderConfig')).toBe(0);
    expect(s.simulator.stats.log.filter((e) => e.path.endsWith('/agents'))).toHaveLength(1);
  });

  it.each([401, 403, 503])('when SCIM /Groups answers %i, then not ready naming why, syncs answer 503 and are audited; once it answers 200, ready with scim-groups and syncs run through it', async (status) => {
    const s = await service({ scimGroups: true });
    s.simulator.onRequest(({ path }) => (path.includes('/Groups') ? { status, body: { status: String(status), detail: 'internal detail http://10.1.2.3' } } : undefined));
    const down = await s.app.inject('/readyz');
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({ status: 'not_ready', checks: { upstream: 'unavailable', storage: 'ok' }, backend: { setting: 'auto', name: null, reason: expect.stringContaining(`SCIM GET /Groups answered ${status}`) } });
    expect(down.body).not.toMatch(/10\.1\.2\.3|internal detail|127\.0\.0\.1/);

    const refused = await s.sync([{ value: seedIds.users.aliceSmith, type: 'User' }]);
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toMatchObject({ error: 'upstream_unavailable', message: expect.stringContaining(`no membership backend is chosen yet (MEMBERSHIP_BACKEND=auto): SCIM GET /Groups answered ${status}`) });
    expect(refused.headers['retry-after']).toBeDefined();
    const { items } = await s.store.listRecords({ limit: 5 });
    expect(items).toEqual([expect.objectContaining({ status: 'upstream_unavailable' })]);
    expect(items[0]).not.toHaveProperty('backend');
    expect(await s.store.backendChoice.get()).toBeUndefined();

    s.simulator.onRequest(null);
    s.clock.advance(5000);
    const up = await s.app.inject('/readyz');
    expect(up.statusCode).toBe(200);
    expect(up.json().backend).toEqual({ setting: 'auto', name: 'scim-groups', chosenBy: 'probe' });
    const applied = await s.sync([{ value: seedIds.users.aliceSmith, type: 'User' }]);
    expect(applied.statusCode).toBe(200);
    expect(applied.json()).toMatchObject({ status: 'applied', backend: 'scim-groups' });
    expect((await s.store.listRecords({ limit: 1 })).items[0]).toMatchObject({ status: 'applied', backend: 'scim-groups' });
  });

  it('when SCIM /Groups does not answer in time, then not ready saying so; the choice is not tried again before READINESS_CACHE_MS', async () => {
    const s = await service({ scimGroups: true }, { UPSTREAM_TIMEOUT_MS: '300' });
    const held: (() => void)[] = [];
    s.simulator.onRequest(({ path }) => (path.includes('/Groups') ? new Promise<void>((release) => held.push(release)) : undefined));
    const probesSent = () => held.length;
    const down = await s.app.inject('/readyz');
    held.forEach((release) => release());
    expect(down.statusCode).toBe(503);
    expect(down.json().backend).toEqual({ setting: 'auto', name: null, reason: expect.stringMatching(/SCIM GET \/Groups (did not answer in time|got no answer)/) });
    const probes = probesSent();
    expect(probes).toBeGreaterThan(0);
    s.clock.advance(4999);
    await s.app.inject('/readyz');
    expect(probesSent()).toBe(probes);
  });

  it('when the store keeps an earlier choice, then it is shown as kept and /Groups is never probed', async () => {
    const s = await service({ scimGroups: true });
    await s.store.backendChoice.choose('acd-groups');
    const res = await s.app.inject('/readyz');
    expect(res.json()).toMatchObject({ status: 'ready', backend: { setting: 'auto', name: 'acd-groups', chosenBy: 'kept' } });
    expect(s.seen('/Groups')).toBe(0);
  });
});

describe('GET /readyz with MEMBERSHIP_BACKEND set', () => {
  it('when it names scim-groups while the store keeps acd-groups, then scim-groups is used as set, without a probe, and a warning says so', async () => {
    const s = await service({ scimGroups: true }, { MEMBERSHIP_BACKEND: 'scim-groups' });
    await s.store.backendChoice.choose('acd-groups');
    const res = await s.app.inject('/readyz');
    expect(res.json()).toMatchObject({ status: 'ready', backend: { setting: 'scim-groups', name: 'scim-groups', chosenBy: 'setting' } });
    expect(s.seen('/Groups')).toBe(0);
    const warned = s.logLines.map((line) => JSON.parse(line) as { msg: string; level: number }).filter((line) => line.msg.includes('MEMBERSHIP_BACKEND=scim-groups is used as set'));
    expect(warned).toHaveLength(1);
    const applied = await s.sync([{ value: seedIds.users.aliceSmith, type: 'User' }]);
    expect(applied.json()).toMatchObject({ backend: 'scim-groups' });
  });

  it('when it names acd-groups, then /readyz shows it and probes the admin API', async () => {
    const s = await service({ scimGroups: false }, { MEMBERSHIP_BACKEND: 'acd-groups' });
    const res = await s.app.inject('/readyz');
    expect(res.json()).toEqual({ status: 'ready', checks: { upstream: 'ok', storage: 'ok' }, backend: { setting: 'acd-groups', name: 'acd-groups', chosenBy: 'setting' } });
    expect(s.seen('/Groups')).toBe(0);
    expect(s.seen('/ServiceProviderConfig')).toBe(0);
  });
});
