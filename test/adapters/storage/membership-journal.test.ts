/**
 * The admin-API write journal: the SQLite store's (migration 6) and the in-memory fake
 * behave alike, and the store's entries survive a restart.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { openSqliteStore } from '../../../src/adapters/storage/sqlite-store.js';
import type { MembershipJournal } from '../../../src/core/ports.js';
import { InMemoryJournal } from '../../fakes/in-memory-journal.js';
import { tempDir } from '../../helpers/temp-dir.js';

function sqliteJournal(dataDir = tempDir()): MembershipJournal {
  const store = openSqliteStore({ dataDir });
  onTestFinished(() => store.close());
  return store.journal;
}

const entry = (syncId: string, groupId = '5002', openedAt = '2026-01-01T00:00:00.000Z') => ({
  syncId,
  backend: 'acd-groups' as const,
  groupId,
  before: { agentIds: [1, 2, 3] },
  target: { agentIds: [2, 3, 4] },
  openedAt,
});

describe.each([
  ['SQLite store', () => sqliteJournal()],
  ['in-memory fake', () => new InMemoryJournal()],
])('the membership journal (%s)', (_name, make) => {
  it('when a write is journaled step by step, then its open entry holds every step with its state, failures and phase', async () => {
    const journal = make();
    await journal.open(entry('s1'));
    expect(await journal.begin('s1', { action: 'remove', agentIds: [1], undo: false })).toBe(0);
    await journal.end('s1', 0, 'done');
    expect(await journal.begin('s1', { action: 'add', agentIds: [4], undo: false })).toBe(1);
    await journal.end('s1', 1, 'failed', [{ agentId: 4, error: 'refused' }]);
    await journal.setPhase('s1', 'undoing');
    await journal.begin('s1', { action: 'add', agentIds: [1], undo: true });
    expect(await journal.openEntries()).toEqual([
      {
        ...entry('s1'),
        phase: 'undoing',
        steps: [
          { action: 'remove', agentIds: [1], undo: false, state: 'done' },
          { action: 'add', agentIds: [4], undo: false, state: 'failed', failed: [{ agentId: 4, error: 'refused' }] },
          { action: 'add', agentIds: [1], undo: true, state: 'pending' },
        ],
      },
    ]);
  });

  it('when entries are closed or filtered, then only the open ones of that group come back, oldest first', async () => {
    const journal = make();
    await journal.open(entry('s2', '5003', '2026-01-01T00:00:02.000Z'));
    await journal.open(entry('s1', '5002', '2026-01-01T00:00:01.000Z'));
    await journal.open(entry('s3', '5002', '2026-01-01T00:00:03.000Z'));
    await journal.begin('s3', { action: 'remove', agentIds: [1], undo: false });
    await journal.close('s3');
    expect((await journal.openEntries()).map((e) => e.syncId)).toEqual(['s1', 's2']);
    expect((await journal.openEntries({ backend: 'acd-groups', groupId: '5002' })).map((e) => e.syncId)).toEqual(['s1']);
    expect(await journal.openEntries({ backend: 'teams' })).toEqual([]);
  });
});

describe('the SQLite membership journal', () => {
  it('when the process stops with an entry open, then the next start finds it with its steps', async () => {
    const dataDir = tempDir();
    const first = openSqliteStore({ dataDir });
    await first.journal.open(entry('s1'));
    await first.journal.begin('s1', { action: 'remove', agentIds: [1], undo: false });
    first.close();
    const again = sqliteJournal(dataDir);
    expect(await again.openEntries()).toMatchObject([{ syncId: 's1', phase: 'writing', steps: [{ action: 'remove', agentIds: [1], state: 'pending' }] }]);
  });
});
