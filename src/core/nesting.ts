/**
 * loadNesting: read just enough of the group graph to check the groups a sync adds.
 *
 * Upwards, every group that contains the target (the full closure, so that a cycle is
 * named as one), one directory call per level. Downwards, the added groups and their
 * nested groups, level by level, only as deep as the depth limit can still be broken:
 * below that nothing can change the answer. Nothing is read when no group is added.
 *
 * Neither walk reads more than MAX_NESTING_NODES groups. Where a walk stops at that
 * limit, the view says so (`ancestorsComplete`, `unread`): validation then refuses the
 * groups it could not check (nesting_too_large) instead of counting a depth from part
 * of the graph.
 */
import type { GroupNode, RequestContext, ScimDirectory } from './ports.js';
import type { NestingView } from './validate.js';
import { longestChainAbove, MAX_NESTING_NODES } from './validate.js';

export { MAX_NESTING_NODES };

export async function loadNesting(
  directory: ScimDirectory,
  targetId: string,
  addedGroupIds: readonly string[],
  maxDepth: number,
  ctx: RequestContext,
): Promise<NestingView> {
  const parents = new Map<string, string[]>();
  const groups = new Map<string, GroupNode>();
  const unread = new Set<string>();
  const candidates = [...new Set(addedGroupIds)].filter((id) => id !== targetId);
  if (candidates.length === 0) return { parents, groups, ancestorsComplete: true, unread };

  const [ancestorsComplete, firstLevel] = await Promise.all([
    walkUp(directory, targetId, parents, ctx),
    directory.getGroups(candidates, ctx),
  ]);
  for (const [id, node] of firstLevel) groups.set(id, node);

  // The added group sits one level below the target; its subtree may add this many more.
  const levelsBelowAllowed = maxDepth - longestChainAbove(targetId, parents) - 2;
  let frontier = [...firstLevel.values()];
  for (let level = 1; level <= levelsBelowAllowed && frontier.length > 0; level++) {
    const next = new Set<string>();
    for (const node of frontier) {
      for (const child of node.groupMemberIds) {
        if (child !== targetId && !groups.has(child)) next.add(child);
      }
    }
    if (next.size === 0) break;
    if (groups.size + next.size > MAX_NESTING_NODES) {
      for (const id of next) unread.add(id);
      break;
    }
    const found = await directory.getGroups([...next], ctx);
    for (const [id, node] of found) groups.set(id, node);
    frontier = [...found.values()];
  }
  return { parents, groups, ancestorsComplete, unread };
}

/** Reads the groups holding the target, level by level; false when it stopped at MAX_NESTING_NODES with levels left. */
async function walkUp(directory: ScimDirectory, targetId: string, parents: Map<string, string[]>, ctx: RequestContext): Promise<boolean> {
  let frontier = [targetId];
  while (frontier.length > 0) {
    if (parents.size >= MAX_NESTING_NODES) return false;
    const found = await directory.findParentGroups(frontier, ctx);
    const next = new Set<string>();
    for (const id of frontier) {
      const ofId = found.get(id) ?? [];
      parents.set(id, ofId);
      for (const parent of ofId) if (!parents.has(parent)) next.add(parent);
    }
    frontier = [...next].filter((id) => !parents.has(id));
  }
  return true;
}
