/**
 * The `teams` membership backend (CXone teams through the admin API) from its ports and
 * settings: the agent map (./agent-map.ts, one per process), the admin API, the write
 * journal and the groups this service syncs (the store), TEAMS_FALLBACK_TEAM_ID and
 * TEAMS_MOVE_FROM_OTHER. The backend choice (MEMBERSHIP_BACKEND) passes it to the sync
 * runner as `SyncGroupDeps.backend`.
 */
import { v7 as uuidv7 } from 'uuid';
import { systemClock } from '../core/clock.js';
import type { AdminApiClient, AgentDirectory, AuditLog, Clock, MembershipBackend, MembershipJournal, SyncedGroups } from '../core/ports.js';
import { createTeamsBackend as createBackend } from '../core/teams-backend.js';

export interface TeamsBackendWiring {
  readonly agents: AgentDirectory;
  readonly adminApi: AdminApiClient;
  readonly journal: MembershipJournal;
  readonly syncedGroups: SyncedGroups;
  /** TEAMS_FALLBACK_TEAM_ID (required in this mode). */
  readonly fallbackTeamId: number;
  /** TEAMS_MOVE_FROM_OTHER. Default false. */
  readonly moveFromOther?: boolean;
  /** Agents per PUT /agents. Default 1,000. */
  readonly batchSize?: number;
  readonly clock?: Clock;
  /** Where a write a crash left open is recorded once it is finished (the store). */
  readonly audit?: AuditLog;
}

export function createTeamsBackend(wiring: TeamsBackendWiring): MembershipBackend {
  return createBackend({
    agents: wiring.agents,
    adminApi: wiring.adminApi,
    journal: wiring.journal,
    syncedGroups: wiring.syncedGroups,
    clock: wiring.clock ?? systemClock,
    fallbackTeamId: wiring.fallbackTeamId,
    moveFromOther: wiring.moveFromOther ?? false,
    batchSize: wiring.batchSize,
    audit: wiring.audit,
    newSyncId: () => uuidv7(),
    newEventId: () => `msg_${uuidv7()}`,
  });
}
