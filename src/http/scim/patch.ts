/**
 * A SCIM PatchOp request on a Group (RFC 7644 §3.5.2), folded into one change of the
 * group: a new displayName or externalId, and its members either as a delta (members to
 * add and to remove, applied to the group as it is read) or, once an operation replaced or
 * removed them all, as the whole set. Operations apply in order: a member added then
 * removed is not added. Accepted as Okta and Entra send them: `op` in any case
 * ("Add", "Replace"), a value that is one object or an array, several operations per
 * request, `members[value eq "…"]` paths, path-less add and replace with an object of
 * attributes, and `remove` with a `members` path and the members in `value` (Entra).
 */
import type { DesiredMember, DesiredMembership, MembershipDelta } from '../../core/membership.js';
import { ScimHttpError } from './errors.js';
import { attributeName, memberPathValues } from './filter.js';

export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export interface GroupPatch {
  /** The members: a delta on the group as read, or the whole set; null when no operation touches them. */
  readonly members: MembershipDelta | DesiredMembership | null;
  readonly displayName?: string;
  /** A new externalId; null removes it. */
  readonly externalId?: string | null;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** One member of a request: `value` required, `type` User or Group when given; `display` and `$ref` are read-only here and dropped. */
export function desiredMember(item: unknown, at: string): DesiredMember {
  if (!isObject(item)) throw new ScimHttpError(400, 'invalidValue', `${at} must be an object with a "value"`);
  let value: unknown;
  let type: unknown;
  for (const [key, inner] of Object.entries(item)) {
    const lower = key.toLowerCase();
    if (lower === 'value') value = inner;
    else if (lower === 'type') type = inner;
  }
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) throw new ScimHttpError(400, 'invalidValue', `${at}.value must be a member id of 1–256 characters`);
  if (type === undefined || type === null) return { value };
  const typed = typeof type === 'string' ? { user: 'User', group: 'Group' }[type.toLowerCase()] : undefined;
  if (typed === undefined) throw new ScimHttpError(400, 'invalidValue', `${at}.type must be "User" or "Group"`);
  return { value, type: typed as 'User' | 'Group' };
}

function memberList(value: unknown, at: string): DesiredMember[] {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, index) => desiredMember(item, `${at}[${index}]`));
}

function stringValue(value: unknown, at: string, max: number): string {
  if (typeof value !== 'string' || value.trim().length === 0 || value.length > max) throw new ScimHttpError(400, 'invalidValue', `${at} must be a non-empty string of at most ${max} characters`);
  return value;
}

