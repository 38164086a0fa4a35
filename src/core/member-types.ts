/**
 * resolveMemberTypes: the type of each desired member that came without one.
 *
 * RFC 7643 §4.2 makes `members.type` optional, and Okta and Entra ID often leave it out.
 * Ids are unique across all resources of a provider (RFC 7643 §3.1), so a value names one
 * resource: a member already in the group takes the type it has there, without a lookup;
 * the others are looked up as users first (one batched lookup), and those not found as
 * groups (another). A value that is neither stays a User, listed in `unresolved` so that
 * validation says that no user or group has that id.
 */
import type { DesiredMember, MemberRef, MemberType } from './membership.js';
import type { RequestContext, ScimDirectory, UserSummary } from './ports.js';

export interface TypedMembers {
  /** The desired members, each with its type, in request order. */
  readonly members: readonly MemberRef[];
  /** Users found while resolving: validation need not look them up again. */
  readonly users: ReadonlyMap<string, UserSummary>;
  /** Values that are neither a user nor a group upstream (typed User in `members`). */
  readonly unresolved: ReadonlySet<string>;
}

const NONE: TypedMembers = { members: [], users: new Map(), unresolved: new Set() };

export async function resolveMemberTypes(
  directory: Pick<ScimDirectory, 'findUsers' | 'getGroups'>,
  current: readonly MemberRef[],
  desired: readonly DesiredMember[],
  ctx: RequestContext,
): Promise<TypedMembers> {
  if (desired.every((member) => member.type !== undefined)) return { ...NONE, members: desired as readonly MemberRef[] };

  const known = new Map<string, MemberType>();
  for (const member of current) if (!known.has(member.value)) known.set(member.value, member.type);
  const unknown = [...new Set(desired.filter((m) => m.type === undefined && !known.has(m.value)).map((m) => m.value))];

  const users = unknown.length > 0 ? await directory.findUsers(unknown, ctx) : new Map<string, UserSummary>();
  for (const id of users.keys()) known.set(id, 'User');
  const rest = unknown.filter((id) => !users.has(id));
  const groups = rest.length > 0 ? await directory.getGroups(rest, ctx) : new Map();
  for (const id of groups.keys()) known.set(id, 'Group');
  const unresolved = new Set(rest.filter((id) => !groups.has(id)));

  const members = desired.map((member): MemberRef => {
    if (member.type !== undefined) return member as MemberRef;
    const type = known.get(member.value) ?? 'User';
    return member.display === undefined ? { value: member.value, type } : { value: member.value, type, display: member.display };
  });
  return { members, users, unresolved };
}
