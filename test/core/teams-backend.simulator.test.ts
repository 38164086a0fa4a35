import { afterEach, describe, expect, it } from 'vitest';
import { createAgentMap } from '../../src/adapters/cxone/agent-map.js';
import { createCxoneConnection } from '../../src/adapters/cxone/index.js';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { createTeamsBackend } from '../../src/composition/teams.js';
import { UpstreamError, ValidationFailedError } from '../../src/core/errors.js';
import { KeyedLock } from '../../src/core/keyed-lock.js';
import type { DesiredMember } from '../../src/core/membership.js';
import type { AdminApiClient, CxoneTeam } from '../../src/core/ports.js';
import { syncGroup, type SyncGroupDeps } from '../../src/core/sync-group.js';
import { seedIds } from '../../src/simulator/simulator.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { MemoryAgentMapStore } from '../fakes/memory-agent-map-store.js';
import { MemorySyncedGroups } from '../fakes/memory-synced-groups.js';
import { RecordingMetrics } from '../fakes/recording-metrics.js';
import { TeamsJournal } from '../fakes/teams-journal.js';
import { closeSimulators, startSimulator } from '../simulator/harness.js';

const ENGINEERING = '3001';
const SUPPORT = 3002;
const FALLBACK = 3000;
const user = (value: string): DesiredMember => ({ value, type: 'User' });