/** The body of a PATCH, folded. `maxMembers`: members one request may name (MAX_MEMBERS). */
export function foldPatch(body: unknown, groupId: string, maxMembers: number): GroupPatch {
  if (!isObject(body)) throw new ScimHttpError(400, 'invalidSyntax', 'the body must be a PatchOp object');
  const schemas = body.schemas;
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === PATCH_OP_SCHEMA.toLowerCase())) {
    throw new ScimHttpError(400, 'invalidSyntax', `schemas must hold ${JSON.stringify(PATCH_OP_SCHEMA)}`);
  }
  const operations = Object.entries(body).find(([key]) => key.toLowerCase() === 'operations')?.[1];
  if (!Array.isArray(operations) || operations.length === 0) throw new ScimHttpError(400, 'invalidSyntax', 'Operations must be a non-empty array');

  let whole = false;
  const add = new Map<string, DesiredMember>();
  const remove = new Map<string, DesiredMember>();
  let displayName: string | undefined;
  let externalId: string | null | undefined;
  let touched = false;
  const adding = (members: readonly DesiredMember[]) => {
    touched = true;
    for (const member of members) {
      remove.delete(member.value);
      add.set(member.value, member);
    }
  };
  const removing = (members: readonly DesiredMember[]) => {
    touched = true;
    for (const member of members) {
      add.delete(member.value);
      if (!whole) remove.set(member.value, member);
    }
  };
  const replacing = (members: readonly DesiredMember[]) => {
    touched = true;
    whole = true;
    add.clear();
    remove.clear();
    for (const member of members) add.set(member.value, member);
  };

  for (const [index, raw] of operations.entries()) {
    const at = `Operations[${index}]`;
    if (!isObject(raw)) throw new ScimHttpError(400, 'invalidSyntax', `${at} must be an object`);
    const fields = new Map(Object.entries(raw).map(([key, value]) => [key.toLowerCase(), value]));
    const opRaw = fields.get('op');
    const op = typeof opRaw === 'string' ? opRaw.toLowerCase() : undefined;
    if (op !== 'add' && op !== 'remove' && op !== 'replace') throw new ScimHttpError(400, 'invalidSyntax', `${at}.op must be "add", "remove" or "replace"`);
    const pathRaw = fields.get('path');
    const value = fields.get('value');
    if (pathRaw !== undefined && (typeof pathRaw !== 'string' || pathRaw.trim() === '')) throw new ScimHttpError(400, 'invalidPath', `${at}.path must be a non-empty string`);
    const path = pathRaw?.trim();

    if (path === undefined) {
      // RFC 7644 §3.5.2.2: a remove needs a target.
      if (op === 'remove') throw new ScimHttpError(400, 'noTarget', `${at}: remove needs a path`);
      if (!isObject(value)) throw new ScimHttpError(400, 'invalidValue', `${at}.value must be an object of attributes when there is no path`);
      for (const [key, inner] of Object.entries(value)) {
        const name = attributeName(key);
        if (name === 'displayname') displayName = stringValue(inner, `${at}.value.displayName`, 256);
        else if (name === 'externalid') externalId = inner === null ? null : stringValue(inner, `${at}.value.externalId`, 256);
        else if (name === 'members') (op === 'add' ? adding : replacing)(memberList(inner, `${at}.value.members`));
        else if (name === 'id') {
          if (inner !== groupId) throw new ScimHttpError(400, 'mutability', `${at}.value.id: id is read-only`);
        } else if (name === 'schemas' || name === 'meta') continue;
        else throw new ScimHttpError(400, 'invalidPath', `${at}.value: the Group has no attribute ${JSON.stringify(key)} this service writes (displayName, externalId, members)`);
      }
      continue;
    }

    const selected = memberPathValues(path);
    if (selected !== null) {
      if (op !== 'remove') throw new ScimHttpError(400, 'invalidPath', `${at}: a path members[value eq "…"] takes remove only; add members with path "members"`);
      removing(selected.map((v) => ({ value: v })));
      continue;
    }
    const name = attributeName(path);
    if (name === 'members') {
      if (op === 'add') adding(memberList(value, `${at}.value`));
      else if (op === 'replace') replacing(memberList(value, `${at}.value`));
      // Remove with members in value removes those (Entra); without, every member (RFC 7644 §3.5.2.2).
      else if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) replacing([]);
      else removing(memberList(value, `${at}.value`));
    } else if (name === 'displayname') {
      if (op === 'remove') throw new ScimHttpError(400, 'mutability', `${at}: displayName is required and cannot be removed`);
      displayName = stringValue(value, `${at}.value`, 256);
    } else if (name === 'externalid') {
      externalId = op === 'remove' ? null : stringValue(value, `${at}.value`, 256);
    } else {
      throw new ScimHttpError(400, 'invalidPath', `${at}.path ${JSON.stringify(path.slice(0, 200))}: this service writes displayName, externalId and members of a Group`);
    }
  }
  if (add.size + remove.size > maxMembers) throw new ScimHttpError(413, 'tooMany', `the operations name more than ${maxMembers} members (MAX_MEMBERS)`);

  const named = displayName === undefined ? {} : { displayName };
  const members: GroupPatch['members'] = !touched
    ? null
    : whole
      ? { ...named, members: [...add.values()] }
      : { kind: 'delta', ...named, add: [...add.values()], remove: [...remove.values()] };
  return { members, ...named, ...(externalId === undefined ? {} : { externalId }) };
}
