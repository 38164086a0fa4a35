/**
 * planMembership: the difference between what a group holds and what the caller wants.
 * Pure and linear in the size of both sets; identity is type + value (RFC 7643 §4.2).
 */
import type { MembershipGap } from './errors.js';
import { MemberSet, memberIdentity, type MemberRef, type MembershipPlan } from './membership.js';

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

/** Members listed per side in a MembershipGap. */
export const GAP_MEMBERS_LISTED = 100;

/**
 * How the members a group holds differ from the desired set, by `value` only (a member's
 * `type` and `display` do not count: the provider may compute them). `equal` when the
 * sets of values are the same.
 */
export function compareMembers(desired: readonly MemberRef[], actual: readonly MemberRef[]): MembershipGap & { readonly equal: boolean } {
  const wanted = new Set<string>();
  for (const member of desired) wanted.add(member.value);
  const held = new Set<string>();
  const extra: MemberRef[] = [];
  let extraCount = 0;
  let both = 0;
  for (const member of actual) {
    if (held.has(member.value)) continue;
    held.add(member.value);
    if (wanted.has(member.value)) both++;
    else if (++extraCount <= GAP_MEMBERS_LISTED) extra.push(memberIdentity(member));
  }
  const missing: MemberRef[] = [];
  let missingCount = 0;
  const listed = new Set<string>();
  for (const member of desired) {
    if (held.has(member.value) || listed.has(member.value)) continue;
    listed.add(member.value);
    if (++missingCount <= GAP_MEMBERS_LISTED) missing.push(memberIdentity(member));
  }
  const union = wanted.size + held.size - both;
  return { equal: missingCount === 0 && extraCount === 0, consistencyRate: union === 0 ? 1 : both / union, missing, extra, missingCount, extraCount };
}
