/**
 * The agent map (which CXone agent each SCIM user is) for the CXone membership backends:
 * over the admin API, kept in the store. Built once per process and shared by every sync,
 * so that concurrent syncs share one refresh. The caller loads it at start
 * (`await map.load()`), so a restart reads the store instead of paging every agent.
 */
import { createAgentMap as createAdapterAgentMap, type AgentMap, type AgentMapRefresh } from '../adapters/cxone/agent-map.js';
import type { AdminApiClient, AgentMapStore } from '../core/ports.js';

export type { AgentMap, AgentMapRefresh };

export interface AgentMapWiring {
  /** Told after each refresh (a log line, a metric). */
  readonly onRefresh?: (refresh: AgentMapRefresh) => void;
}

export function createAgentMap(adminApi: AdminApiClient, store: AgentMapStore, wiring: AgentMapWiring = {}): AgentMap {
  return createAdapterAgentMap({ adminApi, store, onRefresh: wiring.onRefresh });
}
