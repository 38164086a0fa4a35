import { describe, expect, it, onTestFinished } from 'vitest';
import { openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { recoverAtStart } from '../../src/composition/acd-groups.js';
import { FakeAdminApiClient } from '../fakes/fake-admin-api-client.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { InMemoryAgentDirectory } from '../fakes/in-memory-agent-directory.js';
import { tempDir } from '../helpers/temp-dir.js';

describe('recovery at start (acd-groups)', () => {
  it('when the store holds writes left open by a crash, then each is rolled back or completed, audited in the store with its event, logged, and the journal is empty', async () => {
    const store = openSqliteStore({ dataDir: tempDir() });
    onTestFinished(() => store.close());
    const api = new FakeAdminApiClient();
    api.addAgents([1, 2, 3, 4].map((agentId) => ({ agentId, userId: `u${agentId}`, isActive: true })));
    // Group 1: the crash came after agent 1 was removed and before 4 was added.
    api.addGroup(1, 'A', [2, 3]);
    await store.journal.open({ syncId: 'crashed-1', backend: 'acd-groups', groupId: '1', before: { agentIds: [1, 2, 3] }, target: { agentIds: [2, 3, 4] }, openedAt: '2026-01-01T00:00:00.000Z' });
    await store.journal.begin('crashed-1', { action: 'remove', agentIds: [1], undo: false });
    await store.journal.end('crashed-1', 0, 'done');
    await store.journal.begin('crashed-1', { action: 'add', agentIds: [4], undo: false });
    // Group 2: every step answered, only the verification was missing.
    api.addGroup(2, 'B', [2, 4]);
    await store.journal.open({ syncId: 'crashed-2', backend: 'acd-groups', groupId: '2', before: { agentIds: [2] }, target: { agentIds: [2, 4] }, openedAt: '2026-01-01T00:00:01.000Z' });
    await store.journal.begin('crashed-2', { action: 'add', agentIds: [4], undo: false });
    await store.journal.end('crashed-2', 0, 'done');
    await store.journal.setPhase('crashed-2', 'verifying');
    const lines: string[] = [];
    const log = { info: (_d: object, m: string) => lines.push(m), error: (_d: object, m: string) => lines.push(`ERROR ${m}`) };

    const finished = await recoverAtStart({ adminApi: api, agents: new InMemoryAgentDirectory([...api.agents.values()]), journal: store.journal, audit: store, clock: new FakeClock() }, log);

    expect(finished.map((f) => [f.syncId, f.outcome])).toEqual([
      ['crashed-1', 'rolled_back'],
      ['crashed-2', 'completed'],
    ]);
    expect(api.members(1)).toEqual([1, 2, 3]);
    expect(api.members(2)).toEqual([2, 4]);
    expect(await store.journal.openEntries()).toEqual([]);
    const records = (await store.listRecords({ limit: 10 })).items;
    expect(records.map((r) => [r.status, (r as { requestId: string }).requestId])).toEqual([
      ['applied', 'recovery:crashed-2'],
      ['interrupted', 'recovery:crashed-1'],
    ]);
    expect((await store.verifyChain()).ok).toBe(true);
    expect(lines).toEqual(['an interrupted ACD group write was rolled back', 'an interrupted ACD group write was found complete']);
  });
});
