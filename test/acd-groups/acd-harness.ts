/**
 * The acd-groups backend end to end against the embedded simulator as CXone is published
 * (SCIM /Groups off): the real CXone connection (sign-in, admin-API client) over loopback,
 * the agent map in memory (test/fakes, loaded from GET /agents), the journal in the SQLite
 * store or in memory, and the use case (syncGroup) with the backend passed in.
 */
import { onTestFinished } from 'vitest';
import { createCxoneConnection, type CxoneConnection } from '../../src/adapters/cxone/index.js';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { openSqliteStore, type SqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { createAcdGroupsBackend } from '../../src/core/acd-groups-backend.js';
import { KeyedLock } from '../../src/core/keyed-lock.js';
import type { DesiredMember } from '../../src/core/membership.js';
import type { AuditTrail, MembershipJournal } from '../../src/core/ports.js';
import { syncGroup, type SyncGroupDeps } from '../../src/core/sync-group.js';
import type { SyncResult } from '../../src/core/sync-request.js';
import { toHttpError } from '../../src/http/plugins/error-handler.js';
import { createSimulator, type CxoneBehaviours, type FaultsInput, type Simulator } from '../../src/simulator/simulator.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { InMemoryAgentDirectory } from '../fakes/in-memory-agent-directory.js';
import { InMemoryJournal } from '../fakes/in-memory-journal.js';
import { RecordingMetrics } from '../fakes/recording-metrics.js';
import { tempDir } from '../helpers/temp-dir.js';

export const CLIENT = { clientId: 'sync', clientSecret: 'sync-secret-value' };

export interface AcdRig {
  simulator: Simulator;
  connection: CxoneConnection;
  agents: InMemoryAgentDirectory;
  journal: MembershipJournal;
  audit: AuditTrail;
  store: SqliteStore | null;
  clock: FakeClock;
  deps: SyncGroupDeps;
  /** One sync; answers the HTTP status and body the service would send, and the result when 200. */
  sync(groupId: number, members: readonly DesiredMember[]): Promise<{ status: number; body: Record<string, unknown>; result?: SyncResult }>;
  /** The group's agent ids as the simulator holds them. */
  members(groupId: number): number[];
  /** Admin-API requests the simulator has seen since the last reset. */
  adminRequests(): number;
}

export interface RigOptions {
  behaviours?: Partial<CxoneBehaviours>;
  faults?: FaultsInput;
  batchSize?: number;
  /** A SQLite store under this directory (default: in-memory journal and audit). */
  dataDir?: string | true;
  /** Wraps the journal (to cut a sync off at a step). */
  wrapJournal?: (journal: MembershipJournal) => MembershipJournal;
  simulator?: Simulator;
}

export async function startRig(options: RigOptions = {}): Promise<AcdRig> {
  const clock = new FakeClock(Date.now());
  const ownSimulator = options.simulator === undefined;
  const simulator = options.simulator ?? createSimulator({ scimGroups: false, clients: [CLIENT], behaviours: options.behaviours, now: () => clock.now() });
  const url = ownSimulator ? await simulator.listen({ port: 0 }) : simulator.url;
  const connection = createCxoneConnection({ auth: 'client_credentials', baseUrl: url, ...CLIENT, clock, random: () => 0.5 });
  const agents = await InMemoryAgentDirectory.fromAdminApi(connection.adminApi);
  const store = options.dataDir ? openSqliteStore({ dataDir: options.dataDir === true ? tempDir() : options.dataDir }) : null;
  const baseJournal = store ? store.journal : new InMemoryJournal();
  const journal = options.wrapJournal ? options.wrapJournal(baseJournal) : baseJournal;
  const audit: AuditTrail = store ?? new MemoryAuditLog();
  onTestFinished(async () => {
    store?.close();
    await connection.close();
    if (ownSimulator) await simulator.close();
  });
  let n = 0;
  const newSyncId = () => `sync-${String(++n).padStart(5, '0')}-${Math.random().toString(36).slice(2, 8)}`;
  const newEventId = () => `evt-${n}-${Math.random().toString(36).slice(2, 8)}`;
  const backend = createAcdGroupsBackend({ adminApi: connection.adminApi, agents, journal, clock, batchSize: options.batchSize, audit, newSyncId, newEventId });
  const deps: SyncGroupDeps = {
    directory: connection,
    backend,
    clock,
    locks: new KeyedLock(),
    audit,
    metrics: new RecordingMetrics(),
    newSyncId,
    newEventId,
    maxDepth: 3,
    maxConflictRetries: 3,
    writeMode: 'put',
    patchMaxOperations: 100,
    attributes: { entitlementMap: {}, concurrency: 4 },
  };
  if (options.faults) simulator.setFaults(options.faults);
  simulator.stats.reset();
  return {
    simulator,
    connection,
    agents,
    journal,
    audit,
    store,
    clock,
    deps,
    async sync(groupId, members) {
      try {
        const result = await syncGroup(deps, { groupId: String(groupId), desired: { members }, dryRun: false, actor: 'okta', requestId: `r${n}` });
        return { status: 200, body: { ...result }, result };
      } catch (error) {
        const http = toHttpError(error);
        return { status: http.status, body: http.body };
      }
    },
    members: (groupId) => [...(simulator.directory.getGroup(groupId)?.agentIds ?? [])].toSorted((a, b) => a - b),
    adminRequests: () =>
      Object.entries(simulator.stats.byRoute)
        .filter(([key]) => key.includes('admin/'))
        .reduce((sum, [, count]) => sum + count, 0),
  };
}
