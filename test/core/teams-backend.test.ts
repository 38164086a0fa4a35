import { describe, expect, it } from 'vitest';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { AgentWriteFailedError, RollbackFailedError, UpstreamError, ValidationFailedError, WriteNotAppliedError } from '../../src/core/errors.js';
import type { DesiredMember } from '../../src/core/membership.js';
import { syncGroup } from '../../src/core/sync-group.js';
import { createTeamsBackend, type TeamsBackendOptions } from '../../src/core/teams-backend.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { syncDeps } from '../fakes/sync-deps.js';
import { FakeTeamsTenant } from '../fakes/fake-teams-tenant.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { MemorySyncedGroups } from '../fakes/memory-synced-groups.js';
import { TeamsJournal } from '../fakes/teams-journal.js';

const TEAM = 10;
const OTHER = 20;
const FALLBACK = 99;
const user = (value: string): DesiredMember => ({ value, type: 'User' });

/** Team 10 holds agents 1 and 2; 3 and 6 are in the fallback team; 4 in team 20; 5 is inactive. */
function tenant(): FakeTeamsTenant {
  return new FakeTeamsTenant().add(1, TEAM).add(2, TEAM).add(3, FALLBACK).add(4, OTHER).add(5, FALLBACK, { isActive: false }).add(6, FALLBACK).add(7, FALLBACK).add(8, TEAM);
}

function setup(upstream = tenant(), options: Partial<TeamsBackendOptions> = {}) {
  const journal = new TeamsJournal();
  const synced = new MemorySyncedGroups();
  const agents = upstream.agentMap();
  const backend = createTeamsBackend({
    agents,
    adminApi: upstream.adminApi,
    journal,
    syncedGroups: synced,
    clock: new FakeClock(),
    fallbackTeamId: FALLBACK,
    moveFromOther: false,
    ...options,
  });
  const audit = new MemoryAuditLog();
  const deps = syncDeps({ directory: new InMemoryDirectory(), backend, audit });
  const run = (members: DesiredMember[], groupId = String(TEAM)) => syncGroup(deps, { groupId, desired: { members }, dryRun: false, actor: 'okta', requestId: 'r' });
  return { upstream, journal, synced, run, audit, backend };
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the sync to fail');
}

