/**
 * loadNesting: read just enough of the group graph to check the groups a sync adds.
 *
 * Upwards, every group that contains the target (the full closure, so that a cycle is
 * named as one), one directory call per level. Downwards, the added groups and their
 * nested groups, level by level, only as deep as the depth limit can still be broken:
 * below that nothing can change the answer. Nothing is read when no group is added.
 */
import type { GroupNode, RequestContext, ScimDirectory } from './ports.js';
import type { NestingView } from './validate.js';
import { longestChainAbove } from './validate.js';

/** A directory whose group graph is larger than this is not walked further. */
export const MAX_NESTING_NODES = 1000;

export async function loadNesting(
  directory: ScimDirectory,
  targetId: string,
  addedGroupIds: readonly string[],
  maxDepth: number,
  ctx: RequestContext,
): Promise<NestingView> {
  const parents = new Map<string, string[]>();
  const groups = new Map<string, GroupNode>();
  const candidates = [...new Set(addedGroupIds)].filter((id) => id !== targetId);
  if (candidates.length === 0) return { parents, groups };

  const [, firstLevel] = await Promise.all([
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
    if (next.size === 0 || groups.size + next.size > MAX_NESTING_NODES) break;
    const found = await directory.getGroups([...next], ctx);
    for (const [id, node] of found) groups.set(id, node);
    frontier = [...found.values()];
  }
  return { parents, groups };
}

async function walkUp(directory: ScimDirectory, targetId: string, parents: Map<string, string[]>, ctx: RequestContext): Promise<void> {
  let frontier = [targetId];
  while (frontier.length > 0 && parents.size < MAX_NESTING_NODES) {
    const found = await directory.findParentGroups(frontier, ctx);
    const next: string[] = [];
    for (const id of frontier) {
      const ofId = found.get(id) ?? [];
      parents.set(id, ofId);
      for (const parent of ofId) if (!parents.has(parent) && !next.includes(parent)) next.push(parent);
    }
    frontier = next;
  }
}
