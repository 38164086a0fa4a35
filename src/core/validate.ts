/**
 * validatePlan: may this plan be written? Pure over what the directory returned, and it
 * reports every problem at once. Only what changes is checked: members already in the
 * group were accepted when they were added.
 *
 * Nested depth (API.md): count the groups along the longest chain that runs from the
 * top-most group containing the target, through the target, down to the deepest group
 * nested below an added group. `top ⊃ mid ⊃ target ⊃ leaf` holds 4 groups.
 */
import type { MemberError } from './errors.js';
import type { MembershipPlan } from './membership.js';
import type { GroupNode, UserSummary } from './ports.js';

/** The part of the group graph around the target that the nesting checks need. */
export interface NestingView {
  /** child id → ids of the groups holding it, for the target and every ancestor reached. */
  readonly parents: ReadonlyMap<string, readonly string[]>;
  /** Groups read while walking down from the added groups (the added groups themselves included). */
  readonly groups: ReadonlyMap<string, GroupNode>;
}

export interface ValidationInput {
  readonly targetId: string;
  readonly plan: MembershipPlan;
  /** Lookups of the added users: absent means not found. */
  readonly users: ReadonlyMap<string, UserSummary>;
  readonly nesting: NestingView;
  readonly maxDepth: number;
}

export function validatePlan(input: ValidationInput): MemberError[] {
  const { targetId, plan, users, nesting, maxDepth } = input;
  const errors: MemberError[] = [];
  const ancestors = ancestorIds(targetId, nesting.parents);
  const groupsAbove = longestChainAbove(targetId, nesting.parents);

  for (const member of plan.duplicates) {
    errors.push({ code: 'duplicate_member', member: { value: member.value, type: member.type }, message: `member ${member.type} ${JSON.stringify(member.value)} appears more than once in the request` });
  }

  for (const added of plan.added) {
    const member = { value: added.value, type: added.type };
    const name = JSON.stringify(added.value);
    if (added.type === 'User') {
      const user = users.get(added.value);
      if (!user) errors.push({ code: 'user_not_found', member, message: `user ${name} does not exist upstream` });
      else if (!user.active) errors.push({ code: 'user_inactive', member, message: `user ${name} is not active` });
      continue;
    }
    if (added.value === targetId) {
      errors.push({ code: 'self_reference', member, message: `group ${name} cannot be a member of itself` });
      continue;
    }
    if (!nesting.groups.has(added.value)) {
      errors.push({ code: 'group_not_found', member, message: `group ${name} does not exist upstream` });
      continue;
    }
    if (ancestors.has(added.value) || reaches(added.value, targetId, nesting.groups)) {
      errors.push({ code: 'cycle_detected', member, message: `group ${name} already contains the target group (directly or through nested groups); adding it would create a cycle` });
      continue;
    }
    const chain = groupsAbove + 1 + longestChainBelow(added.value, nesting.groups);
    if (chain > maxDepth) {
      errors.push({ code: 'depth_exceeded', member, message: `adding group ${name} would nest ${chain} groups deep (top-most containing group, through the target, to the deepest nested group); the limit is ${maxDepth}` });
    }
  }
  return errors;
}

/** Every group that holds `id` directly or transitively. Terminates on loops that already exist upstream. */
export function ancestorIds(id: string, parents: ReadonlyMap<string, readonly string[]>): Set<string> {
  const seen = new Set<string>();
  const stack = [...(parents.get(id) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    for (const parent of parents.get(next) ?? []) stack.push(parent);
  }
  return seen;
}

/** The number of groups above `id` on the longest chain of containing groups. */
export function longestChainAbove(id: string, parents: ReadonlyMap<string, readonly string[]>): number {
  return longestChain(id, (node) => parents.get(node) ?? []) - 1;
}

/** The number of groups on the longest chain from `id` down through its nested groups, `id` included. */
export function longestChainBelow(id: string, groups: ReadonlyMap<string, GroupNode>): number {
  return longestChain(id, (node) => groups.get(node)?.groupMemberIds ?? []);
}

/**
 * Longest simple path from `start` along `next`, counted in nodes. A node already on the
 * current path is not followed again, so a loop that exists upstream ends the walk
 * instead of running forever.
 */
function longestChain(start: string, next: (id: string) => readonly string[]): number {
  const onPath = new Set<string>();
  const memo = new Map<string, number>();
  const visit = (id: string): number => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    onPath.add(id);
    let best = 0;
    for (const child of next(id)) {
      if (onPath.has(child)) continue;
      best = Math.max(best, visit(child));
    }
    onPath.delete(id);
    memo.set(id, best + 1);
    return best + 1;
  };
  return visit(start);
}

/** Does `from` contain `target` through the nested groups we read? */
function reaches(from: string, target: string, groups: ReadonlyMap<string, GroupNode>): boolean {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const child of groups.get(id)?.groupMemberIds ?? []) {
      if (child === target) return true;
      stack.push(child);
    }
  }
  return false;
}
