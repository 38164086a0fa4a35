import { PreconditionFailedError } from '../../src/core/errors.js';
import type { GroupResource, MemberRef } from '../../src/core/membership.js';
import type { GroupNode, GroupWrite, PatchOperation, RequestContext, ScimDirectory, UserAttributes, UserSummary, WriteResult } from '../../src/core/ports.js';

interface StoredGroup {
  id: string;
  displayName: string;
  members: MemberRef[];
  version: number;
  extra: Record<string, unknown>;
}

/**
 * An in-memory ScimDirectory for core tests. Every call counts as one upstream request
 * (batched calls count once per batch of `batchSize`), mirroring the SCIM adapter.
 */
export class InMemoryDirectory implements ScimDirectory {
  readonly users = new Map<string, UserSummary>();
  readonly entitlements = new Map<string, string[]>();
  readonly userVersions = new Map<string, number>();
  /** Whether users come back with a computed `groups` attribute (some providers send none). */
  userGroups = true;
  /** What /ServiceProviderConfig says about PATCH. */
  patchSupported = true;
  /** Runs before each patchGroup is applied. */
  beforePatchGroup: ((groupId: string) => void) | null = null;
  /** Runs before each patchUser is applied. */
  beforePatchUser: ((userId: string) => void) | null = null;
  readonly groups = new Map<string, StoredGroup>();
  readonly calls: string[] = [];
  /** Whether reads return an ETag (some providers send none). */
  etags = true;
  /** Runs before each replaceGroup is applied: a place to play a concurrent writer. */
  beforeReplace: ((groupId: string) => void) | null = null;
  /** Runs after a group write is applied, before it is answered: a writer that gets in after ours. */
  afterGroupWrite: ((groupId: string) => void) | null = null;
  /** What a group write really stores of the members it was given (a provider that applies writes wrong). */
  storeMembers: ((members: MemberRef[]) => MemberRef[]) | null = null;
  /** Whether write answers hold the group's members (some providers leave them out, or answer 204). */
  answerMembers = true;
  /** Whether groups have a version at all (meta.version; the ETag follows `etags`). */
  versions = true;
  /** Throws instead of answering, after the write was applied when `applied` is true. */
  failGroupWrite: { error: Error; applied: boolean } | null = null;

  constructor(readonly batchSize = 50) {}

  addUser(id: string, active = true, entitlements: string[] = []): this {
    this.users.set(id, { id, active });
    this.entitlements.set(id, [...entitlements]);
    this.userVersions.set(id, 1);
    return this;
  }

  addGroup(id: string, members: MemberRef[] = [], extra: Record<string, unknown> = {}): this {
    this.groups.set(id, { id, displayName: `Group ${id}`, members, version: 1, extra });
    return this;
  }

  /** Make `child` a Group member of `parent`. */
  nest(parent: string, child: string): this {
    const group = this.mustGroup(parent);
    group.members.push({ value: child, type: 'Group' });
    group.version++;
    return this;
  }

  /** Change a group as another writer would. */
  touch(id: string, change: (group: StoredGroup) => void = () => {}): void {
    const group = this.mustGroup(id);
    change(group);
    group.version++;
  }

  membersOf(id: string): MemberRef[] {
    return this.mustGroup(id).members;
  }

  count(prefix: string): number {
    return this.calls.filter((call) => call.startsWith(prefix)).length;
  }

  async getGroup(id: string, ctx: RequestContext, options?: { readonly fresh?: boolean }) {
    this.record(options?.fresh ? 'getGroup:fresh' : 'getGroup', ctx);
    const group = this.groups.get(id);
    return group ? { group: this.toResource(group), etag: this.etags && this.versions ? `W/"${group.version}"` : null } : null;
  }

  async replaceGroup(write: GroupWrite, ifMatch: string | null, ctx: RequestContext): Promise<WriteResult> {
    this.record('replaceGroup', ctx);
    this.beforeReplace?.(write.id);
    const group = this.mustGroup(write.id);
    if (ifMatch !== null && ifMatch !== `W/"${group.version}"`) {
      throw new PreconditionFailedError('version mismatch', { status: 412 });
    }
    const failure = this.failGroupWrite;
    if (failure && !failure.applied) {
      group.version++;
      throw failure.error;
    }
    group.displayName = write.displayName;
    group.members = this.stored(write.members.map((m) => ({ ...m })));
    group.extra = { ...write.extra };
    group.version++;
    if (failure) throw failure.error;
    return this.writeAnswer(group);
  }

  private stored(members: MemberRef[]): MemberRef[] {
    return this.storeMembers ? this.storeMembers(members) : members;
  }

  private writeAnswer(group: StoredGroup): WriteResult {
    const answer = { group: this.toResource(group), etag: this.etags && this.versions ? `W/"${group.version}"` : null };
    this.afterGroupWrite?.(group.id);
    if (this.answerMembers) return answer;
    return { group: null, etag: answer.etag, version: answer.group.meta?.version ?? null };
  }

