/**
 * The journaled writes of the `acd-groups` backend (./acd-groups-backend.ts) and of the
 * recovery of interrupted ones (./journal-recovery.ts): agents removed from and added to
 * an ACD group in batches, each batch recorded in the journal before it is sent, each
 * agent's answer read; an answer that is lost, or that does not mention an agent, is read
 * back from the group rather than assumed either way. And the undo: the agents a write
 * touched put back as they were read.
 */
import { OutcomeUnknownError } from './errors.js';
import type { AdminApiClient, BatchOutcome, MembershipJournal, RequestContext } from './ports.js';

/** Agents per batch write at most (CXone's admin API takes up to 1,000). */
export const ACD_MAX_BATCH = 1000;
/** Agents per page of a group's agents (`top`). */
export const ACD_PAGE_SIZE = 1000;

export interface AcdWriteDeps {
  readonly adminApi: AdminApiClient;
  readonly journal: MembershipJournal;
  /** Agents per batch (1..ACD_MAX_BATCH). */
  readonly batchSize: number;
}

export interface AgentRefusal {
  readonly agentId: number;
  readonly action: 'add' | 'remove';
  readonly error: string;
  /** The HTTP status of the answer that refused it; absent when no answer came (read back). */
  readonly status?: number;
}

export interface StepsResult {
  /** Agents whose change holds (answered done, or found done by a read-back). */
  readonly done: readonly number[];
  readonly failed: readonly AgentRefusal[];
}

/** The agent ids of an ACD group as read now; null when there is no such group. */
export async function groupAgentIds(adminApi: AdminApiClient, groupId: number, ctx: RequestContext): Promise<Set<number> | null> {
  const list = await adminApi.listGroupAgents(groupId, ctx);
  return list === null ? null : new Set(list.agents.map((a) => a.agentId));
}

/**
 * Sends `action` for `agentIds` in batches, each journaled before it is sent and its
 * answer recorded after. Agents the answer reports failed, does not mention, or whose
 * answer was lost (OutcomeUnknownError) are looked up in one read-back of the group: an
 * agent already as wanted is done (an "already a member" error included), any other is
 * failed with the provider's error. Another error of a batch fails its agents (the
 * admin API did not take it: a 4xx, or 429s beyond the retry budget). An aborted sync
 * (deadline, shutdown) stops here and leaves the step `unknown`, the entry open.
 */
export async function sendSteps(
  deps: AcdWriteDeps,
  syncId: string,
  groupId: number,
  action: 'add' | 'remove',
  agentIds: readonly number[],
  undo: boolean,
  ctx: RequestContext,
): Promise<StepsResult> {
  const done: number[] = [];
  const failed: AgentRefusal[] = [];
  for (let start = 0; start < agentIds.length; start += deps.batchSize) {
    const batch = agentIds.slice(start, start + deps.batchSize);
    const index = await deps.journal.begin(syncId, { action, agentIds: batch, undo });
    let outcome: BatchOutcome | null = null;
    let lost: string | null = null;
    try {
      outcome = action === 'add' ? await deps.adminApi.addGroupAgents(groupId, batch, ctx) : await deps.adminApi.removeGroupAgents(groupId, batch, ctx);
    } catch (error) {
      if (ctx.signal?.aborted) {
        await deps.journal.end(syncId, index, 'unknown');
        throw error;
      }
      if (error instanceof OutcomeUnknownError) {
        await deps.journal.end(syncId, index, 'unknown');
        lost = error.message;
      } else {
        const message = error instanceof Error ? error.message : String(error);
        const status = typeof (error as { status?: unknown }).status === 'number' ? ((error as { status: number }).status as number) : undefined;
        const refusals = batch.map((agentId) => ({ agentId, error: message }));
        await deps.journal.end(syncId, index, 'failed', refusals);
        failed.push(...refusals.map((r) => ({ ...r, action, ...(status === undefined ? {} : { status }) })));
        continue;
      }
    }
    const errors = new Map<number, string>();
    let unsure: number[];
    if (outcome === null) {
      unsure = batch;
    } else {
      done.push(...outcome.succeeded);
      for (const f of outcome.failed) errors.set(f.agentId, f.error);
      unsure = [...outcome.failed.map((f) => f.agentId), ...outcome.unreported];
    }
    const stepFailed: AgentRefusal[] = [];
    if (unsure.length > 0) {
      // Read back rather than assume: the group as it is now says which of them hold.
      const present = await groupAgentIds(deps.adminApi, groupId, ctx);
      for (const agentId of unsure) {
        const holds = present !== null && present.has(agentId) === (action === 'add');
        if (holds) done.push(agentId);
        else {
          const why = errors.get(agentId) ?? (lost !== null ? `the answer was lost (${lost}), and a read-back shows it not applied` : 'the answer did not mention this agent, and a read-back shows it not applied');
          stepFailed.push({ agentId, action, error: why, ...(errors.has(agentId) && outcome !== null ? { status: outcome.status } : {}) });
        }
      }
    }
    failed.push(...stepFailed);
    await deps.journal.end(
      syncId,
      index,
      stepFailed.length > 0 ? 'failed' : 'done',
      stepFailed.length > 0 ? stepFailed.map(({ agentId, error }) => ({ agentId, error })) : undefined,
    );
  }
  return { done, failed };
}

