/**
 * The agent map: which CXone agent each SCIM user is (AgentDirectory, core/ports.ts).
 *
 * IdPs send SCIM user ids (some send userNames); CXone's admin API takes integer agentIds.
 * `GET /agents` lists every agent with its `userID` (the user-hub id, which is the SCIM
 * id), `userName`, `isActive`, `teamId` and `teamUuId` (the team's user-management id) (calljacob/nice-cxone-api,
 * src/services/admin/AdminAgentsService.ts). The map is
 *
 * - loaded from the store (AgentMapStore) before its first use, so a restart does not page
 *   100,000 agents again;
 * - paged in full only when the store holds nothing (`fields` narrowed to what the backends
 *   read), and otherwise brought up to date with `updateSince` = the `lastPollTime` of the
 *   last refresh: one request when fewer than a page of agents changed;
 * - refreshed once when a value, an agentId or a team is asked for that the map does not
 *   know, before the answer says "no such agent"; every caller that needs a refresh while
 *   one is in flight waits for that one (one request, however many syncs ask).
 *
 * Values match `userID` first and `userName` second, both without regard to case (SCIM
 * ids are UUIDs; SCIM userNames are case-insensitive, RFC 7643 §4.1.1).
 */
import type { AdminAgent, AdminApiClient, AgentDirectory, AgentMapStore, RequestContext } from '../../core/ports.js';
import { isInTeam } from '../../core/team-ref.js';

/** What the map reads of each agent (`GET /agents?fields=…`). */
export const AGENT_MAP_FIELDS = ['agentId', 'userID', 'userName', 'isActive', 'teamId', 'teamUuId'] as const;

export interface AgentMapOptions {
  readonly adminApi: Pick<AdminApiClient, 'listAllAgents'>;
  readonly store: AgentMapStore;
  /** Told after each refresh: how many agents it brought, how many requests it took, and whether it was a full load. */
  readonly onRefresh?: (refresh: AgentMapRefresh) => void;
}

export interface AgentMapRefresh {
  readonly full: boolean;
  readonly agents: number;
  readonly requests: number;
}

export interface AgentMap extends AgentDirectory {
  /** Loads the map from the store now (else it is loaded at its first use). */
  load(): Promise<void>;
  /** Agents in the map. */
  readonly size: number;
}

export function createAgentMap(options: AgentMapOptions): AgentMap {
  const { adminApi, store } = options;
  const byId = new Map<number, AdminAgent>();
  /** userID (lower case) → agentId. */
  const byUserId = new Map<string, number>();
  /** userName (lower case) → agentId. */
  const byUserName = new Map<string, number>();
  let lastPollTime: string | undefined;
  let loading: Promise<void> | undefined;
  let inFlight: Promise<void> | undefined;

  function put(agent: AdminAgent): void {
    const earlier = byId.get(agent.agentId);
    if (earlier !== undefined) {
      unindex(byUserId, earlier.userId, agent.agentId);
      unindex(byUserName, earlier.userName, agent.agentId);
    }
    byId.set(agent.agentId, agent);
    if (agent.userId !== undefined && agent.userId !== '') byUserId.set(agent.userId.toLowerCase(), agent.agentId);
    if (agent.userName !== undefined && agent.userName !== '') byUserName.set(agent.userName.toLowerCase(), agent.agentId);
  }

  function load(): Promise<void> {
    loading ??= (async () => {
      const kept = await store.load();
      for (const agent of kept.agents) put(agent);
      lastPollTime = kept.lastPollTime;
    })().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  }

  async function runRefresh(stats: RequestContext['stats']): Promise<void> {
    await load();
    const full = lastPollTime === undefined;
    // No signal: the refresh is shared by every caller waiting for it, and one caller's
    // deadline must not fail the others'. Each caller waits with its own signal.
    const ctx: RequestContext = { stats };
    const before = stats.upstreamRequests;
    const answer = await adminApi.listAllAgents({ fields: AGENT_MAP_FIELDS, ...(full ? {} : { updateSince: lastPollTime }) }, ctx);
    // An empty answer (204) carries no lastPollTime: ask from the same time next time.
    const nextPoll = answer.lastPollTime ?? lastPollTime;
    await store.save(answer.agents, nextPoll);
    for (const agent of answer.agents) put(agent);
    lastPollTime = nextPoll;
    options.onRefresh?.({ full, agents: answer.agents.length, requests: stats.upstreamRequests - before });
  }

  /** Refreshes, or joins the refresh in flight. */
  async function refresh(ctx: RequestContext): Promise<void> {
    inFlight ??= runRefresh(ctx.stats).finally(() => {
      inFlight = undefined;
    });
    await waitFor(inFlight, ctx.signal);
  }

  /** Loads the map, paging every agent first when it was never loaded from the admin API; true when it refreshed. */
  async function ready(ctx: RequestContext): Promise<boolean> {
    await waitFor(load(), ctx.signal);
    if (lastPollTime !== undefined) return false;
    await refresh(ctx);
    return true;
  }

  function lookup(value: string): AdminAgent | undefined {
    const key = value.toLowerCase();
    const id = byUserId.get(key) ?? byUserName.get(key);
    return id === undefined ? undefined : byId.get(id);
  }

  return {
    load,

    get size() {
      return byId.size;
    },

    async resolve(values, ctx) {
      const fresh = await ready(ctx);
      const found = new Map<string, AdminAgent>();
      const missing: string[] = [];
      for (const value of values) {
        const agent = lookup(value);
        if (agent === undefined) missing.push(value);
        else found.set(value, agent);
      }
      if (missing.length > 0 && !fresh) {
        await refresh(ctx);
        for (const value of values) {
          // Matched again after the refresh: an agent may have changed (its userName, its team).
          const agent = lookup(value);
          if (agent !== undefined) found.set(value, agent);
        }
      }
      return found;
    },

    async byAgentIds(agentIds, ctx) {
      const fresh = await ready(ctx);
      if (!fresh && agentIds.some((id) => !byId.has(id))) await refresh(ctx);
      const found = new Map<number, AdminAgent>();
      for (const id of agentIds) {
        const agent = byId.get(id);
        if (agent !== undefined) found.set(id, agent);
      }
      return found;
    },

    async inTeam(team, ctx) {
      if (!(await ready(ctx))) await refresh(ctx);
      const agents: AdminAgent[] = [];
      for (const agent of byId.values()) if (isInTeam(agent, team)) agents.push(agent);
      return agents;
    },

    async refresh(ctx) {
      if (!(await ready(ctx))) await refresh(ctx);
    },
  };
}

function unindex(index: Map<string, number>, key: string | undefined, agentId: number): void {
  if (key === undefined) return;
  const lower = key.toLowerCase();
  if (index.get(lower) === agentId) index.delete(lower);
}

/** Waits for a shared promise, giving up (for this caller only) when its signal aborts. */
function waitFor<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
