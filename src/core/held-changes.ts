/**
 * Held changes: where an IdP cannot add `allowMassRemoval` (the SCIM front door), a change
 * the mass-removal guard refuses is held for an administrator, as Entra's accidental-deletion
 * threshold stages deletions for approval. The IdP is answered the SCIM form of the 409 and
 * retries; once an administrator approves the change (POST /guard/held/{id}/approve), its next
 * retry of the same change goes through, once. A rejected change keeps being refused.
 *
 * A held change waits HELD_CHANGE_TTL for a decision, and an approval as long for its retry;
 * then it expires: it can no longer be decided (held_change_expired), and the IdP's next
 * retry of the same change is held afresh, under a new id.
 *
 * Every change of state (held, approved, rejected, expired) is one transaction with its audit
 * record and its event (group.change.held, .approved, .rejected, .expired: the outbox).
 * Expiry runs on the injected clock: before every hold, decision and listing, and in the
 * background with the quarantine prober (one replica at a time).
 *
 * The contract for the front door: on a RemovalGuardError, call holdOrPass with the group,
 * the desired members it was asked for, the guard's numbers and the caller; `approved` → run
 * the sync again with allowMassRemoval; `held` / `rejected` → answer the 409 naming the id.
 */
import type { DomainEvent, EventType, QuarantineChange } from './audit.js';
import { canonicalSha256 } from './canonical-json.js';
import type { Clock, HeldChange, HeldChangeStore, HoldDecision, QuarantineNote } from './ports.js';

export interface HeldChangeDeps {
  readonly store: HeldChangeStore;
  readonly clock: Clock;
  /** Ids of held changes and of their audit records. */
  readonly newId: () => string;
  /** Ids of their events (the webhook-id). Default: newId. */
  readonly newEventId?: () => string;
  /** HELD_CHANGE_TTL in ms. */
  readonly ttlMs: number;
}

/** The actor of the records of expiries. */
export const EXPIRY_ACTOR = 'held-change-expiry';

/** The change as the IdP sends it again: the group and its desired members by type and value, in any order. */
export function changeFingerprint(groupId: string, members: readonly { readonly value: string; readonly type?: string }[]): string {
  const keys = [...new Set(members.map((m) => `${m.type ?? ''}\u0000${m.value}`))].toSorted();
  return canonicalSha256({ groupId, members: keys });
}

const iso = (ms: number) => new Date(ms).toISOString();

/** When a change expires: a held one HELD_CHANGE_TTL after it was held, an approved one as long after its approval; null once it cannot. */
export function expiresAt(change: HeldChange, ttlMs: number): string | null {
  if (change.state === 'held') return iso(Date.parse(change.createdAt) + ttlMs);
  if (change.state === 'approved' && change.decidedAt !== null) return iso(Date.parse(change.decidedAt) + ttlMs);
  return null;
}

/** A held change as GET /guard/held and the decisions answer it: with when it expires. */
export function describeHeld(change: HeldChange, ttlMs: number): HeldChange & { readonly expiresAt: string | null } {
  return { ...change, expiresAt: expiresAt(change, ttlMs) };
}

function note(deps: HeldChangeDeps, change: HeldChange, how: { status: QuarantineChange; event: EventType; actor: string; requestId: string; at: string; reason: string; data?: Record<string, unknown> }): QuarantineNote {
  const event: DomainEvent = {
    id: (deps.newEventId ?? deps.newId)(),
    type: how.event,
    timestamp: how.at,
    data: { heldChangeId: change.id, groupId: change.groupId, askedBy: change.actor, removing: change.removing, of: change.of, ...how.data },
  };
  return { entry: { syncId: deps.newId(), requestId: how.requestId, actor: how.actor, groupId: change.groupId, status: how.status, reason: how.reason, createdAt: how.at }, events: [event] };
}

const numbers = (change: HeldChange) => `removing ${change.removing} of ${change.of} members, asked by ${change.actor}`;

/**
 * Expires the changes whose time ran out at the clock's now: each one's held_change_expired
 * record and group.change.expired event in the same transaction. Answers them.
 */