export interface RestoreResult {
  /** Every agent the write touched is as it was before it. */
  readonly restored: boolean;
  /** The undo steps that failed. */
  readonly failed: readonly AgentRefusal[];
  /** The group's agents as read after the undo (null: no such group any more). */
  readonly agentIds: ReadonlySet<number> | null;
}

/**
 * Undoes a write: the agents it touched (those in `before` or `target` but not in both)
 * are put back as they were in `before`, whatever of the write landed. Reads the group,
 * removes what was added (first: nobody keeps access they should not have), adds back
 * what was removed, each step journaled as an undo step, then reads the group again to
 * verify. Agents the write did not touch are left alone: another writer's changes stay.
 */
export async function restoreBefore(deps: AcdWriteDeps, syncId: string, groupId: number, before: ReadonlySet<number>, target: ReadonlySet<number>, ctx: RequestContext): Promise<RestoreResult> {
  await deps.journal.setPhase(syncId, 'undoing');
  const touched = touchedAgents(before, target);
  const now = await groupAgentIds(deps.adminApi, groupId, ctx);
  if (now === null) return { restored: false, failed: [], agentIds: null };
  const toRemove = touched.filter((a) => now.has(a) && !before.has(a));
  const toAdd = touched.filter((a) => !now.has(a) && before.has(a));
  const removed = await sendSteps(deps, syncId, groupId, 'remove', toRemove, true, ctx);
  const added = await sendSteps(deps, syncId, groupId, 'add', toAdd, true, ctx);
  const after = toRemove.length + toAdd.length === 0 ? now : await groupAgentIds(deps.adminApi, groupId, ctx);
  const restored = after !== null && touched.every((a) => after.has(a) === before.has(a));
  return { restored, failed: [...removed.failed, ...added.failed], agentIds: after };
}

/** The agents in one of the sets but not in both, in ascending order. */
export function touchedAgents(before: ReadonlySet<number>, target: ReadonlySet<number>): number[] {
  const touched = new Set<number>();
  for (const a of before) if (!target.has(a)) touched.add(a);
  for (const a of target) if (!before.has(a)) touched.add(a);
  return [...touched].toSorted((a, b) => a - b);
}

/**
 * The SCIM member an agent is reported as: its `userID` (the SCIM user id), else its
 * `userName`, else its agentId as a string (an agent the agent map does not know).
 */
export function agentMemberValue(agent: { readonly agentId: number; readonly userId?: string; readonly userName?: string }): string {
  return agent.userId ?? agent.userName ?? String(agent.agentId);
}
