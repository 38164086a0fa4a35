/**
 * The simulator's in-memory directory: Users and Groups with the indexes that keep every
 * member operation O(1) — an ordered member map per group, a reverse index
 * member id → parent group ids (for `members.value eq` filters and the users' computed
 * `groups`), and userName / externalId indexes. Ids are unique across Users and Groups, so
 * a member's type can be inferred from its value.
 *
 * Writes either apply completely or not at all (RFC 7644 §3.5.2: a PATCH is atomic): a
 * group PATCH keeps an undo log instead of copying a group of 100,000 members.
 */
import { randomUUID } from 'node:crypto';
import type { MemberType } from '../core/membership.js';
import type { DirectorySeed, UserHooks } from './directory.js';
import { NICE_USER_URN, elementMatches, parseAttrPath, valueMatches, type OrFilter } from './filter.js';
import { OrderedMap } from './ordered-map.js';
import { applyAttributeOperation, parsePatchRequest, type PatchOperation } from './patch.js';
import { project, wantsAttribute, type Projection } from './projection.js';
import {
  canonicalName,
  checkGroupAttrs,
  checkSchemas,
  checkUserAttrs,
  groupSchema,
  isObject,
  userSchema,
  writableAttrs,
  type Attrs,
  type ResourceKind,
  type ResourceSchema,
} from './schema.js';
import { SCHEMA, ScimError } from './scim-error.js';

export interface MemberInput {
  readonly value: string;
  /** Inferred from the resource that exists when absent. */
  readonly type?: MemberType;
  readonly display?: string;
  readonly $ref?: string;
}

export interface UserInput {
  readonly id?: string;
  readonly userName: string;
  readonly active?: boolean;
  readonly [attribute: string]: unknown;
}

export interface GroupInput {
  readonly id?: string;
  readonly displayName: string;
  readonly externalId?: string;
  readonly members?: readonly MemberInput[];
  readonly [attribute: string]: unknown;
}

/** SCIM users and groups, and the CXone side (teams, agents, ACD groups; see directory.ts). */
export interface SimulatorSeed extends DirectorySeed {
  readonly users: readonly (UserInput & { readonly id: string })[];
  readonly groups: readonly (GroupInput & { readonly id: string })[];
}

export interface ScimMeta {
  resourceType: ResourceKind;
  created: string;
  lastModified: string;
  location: string;
  /** A weak ETag, `W/"<n>"`, n incremented on every write. */
  version: string;
}

export interface ScimMember {
  value: string;
  type: MemberType;
  display?: string;
  $ref: string;
}

export interface ScimUser {
  schemas: string[];
  id: string;
  userName: string;
  active: boolean;
  /** readOnly, computed: the groups holding the user directly (RFC 7643 §4.1.2). */
  groups?: { value: string; display: string; type: 'direct'; $ref: string }[];
  meta: ScimMeta;
  [attribute: string]: unknown;
}

export interface ScimGroup {
  schemas: string[];
  id: string;
  displayName: string;
  members: ScimMember[];
  meta: ScimMeta;
  [attribute: string]: unknown;
}

/** One PATCH operation as written in a PatchOp body (RFC 7644 §3.5.2). */
export interface PatchOperationInput {
  readonly op: 'add' | 'remove' | 'replace' | 'Add' | 'Remove' | 'Replace';
  readonly path?: string;
  readonly value?: unknown;
}

/** Direct, synchronous access to the simulator's data, for tests. Throws ScimError like the HTTP surface would answer. */
export interface SimulatorStore {
  readonly userCount: number;
  readonly groupCount: number;
  createUser(input: UserInput): ScimUser;
  getUser(id: string): ScimUser | undefined;
  replaceUser(id: string, input: UserInput): ScimUser;
  patchUser(id: string, operations: readonly PatchOperationInput[]): ScimUser;
  deleteUser(id: string): boolean;
  createGroup(input: GroupInput): ScimGroup;
  /** Creates the group with this id, or replaces it wholesale if it exists. */
  putGroup(input: GroupInput & { readonly id: string }): ScimGroup;
  getGroup(id: string): ScimGroup | undefined;
  replaceGroup(id: string, input: GroupInput): ScimGroup;
  patchGroup(id: string, operations: readonly PatchOperationInput[]): ScimGroup;
  deleteGroup(id: string): boolean;
  /** Adds members (one write, one version bump); existing members are left alone. */
  addMembers(groupId: string, members: readonly MemberInput[]): void;
  /** Removes members by value (one write, one version bump); absent ones are ignored. */
  removeMembers(groupId: string, values: readonly string[]): void;
  memberCount(groupId: string): number | undefined;
  /** The groups that hold the user or group directly. */
  parentGroupIds(memberId: string): string[];
  /** A write by "someone else": bumps the version and lastModified. Returns the new ETag. */
  bumpUser(id: string): string;
  bumpGroup(id: string): string;
  /** Replaces everything with the seed (default: the one the simulator was created with). */
  reset(seed?: SimulatorSeed): void;
}