describe('teams backend', () => {
  it('when users are added and removed, then removals move to the fallback team first, additions to the team, and the team is verified: applied', async () => {
    const { upstream, run, journal } = setup();
    const result = await run([user('user-1'), user('user-3'), user('user-8')]);

    expect(result).toMatchObject({ status: 'applied', added: [{ value: 'user-3', type: 'User' }], removed: [{ value: 'user-2', type: 'User' }], writeMode: 'admin-api', consistencyRate: 1 });
    expect(upstream.inTeam(TEAM)).toEqual([1, 3, 8]);
    expect(upstream.teamOf(2)).toBe(FALLBACK);
    expect(upstream.calls.filter((c) => c.kind === 'update')).toEqual([
      { kind: 'update', agentIds: [2], teamId: FALLBACK },
      { kind: 'update', agentIds: [3], teamId: TEAM },
    ]);
    expect(journal.entries.size).toBe(0);
    expect(journal.closed[0]).toMatchObject({ syncId: 'sync-1', backend: 'teams', groupId: '10', before: { teams: { 2: TEAM, 3: FALLBACK } }, target: { teams: { 2: FALLBACK, 3: TEAM } }, phase: 'verifying' });
    expect(journal.closed[0]?.steps.map((s) => `${s.action}:${s.teamId}:${s.state}`)).toEqual(['team:99:done', 'team:10:done']);
  });

  it('when a write a crash left open is found before the team is read, then it is finished and recorded as the service: applied when every step answered and every agent is where it was sent, interrupted when it was moved back', async () => {
    const upstream = tenant();
    const ctx = () => ({ stats: { upstreamRequests: 0 } });
    const { journal } = setup(upstream);
    // Completed: agent 3 was moved into team 10 and the write reached its verification.
    const recorded = new MemoryAuditLog();
    const recording = createTeamsBackend({ agents: upstream.agentMap(), adminApi: upstream.adminApi, journal, syncedGroups: new MemorySyncedGroups(), clock: new FakeClock(), fallbackTeamId: FALLBACK, moveFromOther: false, audit: recorded });
    upstream.move(3, TEAM);
    await journal.open({ syncId: 'crashed-1', backend: 'teams', groupId: String(TEAM), before: { teams: { 3: FALLBACK } }, target: { teams: { 3: TEAM } }, openedAt: '2026-01-01T00:00:00.000Z' });
    await journal.setPhase('crashed-1', 'verifying');
    await recording.prepare?.(String(TEAM), ctx());
    // Moved back: agent 6 was being moved into team 10, the write never reached its verification.
    upstream.move(6, TEAM);
    await journal.open({ syncId: 'crashed-2', backend: 'teams', groupId: String(TEAM), before: { teams: { 6: FALLBACK } }, target: { teams: { 6: TEAM } }, openedAt: '2026-01-01T00:00:00.000Z' });
    await recording.prepare?.(String(TEAM), ctx());

    expect(journal.entries.size).toBe(0);
    expect(upstream.teamOf(3)).toBe(TEAM);
    expect(upstream.teamOf(6)).toBe(FALLBACK);
    expect(recorded.records.map((r) => ({ ...r }))).toMatchObject([
      { status: 'applied', actor: 'cxone-scim-sync', requestId: 'recovery:crashed-1', groupId: String(TEAM), added: [{ value: 'user-3', type: 'User' }], removed: [], memberCount: 4, writeMode: 'admin-api' },
      { status: 'interrupted', actor: 'cxone-scim-sync', requestId: 'recovery:crashed-2', groupId: String(TEAM), added: [], removed: [], errors: [{ code: 'rolled_back' }] },
    ]);
  });

  it('when the team is read, then its members are its agents as SCIM users (userID, else userName, else the agentId) and its displayName is the team id', async () => {
    const upstream = new FakeTeamsTenant().add(1, TEAM).add(2, TEAM, { userId: '' }).add(3, TEAM, { userId: '', userName: '' });
    const { backend } = setup(upstream);
    const snapshot = await backend.read(String(TEAM), { stats: { upstreamRequests: 0 } });
    expect(snapshot.group.displayName).toBe('10');
    expect(snapshot.group.members.map((m) => m.value).toSorted()).toEqual(['3', 'agent2@example.com', 'user-1']);
    expect(snapshot.etag).toBeNull();
  });

  it('when a user is named by userName, then it is planned as its agent: nothing changes for a member already there', async () => {
    const { upstream, run } = setup();
    const result = await run([user('AGENT1@example.com'), user('user-2'), user('user-8')]);
    expect(result.status).toBe('unchanged');
    expect(upstream.count('update')).toBe(0);
  });

  it('when the group id is not a team id, then the team is not found', async () => {
    const { run } = setup();
    expect((await failure(run([user('user-1')], 'engineering'))) as { code?: string }).toMatchObject({ code: 'group_not_found' });
  });

  it('when users are unknown or inactive, then validation names each before anything is written', async () => {
    const { upstream, run } = setup();
    const error = await failure(run([user('user-1'), user('user-2'), user('user-8'), user('nobody'), user('user-5'), { value: 'some-group', type: 'Group' }]));
    expect(error).toBeInstanceOf(ValidationFailedError);
    expect((error as ValidationFailedError).errors.map((e) => `${e.code}:${e.member.value}`)).toEqual(['user_not_found:nobody', 'user_inactive:user-5', 'group_member_not_supported:some-group']);
    expect(upstream.count('update')).toBe(0);
  });

  it('when a user sits in another team this service syncs, then it is refused with member_in_other_team and nothing is written', async () => {
    const { upstream, run, synced } = setup();
    synced.mark('teams', String(OTHER));
    const error = await failure(run([user('user-1'), user('user-2'), user('user-8'), user('user-4'), user('user-3')]));
    expect(error).toBeInstanceOf(ValidationFailedError);
    expect((error as ValidationFailedError).errors).toEqual([
      { code: 'member_in_other_team', member: { value: 'user-4', type: 'User' }, message: expect.stringContaining('team 20, which this service also syncs') },
    ]);
    expect(upstream.count('update')).toBe(0);
    expect(upstream.teamOf(4)).toBe(OTHER);
  });

  it('when the other team has a write journaled but no record yet, then it counts as synced too', async () => {
    const { run, journal } = setup();
    await journal.open({ syncId: 'earlier', backend: 'teams', groupId: String(OTHER), before: { teams: {} }, target: { teams: {} }, openedAt: '2026-01-01T00:00:00Z' });
    const error = await failure(run([user('user-1'), user('user-2'), user('user-8'), user('user-4')]));
    expect((error as ValidationFailedError).codes).toEqual(['member_in_other_team']);
  });

  it('when the user\'s other team is not synced here, then the user is moved', async () => {
    const { upstream, run } = setup();
    const result = await run([user('user-1'), user('user-2'), user('user-8'), user('user-4')]);
    expect(result.status).toBe('applied');
    expect(upstream.teamOf(4)).toBe(TEAM);
  });

  it('when TEAMS_MOVE_FROM_OTHER is on, then a user of another synced team is moved here', async () => {
    const { upstream, run, synced } = setup(tenant(), { moveFromOther: true });
    synced.mark('teams', String(OTHER));
    const result = await run([user('user-1'), user('user-2'), user('user-8'), user('user-4')]);
    expect(result).toMatchObject({ status: 'applied', added: [{ value: 'user-4', type: 'User' }] });
    expect(upstream.teamOf(4)).toBe(TEAM);
  });

  it('when an agent fails, then what the sync did is undone and verified, and the sync fails with 502 naming the member and the provider\'s error', async () => {
    const upstream = tenant();
    upstream.failing.set(6, null);
    const { run, journal } = setup(upstream);
    const error = await failure(run([user('user-1'), user('user-3'), user('user-6')]));

    expect(error).toBeInstanceOf(AgentWriteFailedError);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).code).toBe('upstream_error');
    expect(error.message).toContain('User "user-6" (agent 6, add): Agent is locked');
    expect((error as AgentWriteFailedError).failures).toEqual([{ member: { value: 'user-6', type: 'User' }, agentId: 6, action: 'add', error: 'Agent is locked', status: 200 }]);
    // Back as read: 2 and 8 (removed first) returned to the team, 3 (added) back in the fallback team.
    expect(upstream.inTeam(TEAM)).toEqual([1, 2, 8]);
    expect(upstream.teamOf(3)).toBe(FALLBACK);
    expect(journal.entries.size).toBe(0);
    expect(journal.closed[0]?.steps.map((s) => `${s.undo ? 'undo' : 'do'}:${s.teamId}:${s.state}`)).toEqual(['do:99:done', 'do:10:failed', 'undo:10:done', 'undo:99:done']);
  });

  it('when the undo fails too, then the sync fails with rollback_failed, the journal stays open, and the next sync of the team finishes the undo first', async () => {
    const upstream = tenant();
    upstream.failing.set(6, null);
    upstream.failing.set(2, TEAM);
    const { run, journal } = setup(upstream);
    const error = await failure(run([user('user-1'), user('user-3'), user('user-6'), user('user-8')]));

    expect(error).toBeInstanceOf(RollbackFailedError);
    expect((error as RollbackFailedError).code).toBe('rollback_failed');
    expect((error as RollbackFailedError).failures).toContainEqual({ member: { value: 'user-2', type: 'User' }, agentId: 2, action: 'remove', error: 'not back in team 10 (in team 99)' });
    // The team as it stands after the failed undo: 2 is still out.
    expect((error as RollbackFailedError).members?.map((m) => m.value).toSorted()).toEqual(['user-1', 'user-8']);
    expect(upstream.teamOf(2)).toBe(FALLBACK);
    expect([...journal.entries.values()].map((e) => e.phase)).toEqual(['undoing']);

    upstream.failing.clear();
    const result = await run([user('user-1'), user('user-2'), user('user-8')]);
    expect(result.status).toBe('unchanged');
    expect(upstream.inTeam(TEAM)).toEqual([1, 2, 8]);
    expect(upstream.teamOf(3)).toBe(FALLBACK);
    expect(journal.entries.size).toBe(0);
  });

  it('when the provider answers success but the agents did not move, then the verification says write_not_applied', async () => {
    const upstream = tenant();
    upstream.ignoring.add(3);
    const { run } = setup(upstream);
    const error = await failure(run([user('user-1'), user('user-2'), user('user-8'), user('user-3')]));
    expect(error).toBeInstanceOf(WriteNotAppliedError);
    expect((error as WriteNotAppliedError).gap).toMatchObject({ missingCount: 1, missing: [{ value: 'user-3', type: 'User' }] });
  });

  it('when the answer to a batch is lost, then the agents are read back rather than assumed: moved counts as done', async () => {
    const upstream = tenant();
    upstream.loseNextAnswer = true;
    const { run, journal } = setup(upstream);
    const result = await run([user('user-1'), user('user-2'), user('user-8'), user('user-3')]);
    expect(result.status).toBe('applied');
    expect(upstream.count('update')).toBe(1);
    expect(journal.closed[0]?.steps.map((s) => s.state)).toEqual(['unknown']);
  });

  it('when a sync adds a and removes r agents, then it costs 1 + ceil(r/batch) + ceil(a/batch) + 1 upstream requests', async () => {
    const upstream = tenant();
    const { run } = setup(upstream, { batchSize: 2 });
    await run([user('user-1'), user('user-2'), user('user-8')]); // the first use pages every agent: 1 request here
    const result = await run([user('user-3'), user('user-6'), user('user-7')]);
    expect(result).toMatchObject({ status: 'applied', upstreamRequests: 1 + 2 + 2 + 1 });
    expect(upstream.inTeam(TEAM)).toEqual([3, 6, 7]);
  });
});
