/**
 * planMembership: the difference between what a group holds and what the caller wants.
 * Pure and linear in the size of both sets; identity is type + value (RFC 7643 §4.2).
 */
import { memberKey, type MemberRef, type MembershipPlan } from './membership.js';

export function planMembership(current: readonly MemberRef[], desired: readonly MemberRef[]): MembershipPlan {
  const currentKeys = new Set<string>();
  for (const member of current) currentKeys.add(memberKey(member));

  const desiredKeys = new Set<string>();
  const added: MemberRef[] = [];
  const duplicates: MemberRef[] = [];
  let unchangedCount = 0;
  for (const member of desired) {
    const key = memberKey(member);
    if (desiredKeys.has(key)) {
      duplicates.push(member);
      continue;
    }
    desiredKeys.add(key);
    if (currentKeys.has(key)) unchangedCount++;
    else added.push(member);
  }

  const removed: MemberRef[] = [];
  const seenRemoved = new Set<string>();
  for (const member of current) {
    const key = memberKey(member);
    if (!desiredKeys.has(key) && !seenRemoved.has(key)) {
      seenRemoved.add(key);
      removed.push(member);
    }
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
  const desiredKeys = new Set(desired.map(memberKey));
  const actualKeys = new Set(actual.map(memberKey));
  let intersection = 0;
  for (const key of actualKeys) if (desiredKeys.has(key)) intersection++;
  const union = desiredKeys.size + actualKeys.size - intersection;
  return union === 0 ? 1 : intersection / union;
}
