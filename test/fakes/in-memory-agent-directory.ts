/**
 * An AgentDirectory held in memory (the agent map), until the store-backed one is wired:
 * built from a list of agents, or loaded once from the admin API (`fromAdminApi`, every
 * agent by `GET /agents`) and refreshed from it on a miss. Matches `userID` first,
 * `userName` second, like the real one.
 */
import type { AdminAgent, AdminApiClient, AgentDirectory, RequestContext, TeamRef } from '../../src/core/ports.js';
import { isInTeam } from '../../src/core/team-ref.js';

export class InMemoryAgentDirectory implements AgentDirectory {
  private byId = new Map<number, AdminAgent>();
  private byUserId = new Map<string, AdminAgent>();
  private byUserName = new Map<string, AdminAgent>();
  refreshes = 0;

  constructor(
    agents: readonly AdminAgent[] = [],
    private readonly source: AdminApiClient | null = null,
  ) {
    this.load(agents);
  }

  /** A directory loaded from the admin API's `GET /agents` (its requests are not counted in any sync). */
  static async fromAdminApi(adminApi: AdminApiClient): Promise<InMemoryAgentDirectory> {
    const directory = new InMemoryAgentDirectory([], adminApi);
    await directory.refresh({ stats: { upstreamRequests: 0 } });
    return directory;
  }

  /** Every agent in the map. */
  all(): AdminAgent[] {
    return [...this.byId.values()];
  }

  load(agents: readonly AdminAgent[]): void {
    for (const agent of agents) {
      this.byId.set(agent.agentId, agent);
      if (agent.userId !== undefined) this.byUserId.set(agent.userId, agent);
      if (agent.userName !== undefined) this.byUserName.set(agent.userName, agent);
    }
  }

  async resolve(values: readonly string[], _ctx: RequestContext): Promise<Map<string, AdminAgent>> {
    const find = (v: string) => this.byUserId.get(v) ?? this.byUserName.get(v);
    if (this.source && values.some((v) => find(v) === undefined)) await this.refresh({ stats: { upstreamRequests: 0 } });
    const found = new Map<string, AdminAgent>();
    for (const value of values) {
      const agent = find(value);
      if (agent) found.set(value, agent);
    }
    return found;
  }

  async byAgentIds(agentIds: readonly number[], _ctx: RequestContext): Promise<Map<number, AdminAgent>> {
    if (this.source && agentIds.some((id) => !this.byId.has(id))) await this.refresh({ stats: { upstreamRequests: 0 } });
    const found = new Map<number, AdminAgent>();
    for (const id of agentIds) {
      const agent = this.byId.get(id);
      if (agent) found.set(id, agent);
    }
    return found;
  }

  async inTeam(team: TeamRef): Promise<readonly AdminAgent[]> {
    return [...this.byId.values()].filter((a) => isInTeam(a, team));
  }

  async refresh(_ctx: RequestContext): Promise<void> {
    if (!this.source) return;
    this.refreshes++;
    // Not counted in the sync's ctx: the agent map's refreshes are shared by every sync.
    const page = await this.source.listAllAgents({ fields: ['agentId', 'userID', 'userName', 'isActive', 'teamId', 'teamUuId'] }, { stats: { upstreamRequests: 0 } });
    this.load(page.agents);
  }
}