export interface LoadGroupRequest {
  readonly id?: string;
  readonly displayName: string;
  readonly userCount: number;
  readonly inactiveCount?: number;
}

export interface LoadGroupResult {
  readonly id: string;
  readonly displayName: string;
  readonly memberCount: number;
  readonly userIds: string[];
  readonly inactiveUserIds: string[];
}

export interface ListPage {
  readonly total: number;
  readonly resources: Record<string, unknown>[];
}

/** What the HTTP layer needs beyond the public store: raw bodies, projections, pages. */
export interface StoreEngine extends SimulatorStore {
  etagOf(kind: ResourceKind, id: string): string | undefined;
  render(kind: ResourceKind, id: string, projection: Projection | null): Record<string, unknown> | undefined;
  /** The rendering as JSON text, exactly JSON.stringify(render(…)); a whole group is built from cached member fragments. */
  renderJson(kind: ResourceKind, id: string, projection: Projection | null): string | undefined;
  list(kind: ResourceKind, filter: OrFilter | null, startIndex: number, count: number, projection: Projection | null): ListPage;
  /** HTTP writes: bodies are unchecked JSON, and must name their schemas. Return the id written. */
  insert(kind: ResourceKind, body: unknown): string;
  replace(kind: ResourceKind, id: string, body: unknown): void;
  patch(kind: ResourceKind, id: string, operations: readonly PatchOperation[]): void;
  remove(kind: ResourceKind, id: string): boolean;
  createLoadGroup(request: LoadGroupRequest): LoadGroupResult;
  /** A change made through the CXone admin API, written to the SCIM user (a write: its version moves). Unknown ids are ignored. */
  applyAgentChange(id: string, change: { active?: boolean; team?: { value: string; display: string } }): void;
}

interface MemberEntry {
  readonly value: string;
  readonly type: MemberType;
  /**
   * This member's JSON text in a group's `members` (value, type, display, $ref) and the base
   * URL it was made with, so that answering with a 100,000-member group joins cached strings
   * instead of building and serialising 100,000 objects on every GET, PUT and PATCH.
   * Cleared whenever the resource's attributes (and so its display) change.
   */
  json?: string;
  jsonBase?: string;
}

interface ResourceRecord {
  readonly id: string;
  /** This resource as a group member: one shared object however many groups hold it. */
  readonly asMember: MemberEntry;
  readonly seq: number;
  attrs: Attrs;
  readonly created: number;
  lastModified: number;
  version: number;
}

interface UserRecord extends ResourceRecord {
  readonly kind: 'User';
}

interface GroupRecord extends ResourceRecord {
  readonly kind: 'Group';
  members: OrderedMap<MemberEntry>;
}

export interface StoreOptions {
  readonly seed: SimulatorSeed;
  readonly now: () => number;
  /** Origin used in meta.location and members' $ref (empty before the server listens). */
  readonly baseUrl: () => string;
  /** The CXone directory's hooks around user writes and seed loads (none: users stand alone). */
  readonly users?: UserHooks;
}

type Undo = () => void;

const SCIM_PATH = '/scim/v2';

function notFound(kind: ResourceKind, id: string): ScimError {
  return new ScimError(404, `${kind} ${JSON.stringify(id)} not found`);
}

function etag(version: number): string {
  return `W/"${version}"`;
}

function schemaOf(kind: ResourceKind): ResourceSchema {
  return kind === 'User' ? userSchema : groupSchema;
}

function meta(rec: ResourceRecord, kind: ResourceKind, base: string): ScimMeta {
  return {
    resourceType: kind,
    created: new Date(rec.created).toISOString(),
    lastModified: new Date(rec.lastModified).toISOString(),
    location: `${base}${SCIM_PATH}/${schemaOf(kind).endpoint}/${rec.id}`,
    version: etag(rec.version),
  };
}

/** The core schema plus the extension schemas the resource carries (RFC 7643 §3). */
function schemasOf(core: string, attrs: Attrs): string[] {
  const schemas = [core];
  for (const key of Object.keys(attrs)) if (key.startsWith('urn:')) schemas.push(key);
  return schemas;
}

function bodyObject(body: unknown, core: string, requireSchemas: boolean): Attrs {
  if (!isObject(body)) throw ScimError.of('invalidSyntax', 'the request body must be a JSON object');
  if (requireSchemas) checkSchemas(body.schemas, core);
  return body;
}

