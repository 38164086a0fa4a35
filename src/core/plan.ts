/**
 * planMembership: the difference between what a group holds and what the caller wants.
 * Pure and linear in the size of both sets; identity is type + value (RFC 7643 §4.2).
 */
import { MemberSet, type MemberRef, type MembershipPlan } from './membership.js';

export function planMembership(current: readonly MemberRef[], desired: readonly MemberRef[]): MembershipPlan {
  const currentSet = new MemberSet(current);
  const desiredSet = new MemberSet();
  const added: MemberRef[] = [];
  const duplicates: MemberRef[] = [];
  let unchangedCount = 0;
  for (const member of desired) {
    if (!desiredSet.add(member)) {
      duplicates.push(member);
      continue;
    }
    if (currentSet.has(member)) unchangedCount++;
    else added.push(member);
  }

  const removed: MemberRef[] = [];
  const seenRemoved = new MemberSet();
  for (const member of current) {
    if (!desiredSet.has(member) && seenRemoved.add(member)) removed.push(member);
  }
  return { added, removed, unchangedCount, duplicates };
}

/** True when the plan changes no member. */
export function isEmptyPlan(plan: MembershipPlan): boolean {
  return plan.added.length === 0 && plan.removed.length === 0;
}

/**
 * How closely the group the upstream holds matches the desired set: the Jaccard index
 * |desired ∩ actual| / |desired ∪ actual|, 1.0 when both are equal (or both empty).
 */
export function consistencyRate(desired: readonly MemberRef[], actual: readonly MemberRef[]): number {
  const desiredSet = new MemberSet(desired);
  const actualSet = new MemberSet();
  let intersection = 0;
  for (const member of actual) if (actualSet.add(member) && desiredSet.has(member)) intersection++;
  const union = desiredSet.size + actualSet.size - intersection;
  return union === 0 ? 1 : intersection / union;
}
