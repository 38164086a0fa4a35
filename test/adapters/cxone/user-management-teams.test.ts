/**
 * The admin API client's user-management teams (POST /user-management/v4/teams/search,
 * GET /user-management/v3/teams/{teamId}, POST and PUT /user-management/v3/teams), against the
 * embedded simulator over loopback, as NICE publishes them (calljacob/nice-cxone-api,
 * src/services/userhub/CxoneUsermanagementService.ts).
 */
import { Agent } from 'undici';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { createAdminApiClient } from '../../../src/adapters/cxone/admin-api.js';
import { createTokenSource } from '../../../src/adapters/scim/token-source.js';
import type { AdminApiClient, RequestContext } from '../../../src/core/ports.js';
import { DEFAULT_CLIENT, seedIds } from '../../../src/simulator/simulator.js';
import { FakeClock } from '../../fakes/fake-clock.js';
import { closeSimulators, startSimulator } from '../../simulator/harness.js';

const ctx = (): RequestContext => ({ stats: { upstreamRequests: 0 } });
const { teams } = seedIds;

afterEach(closeSimulators);

async function start(capabilities: Record<string, number> = {}) {
  const { simulator, url } = await startSimulator({ scimGroups: false, capabilities });
  const dispatcher = new Agent();
  onTestFinished(() => dispatcher.close());
  const clock = new FakeClock();
  const tokenSource = createTokenSource({ tokenUrl: `${url}/oauth/token`, clientId: DEFAULT_CLIENT.clientId, clientSecret: DEFAULT_CLIENT.clientSecret, clock, dispatcher });
  const api = createAdminApiClient({ baseUrl: url, tokenSource, clock, dispatcher, random: () => 0.5 }) as Required<AdminApiClient>;
  return { full: { simulator }, api };
}

describe('CXone user-management teams client', () => {
  it('when teams are searched, then every page is read (skip/top) and a name filter asks for that name only', async () => {
    const { full, api } = await start({ adminPageSize: 2, adminMaxPageSize: 2 });
    const c = ctx();
    const all = await api.searchTeams({}, c);
    expect(c.stats.upstreamRequests).toBeGreaterThanOrEqual(3);
    expect(all.map((team) => team.name).toSorted()).toEqual(full.simulator.directory.listTeams().map((team) => team.teamName).toSorted());
    expect(all.find((team) => team.name === 'Support')).toMatchObject({ id: full.simulator.directory.getTeam(teams.support)?.teamUuId, status: 'ACTIVE' });
    const named = await api.searchTeams({ name: 'support' }, ctx());
    expect(named.map((team) => team.name)).toEqual(['Support']);
  });

  it('when a team is read by its UUID id, then it answers; an unknown id is null; a path in the id is refused before any request', async () => {
    const { full, api } = await start();
    const uuid = full.simulator.directory.getTeam(teams.platform)?.teamUuId as string;
    expect(await api.getTeam(uuid, ctx())).toMatchObject({ id: uuid, name: 'Platform' });
    expect(await api.getTeam('00000000-0000-4000-8000-00000000dead', ctx())).toBeNull();
    const c = ctx();
    await expect(api.getTeam('../agents', c)).rejects.toThrow(/team id/);
    expect(c.stats.upstreamRequests).toBe(0);
  });

  it('when a team is created, then POST /user-management/v3/teams answers its new UUID id; a taken name is an upstream error naming it', async () => {
    const { full, api } = await start();
    const created = await api.createTeam('Escalations', ctx());
    expect(created).toMatchObject({ id: expect.any(String), name: 'Escalations', status: 'ACTIVE' });
    expect(full.simulator.directory.listTeams().find((team) => team.teamUuId === created.id)?.teamName).toBe('Escalations');
    await expect(api.createTeam('Support', ctx())).rejects.toThrow(/409.*Support/);
  });

  it('when a team is renamed, then PUT /user-management/v3/teams sends the fields GET answered with the new name; a taken name is an upstream 409 uniqueness naming it, and an unknown id a 404', async () => {
    const { full, api } = await start();
    const uuid = full.simulator.directory.getTeam(teams.platform)?.teamUuId as string;
    const team = (await api.getTeam(uuid, ctx())) as NonNullable<Awaited<ReturnType<typeof api.getTeam>>>;
    const c = ctx();
    expect(await api.updateTeam({ ...team, name: 'Platform Engineering' }, c)).toMatchObject({ id: uuid, name: 'Platform Engineering' });
    expect(c.stats.upstreamRequests).toBe(1);
    expect(full.simulator.directory.getTeam(teams.platform)).toMatchObject({ teamName: 'Platform Engineering', isActive: true });
    expect(full.simulator.stats.byRoute['PUT user-management/teams']).toBe(1);

    const taken = await api.updateTeam({ ...team, name: 'Support' }, ctx()).catch((error: unknown) => error);
    expect(taken).toMatchObject({ code: 'upstream_error', status: 409, scimType: 'uniqueness' });
    expect((taken as Error).message).toMatch(/409.*Support/);
    expect(full.simulator.directory.getTeam(teams.platform)?.teamName).toBe('Platform Engineering');
    await expect(api.updateTeam({ ...team, id: '00000000-0000-4000-8000-00000000dead' }, ctx())).rejects.toMatchObject({ status: 404 });
  });
});