describe('teams backend against the simulator (CXone as published: no SCIM /Groups)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
    await closeSimulators();
  });

  async function setup(options: { moveFromOther?: boolean; adminApi?: (api: AdminApiClient) => AdminApiClient } = {}) {
    const clock = new FakeClock(Date.parse('2026-03-01T09:00:00Z'));
    const harness = await startSimulator({ scimGroups: false, now: () => clock.now() });
    clock.advance(1000);
    const connection = createCxoneConnection({ auth: 'client_credentials', baseUrl: harness.url, clientId: 'demo-client', clientSecret: 'demo-secret', clock });
    cleanups.push(() => connection.close());
    const journal = new TeamsJournal();
    const synced = new MemorySyncedGroups();
    const backend = createTeamsBackend({
      agents: createAgentMap({ adminApi: connection.adminApi, store: new MemoryAgentMapStore() }),
      adminApi: options.adminApi?.(connection.adminApi) ?? connection.adminApi,
      journal,
      syncedGroups: synced,
      fallbackTeamId: FALLBACK,
      moveFromOther: options.moveFromOther,
      clock,
    });
    let n = 0;
    const audit = new MemoryAuditLog();
    const deps: SyncGroupDeps = {
      directory: connection,
      backend,
      clock,
      locks: new KeyedLock(),
      audit,
      metrics: new RecordingMetrics(),
      newSyncId: () => `sync-${++n}`,
      newEventId: () => `evt-${++n}`,
      maxDepth: 3,
      maxConflictRetries: 3,
      writeMode: 'put',
      patchMaxOperations: 100,
      attributes: { entitlementMap: {}, concurrency: 4 },
    };
    const run = (members: DesiredMember[], groupId = ENGINEERING, displayName?: string) =>
      syncGroup(deps, { groupId, desired: { members, ...(displayName === undefined ? {} : { displayName }) }, dryRun: false, actor: 'okta', requestId: 'r' });
    const teamOf = (agentId: number) => harness.simulator.directory.getAgent(agentId)?.teamId;
    const engineering = async () => (await backend.read(ENGINEERING, { stats: { upstreamRequests: 0 } })).group.members.map((m) => m.value);
    return { harness, run, journal, synced, audit, teamOf, engineering };
  }

  it('when team 3001 (engineering) gets a user and loses one, then the agents move by PUT /agents, the removed one to the fallback team, and the answer is applied', async () => {
    const { harness, run, teamOf, audit, engineering } = await setup();
    const before = await engineering();
    expect(before).toContain(seedIds.users.davidKim);
    const desired = [...before.filter((v) => v !== seedIds.users.davidKim), seedIds.users.lauraGarcia];
    harness.simulator.stats.reset();

    const result = await run(desired.map(user));

    expect(result).toMatchObject({ status: 'applied', added: [user(seedIds.users.lauraGarcia)], removed: [user(seedIds.users.davidKim)], writeMode: 'admin-api' });
    expect(teamOf(seedIds.agents.lauraGarcia)).toBe(3001);
    expect(teamOf(seedIds.agents.davidKim)).toBe(FALLBACK);
    expect(harness.simulator.stats.byRoute['PUT admin/agents']).toBe(2);
    // read (one map refresh) + remove + add + verification (one map refresh)
    expect(result.upstreamRequests).toBe(4);
    expect(audit.records.at(-1)).toMatchObject({ status: 'applied', writeMode: 'admin-api' });
    expect((await engineering()).toSorted()).toEqual(desired.toSorted());
  });

  it('when a user sits in team 3002, which this service also syncs, then it is refused with member_in_other_team; with TEAMS_MOVE_FROM_OTHER it is moved', async () => {
    const refused = await setup();
    refused.synced.mark('teams', String(SUPPORT));
    const members = [...(await refused.engineering()), seedIds.users.carmenRodriguez];
    const error = await refused.run(members.map(user)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationFailedError);
    expect((error as ValidationFailedError).codes).toEqual(['member_in_other_team']);
    expect(refused.teamOf(seedIds.agents.carmenRodriguez)).toBe(SUPPORT);
    await closeSimulators();

    const allowed = await setup({ moveFromOther: true });
    allowed.synced.mark('teams', String(SUPPORT));
    const result = await allowed.run(members.map(user));
    expect(result.status).toBe('applied');
    expect(allowed.teamOf(seedIds.agents.carmenRodriguez)).toBe(3001);
  });

  it('when CXone fails one agent of the batch, then the agents already moved go back, and the sync answers 502 naming the member and CXone\'s error', async () => {
    const { harness, run, teamOf, journal, engineering } = await setup();
    const before = await engineering();
    harness.simulator.setFaults({ agentFailures: { agentIds: [seedIds.agents.nadiaAhmed], operations: ['update'], error: 'Agent is locked' } });
    const desired = [...before.filter((v) => v !== seedIds.users.davidKim), seedIds.users.lauraGarcia, seedIds.users.nadiaAhmed];

    const error = await run(desired.map(user)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).message).toContain(`User "${seedIds.users.nadiaAhmed}" (agent ${seedIds.agents.nadiaAhmed}, add): Agent is locked`);
    expect(teamOf(seedIds.agents.davidKim)).toBe(3001);
    expect(teamOf(seedIds.agents.lauraGarcia)).toBe(FALLBACK);
    expect(teamOf(seedIds.agents.nadiaAhmed)).toBe(FALLBACK);
    expect(journal.entries.size).toBe(0);
    harness.simulator.setFaults({ agentFailures: null });
    expect((await engineering()).toSorted()).toEqual(before.toSorted());
  });

  it('when a team known by its UUID is renamed, then PUT /user-management/v3/teams goes last with the fields GET answered; a name taken after the check fails the sync with 409 uniqueness and leaves the members written, as documented', async () => {
    const sent: CxoneTeam[] = [];
    let hideTaken = false;
    const { harness, run, teamOf, audit } = await setup({
      adminApi: (api) => ({
        ...api,
        // Another writer takes the name between the check and the PUT: the search does not see it yet.
        searchTeams: async (query, ctx) => (hideTaken ? [] : (api.searchTeams as NonNullable<AdminApiClient['searchTeams']>)(query, ctx)),
        updateTeam: async (team, ctx) => {
          sent.push(team);
          return (api.updateTeam as NonNullable<AdminApiClient['updateTeam']>)(team, ctx);
        },
      }),
    });
    const platform = harness.simulator.directory.getTeam(seedIds.teams.platform);
    const uuid = platform?.teamUuId as string;
    const members = harness.simulator.directory.teamAgents(seedIds.teams.platform).map((agent) => agent.userID);

    expect(await run(members.map(user), uuid, 'Platform Engineering')).toMatchObject({ status: 'applied' });
    expect(harness.simulator.directory.getTeam(seedIds.teams.platform)?.teamName).toBe('Platform Engineering');
    expect(sent).toEqual([{ id: uuid, name: 'Platform Engineering', status: 'ACTIVE', description: platform?.description, isDefault: false }]);
    expect(audit.records.at(-1)).toMatchObject({ groupId: uuid, status: 'applied', actor: 'okta' });

    hideTaken = true;
    const error = await run([...members, seedIds.users.lauraGarcia].map(user), uuid, 'Support').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ status: 409, scimType: 'uniqueness' });
    expect(harness.simulator.directory.getTeam(seedIds.teams.platform)?.teamName).toBe('Platform Engineering');
    expect(teamOf(seedIds.agents.lauraGarcia)).toBe(seedIds.teams.platform);
  });
});
