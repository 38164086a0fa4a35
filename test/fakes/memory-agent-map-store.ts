import type { AdminAgent, AgentMapStore } from '../../src/core/ports.js';

/** An AgentMapStore in memory, counting its loads and saves. */
export class MemoryAgentMapStore implements AgentMapStore {
  readonly agents = new Map<number, AdminAgent>();
  lastPollTime: string | undefined;
  loads = 0;
  saves: { agents: number; lastPollTime: string | undefined }[] = [];

  async load() {
    this.loads += 1;
    return { agents: [...this.agents.values()], lastPollTime: this.lastPollTime };
  }

  async save(agents: readonly AdminAgent[], lastPollTime: string | undefined) {
    for (const agent of agents) this.agents.set(agent.agentId, agent);
    this.lastPollTime = lastPollTime;
    this.saves.push({ agents: agents.length, lastPollTime });
  }
}
