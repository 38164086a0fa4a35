/**
 * validatePlan: may this plan be written? Pure over what the directory returned, and it
 * reports every problem at once. Only what changes is checked: members already in the
 * group were accepted when they were added.
 *
 * Nested depth (docs/sync.md "Nested groups"): count the groups along the longest chain that runs from the
 * top-most group containing the target, through the target, down to the deepest group
 * nested below an added group. `top ⊃ mid ⊃ target ⊃ leaf` holds 4 groups.
 *
 * A loop below an added group (one that already exists upstream, `a ⊃ b ⊃ a`) makes that
 * chain endless: the group is refused as a cycle. Where the graph was too large to read
 * whole (MAX_NESTING_NODES), a group whose check would need the part not read is refused
 * with nesting_too_large: a depth counted from part of the graph proves nothing.
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
  /** false when the walk up stopped at MAX_NESTING_NODES: the groups above the target are not all known. */
  readonly ancestorsComplete: boolean;
  /** Groups below the added ones that were not read because the walk down reached MAX_NESTING_NODES. */
  readonly unread: ReadonlySet<string>;
}

export interface ValidationInput {
  readonly targetId: string;
  readonly plan: MembershipPlan;
  /** Lookups of the added users: absent means not found. */
  readonly users: ReadonlyMap<string, UserSummary>;
  readonly nesting: NestingView;
  readonly maxDepth: number;
  /** Members sent without a type that are neither a user nor a group (member-types.ts). */
  readonly unresolved?: ReadonlySet<string>;
}

/** The most groups the nesting check reads in each direction (src/core/nesting.ts). */
export const MAX_NESTING_NODES = 1000;

