/**
 * Crash recovery of the acd-groups backend (batch sizes 1 and 2). A sync is cut off at
 * every journal state — right after each journal write reached the store (before a
 * batch is sent, after its answer is recorded, during an undo) and right after each batch
 * write reached the simulator before its answer was recorded — as a process kill would
 * leave it: from that point nothing more reaches the store. The store is then closed and
 * opened again on the same DATA_DIR (a restart) and recoverAtStart runs, as the service
 * start will. Then: the journal is empty, the group holds what it held before the sync
 * (or, when only the verification was missing, the target), the recovery is in the audit
 * trail with its event, and the chain verifies.
 *
 * The kill is simulated in this process (the service does not run this backend before the
 * backend selection is merged); the store, the simulator and the HTTP traffic are real.
 */
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { recoverAtStart } from '../../src/composition/acd-groups.js';
import type { AuditTrail, MembershipJournal } from '../../src/core/ports.js';
import { createSimulator, seedIds } from '../../src/simulator/simulator.js';
import { tempDir } from '../helpers/temp-dir.js';
import { CLIENT, startRig } from './acd-harness.js';

const A = seedIds.agents;
const GROUP = seedIds.acdGroups.escalations;
const BEFORE = [1002, 1009, 1023, 1024, 1025, 1042];
const TARGET = [1002, 1009, 1042, A.aliceSmith, A.lauraGarcia, A.nadiaAhmed].toSorted((a, b) => a - b);

class Killed extends Error {}

