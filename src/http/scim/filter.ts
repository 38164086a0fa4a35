/**
 * The `filter` of GET /Groups (RFC 7644 §3.4.2.2), parsed with scim2-parse-filter, and the
 * path filter of a PATCH (`members[value eq "…"]`, §3.5.2). The front door answers the
 * filters identity providers send for groups: `displayName eq`, `externalId eq` and `id eq`
 * (Okta and Entra look a group up by name or externalId before they create it); anything
 * else is a 400 invalidFilter naming what it does not take. Attribute names are
 * case-insensitive and may carry the Group schema URN.
 */
import { parse, type Filter } from 'scim2-parse-filter';
import { ScimHttpError } from './errors.js';

export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';

export type GroupFilter = { readonly attribute: 'displayName' | 'externalId' | 'id'; readonly value: string };

/** Longest filter taken. */
const MAX_FILTER_LENGTH = 4096;

const FILTERABLE: Readonly<Record<string, GroupFilter['attribute']>> = { displayname: 'displayName', externalid: 'externalId', id: 'id' };

/** An attribute path without the Group schema URN, lower-cased. */
export function attributeName(path: string): string {
  const lower = path.toLowerCase();
  const prefix = `${GROUP_SCHEMA.toLowerCase()}:`;
  return lower.startsWith(prefix) ? lower.slice(prefix.length) : lower;
}

function parsed(text: string, what: string): Filter {
  if (text.length > MAX_FILTER_LENGTH) throw new ScimHttpError(400, 'invalidFilter', `${what} is longer than ${MAX_FILTER_LENGTH} characters`);
  try {
    return parse(text);
  } catch {
    throw new ScimHttpError(400, 'invalidFilter', `${what} ${JSON.stringify(text.slice(0, 200))} is not a SCIM filter (RFC 7644 §3.4.2.2)`);
  }
}

/** The filter of a GET /Groups. */
export function parseGroupFilter(text: string): GroupFilter {
  const filter = parsed(text, 'filter');
  if (filter.op !== 'eq' || !('attrPath' in filter) || !('compValue' in filter)) {
    throw new ScimHttpError(400, 'invalidFilter', `filter: only displayName eq "…", externalId eq "…" and id eq "…" are supported, got the operator ${JSON.stringify(filter.op)}`);
  }
  const attribute = FILTERABLE[attributeName(filter.attrPath)];
  if (attribute === undefined) throw new ScimHttpError(400, 'invalidFilter', `filter: the attribute ${JSON.stringify(filter.attrPath)} cannot be filtered on; use displayName, externalId or id`);
  if (typeof filter.compValue !== 'string') throw new ScimHttpError(400, 'invalidFilter', `filter: ${attribute} is compared with a string`);
  return { attribute, value: filter.compValue };
}

/**
 * The members a PATCH path selects: `members[value eq "a"]`, or several joined by `or`
 * (`members[value eq "a" or value eq "b"]`). null when the path is not of that form.
 */
export function memberPathValues(path: string): string[] | null {
  const open = path.indexOf('[');
  if (open < 0 || attributeName(path.slice(0, open)) !== 'members') return null;
  const filter = parsed(path, 'path');
  if (filter.op !== '[]' || !('valFilter' in filter)) throw new ScimHttpError(400, 'invalidPath', `path ${JSON.stringify(path.slice(0, 200))}: a member is selected as members[value eq "…"]`);
  const values: string[] = [];
  const walk = (inner: Filter): void => {
    if (inner.op === 'or' && 'filters' in inner) {
      for (const part of inner.filters) walk(part);
      return;
    }
    if (inner.op === 'eq' && 'attrPath' in inner && 'compValue' in inner && inner.attrPath.toLowerCase() === 'value' && typeof inner.compValue === 'string') {
      values.push(inner.compValue);
      return;
    }
    throw new ScimHttpError(400, 'invalidFilter', `path ${JSON.stringify(path.slice(0, 200))}: members are selected by value eq "…" (joined by or)`);
  };
  walk(filter.valFilter);
  return values;
}
