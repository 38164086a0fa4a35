/**
 * The Groups of the SCIM front door, on the membership backend in use: reads go to the
 * backend, every change of members or name goes through the sync use case (the same
 * plan → validate → write → verify → record path as POST /groups/{id}/sync, so the same
 * 422 rules, audit trail, events and metrics), and externalIds live in the service's
 * store. What a backend cannot do (a backend without a listing or a create; deactivating
 * an ACD group or a team) is answered 501, never faked.
 */
import { mapBounded } from '../../core/concurrency.js';
import { GroupNotFoundError, ifMatchHolds, RemovalGuardError, VersionMismatchError } from '../../core/errors.js';
import { isDelta, type DesiredMember, type DesiredMembership, type MemberRef, type MembershipDelta } from '../../core/membership.js';
import type { GroupExternalIds, GroupSummary, HoldDecision, MembershipBackend, NameLockService, RequestContext } from '../../core/ports.js';
import type { SyncRequest, SyncResult } from '../../core/sync-request.js';
import { UNRECORDED, type ChangeRecorder } from './change-audit.js';
import { ScimHttpError } from './errors.js';
import type { GroupFilter } from './filter.js';

export type ScimGroupDelete = 'refuse' | 'empty' | 'deactivate';

export interface ScimGroupsParts {
  /** The membership backend in use; throws UpstreamUnavailableError (503) while MEMBERSHIP_BACKEND=auto has not chosen one. */
  readonly backend: (ctx: RequestContext) => Promise<MembershipBackend>;
  /** The sync use case (the app's runner). */
  readonly sync: (request: SyncRequest) => Promise<SyncResult>;
  readonly externalIds: GroupExternalIds;
  /** SCIM_GROUP_DELETE. */
  readonly deletePolicy: ScimGroupDelete;
  /**
   * A change the mass-removal guard refused is held for an administrator (an IdP cannot add
   * allowMassRemoval): answers whether an approval lets it through now (../../core/held-changes.ts).
   * Without it, the guard's 409 is answered as it is.
   */
  /**
   * The names a create holds across replicas (STORE=postgres) from its uniqueness check
   * until the group and its externalId are kept. None: this process is the only creator
   * (its own creates run one at a time).
   */
  readonly nameLock?: NameLockService;
  /** The audit records of the changes made outside a sync (a group created, an externalId); none: not recorded. */
  readonly changes?: ChangeRecorder;
  readonly hold?: (groupId: string, change: { readonly members: readonly { readonly value: string; readonly type?: string }[]; readonly removing: number; readonly of: number }, actor: string, requestId: string) => Promise<HoldDecision>;
}

/** A group as the front door shows it. `members` undefined: not read. */
export interface ScimGroupView {
  readonly id: string;
  readonly displayName: string;
  readonly externalId?: string;
  readonly members?: readonly MemberRef[];
  /** The group's ETag, where the backend's writes check one; null otherwise. */
  readonly version: string | null;
}

/** Who asks, for the audit trail. */
export interface Caller {
  readonly actor: string;
  readonly requestId: string;
  readonly callerGone?: AbortSignal;
}

export interface GroupWriteInput {
  readonly displayName: string;
  readonly externalId?: string;
  readonly members: readonly DesiredMember[];
}

export interface ScimGroups {
  /** The backend in use (503 while none is chosen). */
  backend(): Promise<MembershipBackend>;
  /** One group; its members only when `withMembers` (else the backend may read less). */
  get(id: string, withMembers?: boolean): Promise<ScimGroupView>;
  /** The groups a filter selects (all without one), `members` read only when `withMembers`, and the total. */
  list(filter: GroupFilter | undefined, startIndex: number, count: number, withMembers: boolean): Promise<{ total: number; groups: ScimGroupView[] }>;
  create(input: GroupWriteInput, caller: Caller): Promise<ScimGroupView>;
  /** The group as the sync left it (verified), without reading it again. */
  replace(id: string, input: GroupWriteInput, ifMatch: string | undefined, caller: Caller): Promise<ScimGroupView>;
  patch(id: string, change: { members: MembershipDelta | DesiredMembership | null; displayName?: string; externalId?: string | null }, ifMatch: string | undefined, caller: Caller): Promise<SyncResult | null>;
  remove(id: string, caller: Caller): Promise<void>;
}

