/**
 * Fault run of the acd-groups backend: 520 syncs over 5 ACD groups (one caller per group,
 * the groups in parallel) against the simulator as CXone is published, while it answers
 * 10 % of requests 429 (half with Retry-After, half without), fails 5 % of agents in each
 * add and remove (success:false), and drops 2 % of connections (a dropped batch write is
 * an unknown outcome: read back). The journal and the audit trail are the SQLite store.
 *
 * At the end: every failed sync was rolled back — right after its answer, the group holds
 * what the last 200 left, unless its journal entry stayed open (a failure while reading
 * back or undoing), and then the group's next sync or the recovery at start finishes it;
 * after that recovery, every group holds the desired set of its last 200; no journal
 * entry is open; and the audit chain verifies. The figures go to a results file.
 */
import { describe, expect, it } from 'vitest';
import { recoverAtStart } from '../../src/composition/acd-groups.js';
import { mulberry32 } from '../../src/simulator/faults.js';
import { reportResults } from '../helpers/reliability-results.js';
import { startRig } from './acd-harness.js';

const SYNCS_PER_GROUP = 104;
const GROUPS = 5;

describe('acd-groups fault run', () => {
  it('when 520 syncs run under 10% 429, 5% per-agent failures and dropped connections, then every failed sync is rolled back, every group equals its last 200 and the audit chain verifies', async () => {
    const rig = await startRig({ dataDir: true, batchSize: 2 });
    const store = rig.store!;
    const pool = rig.agents
      .all()
      .filter((a) => a.isActive !== false && (a.userId !== undefined || a.userName !== undefined))
      .slice(0, 60)
      .map((a) => ({ agentId: a.agentId, value: a.userId ?? (a.userName as string) }));
    expect(pool.length).toBeGreaterThanOrEqual(40);
    const groups: number[] = [];
    for (let g = 0; g < GROUPS; g++) {
      const group = rig.simulator.directory.createGroup({ groupName: `Fault run ${g}` });
      rig.simulator.directory.addAgents(group.groupId, pool.slice(g * 5, g * 5 + 6).map((a) => a.agentId));
      groups.push(group.groupId);
    }
    rig.simulator.setFaults({
      throttle: { ratio: 0.1, retryAfterSeconds: 1 },
      agentFailures: { agentIds: [], ratio: 0.05, operations: ['add', 'remove'], error: 'Agent could not be updated (fault run)' },
      dropRatio: 0.02,
    });
    const statuses = new Map<string, number>();
    const violations: string[] = [];
    let leftOpen = 0;
    let upstreamRequests = 0;
    const lastOk = new Map<number, number[]>(groups.map((g) => [g, rig.members(g)]));

    await Promise.all(
      groups.map(async (group, g) => {
        const random = mulberry32(0xacd0 + g);
        let desired = new Set(lastOk.get(group));
        for (let i = 0; i < SYNCS_PER_GROUP; i++) {
          // Mostly small changes (1–3 agents in or out), now and then a large one.
          const next = new Set(desired);
          const changes = random() < 0.1 ? 10 : 1 + Math.floor(random() * 3);
          for (let c = 0; c < changes; c++) {
            const agent = pool[Math.floor(random() * pool.length)]!.agentId;
            if (next.has(agent)) next.delete(agent);
            else next.add(agent);
          }
          const members = pool.filter((a) => next.has(a.agentId)).map((a) => ({ value: a.value }));
          const answer = await rig.sync(group, members);
          const key = answer.status === 200 ? `200 ${answer.result?.status}` : `${answer.status} ${String(answer.body.error)}`;
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
          upstreamRequests += answer.result?.upstreamRequests ?? 0;
          if (answer.status === 200) {
            desired = next;
            lastOk.set(group, [...next].toSorted((a, b) => a - b));
            const now = rig.members(group);
            if (JSON.stringify(now) !== JSON.stringify(lastOk.get(group))) violations.push(`group ${group} sync ${i}: answered 200 but holds ${now.length} agents, not the ${next.size} desired`);
          } else {
            const open = await rig.journal.openEntries({ groupId: String(group) });
            if (open.length > 0) leftOpen++;
            else if (JSON.stringify(rig.members(group)) !== JSON.stringify(lastOk.get(group))) violations.push(`group ${group} sync ${i}: failed (${key}) and was not rolled back`);
          }
        }
      }),
    );

    rig.simulator.setFaults({ throttle: null, agentFailures: null, dropRatio: 0 });
    const recovered = await recoverAtStart({ adminApi: rig.connection.adminApi, agents: rig.agents, journal: store.journal, audit: store, clock: rig.clock, batchSize: 2 }, { info() {}, error() {} });
    for (const group of groups) {
      if (JSON.stringify(rig.members(group)) !== JSON.stringify(lastOk.get(group))) violations.push(`group ${group}: holds ${JSON.stringify(rig.members(group))}, its last 200 asked for ${JSON.stringify(lastOk.get(group))}`);
    }
    const verdict = await store.verifyChain();
    const figures = {
      syncs: SYNCS_PER_GROUP * GROUPS,
      statuses: Object.fromEntries([...statuses].toSorted()),
      failedLeftOpenThenFinished: leftOpen,
      recoveredAtEnd: recovered.map((r) => r.outcome),
      upstreamRequestsOfAnsweredSyncs: upstreamRequests,
      simulatorRequests: rig.simulator.stats.total,
      droppedConnections: rig.simulator.stats.byStatus['0'] ?? 0,
      throttled: rig.simulator.stats.byStatus['429'] ?? 0,
      auditRecords: verdict.records,
      violations,
    };
    reportResults('acd-groups-fault-run', figures);
    expect(violations).toEqual([]);
    expect(await store.journal.openEntries()).toEqual([]);
    expect(verdict.ok).toBe(true);
    expect(verdict.records).toBeGreaterThanOrEqual(SYNCS_PER_GROUP * GROUPS);
    expect(statuses.get('200 applied') ?? 0).toBeGreaterThan(200);
    expect([...statuses.keys()].some((k) => k.startsWith('502'))).toBe(true);
  }, 300_000);
});
