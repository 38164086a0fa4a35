/**
 * Drift under the CXone backends, end to end as the service wires them against the simulator
 * as CXone publishes it: an ACD group and a team changed out of band through the admin API
 * are found by the next cycle (read through the backend in use), and with DRIFT_HEAL=on put
 * back through a sync.
 */
import { describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/simulator.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { buildFullApp, type FullApp } from '../helpers/full-app.js';

const TOKEN = 'okta-drift-cxone-token-01';
const CLIENT = { clientId: 'drift', clientSecret: 'drift-secret-value-01' };
const MINUTE = 60_000;
const ctx = () => ({ stats: { upstreamRequests: 0 } });
const users = seedIds.users;
const agents = seedIds.agents;
const auth = { authorization: `Bearer ${TOKEN}` };

async function service(env: Record<string, string>) {
  const clock = new FakeClock(Date.now());
  const full = await buildFullApp({ env: { SYNC_API_TOKENS: `okta:${TOKEN}`, ...env }, ...CLIENT, simulator: { scimGroups: false }, driftClock: clock });
  return { full, clock, drift: full.drift as NonNullable<FullApp['drift']> };
}

async function sync(full: FullApp, group: number, values: string[]) {
  const res = await full.app.inject({ method: 'POST', url: `/groups/${group}/sync`, headers: auth, payload: { members: values.map((value) => ({ value, type: 'User' })) } });
  expect(res.statusCode).toBe(200);
}

describe('drift under the CXone backends', () => {
  it('when an ACD group loses an agent out of band, then the next cycle reports the member missing; with DRIFT_HEAL=on the agent is put back', async () => {
    const { full, clock, drift } = await service({ MEMBERSHIP_BACKEND: 'acd-groups', DRIFT_HEAL: 'on' });
    const group = seedIds.acdGroups.contactCenterAgents;
    await sync(full, group, [users.aliceSmith, users.davidKim]);
    await full.directory.adminApi.removeGroupAgents(group, [agents.davidKim], ctx());

    clock.advance(15 * MINUTE);
    const cycle = await drift.runCycle();
    expect(cycle).toMatchObject({ groups: 1, outcomes: { drifted: 1 }, healed: 1 });
    const record = (await full.app.inject({ method: 'GET', url: `/groups/${group}/drift`, headers: auth })).json();
    expect(record).toMatchObject({ backend: 'acd-groups', status: 'in_sync', heal: { outcome: 'applied' } });
    const held = await full.directory.adminApi.listGroupAgents(group, ctx());
    expect(held?.agents.map((a) => a.agentId).toSorted()).toEqual([agents.aliceSmith, agents.davidKim]);
  });

  it('when a team member is moved to another team out of band, then the next cycle reports the member missing', async () => {
    const { full, clock, drift } = await service({ MEMBERSHIP_BACKEND: 'teams', TEAMS_FALLBACK_TEAM_ID: String(seedIds.teams.defaultTeam) });
    const team = seedIds.teams.contactCenter;
    await sync(full, team, [users.aliceSmith, users.lauraGarcia]);
    await full.directory.adminApi.updateAgentTeams([{ agentId: agents.lauraGarcia, teamId: seedIds.teams.support }], ctx());

    clock.advance(15 * MINUTE);
    expect(await drift.runCycle()).toMatchObject({ groups: 1, outcomes: { drifted: 1 } });
    const record = (await full.app.inject({ method: 'GET', url: `/groups/${team}/drift`, headers: auth })).json();
    expect(record).toMatchObject({ backend: 'teams', status: 'drifted', missing: [{ value: users.lauraGarcia }], extra: [], missingCount: 1 });
  });
});