/** The names a create of `input` holds (NameLockService): its displayName without regard to case (RFC 7643 §4.2), and its externalId, within the backend. */
export function createNames(backend: MembershipBackend['name'], input: Pick<GroupWriteInput, 'displayName' | 'externalId'>): string[] {
  return [`${backend}\u0000displayName\u0000${input.displayName.toLowerCase()}`, ...(input.externalId === undefined ? [] : [`${backend}\u0000externalId\u0000${input.externalId}`])];
}

/** Groups read at once to fill a listed page with members. */
const LIST_READ_CONCURRENCY = 4;

const context = (): RequestContext => ({ stats: { upstreamRequests: 0 } });

export function createScimGroups(parts: ScimGroupsParts): ScimGroups {
  let creating: Promise<unknown> = Promise.resolve();

  const backend = () => parts.backend(context());
  const changes = parts.changes ?? UNRECORDED;

  async function externalIdOf(name: MembershipBackend['name'], id: string, upstream: unknown): Promise<string | undefined> {
    return (await parts.externalIds.get(name, id)) ?? (typeof upstream === 'string' ? upstream : undefined);
  }

  async function view(chosen: MembershipBackend, id: string, withMembers = true): Promise<ScimGroupView> {
    const ctx = context();
    if (!withMembers && chosen.describeGroup) {
      const group = await chosen.describeGroup(id, ctx);
      const externalId = await externalIdOf(chosen.name, id, group.externalId);
      return { id, displayName: group.displayName, ...(externalId === undefined ? {} : { externalId }), version: null };
    }
    const snapshot = await chosen.read(id, ctx);
    const etags = (await chosen.supportsEtags?.(ctx)) ?? false;
    const externalId = await externalIdOf(chosen.name, id, snapshot.group.extra.externalId);
    return { id, displayName: snapshot.group.displayName, ...(externalId === undefined ? {} : { externalId }), members: snapshot.group.members, version: etags ? snapshot.etag : null };
  }

  /** The group as the sync left it (SyncResult.group: verified after a write, as read when unchanged), read again only when the sync did not say. */
  async function viewOf(chosen: MembershipBackend, id: string, result: SyncResult, externalId: string | undefined): Promise<ScimGroupView> {
    if (result.group === undefined) return view(chosen, id);
    const etags = (await chosen.supportsEtags?.(context())) ?? false;
    return { id, displayName: result.group.displayName, ...(externalId === undefined ? {} : { externalId }), members: result.group.members, version: etags ? result.etag : null };
  }

  /** Keeps (or with null forgets) the group's externalId; a change is audited for `caller`. 409 uniqueness when another group has it. */
  async function keepExternalId(chosen: MembershipBackend, id: string, externalId: string | null | undefined, caller?: Caller): Promise<void> {
    if (externalId === undefined) return;
    const keep = async () => {
      if (!(await parts.externalIds.set(chosen.name, id, externalId))) throw new ScimHttpError(409, 'uniqueness', `externalId ${JSON.stringify(externalId)} belongs to another group`);
    };
    if (caller === undefined) return keep();
    if ((await parts.externalIds.get(chosen.name, id)) === (externalId ?? undefined)) return;
    await changes.audited(caller, () => ({ status: 'scim_group_external_id_set', resourceType: 'Group', resourceId: id, groupId: id, attributes: ['externalId'], externalId }), keep);
  }

  /**
   * The sync of a change. One the mass-removal guard refuses is held (parts.hold): refused
   * with 409 naming the held change until an administrator approves it, then run once with
   * allowMassRemoval. `allowMassRemoval`: the change is explicit (a DELETE under
   * SCIM_GROUP_DELETE=empty or deactivate, which the operator chose). `ifMatch`: the
   * request's If-Match, carried into the sync (SyncRequest.expectedVersion).
   */
  const sync = async (id: string, desired: SyncRequest['desired'], caller: Caller, allowMassRemoval = false, ifMatch?: string): Promise<SyncResult> => {
    const run = (allow: boolean) =>
      parts.sync({
        groupId: id,
        desired,
        dryRun: false,
        actor: caller.actor,
        requestId: caller.requestId,
        callerGone: caller.callerGone,
        ...(allow ? { allowMassRemoval: true } : {}),
        // If-Match is checked by the sync itself, in the group's turn, and guards its write upstream.
        ...(ifMatch === undefined ? {} : { expectedVersion: ifMatch }),
      });
    if (allowMassRemoval || parts.hold === undefined) return run(allowMassRemoval);
    try {
      return await run(false);
    } catch (error) {
      if (!(error instanceof RemovalGuardError)) throw error;
      const members = isDelta(desired)
        ? [...desired.add.map((m) => ({ value: `+${m.value}`, type: m.type })), ...desired.remove.map((m) => ({ value: `-${m.value}`, type: m.type }))]
        : desired.members;
      const decision = await parts.hold(id, { members, removing: error.removing, of: error.of }, caller.actor, caller.requestId);
      if (decision.kind === 'approved') return run(true);
      const what = error.emptying ? `it would remove all ${error.of} members` : `it would remove ${error.removing} of ${error.of} members (${error.percent}%)`;
      throw new ScimHttpError(
        409,
        'mutability',
        `the mass-removal guard refused the change: ${what}. Nothing was written; the change is ${decision.kind === 'held' ? 'held for an administrator' : 'rejected by an administrator'} as ${decision.id} (POST /guard/held/${decision.id}/approve lets its next retry through once)`,
      );
    }
  };

  async function summaries(chosen: MembershipBackend, filter: GroupFilter | undefined): Promise<GroupSummary[]> {
    const ctx = context();
    if (filter?.attribute === 'id' || filter?.attribute === 'externalId') {
      const id = filter.attribute === 'id' ? filter.value : await parts.externalIds.find(chosen.name, filter.value);
      if (id === undefined) return [];
      try {
        if (chosen.describeGroup) return [await chosen.describeGroup(id, ctx)];
        const snapshot = await chosen.read(id, ctx);
        return [{ id, displayName: snapshot.group.displayName }];
      } catch (error) {
        if (error instanceof GroupNotFoundError) return [];
        throw error;
      }
    }
    if (!chosen.listGroups) throw new ScimHttpError(501, undefined, `the ${chosen.name} membership backend cannot list its groups; look a group up with filter=id eq "…" or GET /Groups/{id}`);
    const listed = await chosen.listGroups(filter === undefined ? {} : { displayName: filter.value }, ctx);
    // displayName is caseExact false (RFC 7643 §4.2).
    return filter === undefined ? [...listed] : listed.filter((group) => group.displayName.toLowerCase() === filter.value.toLowerCase());
  }

  return {
    backend,

    async get(id, withMembers = true) {
      return view(await backend(), id, withMembers);
    },

    async list(filter, startIndex, count, withMembers) {
      const chosen = await backend();
      const all = await summaries(chosen, filter);
      const page = all.slice(startIndex - 1, startIndex - 1 + count);
      const groups = withMembers
        ? await mapBounded(page, LIST_READ_CONCURRENCY, (group) => view(chosen, group.id))
        : await Promise.all(
            page.map(async (group): Promise<ScimGroupView> => {
              const externalId = await externalIdOf(chosen.name, group.id, group.externalId);
              return { id: group.id, displayName: group.displayName, ...(externalId === undefined ? {} : { externalId }), version: null };
            }),
          );
      return { total: all.length, groups };
    },

    async create(input, caller) {
      // One create at a time in this process, and across replicas one create of a name at a
      // time: two retries of one create must not both pass the uniqueness check.
      const run = creating.then(async () => {
        const chosen = await backend();
        if (!chosen.createGroup || !chosen.listGroups) throw new ScimHttpError(501, undefined, `the ${chosen.name} membership backend cannot create groups`);
        const held = await parts.nameLock?.acquire(createNames(chosen.name, input), caller.callerGone);
        try {
          const ctx = context();
          if (input.externalId !== undefined) {
            const holder = await parts.externalIds.find(chosen.name, input.externalId);
            if (holder !== undefined) throw new ScimHttpError(409, 'uniqueness', `a group with externalId ${JSON.stringify(input.externalId)} exists already: ${holder}`);
          }
          const same = (await chosen.listGroups({ displayName: input.displayName }, ctx)).find((group) => group.displayName.toLowerCase() === input.displayName.toLowerCase());
          if (same !== undefined) throw new ScimHttpError(409, 'uniqueness', `a group named ${JSON.stringify(input.displayName)} exists already: ${same.id}`);
          // Lost since the check (its connection dropped): another replica may hold the names now.
          if (held?.lost.aborted) throw held.lost.reason;
          const createGroup = chosen.createGroup.bind(chosen);
          const created = await changes.audited(
            caller,
            (group) => ({
              status: 'scim_group_created',
              resourceType: 'Group',
              resourceId: group?.id ?? null,
              ...(group === undefined ? {} : { groupId: group.id }),
              attributes: input.externalId === undefined ? ['displayName'] : ['displayName', 'externalId'],
              displayName: input.displayName,
              ...(input.externalId === undefined ? {} : { externalId: input.externalId }),
            }),
            async () => {
              const group = await createGroup(input.displayName, ctx);
              if (input.externalId !== undefined) await keepExternalId(chosen, group.id, input.externalId);
              return group;
            },
          );
          return { chosen, id: created.id };
        } finally {
          await held?.release();
        }
      });
      creating = run.catch(() => undefined);
      const { chosen, id } = await run;
      // The members go through the sync (validated and audited); a group created empty is audited too.
      const result = await sync(id, { displayName: input.displayName, members: input.members }, caller);
      return viewOf(chosen, id, result, input.externalId);
    },

    async replace(id, input, ifMatch, caller) {
      const chosen = await backend();
      const result = await sync(id, { displayName: input.displayName, members: input.members }, caller, false, ifMatch);
      await keepExternalId(chosen, id, input.externalId ?? null, caller);
      return viewOf(chosen, id, result, input.externalId);
    },

    async patch(id, change, ifMatch, caller) {
      const chosen = await backend();
      const desired: SyncRequest['desired'] | null =
        change.members ?? (change.displayName === undefined ? null : { kind: 'delta', displayName: change.displayName, add: [], remove: [] });
      const result = desired === null ? null : await sync(id, desired, caller, false, ifMatch);
      if (change.externalId !== undefined) {
        if (result === null) {
          // The group must exist before its externalId is kept; If-Match is checked on that read (the externalId lives here, not upstream).
          const ctx = context();
          const snapshot = await chosen.read(id, ctx);
          if (ifMatch !== undefined && ((await chosen.supportsEtags?.(ctx)) ?? false) && !ifMatchHolds(ifMatch, snapshot.etag)) throw new VersionMismatchError(id, ifMatch, snapshot.etag);
        }
        await keepExternalId(chosen, id, change.externalId, caller);
      }
      return result;
    },

    async remove(id, caller) {
      const chosen = await backend();
      if (parts.deletePolicy === 'refuse') {
        throw new ScimHttpError(403, undefined, 'groups are not deleted through the SCIM front door (SCIM_GROUP_DELETE=refuse); remove the group from the identity provider\'s push, or set SCIM_GROUP_DELETE=empty or deactivate');
      }
      if (parts.deletePolicy === 'deactivate' && !chosen.deactivateGroup) {
        throw new ScimHttpError(501, undefined, `the ${chosen.name} membership backend cannot deactivate a group (SCIM_GROUP_DELETE=deactivate); set SCIM_GROUP_DELETE=empty`);
      }
      await sync(id, { members: [] }, caller, true);
      if (parts.deletePolicy === 'deactivate') await chosen.deactivateGroup?.(id, context());
      await keepExternalId(chosen, id, null, caller);
    },
  };
}
