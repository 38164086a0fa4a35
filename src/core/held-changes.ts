/**
 * Held changes: where an IdP cannot add `allowMassRemoval` (the SCIM front door), a change
 * the mass-removal guard refuses is held for an administrator, as Entra's accidental-deletion
 * threshold stages deletions for approval. The IdP is answered the SCIM form of the 409 and
 * retries; once an administrator approves the change (POST /guard/held/{id}/approve), its next
 * retry of the same change goes through, once. A rejected change keeps being refused.
 *
 * The contract for the front door: on a RemovalGuardError, call holdOrPass with the group,
 * the desired members it was asked for, the guard's numbers and the caller; `approved` → run
 * the sync again with allowMassRemoval; `held` / `rejected` → answer the 409 naming the id.
 */
import { canonicalSha256 } from './canonical-json.js';
import type { Clock, HeldChangeStore, HoldDecision } from './ports.js';

export interface HeldChangeDeps {
  readonly store: HeldChangeStore;
  readonly clock: Clock;
  readonly newId: () => string;
}

/** The change as the IdP sends it again: the group and its desired members by type and value, in any order. */
export function changeFingerprint(groupId: string, members: readonly { readonly value: string; readonly type?: string }[]): string {
  const keys = [...new Set(members.map((m) => `${m.type ?? ''}\u0000${m.value}`))].toSorted();
  return canonicalSha256({ groupId, members: keys });
}

/**
 * Holds the guarded change, or lets it through when an administrator approved it: answers
 * `{ kind: 'approved', id }` (go ahead, with allowMassRemoval; the approval is used up) or
 * `{ kind: 'held' | 'rejected', id, created }`.
 */
export async function holdOrPass(
  deps: HeldChangeDeps,
  groupId: string,
  change: { readonly members: readonly { readonly value: string; readonly type?: string }[]; readonly removing: number; readonly of: number },
  actor: string,
): Promise<HoldDecision> {
  return deps.store.holdOrPass({
    id: deps.newId(),
    groupId,
    actor,
    fingerprint: changeFingerprint(groupId, change.members),
    removing: change.removing,
    of: change.of,
    createdAt: new Date(deps.clock.now()).toISOString(),
  });
}
