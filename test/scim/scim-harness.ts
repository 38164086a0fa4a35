/**
 * The SCIM front door against the embedded simulator, under each membership backend:
 * scim-groups (the simulator serves SCIM /Groups), acd-groups (SCIM /Groups off, as CXone
 * is published; groups are ACD groups of the admin API, passed in as the acd-groups tests
 * do) or teams (the same rig with the service's agent map; groups are CXone teams, by either
 * id, the fallback team the seed's Default Team). `members(id)` reads the upstream state straight from the simulator.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { onTestFinished } from 'vitest';
import { createPrometheusMetrics } from '../../src/adapters/metrics/prometheus-metrics.js';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { composeApp, type AppPorts } from '../../src/composition/app.js';
import { loadConfig } from '../../src/config.js';
import { createAgentMap } from '../../src/composition/agent-map.js';
import { createTeamsBackend } from '../../src/composition/teams.js';
import type { AuditRecord, DomainEvent } from '../../src/core/audit.js';
import type { SyncedGroups } from '../../src/core/ports.js';
import { seedIds, type Simulator } from '../../src/simulator/simulator.js';
import { startRig } from '../acd-groups/acd-harness.js';
import { MemoryAgentMapStore } from '../fakes/memory-agent-map-store.js';
import { TOKENS } from '../helpers/build-test-app.js';
import { buildSimulatorApp } from '../helpers/simulator-app.js';

export type BackendUnderTest = 'scim-groups' | 'acd-groups' | 'teams';

export const SCIM_TOKEN = 'okta-scim-token-000000001';

export interface ScimRig {
  readonly backend: BackendUnderTest;
  readonly app: FastifyInstance;
  readonly simulator: Simulator;
  /** Sends a SCIM request with the SCIM token. */
  call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  /** Sends a body byte for byte as given (a published request with its placeholders filled), with the SCIM token. */
  send(method: 'POST' | 'PUT' | 'PATCH', url: string, raw: string, contentType?: string): Promise<LightMyRequestResponse>;
  /** The user ids the group holds upstream, sorted. */
  members(id: string): string[];
  /** The group's name upstream. */
  displayName(id: string): string | undefined;
  /** The sync records of the audit trail, oldest first. */
  records(): AuditRecord[];
  /** The webhook events recorded with them (the outbox's input), oldest first. */
  events(): DomainEvent[];
  /** Upstream requests the simulator has seen since the last reset. */
  upstreamRequests(): number;
  resetStats(): void;
}

const ENV = { SYNC_API_TOKENS: `okta:${TOKENS.okta},entra:${TOKENS.entra}`, SCIM_API_TOKENS: `okta-scim:${SCIM_TOKEN}` };

function caller(app: FastifyInstance): ScimRig['call'] {
  return (method, url, body, headers = {}) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${SCIM_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }), ...headers },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
}

function sender(app: FastifyInstance): ScimRig['send'] {
  return (method, url, raw, contentType = 'application/scim+json') =>
    app.inject({ method, url, headers: { authorization: `Bearer ${SCIM_TOKEN}`, 'content-type': contentType }, payload: raw });
}

export async function startScimRig(backend: BackendUnderTest, env: Record<string, string> = {}, ports: Partial<AppPorts> = {}): Promise<ScimRig> {
  if (backend === 'scim-groups') {
    const s = await buildSimulatorApp({ env: { ...ENV, ...env }, ports });
    return {
      backend,
      app: s.app,
      simulator: s.simulator,
      call: caller(s.app),
      send: sender(s.app),
      members: (id) => (s.simulator.store.getGroup(id)?.members ?? []).map((m) => m.value).toSorted(),
      displayName: (id) => s.simulator.store.getGroup(id)?.displayName,
      records: () => [...s.audit.records],
      events: () => [...s.audit.events],
      upstreamRequests: () => s.simulator.stats.total,
      resetStats: () => s.simulator.stats.reset(),
    };
  }
  const rig = await startRig();
  const fallbackTeamId = seedIds.teams.defaultTeam;
  const config = loadConfig({ ...ENV, MEMBERSHIP_BACKEND: backend, ...(backend === 'teams' ? { TEAMS_FALLBACK_TEAM_ID: String(fallbackTeamId) } : {}), ...env });
  const metrics = createPrometheusMetrics();
  const audit = rig.audit as MemoryAuditLog;
  // As the stores answer it: a group with an applied or unchanged sync in the audit trail.
  const syncedGroups: SyncedGroups = {
    synced: async (_backend, ids) => new Set(ids.filter((id) => audit.records.some((r) => r.groupId === id && (r.status === 'applied' || r.status === 'unchanged')))),
  };
  const backendObject =
    backend === 'teams'
      ? createTeamsBackend({ agents: createAgentMap(rig.connection.adminApi, new MemoryAgentMapStore()), adminApi: rig.connection.adminApi, journal: rig.journal, syncedGroups, fallbackTeamId, clock: rig.clock })
      : rig.deps.backend;
  const app = await composeApp({ config, ports: { directory: rig.connection, backend: async () => backendObject as NonNullable<typeof backendObject>, audit, metrics, clock: rig.clock, ...ports } });
  onTestFinished(() => app.close());
  rig.simulator.stats.reset();
  const team = (id: string) => rig.simulator.directory.listTeams().find((t) => String(t.teamId) === id || t.teamUuId.toLowerCase() === id.toLowerCase());
  return {
    backend,
    app,
    simulator: rig.simulator,
    call: caller(app),
    send: sender(app),
    members: (id) => {
      if (backend === 'teams') {
        const found = team(id);
        return found === undefined ? [] : rig.simulator.directory.teamAgents(found.teamId).map((agent) => agent.userID).toSorted();
      }
      return rig
        .members(Number(id))
        .map((agentId) => rig.simulator.directory.getAgent(agentId)?.userID ?? String(agentId))
        .toSorted();
    },
    displayName: (id) => (backend === 'teams' ? team(id)?.teamName : rig.simulator.directory.getGroup(Number(id))?.groupName),
    records: () => [...audit.records],
    events: () => [...audit.events],
    upstreamRequests: () => rig.simulator.stats.total,
    resetStats: () => rig.simulator.stats.reset(),
  };
}
