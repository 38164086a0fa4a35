/**
 * The rows of the tables the CXone membership backends keep (agents, journal entries and
 * their steps), as both stores read them, and what they become. SQLite hands booleans back
 * as 0/1, PostgreSQL as booleans; JSON columns are text in both.
 */
import type { AdminAgent, JournalEntry, JournalStep } from '../../core/ports.js';

export interface AgentRow {
  agent_id: number;
  user_id: string | null;
  user_name: string | null;
  is_active: number | boolean | null;
  team_id: number | null;
  team_uuid: string | null;
}

export interface JournalEntryRow {
  sync_id: string;
  backend: string;
  group_id: string;
  before: string;
  target: string;
  phase: string;
  opened_at: string;
}

export interface JournalStepRow {
  sync_id: string;
  idx: number;
  action: string;
  agent_ids: string;
  team_id: number | null;
  team_uuid: string | null;
  undo: number | boolean;
  state: string;
  failed: string | null;
}

/** The meta key of the agent map's last refresh (`lastPollTime`). */
export const AGENT_MAP_POLL_KEY = 'agent_map_last_poll_time';

export function toAgent(row: AgentRow): AdminAgent {
  return {
    agentId: row.agent_id,
    ...(row.user_id === null ? {} : { userId: row.user_id }),
    ...(row.user_name === null ? {} : { userName: row.user_name }),
    ...(row.is_active === null ? {} : { isActive: row.is_active === true || row.is_active === 1 }),
    ...(row.team_id === null ? {} : { teamId: row.team_id }),
    ...(row.team_uuid === null || row.team_uuid === undefined ? {} : { teamUuId: row.team_uuid }),
  };
}

export function toStep(row: JournalStepRow): JournalStep {
  return {
    action: row.action as JournalStep['action'],
    agentIds: JSON.parse(row.agent_ids) as number[],
    ...(row.team_id === null ? {} : { teamId: row.team_id }),
    ...(row.team_uuid === null || row.team_uuid === undefined ? {} : { teamUuid: row.team_uuid }),
    undo: row.undo === true || row.undo === 1,
    state: row.state as JournalStep['state'],
    ...(row.failed === null ? {} : { failed: JSON.parse(row.failed) as JournalStep['failed'] }),
  };
}

export function toEntry(row: JournalEntryRow, steps: readonly JournalStep[]): JournalEntry {
  return {
    syncId: row.sync_id,
    backend: row.backend as JournalEntry['backend'],
    groupId: row.group_id,
    before: JSON.parse(row.before) as JournalEntry['before'],
    target: JSON.parse(row.target) as JournalEntry['target'],
    phase: row.phase as JournalEntry['phase'],
    steps,
    openedAt: row.opened_at,
  };
}
