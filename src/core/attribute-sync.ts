/**
 * syncUserAttributes: after a membership write, bring the affected users' attributes
 * along. Every added and removed user is read back (batched) to check that the
 * provider's computed `groups` (RFC 7643 §4.1.2) agrees with the new membership; where
 * ENTITLEMENT_MAP maps groups to entitlement values, each user's `entitlements` is
 * PATCHed (RFC 7644 §3.5.2) to hold exactly the values of the mapped groups it is in.
 *
 * Only mapped values are managed: entitlements that no mapping mentions are left alone,
 * so values granted by other means survive. The PATCH carries the user's meta.version
 * as If-Match when the provider uses ETags; a lost race re-reads that user and tries
 * again. Nothing here can undo the membership write: failures are reported per user.
 */
import { mapBounded } from './concurrency.js';
import { PreconditionFailedError, SyncError } from './errors.js';
import type { AttributeSyncReport, UserAttributeOutcome } from './outcome.js';
import type { PatchOperation, RequestContext, ScimDirectory, UserAttributes } from './ports.js';

export type EntitlementMap = Readonly<Record<string, readonly string[]>>;

export interface AttributeSyncDeps {
  readonly directory: ScimDirectory;
  readonly entitlementMap: EntitlementMap;
  /** PATCHes in flight at once. */
  readonly concurrency: number;
  /** Re-reads after a lost race on one user. */
  readonly maxConflictRetries: number;
}

export interface AttributeSyncRequest {
  readonly groupId: string;
  readonly addedUserIds: readonly string[];
  readonly removedUserIds: readonly string[];
  /** Guard PATCHes with If-Match (the provider sends ETags). */
  readonly useIfMatch: boolean;
  readonly signal?: AbortSignal;
}

export async function syncUserAttributes(deps: AttributeSyncDeps, request: AttributeSyncRequest): Promise<AttributeSyncReport> {
  const ctx: RequestContext = { signal: request.signal, stats: { upstreamRequests: 0 } };
  const changes = new Map<string, 'added' | 'removed'>();
  for (const id of request.addedUserIds) changes.set(id, 'added');
  for (const id of request.removedUserIds) changes.set(id, 'removed');
  const ids = [...changes.keys()];

  let outcomes: UserAttributeOutcome[];
  try {
    const users = await deps.directory.readUsers(ids, ctx);
    const managed = managedValues(deps.entitlementMap);
    const needGroups = managed.size > 0 ? ids.filter((id) => users.get(id) !== undefined && users.get(id)?.groups === undefined) : [];
    const directParents = needGroups.length > 0 ? await deps.directory.findParentGroups(needGroups, ctx) : new Map<string, string[]>();
    outcomes = await mapBounded(ids, deps.concurrency, (id) =>
      syncOne(deps, request, ctx, { id, change: changes.get(id) as 'added' | 'removed', user: users.get(id), parents: directParents.get(id), managed }),
    );
  } catch (error) {
    // The read-back itself failed: report every user as failed, never the sync.
    const message = describe(error);
    outcomes = ids.map((userId) => ({ userId, change: changes.get(userId) as 'added' | 'removed', groupsConsistent: null, entitlements: 'failed', error: message }));
  }
  return {
    users: outcomes,
    checked: outcomes.length,
    groupsInconsistent: outcomes.filter((o) => o.groupsConsistent === false).length,
    entitlementsUpdated: outcomes.filter((o) => o.entitlements === 'updated').length,
    failed: outcomes.filter((o) => o.entitlements === 'failed' || o.entitlements === 'user_not_found').length,
    upstreamRequests: ctx.stats.upstreamRequests,
  };
}

interface OneUser {
  readonly id: string;
  readonly change: 'added' | 'removed';
  readonly user: UserAttributes | undefined;
  /** Direct parents, when the provider sends no `groups`. */
  readonly parents: readonly string[] | undefined;
  readonly managed: ReadonlySet<string>;
}

async function syncOne(deps: AttributeSyncDeps, request: AttributeSyncRequest, ctx: RequestContext, one: OneUser): Promise<UserAttributeOutcome> {
  const base = { userId: one.id, change: one.change };
  if (!one.user) return { ...base, groupsConsistent: null, entitlements: 'user_not_found', error: 'the user no longer exists upstream' };
  const groupsConsistent = one.user.groups === undefined ? null : one.user.groups.includes(request.groupId) === (one.change === 'added');
  if (one.managed.size === 0) return { ...base, groupsConsistent, entitlements: 'not_managed' };

  let user = one.user;
  for (let attempt = 0; ; attempt++) {
    const plan = planEntitlements(deps.entitlementMap, one.managed, user.groups ?? one.parents ?? [], user.entitlements);
    if (plan.operations.length === 0) return { ...base, groupsConsistent, entitlements: 'unchanged' };
    try {
      await deps.directory.patchUser(one.id, plan.operations, request.useIfMatch ? (user.version ?? null) : null, ctx);
      return { ...base, groupsConsistent, entitlements: 'updated', entitlementsAdded: plan.add, entitlementsRemoved: plan.remove };
    } catch (error) {
      if (error instanceof PreconditionFailedError && attempt < deps.maxConflictRetries) {
        const fresh = (await deps.directory.readUsers([one.id], ctx)).get(one.id);
        if (!fresh) return { ...base, groupsConsistent, entitlements: 'user_not_found', error: 'the user no longer exists upstream' };
        user = fresh;
        continue;
      }
      return { ...base, groupsConsistent, entitlements: 'failed', error: describe(error) };
    }
  }
}

/** Every value some mapping grants: the ones this service manages. */
export function managedValues(map: EntitlementMap): Set<string> {
  return new Set(Object.values(map).flat());
}

/** The operations that make a user's managed entitlements exactly those of its mapped groups. */
export function planEntitlements(map: EntitlementMap, managed: ReadonlySet<string>, groups: readonly string[], current: readonly string[]) {
  const desired = new Set<string>();
  for (const group of groups) for (const value of map[group] ?? []) desired.add(value);
  const have = new Set(current);
  const add = [...desired].filter((value) => !have.has(value));
  const remove = [...have].filter((value) => managed.has(value) && !desired.has(value));
  const operations: PatchOperation[] = [
    ...remove.map((value): PatchOperation => ({ op: 'remove', path: `entitlements[value eq ${JSON.stringify(value)}]` })),
    ...(add.length > 0 ? [{ op: 'add', path: 'entitlements', value: add.map((value) => ({ value })) } as PatchOperation] : []),
  ];
  return { add, remove, operations };
}

function describe(error: unknown): string {
  return error instanceof SyncError ? error.message : 'internal error';
}
