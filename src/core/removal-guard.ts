/**
 * The mass-removal guard: a sync that would remove more than REMOVAL_GUARD_PERCENT of a
 * group's members, and more than REMOVAL_GUARD_MIN of them, is refused unless the caller
 * says so explicitly (`allowMassRemoval`). Emptying a non-empty group is always guarded: a
 * failed or empty read of the source must never become "remove everyone". A request that
 * names each member it removes (a delta: an identity provider removing the last member of a
 * group by name) is no such read: for it only the two limits count. Pure: it judges a plan
 * against the group as read, whichever backend planned it.
 */
import type { MembershipPlan } from './membership.js';

export interface RemovalGuardLimits {
  /** Percentage of the group's current members (0–100) a sync must remove more than. */
  readonly percent: number;
  /** Number of members a sync must remove more than. */
  readonly min: number;
}

export interface RemovalGuardVerdict {
  /** Whether the plan would be refused without allowMassRemoval. */
  readonly wouldTrip: boolean;
  /** Members the plan removes. */
  readonly removing: number;
  /** Members the group holds now. */
  readonly of: number;
  /** removing / of, as a percentage rounded to one decimal (0 for an empty group). */
  readonly percent: number;
  /** The plan empties a group that has members. */
  readonly emptying: boolean;
}

/**
 * Judges a plan: the members it removes against those the group holds now (each once).
 * `named`: the request named each member it removes (a delta), so emptying alone does not trip.
 */
export function judgeRemovals(limits: RemovalGuardLimits, plan: MembershipPlan, { named = false }: { readonly named?: boolean } = {}): RemovalGuardVerdict {
  const removing = plan.removed.length;
  // The group's distinct members now: those the plan removes and those it keeps.
  const of = removing + plan.unchangedCount;
  const percent = of === 0 ? 0 : Math.round((removing * 1000) / of) / 10;
  const emptying = !named && of > 0 && removing === of && plan.added.length === 0;
  const overBoth = removing > limits.min && removing * 100 > limits.percent * of;
  return { wouldTrip: emptying || overBoth, removing, of, percent, emptying };
}
