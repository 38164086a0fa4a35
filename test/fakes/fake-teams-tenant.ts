import { createAgentMap, type AgentMap } from '../../src/adapters/cxone/agent-map.js';
import { OutcomeUnknownError } from '../../src/core/errors.js';
import type { AdminAgent, AdminApiClient, AgentsPage, BatchOutcome, RequestContext, TeamChange } from '../../src/core/ports.js';
import { MemoryAgentMapStore } from './memory-agent-map-store.js';

interface TenantAgent {
  agentId: number;
  userId?: string;
  userName?: string;
  isActive: boolean;
  teamId: number;
  /** A logical time: bumped on every change. */
  updated: number;
}

/**
 * CXone's agents and teams as the teams backend sees them through the admin API: GET /agents
 * (one request per refresh, updateSince honoured) and PUT /agents with teamId, answering per
 * agent. Faults: agents that fail, agents left unreported, answers lost after applying.
 */
export class FakeTeamsTenant {
  readonly agents = new Map<number, TenantAgent>();
  private time = 1;
  /** Requests by kind. */
  readonly calls: { kind: 'list' | 'update'; agentIds?: number[]; teamId?: number }[] = [];
  /** Agents whose moves fail (per agent, success:false) — to any team, or only to `failTo` when set. */
  readonly failing = new Map<number, number | null>();
  /** The next PUT /agents is applied but its answer lost (OutcomeUnknownError). */
  loseNextAnswer = false;
  /** PUT /agents answers success for these agents but does not move them (a provider that applies wrong). */
  readonly ignoring = new Set<number>();

  add(agentId: number, teamId: number, extra: { userId?: string; userName?: string; isActive?: boolean } = {}): this {
    this.agents.set(agentId, { agentId, teamId, isActive: extra.isActive ?? true, userId: extra.userId ?? `user-${agentId}`, userName: extra.userName ?? `agent${agentId}@example.com`, updated: this.time });
    return this;
  }

  move(agentId: number, teamId: number): void {
    const agent = this.agents.get(agentId);
    if (!agent) throw new Error(`no agent ${agentId}`);
    agent.teamId = teamId;
    agent.updated = ++this.time;
  }

  teamOf(agentId: number): number | undefined {
    return this.agents.get(agentId)?.teamId;
  }

  inTeam(teamId: number): number[] {
    return [...this.agents.values()].filter((a) => a.teamId === teamId).map((a) => a.agentId).toSorted((a, b) => a - b);
  }

  count(kind: 'list' | 'update'): number {
    return this.calls.filter((c) => c.kind === kind).length;
  }

  readonly adminApi: Pick<AdminApiClient, 'listAllAgents' | 'updateAgentTeams'> = {
    listAllAgents: async (query, ctx: RequestContext): Promise<AgentsPage & { pages: number }> => {
      ctx.stats.upstreamRequests += 1;
      this.calls.push({ kind: 'list' });
      const since = query.updateSince === undefined ? 0 : Number(query.updateSince);
      const agents: AdminAgent[] = [...this.agents.values()]
        .filter((a) => a.updated >= since)
        .map((a) => ({ agentId: a.agentId, userId: a.userId, userName: a.userName, isActive: a.isActive, teamId: a.teamId }));
      const poll = String(++this.time);
      return { agents, totalRecords: agents.length, lastPollTime: poll, pages: 1 };
    },
    updateAgentTeams: async (changes: readonly TeamChange[], ctx: RequestContext): Promise<BatchOutcome> => {
      ctx.stats.upstreamRequests += 1;
      this.calls.push({ kind: 'update', agentIds: changes.map((c) => c.agentId), teamId: changes[0]?.teamId });
      const succeeded: number[] = [];
      const failed: { agentId: number; error: string }[] = [];
      for (const change of changes) {
        const failTo = this.failing.get(change.agentId);
        if (failTo !== undefined && (failTo === null || failTo === change.teamId)) {
          failed.push({ agentId: change.agentId, error: 'Agent is locked' });
          continue;
        }
        if (change.teamId === undefined) {
          // This tenant's teams have integer ids only.
          failed.push({ agentId: change.agentId, error: `Team ${change.teamUuid} was not found` });
          continue;
        }
        if (!this.ignoring.has(change.agentId)) this.move(change.agentId, change.teamId);
        succeeded.push(change.agentId);
      }
      if (this.loseNextAnswer) {
        this.loseNextAnswer = false;
        throw new OutcomeUnknownError('CXone admin API PUT /agents: the connection dropped before the answer', undefined);
      }
      return { status: 200, errorCount: failed.length, succeeded, failed, unreported: [] };
    },
  };

  /** An agent map over this tenant (in-memory store). */
  agentMap(): AgentMap {
    return createAgentMap({ adminApi: this.adminApi, store: new MemoryAgentMapStore() });
  }
}
