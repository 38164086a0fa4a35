/**
 * How a planned membership is written. `put` replaces the whole resource atomically
 * (RFC 7644 §3.5.1). `patch` sends only the difference as PatchOp operations (§3.5.2),
 * at most `maxOperations` member changes per request, each request guarded by the ETag
 * the previous answer returned. `auto` patches when the provider's ServiceProviderConfig
 * says it supports PATCH and the change is small next to the group, and puts otherwise:
 * a 100,000-member PUT to change one member is what providers time out on, while a
 * large change costs fewer round trips as one PUT.
 */
import type { MembershipPlan, MemberRef } from './membership.js';
import type { WriteMode } from './outcome.js';
import type { PatchOperation, ProviderCapabilities } from './ports.js';

export type WriteModeSetting = 'put' | 'patch' | 'auto';

/** auto patches when the change is at most this share of the group… */
export const AUTO_PATCH_MAX_SHARE = 0.1;
/** …and fits in this many PATCH requests. */
export const AUTO_PATCH_MAX_REQUESTS = 10;

export function chooseWriteMode(
  setting: WriteModeSetting,
  plan: MembershipPlan,
  groupSize: number,
  maxOperations: number,
  capabilities: ProviderCapabilities | null,
): WriteMode {
  if (setting !== 'auto') return setting;
  if (!capabilities?.patch) return 'put';
  const changes = plan.added.length + plan.removed.length;
  const small = changes <= Math.max(1, groupSize * AUTO_PATCH_MAX_SHARE) && changes <= maxOperations * AUTO_PATCH_MAX_REQUESTS;
  return small ? 'patch' : 'put';
}

/**
 * The PATCH requests for a plan, each with at most `maxOperations` member changes:
 * removals first (one `remove` of `members[value eq "…"]` each), then one `add` of the
 * members to add (as `value` and `type`: the provider computes `display`); a displayName
 * change rides in the first request.
 */
export function patchRequests(plan: MembershipPlan, displayName: string | undefined, maxOperations: number): PatchOperation[][] {
  const changes: ({ kind: 'remove'; member: MemberRef } | { kind: 'add'; member: MemberRef })[] = [
    ...plan.removed.map((member) => ({ kind: 'remove' as const, member })),
    ...plan.added.map((member) => ({ kind: 'add' as const, member })),
  ];
  const requests: PatchOperation[][] = [];
  const count = Math.max(displayName === undefined ? 0 : 1, Math.ceil(changes.length / maxOperations));
  for (let request = 0, i = 0; request < count; request++, i += maxOperations) {
    const slice = changes.slice(i, i + maxOperations);
    const operations: PatchOperation[] = [];
    if (i === 0 && displayName !== undefined) operations.push({ op: 'replace', path: 'displayName', value: displayName });
    for (const change of slice) {
      if (change.kind === 'remove') operations.push({ op: 'remove', path: `members[value eq ${JSON.stringify(change.member.value)}]` });
    }
    const adds = slice.filter((change) => change.kind === 'add').map(({ member }) => member);
    if (adds.length > 0) {
      operations.push({
        op: 'add',
        path: 'members',
        value: adds.map((m) => ({ value: m.value, type: m.type })),
      });
    }
    requests.push(operations);
  }
  return requests;
}