function splitGroupBody(body: unknown, requireSchemas: boolean): { input: Attrs; attrs: Attrs; members: unknown } {
  const input = bodyObject(body, SCHEMA.group, requireSchemas);
  const membersKey = Object.keys(input).find((key) => key.toLowerCase() === 'members');
  const attrs = checkGroupAttrs(writableAttrs(groupSchema, input, ['members']));
  return { input, attrs, members: membersKey === undefined ? undefined : input[membersKey] };
}

function ops(kind: ResourceKind, operations: readonly PatchOperationInput[]): PatchOperation[] {
  return parsePatchRequest({ schemas: [SCHEMA.patchOp], Operations: structuredClone(operations) }, schemaOf(kind));
}

const clone = <T>(value: T): T => structuredClone(value);

/** A resource's attributes changed: its display in other groups' `members` may have too. */
function forgetMemberJson(rec: ResourceRecord): void {
  rec.asMember.json = undefined;
  rec.asMember.jsonBase = undefined;
}

export function createSimulatorStore(options: StoreOptions): StoreEngine {
  const { now, baseUrl } = options;
  const hooks = options.users;
  let seed = options.seed;
  let users = new OrderedMap<UserRecord>();
  let groups = new OrderedMap<GroupRecord>();
  /** member id → id(s) of the groups holding it directly; a plain string while there is one, to spare 100,000 Sets */
  let parents = new Map<string, string | Set<string>>();
  /** lower-cased userName → user id (userName is caseExact false, RFC 7643 §4.1.1) */
  let userNames = new Map<string, string>();
  let userExternalIds = new Map<string, Set<string>>();
  let seq = 0;

  // ---- indexes -------------------------------------------------------------------------

  function link(groupId: string, memberId: string): void {
    const current = parents.get(memberId);
    if (current === undefined) parents.set(memberId, groupId);
    else if (typeof current !== 'string') current.add(groupId);
    else if (current !== groupId) parents.set(memberId, new Set([current, groupId]));
  }

  function unlink(groupId: string, memberId: string): void {
    const current = parents.get(memberId);
    if (current === groupId) parents.delete(memberId);
    else if (current !== undefined && typeof current !== 'string') {
      current.delete(groupId);
      if (current.size === 0) parents.delete(memberId);
    }
  }

  function parentsOf(memberId: string): string[] {
    const current = parents.get(memberId);
    return current === undefined ? [] : typeof current === 'string' ? [current] : [...current];
  }

  function indexUser(rec: UserRecord): void {
    userNames.set((rec.attrs.userName as string).toLowerCase(), rec.id);
    const externalId = rec.attrs.externalId;
    if (typeof externalId === 'string') {
      let set = userExternalIds.get(externalId);
      if (set === undefined) userExternalIds.set(externalId, (set = new Set()));
      set.add(rec.id);
    }
  }

  function unindexUser(rec: UserRecord): void {
    userNames.delete((rec.attrs.userName as string).toLowerCase());
    const externalId = rec.attrs.externalId;
    if (typeof externalId === 'string') {
      const set = userExternalIds.get(externalId);
      set?.delete(rec.id);
      if (set?.size === 0) userExternalIds.delete(externalId);
    }
  }

  function assertUserNameFree(userName: string, ownerId: string | null): void {
    const holder = userNames.get(userName.toLowerCase());
    if (holder !== undefined && holder !== ownerId) {
      throw ScimError.of('uniqueness', `userName ${JSON.stringify(userName)} is already taken (RFC 7643 §4.1.1: unique, case-insensitive)`);
    }
  }

  function newId(explicit: unknown): string {
    if (explicit === undefined) return randomUUID();
    if (typeof explicit !== 'string' || explicit === '') throw ScimError.of('invalidValue', '"id" must be a non-empty string');
    if (users.has(explicit) || groups.has(explicit)) throw ScimError.of('uniqueness', `id ${JSON.stringify(explicit)} is already taken`);
    return explicit;
  }

  function touch(rec: ResourceRecord): void {
    rec.version++;
    rec.lastModified = now();
  }

  function getUserRecord(id: string): UserRecord {
    const rec = users.get(id);
    if (rec === undefined) throw notFound('User', id);
    return rec;
  }

  function getGroupRecord(id: string): GroupRecord {
    const rec = groups.get(id);
    if (rec === undefined) throw notFound('Group', id);
    return rec;
  }

  // ---- rendering -----------------------------------------------------------------------

  function displayOf(entry: MemberEntry): string | undefined {
    const attrs = entry.type === 'User' ? users.get(entry.value)?.attrs : groups.get(entry.value)?.attrs;
    if (attrs === undefined) return undefined;
    return (attrs.displayName ?? attrs.userName) as string | undefined;
  }

  function renderUser(rec: UserRecord, projection: Projection | null): Record<string, unknown> {
    const base = baseUrl();
    const out: Record<string, unknown> = { schemas: schemasOf(SCHEMA.user, rec.attrs), id: rec.id, ...rec.attrs };
    const parentIds = parentsOf(rec.id);
    if (parentIds.length > 0 && wantsAttribute(projection, 'groups')) {
      out.groups = parentIds.map((groupId) => ({
        value: groupId,
        display: groups.get(groupId)?.attrs.displayName,
        type: 'direct',
        $ref: `${base}${SCIM_PATH}/Groups/${groupId}`,
      }));
    }
    out.meta = meta(rec, 'User', base);
    if (projection === null) return out;
    // RFC 7643 §3: "schemas" names the schemas whose attributes the answer holds.
    const projected = project(out, projection);
    projected.schemas = schemasOf(SCHEMA.user, projected);
    return projected;
  }

  function memberJson(entry: MemberEntry, base: string, userRef: string, groupRef: string): string {
    if (entry.jsonBase === base && entry.json !== undefined) return entry.json;
    const json = JSON.stringify({ value: entry.value, type: entry.type, display: displayOf(entry), $ref: (entry.type === 'User' ? userRef : groupRef) + entry.value });
    entry.json = json;
    entry.jsonBase = base;
    return json;
  }

  /** JSON.stringify(renderGroup(rec, null)), byte for byte, from the members' cached JSON. */
  function renderGroupJson(rec: GroupRecord): string {
    const base = baseUrl();
    const head: Record<string, unknown> = { schemas: schemasOf(SCHEMA.group, rec.attrs), id: rec.id, displayName: rec.attrs.displayName, ...rec.attrs };
    if (Object.hasOwn(head, 'members') || Object.hasOwn(head, 'meta')) return JSON.stringify(renderGroup(rec, null));
    const userRef = `${base}${SCIM_PATH}/Users/`;
    const groupRef = `${base}${SCIM_PATH}/Groups/`;
    const members: string[] = [];
    for (const entry of rec.members.values()) members.push(memberJson(entry, base, userRef, groupRef));
    return `${JSON.stringify(head).slice(0, -1)},"members":[${members.join(',')}],"meta":${JSON.stringify(meta(rec, 'Group', base))}}`;
  }

  function renderGroup(rec: GroupRecord, projection: Projection | null): Record<string, unknown> {
    const base = baseUrl();
    const out: Record<string, unknown> = { schemas: schemasOf(SCHEMA.group, rec.attrs), id: rec.id, displayName: rec.attrs.displayName, ...rec.attrs };
    if (wantsAttribute(projection, 'members')) {
      const members: ScimMember[] = [];
      const userRef = `${base}${SCIM_PATH}/Users/`;
      const groupRef = `${base}${SCIM_PATH}/Groups/`;
      for (const entry of rec.members.values()) {
        members.push({
          value: entry.value,
          type: entry.type,
          display: displayOf(entry),
          $ref: (entry.type === 'User' ? userRef : groupRef) + entry.value,
        });
      }
      out.members = members;
    }
    out.meta = meta(rec, 'Group', base);
    return project(out, projection);
  }

  // ---- members -------------------------------------------------------------------------

  /** Checks member references (RFC 7643 §4.2: value is the id of a User or Group), de-duplicated, in order. */
  function resolveMembers(raw: unknown, selfId: string | null): OrderedMap<MemberEntry> {
    const out = new OrderedMap<MemberEntry>();
    if (raw === undefined || raw === null) return out;
    if (!Array.isArray(raw)) throw ScimError.of('invalidValue', '"members" must be an array');
    const bad: string[] = [];
    const groupEntry = (value: string): MemberEntry | undefined =>
      groups.get(value)?.asMember ?? (value === selfId ? { value, type: 'Group' } : undefined);
    for (const item of raw) {
      if (!isObject(item) || typeof item.value !== 'string' || item.value === '') {
        throw ScimError.of('invalidValue', 'every member needs a non-empty string "value"');
      }
      const value = item.value;
      let type: MemberType | undefined;
      if (item.type === 'User' || item.type === 'Group') type = item.type;
      else if (item.type !== undefined) {
        const lower = typeof item.type === 'string' ? item.type.toLowerCase() : '';
        if (lower !== 'user' && lower !== 'group') throw ScimError.of('invalidValue', `member type must be "User" or "Group", got ${JSON.stringify(item.type)}`);
        type = lower === 'user' ? 'User' : 'Group';
      }
      const entry = type === 'Group' ? groupEntry(value) : type === 'User' ? users.get(value)?.asMember : (users.get(value)?.asMember ?? groupEntry(value));
      if (entry === undefined) bad.push(type === undefined ? value : `${value} (${type})`);
      else if (!out.has(value)) out.set(value, entry);
    }
    if (bad.length > 0) {
      const shown = bad.slice(0, 5).join(', ') + (bad.length > 5 ? `, … (${bad.length} in all)` : '');
      throw ScimError.of('invalidValue', `members must reference existing resources of their type; not found: ${shown}`);
    }
    return out;
  }

  function setMembers(rec: GroupRecord, next: OrderedMap<MemberEntry>): Undo {
    const old = rec.members;
    for (const entry of old.values()) if (!next.has(entry.value)) unlink(rec.id, entry.value);
    for (const entry of next.values()) if (!old.has(entry.value)) link(rec.id, entry.value);
    rec.members = next;
    return () => {
      for (const entry of next.values()) if (!old.has(entry.value)) unlink(rec.id, entry.value);
      for (const entry of old.values()) if (!next.has(entry.value)) link(rec.id, entry.value);
      rec.members = old;
    };
  }

  function addMember(rec: GroupRecord, entry: MemberEntry, undo: Undo[]): void {
    if (rec.members.has(entry.value)) return;
    rec.members.set(entry.value, entry);
    link(rec.id, entry.value);
    undo.push(() => {
      rec.members.delete(entry.value);
      unlink(rec.id, entry.value);
    });
  }

  function removeMember(rec: GroupRecord, value: string, undo: Undo[]): void {
    const entry = rec.members.get(value);
    if (entry === undefined) return;
    const slot = rec.members.delete(value);
    unlink(rec.id, value);
    undo.push(() => {
      rec.members.restore(value, entry, slot);
      link(rec.id, value);
    });
  }

  function matchingMembers(rec: GroupRecord, filter: OrFilter): MemberEntry[] {
    // `members[value eq "…" or value eq "…"]` is answered from the index, not by a scan.
    if (filter.every((clause) => clause.attr.toLowerCase() === 'value' && typeof clause.value === 'string')) {
      const found: MemberEntry[] = [];
      for (const clause of filter) {
        const entry = rec.members.get(clause.value as string);
        if (entry !== undefined && !found.includes(entry)) found.push(entry);
      }
      return found;
    }
    return [...rec.members.values()].filter((entry) => elementMatches(entry, filter));
  }

  /** RFC 7644 §3.5.2 applied to `members`. */
  function patchMembers(rec: GroupRecord, operation: PatchOperation, undo: Undo[]): void {
    const { op, value } = operation;
    const path = operation.path;
    if (path !== null && path.sub !== null) throw ScimError.of('invalidPath', 'member sub-attributes cannot be patched; add or remove whole members');
    const values = (): unknown[] => (value === null || value === undefined ? [] : Array.isArray(value) ? value : [value]);
    if (path !== null && path.filter !== null) {
      if (op === 'add') throw ScimError.of('invalidPath', '"add" takes path "members" and an array of members, not a value filter');
      const matched = matchingMembers(rec, path.filter);
      if (matched.length === 0) throw ScimError.of('noTarget', 'no member matches the path\'s filter (RFC 7644 §3.12 noTarget)');
      for (const entry of matched) removeMember(rec, entry.value, undo);
      if (op === 'replace') for (const entry of resolveMembers(values(), rec.id).values()) addMember(rec, entry, undo);
      return;
    }
    if (op === 'add') {
      for (const entry of resolveMembers(values(), rec.id).values()) addMember(rec, entry, undo);
    } else if (op === 'replace' || value === undefined || value === null) {
      undo.push(setMembers(rec, op === 'replace' ? resolveMembers(values(), rec.id) : new OrderedMap()));
    } else {
      for (const item of values()) {
        if (!isObject(item) || typeof item.value !== 'string') throw ScimError.of('invalidValue', 'members to remove need a string "value"');
        removeMember(rec, item.value, undo);
      }
    }
  }

  // ---- writes --------------------------------------------------------------------------

  function insertUser(body: unknown, requireSchemas: boolean): string {
    const input = bodyObject(body, SCHEMA.user, requireSchemas);
    const attrs = checkUserAttrs(writableAttrs(userSchema, input));
    assertUserNameFree(attrs.userName as string, null);
    const id = newId(requireSchemas ? undefined : input.id);
    hooks?.prepare(attrs, id);
    const time = now();
    const rec: UserRecord = { kind: 'User', id, asMember: { value: id, type: 'User' }, seq: seq++, attrs, created: time, lastModified: time, version: 1 };
    users.set(id, rec);
    indexUser(rec);
    hooks?.written(id, attrs);
    return id;
  }

  function commitUser(rec: UserRecord, attrs: Attrs): void {
    assertUserNameFree(attrs.userName as string, rec.id);
    hooks?.prepare(attrs, rec.id);
    unindexUser(rec);
    rec.attrs = attrs;
    forgetMemberJson(rec);
    indexUser(rec);
    touch(rec);
    hooks?.written(rec.id, attrs);
  }

  function applyAgentChange(id: string, change: { active?: boolean; team?: { value: string; display: string } }): void {
    const rec = users.get(id);
    if (rec === undefined) return;
    const attrs = structuredClone(rec.attrs);
    if (change.active !== undefined) attrs.active = change.active;
    if (change.team !== undefined) attrs[NICE_USER_URN] = { ...(isObject(attrs[NICE_USER_URN]) ? (attrs[NICE_USER_URN] as Attrs) : {}), team: { ...change.team } };
    rec.attrs = attrs;
    forgetMemberJson(rec);
    touch(rec);
  }

  function replaceUser(id: string, body: unknown, requireSchemas: boolean): void {
    const rec = getUserRecord(id);
    const input = bodyObject(body, SCHEMA.user, requireSchemas);
    commitUser(rec, checkUserAttrs(writableAttrs(userSchema, input)));
  }

  function patchUser(id: string, operations: readonly PatchOperation[]): void {
    const rec = getUserRecord(id);
    const attrs = structuredClone(rec.attrs);
    for (const operation of operations) applyAttributeOperation(attrs, operation, userSchema);
    commitUser(rec, checkUserAttrs(attrs));
  }

  function removeUser(id: string): boolean {
    const rec = users.get(id);
    if (rec === undefined) return false;
    detachFromParents(id);
    unindexUser(rec);
    users.delete(id);
    users.maybeCompact();
    hooks?.removed(id);
    return true;
  }

  /** A deleted resource leaves every group that held it: each such group is written. */
  function detachFromParents(memberId: string): void {
    for (const groupId of parentsOf(memberId)) {
      const parent = groups.get(groupId);
      if (parent === undefined) continue;
      parent.members.delete(memberId);
      parent.members.maybeCompact();
      touch(parent);
    }
    parents.delete(memberId);
  }

  function insertGroup(body: unknown, requireSchemas: boolean): string {
    const { input, attrs, members } = splitGroupBody(body, requireSchemas);
    const id = newId(requireSchemas ? undefined : input.id);
    const entries = resolveMembers(members, id);
    const time = now();
    const rec: GroupRecord = { kind: 'Group', id, asMember: { value: id, type: 'Group' }, seq: seq++, attrs, members: new OrderedMap(), created: time, lastModified: time, version: 1 };
    groups.set(id, rec);
    // A group listing itself got a stand-in entry before it existed: use its own from now on.
    if (entries.has(id)) entries.set(id, rec.asMember);
    setMembers(rec, entries);
    return id;
  }

  function replaceGroup(id: string, body: unknown, requireSchemas: boolean): void {
    const rec = getGroupRecord(id);
    const { attrs, members } = splitGroupBody(body, requireSchemas);
    // RFC 7644 §3.5.1: PUT replaces; members left out of the body are cleared.
    setMembers(rec, resolveMembers(members, id));
    rec.attrs = attrs;
    forgetMemberJson(rec);
    touch(rec);
  }

  function patchGroup(id: string, operations: readonly PatchOperation[]): void {
    const rec = getGroupRecord(id);
    const attrs = structuredClone(rec.attrs);
    const undo: Undo[] = [];
    try {
      for (const operation of operations) {
        if (operation.path?.attr === 'members') {
          patchMembers(rec, operation, undo);
        } else if (operation.path === null) {
          const rest: Attrs = {};
          for (const [key, value] of Object.entries(operation.value as Attrs)) {
            if (canonicalName(groupSchema, key) === 'members') patchMembers(rec, { op: operation.op, path: null, value }, undo);
            else rest[key] = value;
          }
          applyAttributeOperation(attrs, { ...operation, value: rest }, groupSchema);
        } else {
          applyAttributeOperation(attrs, operation, groupSchema);
        }
      }
      checkGroupAttrs(attrs);
    } catch (error) {
      for (let i = undo.length - 1; i >= 0; i--) (undo[i] as Undo)();
      throw error;
    }
    rec.attrs = attrs;
    forgetMemberJson(rec);
    rec.members.maybeCompact();
    touch(rec);
  }

  function removeGroup(id: string): boolean {
    const rec = groups.get(id);
    if (rec === undefined) return false;
    for (const entry of rec.members.values()) unlink(id, entry.value);
    detachFromParents(id);
    groups.delete(id);
    groups.maybeCompact();
    return true;
  }

  // ---- queries -------------------------------------------------------------------------

  type FilterKey = 'id' | 'userName' | 'externalId' | 'displayName' | 'active' | 'members.value';
  const filterable: Record<ResourceKind, readonly FilterKey[]> = {
    User: ['id', 'userName', 'externalId', 'displayName', 'active'],
    Group: ['id', 'displayName', 'externalId', 'members.value'],
  };

  function compileFilter(kind: ResourceKind, filter: OrFilter): { key: FilterKey; value: string | boolean }[] {
    const schema = schemaOf(kind);
    return filter.map((clause) => {
      const path = parseAttrPath(clause.attr, schema.coreUrn);
      const name = path === null ? clause.attr : canonicalName(schema, path.attr) + (path.sub === null ? '' : `.${path.sub.toLowerCase()}`);
      const key = filterable[kind].find((k) => k === name);
      if (key === undefined) {
        throw ScimError.of('invalidFilter', `filtering ${schema.endpoint} on ${JSON.stringify(clause.attr)} is not supported; use ${filterable[kind].join(', ')}`);
      }
      const wantsBoolean = key === 'active';
      if (wantsBoolean ? typeof clause.value !== 'boolean' : typeof clause.value !== 'string') {
        throw ScimError.of('invalidFilter', `${key} compares with ${wantsBoolean ? 'true or false' : 'a "quoted string"'}`);
      }
      return { key, value: clause.value as string | boolean };
    });
  }

  function matchUsers(clauses: ReturnType<typeof compileFilter>): UserRecord[] {
    const found = new Set<UserRecord>();
    const add = (id: string | undefined): void => {
      const rec = id === undefined ? undefined : users.get(id);
      if (rec !== undefined) found.add(rec);
    };
    for (const { key, value } of clauses) {
      if (key === 'id') add(value as string);
      else if (key === 'userName') add(userNames.get((value as string).toLowerCase()));
      else if (key === 'externalId') for (const id of userExternalIds.get(value as string) ?? []) add(id);
      else for (const rec of users.values()) if (valueMatches(rec.attrs[key], value, true)) found.add(rec);
    }
    return [...found].toSorted((a, b) => a.seq - b.seq);
  }

  function matchGroups(clauses: ReturnType<typeof compileFilter>): GroupRecord[] {
    const found = new Set<GroupRecord>();
    for (const { key, value } of clauses) {
      if (key === 'id') {
        const rec = groups.get(value as string);
        if (rec !== undefined) found.add(rec);
      } else if (key === 'members.value') {
        for (const id of parentsOf(value as string)) found.add(getGroupRecord(id));
      } else {
        for (const rec of groups.values()) if (valueMatches(rec.attrs[key], value, key === 'displayName')) found.add(rec);
      }
    }
    return [...found].toSorted((a, b) => a.seq - b.seq);
  }

  function list(kind: ResourceKind, filter: OrFilter | null, startIndex: number, count: number, projection: Projection | null): ListPage {
    const from = startIndex - 1;
    if (kind === 'User') {
      const matched = filter === null ? null : matchUsers(compileFilter(kind, filter));
      const page = matched === null ? users.slice(from, from + count) : matched.slice(from, from + count);
      return { total: matched?.length ?? users.size, resources: page.map((rec) => renderUser(rec, projection)) };
    }
    const matched = filter === null ? null : matchGroups(compileFilter(kind, filter));
    const page = matched === null ? groups.slice(from, from + count) : matched.slice(from, from + count);
    return { total: matched?.length ?? groups.size, resources: page.map((rec) => renderGroup(rec, projection)) };
  }

  // ---- seed and load -------------------------------------------------------------------

  function load(data: SimulatorSeed): void {
    users = new OrderedMap();
    groups = new OrderedMap();
    parents = new Map();
    userNames = new Map();
    userExternalIds = new Map();
    seq = 0;
    try {
      hooks?.beforeLoad(data);
      for (const user of data.users) insertUser(structuredClone(user), false);
      // Groups first without members, so that members may name groups defined later.
      for (const group of data.groups) insertGroup({ ...structuredClone(group), members: [] }, false);
      for (const group of data.groups) setMembers(getGroupRecord(group.id), resolveMembers(structuredClone(group.members ?? []), group.id));
      hooks?.afterLoad();
    } catch (error) {
      throw new Error(`the simulator seed is invalid: ${(error as Error).message}`, { cause: error });
    }
  }

  function createLoadGroup(request: LoadGroupRequest): LoadGroupResult {
    const { displayName, userCount } = request;
    const inactiveCount = request.inactiveCount ?? 0;
    if (typeof displayName !== 'string' || displayName.trim() === '') throw ScimError.of('invalidValue', '"displayName" must be a non-empty string');
    if (!Number.isSafeInteger(userCount) || userCount < 0 || userCount > 2_000_000) throw ScimError.of('invalidValue', '"userCount" must be an integer from 0 to 2000000');
    if (!Number.isSafeInteger(inactiveCount) || inactiveCount < 0 || inactiveCount > userCount) throw ScimError.of('invalidValue', '"inactiveCount" must be an integer from 0 to userCount');
    const id = newId(request.id);
    const time = now();
    const userIds: string[] = [];
    const inactiveUserIds: string[] = [];
    const entries = new OrderedMap<MemberEntry>();
    const batch = seq;
    for (let i = 0; i < userCount; i++) {
      const userId = randomUUID();
      const active = i < userCount - inactiveCount;
      const candidate = `load${batch}.${i + 1}@example.com`;
      const userName = userNames.has(candidate) ? `load.${userId}@example.com` : candidate;
      const attrs: Attrs = { userName, displayName: `Load User ${i + 1}`, emails: [{ value: userName, type: 'work', primary: true }], active };
      const asMember: MemberEntry = { value: userId, type: 'User' };
      const rec: UserRecord = { kind: 'User', id: userId, asMember, seq: seq++, attrs, created: time, lastModified: time, version: 1 };
      users.set(userId, rec);
      indexUser(rec);
      (active ? userIds : inactiveUserIds).push(userId);
      entries.set(userId, asMember);
    }
    const rec: GroupRecord = { kind: 'Group', id, asMember: { value: id, type: 'Group' }, seq: seq++, attrs: { displayName }, members: new OrderedMap(), created: time, lastModified: time, version: 1 };
    groups.set(id, rec);
    setMembers(rec, entries);
    return { id, displayName, memberCount: entries.size, userIds: [...userIds, ...inactiveUserIds], inactiveUserIds };
  }

  // ---- the public face -----------------------------------------------------------------

  const userOut = (id: string): ScimUser => structuredClone(renderUser(getUserRecord(id), null)) as ScimUser;
  const groupOut = (id: string): ScimGroup => structuredClone(renderGroup(getGroupRecord(id), null)) as ScimGroup;

  load(seed);

  return {
    get userCount() {
      return users.size;
    },
    get groupCount() {
      return groups.size;
    },
    createUser: (input) => userOut(insertUser(clone(input), false)),
    getUser: (id) => (users.has(id) ? userOut(id) : undefined),
    replaceUser: (id, input) => (replaceUser(id, clone(input), false), userOut(id)),
    patchUser: (id, operations) => (patchUser(id, ops('User', operations)), userOut(id)),
    deleteUser: removeUser,
    createGroup: (input) => groupOut(insertGroup(clone(input), false)),
    putGroup: (input) => {
      if (groups.has(input.id)) replaceGroup(input.id, clone(input), false);
      else insertGroup(clone(input), false);
      return groupOut(input.id);
    },
    getGroup: (id) => (groups.has(id) ? groupOut(id) : undefined),
    replaceGroup: (id, input) => (replaceGroup(id, clone(input), false), groupOut(id)),
    patchGroup: (id, operations) => (patchGroup(id, ops('Group', operations)), groupOut(id)),
    deleteGroup: removeGroup,
    addMembers: (groupId, members) => patchGroup(groupId, [{ op: 'add', path: { attr: 'members', filter: null, sub: null }, value: clone(members) }]),
    removeMembers: (groupId, values) =>
      patchGroup(groupId, [{ op: 'remove', path: { attr: 'members', filter: null, sub: null }, value: values.map((value) => ({ value })) }]),
    memberCount: (groupId) => groups.get(groupId)?.members.size,
    parentGroupIds: parentsOf,
    bumpUser: (id) => {
      const rec = getUserRecord(id);
      touch(rec);
      return etag(rec.version);
    },
    bumpGroup: (id) => {
      const rec = getGroupRecord(id);
      touch(rec);
      return etag(rec.version);
    },
    reset: (data) => {
      if (data !== undefined) seed = data;
      load(seed);
    },

    etagOf: (kind, id) => {
      const rec = kind === 'User' ? users.get(id) : groups.get(id);
      return rec === undefined ? undefined : etag(rec.version);
    },
    render: (kind, id, projection) => {
      if (kind === 'User') {
        const rec = users.get(id);
        return rec === undefined ? undefined : renderUser(rec, projection);
      }
      const rec = groups.get(id);
      return rec === undefined ? undefined : renderGroup(rec, projection);
    },
    renderJson: (kind, id, projection) => {
      if (kind === 'Group' && projection === null) {
        const rec = groups.get(id);
        return rec === undefined ? undefined : renderGroupJson(rec);
      }
      const rendered = kind === 'User' ? (users.has(id) ? renderUser(getUserRecord(id), projection) : undefined) : groups.has(id) ? renderGroup(getGroupRecord(id), projection) : undefined;
      return rendered === undefined ? undefined : JSON.stringify(rendered);
    },
    list,
    insert: (kind, body) => (kind === 'User' ? insertUser(body, true) : insertGroup(body, true)),
    replace: (kind, id, body) => (kind === 'User' ? replaceUser(id, body, true) : replaceGroup(id, body, true)),
    patch: (kind, id, operations) => (kind === 'User' ? patchUser(id, operations) : patchGroup(id, operations)),
    remove: (kind, id) => (kind === 'User' ? removeUser(id) : removeGroup(id)),
    createLoadGroup,
    applyAgentChange,
  };
}

