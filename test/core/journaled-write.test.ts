import { describe, expect, it } from 'vitest';
import { AgentWriteFailedError, type AgentFailure } from '../../src/core/errors.js';
import { runJournaledWrite, type JournaledWrite, type WriteStepResult, type WriteVerdict } from '../../src/core/journaled-write.js';

const FAILURE: AgentFailure = { member: { value: 'u1', type: 'User' }, agentId: 1, action: 'add', error: 'refused', status: 200 };

/** A write whose every call is recorded in order. */
function recorded(steps: readonly WriteStepResult[], verdict: WriteVerdict = { kind: 'held' }) {
  const calls: string[] = [];
  const write: JournaledWrite = {
    journal: {
      async setPhase(syncId, phase) {
        calls.push(`phase ${syncId} ${phase}`);
      },
      async close(syncId) {
        calls.push(`close ${syncId}`);
      },
    },
    syncId: 's1',
    steps: steps.map((result, i) => async () => {
      calls.push(`step ${i}`);
      return result;
    }),
    async undo(failures, thrown) {
      calls.push(`undo ${failures.length} ${thrown === undefined ? '-' : String(thrown)}`);
    },
    async verify() {
      calls.push('verify');
      return verdict;
    },
  };
  return { calls, write };
}

describe('runJournaledWrite', () => {
  it('when every step holds and the read-back agrees, then the entry is verified and closed: held', async () => {
    const { calls, write } = recorded([{ failed: [] }, { failed: [] }]);
    await expect(runJournaledWrite(write)).resolves.toBe('held');
    expect(calls).toEqual(['step 0', 'step 1', 'phase s1 verifying', 'verify', 'close s1']);
  });

  it('when a step fails agents, then no later step is sent, the write is undone, closed, and the sync fails naming them', async () => {
    const { calls, write } = recorded([{ failed: [FAILURE] }, { failed: [] }]);
    const error = await runJournaledWrite(write).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentWriteFailedError);
    expect((error as AgentWriteFailedError).failures).toEqual([FAILURE]);
    expect(calls).toEqual(['step 0', 'undo 1 -', 'close s1']);
  });

  it('when a step throws, then the write is undone with that error, closed, and the error is the answer', async () => {
    const { calls, write } = recorded([{ failed: [], thrown: 'boom' }, { failed: [] }]);
    await expect(runJournaledWrite(write)).rejects.toBe('boom');
    expect(calls).toEqual(['step 0', 'undo 0 boom', 'close s1']);
  });

  it('when the read-back does not hold the write, then it is undone when asked, closed, and the verdict error is the answer', async () => {
    const wrong = new Error('not held');
    for (const undo of [true, false]) {
      const { calls, write } = recorded([{ failed: [] }], { kind: 'wrong', undo, error: () => wrong });
      await expect(runJournaledWrite(write)).rejects.toBe(wrong);
      expect(calls).toEqual(['step 0', 'phase s1 verifying', 'verify', ...(undo ? ['undo 0 -'] : []), 'close s1']);
    }
  });

  it('when another writer got in, then the entry is closed and the answer is overtaken', async () => {
    const { calls, write } = recorded([{ failed: [] }], { kind: 'overtaken' });
    await expect(runJournaledWrite(write)).resolves.toBe('overtaken');
    expect(calls).toEqual(['step 0', 'phase s1 verifying', 'verify', 'close s1']);
  });
});
