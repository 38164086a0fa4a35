/**
 * CXone's admin API in memory (AdminApiClient), for core tests of the acd-groups backend:
 * ACD groups and their agents, per-agent results, and knobs for what the published
 * material leaves open and for faults. Every request counts one in ctx.stats, as the real
 * client does (a group's agents: one per page of `pageSize`).
 */
import { OutcomeUnknownError, UpstreamError } from '../../src/core/errors.js';
import type { AdminAgent, AdminApiClient, AdminGroup, BatchOutcome, RequestContext } from '../../src/core/ports.js';

export interface FakeGroup {
  groupName: string;
  lastUpdated: string;
  agents: Set<number>;
}

export class FakeAdminApiClient implements AdminApiClient {
  readonly groups = new Map<number, FakeGroup>();
  readonly agents = new Map<number, AdminAgent>();
  /** Each request, as `GET group`, `GET agents(page)`, `DELETE [1,2]`, `POST [3]`, `GET agent-groups 3`. */
  readonly calls: string[] = [];
  pageSize = 1000;
  /** Does assigning agents move the group's lastUpdated? */
  membershipMovesLastUpdated = false;
  addExisting: 'error' | 'success' = 'error';
  removeAbsent: 'error' | 'success' = 'error';
  /** Agents that answer success:false on this action (while in the set). */
  readonly failing = { add: new Set<number>(), remove: new Set<number>() };
  /** The next write of this action loses its answer: `before` nothing applied, `after` applied. */
  lose: { action: 'add' | 'remove'; when: 'before' | 'after'; count: number } | null = null;
  /** Results left out of the answer (unreported) for these agents. */
  readonly unreported = new Set<number>();
  /** Answered done but not applied (a provider that lies): for the verification. */
  readonly ignored = new Set<number>();
  /** Called before each request is answered (a concurrent writer, a crash). */
  beforeRequest: ((call: string) => void) | null = null;
  private clock = 0;

  addGroup(groupId: number, groupName: string, agentIds: readonly number[]): void {
    this.groups.set(groupId, { groupName, lastUpdated: this.stamp(), agents: new Set(agentIds) });
  }

  addAgents(agents: readonly AdminAgent[]): void {
    for (const a of agents) this.agents.set(a.agentId, a);
  }

  members(groupId: number): number[] {
    return [...(this.groups.get(groupId)?.agents ?? [])].toSorted((a, b) => a - b);
  }

  /** Another writer changes the group (moves lastUpdated, as any group edit does). */
  touch(groupId: number, change?: { add?: number[]; remove?: number[] }): void {
    const g = this.groups.get(groupId) as FakeGroup;
    for (const a of change?.add ?? []) g.agents.add(a);
    for (const a of change?.remove ?? []) g.agents.delete(a);
    g.lastUpdated = this.stamp();
  }

  private stamp(): string {
    return new Date(Date.UTC(2024, 0, 1) + ++this.clock * 1000).toISOString();
  }

  private count(ctx: RequestContext, call: string, n = 1): void {
    this.calls.push(call);
    ctx.stats.upstreamRequests += n;
    this.beforeRequest?.(call);
  }

  async listAgents(): Promise<never> {
    throw new Error('not used');
  }

  async listAllAgents(_query: unknown, ctx: RequestContext) {
    this.count(ctx, 'GET agents');
    return { agents: [...this.agents.values()], totalRecords: this.agents.size, lastPollTime: undefined, pages: 1 };
  }

  async getGroup(groupId: number, ctx: RequestContext): Promise<AdminGroup | null> {
    this.count(ctx, 'GET group');
    const g = this.groups.get(groupId);
    return g ? { groupId, groupName: g.groupName, isActive: true, lastUpdated: g.lastUpdated } : null;
  }

  async listGroupAgents(groupId: number, ctx: RequestContext) {
    const g = this.groups.get(groupId);
    const pages = Math.max(1, Math.ceil((g?.agents.size ?? 0) / this.pageSize));
    for (let p = 0; p < pages; p++) this.count(ctx, 'GET group-agents');
    if (!g) return null;
    const agents = [...g.agents].toSorted((a, b) => a - b).map((agentId) => ({ agentId, ...this.agents.get(agentId) }));
    return { agents, totalRecords: agents.length, pages };
  }

  async addGroupAgents(groupId: number, agentIds: readonly number[], ctx: RequestContext): Promise<BatchOutcome> {
    return this.write('add', groupId, agentIds, ctx);
  }

  async removeGroupAgents(groupId: number, agentIds: readonly number[], ctx: RequestContext): Promise<BatchOutcome> {
    return this.write('remove', groupId, agentIds, ctx);
  }

  private write(action: 'add' | 'remove', groupId: number, agentIds: readonly number[], ctx: RequestContext): BatchOutcome {
    this.count(ctx, `${action === 'add' ? 'POST' : 'DELETE'} [${agentIds.join(',')}]`);
    const g = this.groups.get(groupId);
    if (!g) throw new UpstreamError('CXone admin API answered 404', { status: 404 });
    const lose = this.lose && this.lose.action === action && this.lose.count > 0 ? this.lose : null;
    if (lose) lose.count--;
    if (lose?.when === 'before') throw new OutcomeUnknownError('the connection dropped after the request was sent', undefined);
    const succeeded: number[] = [];
    const failed: { agentId: number; error: string }[] = [];
    for (const agentId of agentIds) {
      if (this.failing[action].has(agentId)) {
        failed.push({ agentId, error: `Agent ${agentId} could not be ${action === 'add' ? 'assigned' : 'unassigned'} (simulated)` });
        continue;
      }
      const member = g.agents.has(agentId);
      if (action === 'add' && member && this.addExisting === 'error') {
        failed.push({ agentId, error: 'Agent is already assigned to this group' });
        continue;
      }
      if (action === 'remove' && !member && this.removeAbsent === 'error') {
        failed.push({ agentId, error: 'Agent is not assigned to this group' });
        continue;
      }
      if (!this.ignored.has(agentId)) {
        if (action === 'add') g.agents.add(agentId);
        else g.agents.delete(agentId);
      }
      succeeded.push(agentId);
    }
    if (this.membershipMovesLastUpdated && succeeded.length > 0) g.lastUpdated = this.stamp();
    if (lose?.when === 'after') throw new OutcomeUnknownError('the connection dropped before the answer came', undefined);
    const reported = succeeded.filter((a) => !this.unreported.has(a));
    return { status: 200, errorCount: failed.length, succeeded: reported, failed, unreported: succeeded.filter((a) => this.unreported.has(a)) };
  }

  async getAgentGroups(agentId: number, ctx: RequestContext): Promise<readonly AdminGroup[] | null> {
    this.count(ctx, `GET agent-groups ${agentId}`);
    return [...this.groups.entries()].filter(([, g]) => g.agents.has(agentId)).map(([groupId, g]) => ({ groupId, groupName: g.groupName }));
  }

  async updateAgentTeams(): Promise<never> {
    throw new Error('not used');
  }

  async createGroup(): Promise<never> {
    throw new Error('not used');
  }

  async renameGroup(): Promise<never> {
    throw new Error('not used');
  }
}
