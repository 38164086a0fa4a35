/**
 * A CXone team as the teams backend names it (TeamRef, ./ports.ts): the admin API's integer
 * `teamId`, or user-management's `id` (a string, a UUID in practice; agents carry it as
 * `teamUuId`). Nothing published maps one to the other except an agent that sits in the team.
 */
import type { AdminAgent, TeamRef } from './ports.js';

/** An integer team id as the sync route has always taken it. */
const INTEGER_ID = /^[1-9]\d{0,14}$/;
/** A user-management team id: letters, digits and dashes (a UUID in practice), never a path. */
const TEAM_UUID = /^[A-Za-z0-9-]{1,64}$/;

/** The team a group id names, or undefined when it can name none. */
export function teamRefOf(groupId: string): TeamRef | undefined {
  if (INTEGER_ID.test(groupId)) return Number(groupId);
  if (TEAM_UUID.test(groupId) && !/^\d+$/.test(groupId)) return groupId;
  return undefined;
}

/** Whether the agent sits in `team`: its integer `teamId`, or its `teamUuId` (without regard to case). */
export function isInTeam(agent: Pick<AdminAgent, 'teamId' | 'teamUuId'> | undefined, team: TeamRef): boolean {
  if (agent === undefined) return false;
  return typeof team === 'number' ? agent.teamId === team : agent.teamUuId !== undefined && agent.teamUuId.toLowerCase() === team.toLowerCase();
}

/** The same team? (user-management ids without regard to case). */
export function sameTeam(a: TeamRef | undefined, b: TeamRef): boolean {
  if (a === undefined) return false;
  return typeof a === 'number' || typeof b === 'number' ? a === b : a.toLowerCase() === b.toLowerCase();
}