  /** Supports what the PATCH write mode sends: add members, remove members[value eq "…"], replace displayName. */
  async patchGroup(id: string, operations: readonly PatchOperation[], ifMatch: string | null, ctx: RequestContext, _options?: { readonly withMembers?: boolean }): Promise<WriteResult> {
    this.record('patchGroup', ctx);
    this.beforePatchGroup?.(id);
    const group = this.mustGroup(id);
    if (ifMatch !== null && ifMatch !== `W/"${group.version}"`) throw new PreconditionFailedError('version mismatch', { status: 412 });
    for (const operation of operations) {
      const removal = /^members\[value eq (".*")\]$/.exec(operation.path);
      if (operation.op === 'remove' && removal) {
        const value = JSON.parse(removal[1] as string) as string;
        group.members = group.members.filter((m) => m.value !== value);
      } else if (operation.op === 'add' && operation.path === 'members') {
        group.members.push(...(operation.value as MemberRef[]).map((m) => ({ ...m })));
      } else if (operation.op === 'replace' && operation.path === 'displayName') {
        group.displayName = operation.value as string;
      } else throw new Error(`unsupported operation ${JSON.stringify(operation)}`);
    }
    group.members = this.stored(group.members);
    group.version++;
    return this.writeAnswer(group);
  }

  async capabilities(ctx: RequestContext) {
    this.record('capabilities', ctx);
    return { patch: this.patchSupported, etag: this.etags, filter: true };
  }

  async findUsers(ids: readonly string[], ctx: RequestContext) {
    const found = new Map<string, UserSummary>();
    for (let i = 0; i < ids.length; i += this.batchSize) this.record('findUsers', ctx);
    for (const id of ids) {
      const user = this.users.get(id);
      if (user) found.set(id, user);
    }
    return found;
  }

  async getGroups(ids: readonly string[], ctx: RequestContext) {
    const found = new Map<string, GroupNode>();
    for (let i = 0; i < ids.length; i += this.batchSize) this.record('getGroups', ctx);
    for (const id of ids) {
      const group = this.groups.get(id);
      if (group) {
        found.set(id, {
          id,
          displayName: group.displayName,
          groupMemberIds: group.members.filter((m) => m.type === 'Group').map((m) => m.value),
        });
      }
    }
    return found;
  }

  async findParentGroups(ids: readonly string[], ctx: RequestContext) {
    const found = new Map<string, string[]>();
    for (const id of ids) {
      this.record('findParentGroups', ctx);
      found.set(
        id,
        [...this.groups.values()].filter((g) => g.members.some((m) => m.value === id)).map((g) => g.id),
      );
    }
    return found;
  }

  async readUsers(ids: readonly string[], ctx: RequestContext) {
    const found = new Map<string, UserAttributes>();
    for (let i = 0; i < ids.length; i += this.batchSize) this.record('readUsers', ctx);
    for (const id of ids) {
      const user = this.users.get(id);
      if (!user) continue;
      const groups = [...this.groups.values()].filter((g) => g.members.some((m) => m.type === 'User' && m.value === id)).map((g) => g.id);
      found.set(id, {
        id,
        active: user.active,
        entitlements: [...(this.entitlements.get(id) ?? [])],
        version: `W/"${this.userVersions.get(id) ?? 1}"`,
        ...(this.userGroups && { groups }),
      });
    }
    return found;
  }

  /** Supports what the attribute sync sends: add to `entitlements`, remove `entitlements[value eq "…"]`. */
  async patchUser(id: string, operations: readonly PatchOperation[], ifMatch: string | null, ctx: RequestContext): Promise<void> {
    this.record('patchUser', ctx);
    this.beforePatchUser?.(id);
    const version = this.userVersions.get(id);
    if (version === undefined) throw new Error(`no user ${id}`);
    if (ifMatch !== null && ifMatch !== `W/"${version}"`) throw new PreconditionFailedError('version mismatch', { status: 412 });
    let values = [...(this.entitlements.get(id) ?? [])];
    for (const operation of operations) {
      const removal = /^entitlements\[value eq "(.*)"\]$/.exec(operation.path);
      if (operation.op === 'remove' && removal) values = values.filter((v) => v !== JSON.parse(`"${removal[1]}"`));
      else if (operation.op === 'add' && operation.path === 'entitlements') values.push(...(operation.value as { value: string }[]).map((e) => e.value));
      else throw new Error(`unsupported operation ${JSON.stringify(operation)}`);
    }
    this.entitlements.set(id, values);
    this.userVersions.set(id, version + 1);
  }

  private record(call: string, ctx: RequestContext): void {
    this.calls.push(call);
    ctx.stats.upstreamRequests++;
  }

  private mustGroup(id: string): StoredGroup {
    const group = this.groups.get(id);
    if (!group) throw new Error(`no group ${id}`);
    return group;
  }

  private toResource(group: StoredGroup): GroupResource {
    return {
      id: group.id,
      displayName: group.displayName,
      members: group.members.map((m) => ({ ...m })),
      ...(this.versions && { meta: { version: `W/"${group.version}"` } }),
      extra: { ...group.extra },
    };
  }
}