/** A process that dies at a point: from then on nothing it does reaches the store. */
class Death {
  dead = false;
  writes = 0;
  constructor(readonly afterJournalWrites: number | null) {}
  journal(inner: MembershipJournal): MembershipJournal {
    const guard =
      <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R> => {
        if (this.dead) throw new Killed('the process is dead');
        const result = await fn(...args);
        this.writes++;
        if (this.writes === this.afterJournalWrites) {
          this.dead = true;
          throw new Killed('killed after this journal write');
        }
        return result;
      };
    return {
      open: guard((e) => inner.open(e)),
      begin: guard((s, step) => inner.begin(s, step)),
      end: guard((s, i, st, f) => inner.end(s, i, st, f)),
      setPhase: guard((s, p) => inner.setPhase(s, p)),
      close: guard((s) => inner.close(s)),
      openEntries: (f) => inner.openEntries(f),
    };
  }
  audit(inner: AuditTrail): AuditTrail {
    return new Proxy(inner, {
      get: (target, key, receiver) => {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (key === 'append') {
          return async (...args: Parameters<AuditTrail['append']>) => {
            if (this.dead) throw new Killed('the process is dead');
            return target.append(...args);
          };
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

interface Run {
  members: number[];
  recovered: readonly { outcome: string }[];
  recordStatuses: string[];
  openAfter: number;
  chainOk: boolean;
  wasOpen: boolean;
}

/** One sync cut off at `point` (journal writes, or the n-th batch write reaching the simulator), then a restart and recovery. */
async function crashAndRecover(batchSize: number, failAdds: boolean, point: { journalWrites?: number; batchWrites?: number }): Promise<Run> {
  const dataDir = tempDir();
  const death = new Death(point.journalWrites ?? null);
  const simulator = createSimulator({ scimGroups: false, clients: [CLIENT] });
  await simulator.listen({ port: 0 });
  try {
    if (failAdds) simulator.setFaults({ agentFailures: { agentIds: [A.nadiaAhmed], ratio: 0, operations: ['add'], error: 'refused' } });
    let batchWrites = 0;
    if (point.batchWrites !== undefined) {
      simulator.onRequest((request) => {
        if ((request.method === 'POST' || request.method === 'DELETE') && request.path.endsWith('/agents') && ++batchWrites === point.batchWrites) death.dead = true;
      });
    }
    const rig = await startRig({ simulator, dataDir, batchSize, wrapJournal: (j) => death.journal(j) });
    const auditProxy = death.audit(rig.audit);
    const deps = { ...rig.deps, audit: auditProxy };
    const desired = await Promise.all(TARGET.map(async (a) => (await rig.agents.byAgentIds([a], { stats: { upstreamRequests: 0 } })).get(a)?.userId ?? String(a)));
    const { syncGroup } = await import('../../src/core/sync-group.js');
    await syncGroup(deps, { groupId: String(GROUP), desired: { members: desired.map((value) => ({ value })) }, dryRun: false, actor: 'okta', requestId: 'r' }).catch(() => undefined);
    simulator.onRequest(null);
    simulator.setFaults({ agentFailures: null });
    rig.store?.close();
    // Restart: the same DATA_DIR, a new store, recovery before anything else.
    const store = openSqliteStore({ dataDir });
    try {
      const wasOpen = (await store.journal.openEntries()).length > 0;
      const recovered = await recoverAtStart({ adminApi: rig.connection.adminApi, agents: rig.agents, journal: store.journal, audit: store, clock: rig.clock, batchSize }, { info() {}, error() {} });
      return {
        members: rig.members(GROUP),
        recovered,
        recordStatuses: (await store.listRecords({ limit: 5 })).items.map((r) => r.status),
        openAfter: (await store.journal.openEntries()).length,
        chainOk: (await store.verifyChain()).ok,
        wasOpen,
      };
    } finally {
      store.close();
    }
  } finally {
    await simulator.close();
  }
}

describe.each([1, 2])('crash recovery of acd-groups writes (batch size %i)', (batchSize) => {
  it.each([
    ['a sync that succeeds', false],
    ['a sync whose add fails and is undone', true],
  ])('when %s is killed after each journal write, then the restart rolls it back (or completes it) and audits it', async (_name, failAdds) => {
    // How many journal writes the whole sync makes.
    const probe = new Death(null);
    const simulator = createSimulator({ scimGroups: false, clients: [CLIENT] });
    await simulator.listen({ port: 0 });
    if (failAdds) simulator.setFaults({ agentFailures: { agentIds: [A.nadiaAhmed], ratio: 0, operations: ['add'], error: 'refused' } });
    const rig = await startRig({ simulator, batchSize, wrapJournal: (j) => probe.journal(j) });
    const desired = await Promise.all(TARGET.map(async (a) => (await rig.agents.byAgentIds([a], { stats: { upstreamRequests: 0 } })).get(a)?.userId ?? String(a)));
    await rig.sync(GROUP, desired.map((value) => ({ value })));
    await simulator.close();
    const total = probe.writes;
    expect(total).toBeGreaterThan(failAdds ? 8 : 6);

    const outcomes: string[] = [];
    for (let cut = 1; cut <= total; cut++) {
      const run = await crashAndRecover(batchSize, failAdds, { journalWrites: cut });
      // the last write closes the entry: nothing is left to recover
      const expected = run.recovered[0]?.outcome === 'completed' ? TARGET : BEFORE;
      outcomes.push(`${cut}:${run.recovered[0]?.outcome ?? 'none'}`);
      expect({ cut, members: run.members, open: run.openAfter, chain: run.chainOk }).toEqual({ cut, members: cut === total && !failAdds ? TARGET : expected, open: 0, chain: true });
      expect(run.recovered.length).toBe(run.wasOpen ? 1 : 0);
      expect(run.recordStatuses.length).toBe(run.wasOpen ? 1 : 0);
    }
    expect(outcomes.some((o) => o.endsWith(':rolled_back'))).toBe(true);
    // Killed after the phase became "verifying" (the write before the close): completed, not undone.
    expect(outcomes.includes(`${total - 1}:completed`)).toBe(!failAdds);
  }, 120_000);

  it('when the process dies right after each batch write reached CXone (its answer never recorded), then the restart puts the group back', async () => {
    // 3 agents removed and 3 added: 6 batches of 1, or 4 batches of up to 2.
    const batches = batchSize === 1 ? 6 : 4;
    for (let n = 1; n <= batches; n++) {
      const run = await crashAndRecover(batchSize, false, { batchWrites: n });
      expect({ n, open: run.wasOpen, openAfter: run.openAfter, chain: run.chainOk, members: run.members, outcome: run.recovered[0]?.outcome }).toEqual({
        n,
        open: true,
        openAfter: 0,
        chain: true,
        members: BEFORE,
        outcome: 'rolled_back',
      });
    }
  }, 60_000);
});