export async function expireHeld(deps: HeldChangeDeps): Promise<readonly HeldChange[]> {
  const now = deps.clock.now();
  const at = iso(now);
  return deps.store.expire(iso(now - deps.ttlMs), at, (change) =>
    note(deps, change, {
      status: 'held_change_expired',
      event: 'group.change.expired',
      actor: EXPIRY_ACTOR,
      requestId: `expiry-${change.id}`,
      at,
      reason: `held change ${change.id} (${numbers(change)}) expired ${change.state === 'approved' ? 'approved but not used' : 'undecided'} after HELD_CHANGE_TTL`,
      data: { was: change.state, expiredAt: at },
    }),
  );
}

/**
 * Holds the guarded change, or lets it through when an administrator approved it: answers
 * `{ kind: 'approved', id }` (go ahead, with allowMassRemoval; the approval is used up) or
 * `{ kind: 'held' | 'rejected', id, created }`. A change held now is recorded
 * (held_change_created, actor: the caller) with group.change.held, in its transaction.
 * Expired changes are expired first, so that a retry of one is held afresh.
 */
export async function holdOrPass(
  deps: HeldChangeDeps,
  groupId: string,
  change: { readonly members: readonly { readonly value: string; readonly type?: string }[]; readonly removing: number; readonly of: number },
  actor: string,
  requestId = 'scim',
): Promise<HoldDecision> {
  await expireHeld(deps);
  const createdAt = iso(deps.clock.now());
  const held = { id: deps.newId(), groupId, actor, fingerprint: changeFingerprint(groupId, change.members), removing: change.removing, of: change.of, createdAt };
  const asHeld: HeldChange = { ...held, state: 'held', decidedAt: null, decidedBy: null, expiredAt: null };
  return deps.store.holdOrPass(
    held,
    note(deps, asHeld, {
      status: 'held_change_created',
      event: 'group.change.held',
      actor,
      requestId,
      at: createdAt,
      reason: `held change ${held.id} (${numbers(asHeld)}) held for an administrator: the mass-removal guard refused it`,
      data: { expiresAt: expiresAt(asHeld, deps.ttlMs) },
    }),
  );
}

/** What an administrator's decision came to. */
export type DecisionOutcome =
  | { readonly kind: 'decided'; readonly change: HeldChange }
  | { readonly kind: 'not_found' }
  | { readonly kind: 'expired'; readonly change: HeldChange }
  | { readonly kind: 'decided_already'; readonly change: HeldChange };

/**
 * An administrator approves or rejects a held change: recorded (held_change_approved or
 * held_change_rejected, actor: the administrator) with group.change.approved or
 * .rejected, in the decision's transaction. A change whose time ran out is expired first,
 * and answers `expired`.
 */
export async function decideHeld(deps: HeldChangeDeps, id: string, decision: 'approved' | 'rejected', by: { readonly actor: string; readonly requestId: string }): Promise<DecisionOutcome> {
  await expireHeld(deps);
  const before = await deps.store.getHeld(id);
  if (!before) return { kind: 'not_found' };
  if (before.state === 'expired') return { kind: 'expired', change: before };
  if (before.state !== 'held') return { kind: 'decided_already', change: before };
  const at = iso(deps.clock.now());
  const decided: HeldChange = { ...before, state: decision, decidedAt: at, decidedBy: by.actor };
  const after = await deps.store.decide(
    id,
    decision,
    by.actor,
    at,
    note(deps, before, {
      status: decision === 'approved' ? 'held_change_approved' : 'held_change_rejected',
      event: decision === 'approved' ? 'group.change.approved' : 'group.change.rejected',
      actor: by.actor,
      requestId: by.requestId,
      at,
      reason: `held change ${id} (${numbers(before)}) ${decision} by ${by.actor}`,
      data: { by: by.actor, ...(decision === 'approved' ? { expiresAt: expiresAt(decided, deps.ttlMs) } : {}) },
    }),
  );
  if (!after) return { kind: 'not_found' };
  if (after.state !== decision || after.decidedBy !== by.actor || after.decidedAt !== at) return after.state === 'expired' ? { kind: 'expired', change: after } : { kind: 'decided_already', change: after };
  return { kind: 'decided', change: after };
}
