/**
 * SCIM resource shapes (RFC 7643 §4.1, §4.2; list responses RFC 7644 §3.4.2): parsed
 * defensively, since a provider's JSON is input like any other. A shape we cannot use
 * throws ShapeError, which the directory turns into an UpstreamError naming the call.
 */
import type { GroupResource, MemberRef, MemberType } from '../../core/membership.js';
import type { GroupNode, GroupWrite, UserAttributes, UserSummary } from '../../core/ports.js';
import { groupWriteJson } from '../../core/scim-group.js';

export class ShapeError extends Error {
  override readonly name = 'ShapeError';
  /** The answer's status, when the body was found unusable while it was being read. */
  status?: number;
}

type Json = Record<string, unknown>;

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ShapeError('the body is not valid JSON');
  }
}

function asObject(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ShapeError(`${what} is not a JSON object`);
  }
  return value as Json;
}

function requiredString(body: Json, key: string, what: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value === '') throw new ShapeError(`${what} has no string "${key}"`);
  return value;
}

/** RFC 7643 §4.2: `type` is "User" or "Group"; without it, infer from `$ref`, else User. */
function memberType(member: Json, index: number): MemberType {
  const type = member.type;
  if (type === undefined || type === null || type === '') {
    const ref = member.$ref;
    if (typeof ref === 'string' && /\/Groups\/[^/]+\/?$/.test(ref)) return 'Group';
    return 'User';
  }
  if (typeof type === 'string') {
    const lower = type.toLowerCase();
    if (lower === 'user') return 'User';
    if (lower === 'group') return 'Group';
  }
  // The value itself is not echoed: upstream text reaches answers and logs only through the redactor.
  const got = type === null ? 'null' : Array.isArray(type) ? 'an array' : typeof type === 'string' ? 'another string' : `a ${typeof type}`;
  throw new ShapeError(`members[${index}].type is ${got}, expected "User" or "Group"`);
}

export function parseMembers(value: unknown): MemberRef[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ShapeError('"members" is not an array');
  return value.map(parseMember);
}

/** One element of a `members` array, at `index`, as a MemberRef. */
export function parseMember(item: unknown, index: number): MemberRef {
  const member = asObject(item, `members[${index}]`);
  const memberValue = member.value;
  if (typeof memberValue !== 'string' || memberValue === '') {
    throw new ShapeError(`members[${index}] has no string "value"`);
  }
  const type = memberType(member, index);
  return typeof member.display === 'string' ? { value: memberValue, type, display: member.display } : { value: memberValue, type };
}

/** The attributes a GroupResource holds outside `extra`. */
export const GROUP_CORE_ATTRIBUTES: ReadonlySet<string> = new Set(['id', 'displayName', 'members', 'meta']);

export function parseGroup(json: unknown): GroupResource {
  const body = asObject(json, 'the group');
  return parseGroupWith(body, parseMembers(body.members));
}

/** A group whose members were parsed already (group-body.ts streams them). */
export function parseGroupWith(json: unknown, members: MemberRef[]): GroupResource {
  const body = asObject(json, 'the group');
  const id = requiredString(body, 'id', 'the group');
  const displayName = requiredString(body, 'displayName', 'the group');
  const extra: Json = {};
  for (const [key, value] of Object.entries(body)) {
    if (!GROUP_CORE_ATTRIBUTES.has(key)) extra[key] = value;
  }
  const meta = typeof body.meta === 'object' && body.meta !== null ? (body.meta as Json) : undefined;
  const version = typeof meta?.version === 'string' ? meta.version : undefined;
  const lastModified = typeof meta?.lastModified === 'string' ? meta.lastModified : undefined;
  const group: GroupResource = { id, displayName, members, extra };
  return version === undefined && lastModified === undefined
    ? group
    : { ...group, meta: { ...(version !== undefined && { version }), ...(lastModified !== undefined && { lastModified }) } };
}

export function parseGroupNode(json: unknown): GroupNode {
  const body = asObject(json, 'the group');
  const id = requiredString(body, 'id', 'the group');
  const displayName = typeof body.displayName === 'string' ? body.displayName : '';
  const groupMemberIds = parseMembers(body.members)
    .filter((member) => member.type === 'Group')
    .map((member) => member.value);
  return { id, displayName, groupMemberIds };
}

/** A user without `active` counts as active (RFC 7643 §4.1.1 leaves it optional). */
export function parseUser(json: unknown): UserSummary {
  const body = asObject(json, 'the user');
  const id = requiredString(body, 'id', 'the user');
  const active = body.active !== false && body.active !== 'false';
  return { id, active };
}

/** A user with the attributes the attribute sync reads back (RFC 7643 §4.1.2 groups, entitlements). */
export function parseUserAttributes(json: unknown): UserAttributes {
  const body = asObject(json, 'the user');
  const { id, active } = parseUser(body);
  const valuesOf = (attribute: string): string[] | undefined => {
    const list = body[attribute];
    if (list === undefined || list === null) return undefined;
    if (!Array.isArray(list)) throw new ShapeError(`the user's ${attribute} is not an array`);
    return list.flatMap((item) => {
      const value = typeof item === 'object' && item !== null ? (item as Json).value : undefined;
      return typeof value === 'string' ? [value] : [];
    });
  };
  const meta = body.meta;
  const version = typeof meta === 'object' && meta !== null && typeof (meta as Json).version === 'string' ? ((meta as Json).version as string) : undefined;
  const groups = valuesOf('groups');
  return { id, active, entitlements: valuesOf('entitlements') ?? [], ...(groups && { groups }), ...(version && { version }) };
}

/** The `id` of a list item, or undefined when it has none. */
export function idOf(resource: unknown): string | undefined {
  if (typeof resource !== 'object' || resource === null) return undefined;
  const id = (resource as Json).id;
  return typeof id === 'string' ? id : undefined;
}

export interface ListPage {
  readonly resources: readonly unknown[];
  readonly totalResults: number | undefined;
}

/** RFC 7644 §3.4.2: `Resources` may be absent when there are no results. */
export function parseListResponse(json: unknown): ListPage {
  const body = asObject(json, 'the list response');
  const resources = body.Resources ?? [];
  if (!Array.isArray(resources)) throw new ShapeError('"Resources" is not an array');
  const rawTotal = typeof body.totalResults === 'string' ? Number(body.totalResults) : body.totalResults;
  const totalResults = typeof rawTotal === 'number' && Number.isFinite(rawTotal) && rawTotal >= 0 ? rawTotal : undefined;
  return { resources, totalResults };
}

/** The body of a full replace, encoded once: a large group is megabytes, and retries resend it. */
export function serializeGroupWrite(write: GroupWrite): Buffer {
  return Buffer.from(groupWriteJson(write), 'utf8');
}