export function validatePlan(input: ValidationInput): MemberError[] {
  const { targetId, plan, users, nesting, maxDepth } = input;
  const errors: MemberError[] = [];
  const ancestors = ancestorIds(targetId, nesting.parents);
  const groupsAbove = longestChainAbove(targetId, nesting.parents);
  const loopAbove = findLoopAbove(targetId, nesting.parents);
  const below = belowAnalysis(targetId, nesting);

  for (const member of plan.duplicates) {
    errors.push({ code: 'duplicate_member', member: { value: member.value, type: member.type }, message: `member ${member.type} ${JSON.stringify(member.value)} appears more than once in the request` });
  }

  for (const added of plan.added) {
    const member = { value: added.value, type: added.type };
    const name = JSON.stringify(added.value);
    if (added.type === 'User') {
      const user = users.get(added.value);
      if (!user) {
        const message = input.unresolved?.has(added.value) ? `no user or group has the id ${name} upstream` : `user ${name} does not exist upstream`;
        errors.push({ code: 'user_not_found', member, message });
      }
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
    if (ancestors.has(added.value) || below.reachesTarget.has(added.value)) {
      errors.push({ code: 'cycle_detected', member, message: `group ${name} already contains the target group (directly or through nested groups); adding it would create a cycle` });
      continue;
    }
    if (below.reachesLoop.has(added.value)) {
      const loop = loopFrom(added.value, below.reachesLoop, nesting.groups).map((id) => JSON.stringify(id)).join(' ⊃ ');
      errors.push({ code: 'cycle_detected', member, message: `group ${name} holds, directly or through nested groups, a loop of groups that already exists upstream (${loop}): its nesting depth is unbounded` });
      continue;
    }
    if (loopAbove !== null) {
      const loop = loopAbove.map((id) => JSON.stringify(id)).join(' ⊃ ');
      errors.push({ code: 'depth_exceeded', member, message: `the groups above the target form a loop that already exists upstream (${loop}): any group nested in the target, such as ${name}, is nested without bound` });
      continue;
    }
    const chain = groupsAbove + 1 + longestChainBelow(added.value, nesting.groups);
    if (chain > maxDepth) {
      errors.push({ code: 'depth_exceeded', member, message: `adding group ${name} would nest ${chain} groups deep (top-most containing group, through the target, to the deepest nested group); the limit is ${maxDepth}` });
      continue;
    }
    if (!nesting.ancestorsComplete || below.reachesUnread.has(added.value)) {
      const where = nesting.ancestorsComplete ? `below group ${name}` : 'above the target group';
      errors.push({ code: 'nesting_too_large', member, message: `the nested groups ${where} are more than the ${MAX_NESTING_NODES} one check reads, so the depth and cycle checks cannot be completed for group ${name}` });
    }
  }
  return errors;
}

/**
 * A loop among the groups that hold the target (`target ⊂ a ⊂ b ⊂ a`), as the ids along
 * it, or null. With one there is no top-most group: every chain through the target is
 * endless, so no group may be nested in it.
 */
export function findLoopAbove(targetId: string, parents: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  // Iterative depth-first walk up the parent edges; a parent still open is on the path: a loop.
  const stack: { id: string; next: number }[] = [{ id: targetId, next: 0 }];
  state.set(targetId, 'open');
  path.push(targetId);
  while (stack.length > 0) {
    const top = stack.at(-1) as { id: string; next: number };
    const ofTop = parents.get(top.id) ?? [];
    if (top.next >= ofTop.length) {
      state.set(top.id, 'done');
      stack.pop();
      path.pop();
      continue;
    }
    const parent = ofTop[top.next++] as string;
    const seen = state.get(parent);
    if (seen === 'open') return [...path.slice(path.indexOf(parent)), parent].toReversed();
    if (seen === 'done') continue;
    state.set(parent, 'open');
    path.push(parent);
    stack.push({ id: parent, next: 0 });
  }
  return null;
}

interface BelowAnalysis {
  /** Read groups that hold the target, directly or through read groups. */
  readonly reachesTarget: ReadonlySet<string>;
  /** Read groups that hold a loop of read groups, or sit in one. */
  readonly reachesLoop: ReadonlySet<string>;
  /** Read groups that hold a group the walk did not read because of its size limit. */
  readonly reachesUnread: ReadonlySet<string>;
}

/** One pass over the graph read below the added groups, linear in its size whatever the number of added groups. */
function belowAnalysis(targetId: string, nesting: NestingView): BelowAnalysis {
  const holders = new Map<string, string[]>();
  const loadedChildren = new Map<string, number>();
  for (const [id, node] of nesting.groups) {
    let loaded = 0;
    for (const child of node.groupMemberIds) {
      let list = holders.get(child);
      if (list === undefined) holders.set(child, (list = []));
      list.push(id);
      if (child !== targetId && nesting.groups.has(child)) loaded++;
    }
    loadedChildren.set(id, loaded);
  }
  // Peel off groups whose read children all lead to dead ends; what remains holds a loop.
  const peel = [...loadedChildren].filter(([, count]) => count === 0).map(([id]) => id);
  while (peel.length > 0) {
    const id = peel.pop() as string;
    for (const holder of holders.get(id) ?? []) {
      const left = (loadedChildren.get(holder) as number) - 1;
      loadedChildren.set(holder, left);
      if (left === 0) peel.push(holder);
    }
  }
  const reachesLoop = new Set([...loadedChildren].filter(([, count]) => count > 0).map(([id]) => id));
  return { reachesTarget: holdersOf([targetId], holders), reachesLoop, reachesUnread: holdersOf(nesting.unread, holders) };
}

/** Every group that holds one of `ids`, directly or transitively, by the reverse edges. */
function holdersOf(ids: Iterable<string>, holders: ReadonlyMap<string, readonly string[]>): Set<string> {
  const seen = new Set<string>();
  const stack = [...ids].flatMap((id) => holders.get(id) ?? []);
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const holder of holders.get(id) ?? []) stack.push(holder);
  }
  return seen;
}

/** The loop `start` leads to, for the message: follow children that hold a loop until one repeats. */
function loopFrom(start: string, reachesLoop: ReadonlySet<string>, groups: ReadonlyMap<string, GroupNode>): string[] {
  const path: string[] = [];
  const at = new Map<string, number>();
  let id: string | undefined = start;
  while (id !== undefined && !at.has(id)) {
    at.set(id, path.length);
    path.push(id);
    id = groups.get(id)?.groupMemberIds.find((child) => reachesLoop.has(child));
  }
  if (id === undefined) return [start];
  return [...path.slice(at.get(id)), id];
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
