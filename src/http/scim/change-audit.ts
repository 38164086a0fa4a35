/**
 * The audit records of what the SCIM front door changes outside a sync
 * (FrontDoorAuditEntry in ../../core/audit.ts): a group created, a group's externalId, the
 * users written through /Users. Each write is recorded once, applied or failed, in the
 * same chain as the syncs; an applied write whose record cannot be appended is answered
 * 503 audit_unavailable (as a sync is: nothing is answered as done before it is recorded).
 */
import type { FrontDoorAuditEntry } from '../../core/audit.js';
import { AuditUnavailableError } from '../../core/errors.js';
import type { ChangeAudit, Clock } from '../../core/ports.js';
import { toHttpError } from '../plugins/error-handler.js';
import { ScimHttpError } from './errors.js';

/** What a record says besides who asked, when, and how it ended. */
export type ChangeNote = Omit<FrontDoorAuditEntry, 'syncId' | 'requestId' | 'actor' | 'createdAt' | 'outcome' | 'error'>;

export interface ChangeAsker {
  readonly actor: string;
  readonly requestId: string;
}

export interface ChangeRecorder {
  /**
   * Runs `work` (one write) and appends its record: `note` is given the written value, or
   * undefined when the write failed (the record then says failed, with the code answered).
   */
  audited<T>(who: ChangeAsker, note: (value: T | undefined) => ChangeNote, work: () => Promise<T>): Promise<T>;
}

/** The code a failed write is answered with: the service's, else the SCIM status and scimType. */
function codeOf(error: unknown): string {
  if (error instanceof ScimHttpError) return error.scimType ?? `http_${error.status}`;
  return toHttpError(error).body.error;
}

export function createChangeRecorder(deps: { readonly audit: ChangeAudit; readonly clock: Clock; readonly newId: () => string }): ChangeRecorder {
  const append = (who: ChangeAsker, note: ChangeNote, error: unknown) =>
    deps.audit.appendChange({
      syncId: deps.newId(),
      requestId: who.requestId,
      actor: who.actor,
      ...note,
      attributes: [...new Set(note.attributes)].toSorted(),
      outcome: error === undefined ? 'applied' : 'failed',
      ...(error === undefined ? {} : { error: codeOf(error) }),
      createdAt: new Date(deps.clock.now()).toISOString(),
    });
  return {
    async audited(who, note, work) {
      let value;
      try {
        value = await work();
      } catch (error) {
        // The request is answered with its own error whether or not the record could be kept.
        await append(who, note(undefined), error).catch(() => {});
        throw error;
      }
      try {
        await append(who, note(value), undefined);
      } catch (error) {
        throw new AuditUnavailableError('the change was made, but its audit record could not be written; the trail is unavailable: retry later', { cause: error });
      }
      return value;
    },
  };
}

/** Without an audit trail that takes these records (tools, some tests): the write alone. */
export const UNRECORDED: ChangeRecorder = { audited: (_who, _note, work) => work() };
