/**
 * The course of a journaled admin-API write, as the `acd-groups` and `teams` backends run it
 * once their journal entry is open (MembershipJournal): the steps in order (removals before
 * additions: a failure never leaves someone with access they should have lost), each
 * journaled by the backend before it is sent and after it answered; the write stops after
 * the first step that fails or throws. Any step failed: what this sync wrote is undone (the
 * backend's undo, which verifies itself and throws RollbackFailedError, the entry left
 * open, when it cannot), the entry closed, and the sync fails naming each failed member
 * (AgentWriteFailedError), or with the error a step threw. Otherwise the entry moves to
 * `verifying`, the backend reads the result back, and the entry is closed: a result that
 * does not hold is undone first when the backend asks for it, and fails the sync.
 *
 * Pure: the journal, the steps, the undo and the read-back are the backend's.
 */
import { AgentWriteFailedError, type AgentFailure } from './errors.js';
import type { MembershipJournal } from './ports.js';

/** What one step of the write did: the agents it failed for; `thrown`, the error that stopped it (the step was not applied). */
export interface WriteStepResult {
  readonly failed: readonly AgentFailure[];
  readonly thrown?: unknown;
}

/** The result read back after the write. */
export type WriteVerdict =
  | { readonly kind: 'held' }
  /** Every agent written is as written, but others changed: another writer got in. */
  | { readonly kind: 'overtaken' }
  /** The result does not hold what was written: `error` is the sync's answer, after the undo when `undo`. */
  | { readonly kind: 'wrong'; readonly undo: boolean; readonly error: () => Error };

export interface JournaledWrite {
  readonly journal: Pick<MembershipJournal, 'setPhase' | 'close'>;
  /** The entry's key: it is open when the write starts. */
  readonly syncId: string;
  /** The steps, in order; each journals itself. An error one throws (rather than answers as `thrown`) ends the write as it is, the entry open. */
  readonly steps: Iterable<() => Promise<WriteStepResult>>;
  /** Undoes what this sync wrote and verifies it; throws RollbackFailedError (the entry left open) when it cannot. */
  undo(failures: readonly AgentFailure[], thrown: unknown): Promise<void>;
  /** Reads the result back (the entry is `verifying`). */
  verify(): Promise<WriteVerdict>;
}

/** Runs the write to its end: `held` or `overtaken`, the entry closed; throws when a step failed or the result does not hold. */
export async function runJournaledWrite(write: JournaledWrite): Promise<'held' | 'overtaken'> {
  const { journal, syncId } = write;
  const failed: AgentFailure[] = [];
  let thrown: unknown;
  for (const step of write.steps) {
    const result = await step();
    failed.push(...result.failed);
    if ('thrown' in result) {
      thrown = result.thrown;
      break;
    }
    if (failed.length > 0) break;
  }
  if (failed.length > 0 || thrown !== undefined) {
    await write.undo(failed, thrown);
    await journal.close(syncId);
    if (thrown !== undefined) throw thrown;
    throw new AgentWriteFailedError(failed);
  }

  await journal.setPhase(syncId, 'verifying');
  const verdict = await write.verify();
  if (verdict.kind === 'wrong' && verdict.undo) await write.undo([], undefined);
  await journal.close(syncId);
  if (verdict.kind === 'wrong') throw verdict.error();
  return verdict.kind;
}
