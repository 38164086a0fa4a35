/**
 * Group resources as the front door answers them (RFC 7643 §4.2, meta §3.1), and the
 * `attributes` / `excludedAttributes` of a request (RFC 7644 §3.9, §3.4.2.5): names are
 * case-insensitive and may carry the schema URN; `id` and `schemas` are always returned;
 * a sub-attribute (`members.value`) keeps that part of each member.
 */
import type { MemberRef } from '../../core/membership.js';
import { ScimHttpError } from './errors.js';
import { attributeName, GROUP_SCHEMA } from './filter.js';
import type { ScimGroupView } from './groups-service.js';

export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

export type Json = Record<string, unknown>;

export function groupResource(group: ScimGroupView, base: string): Json {
  const member = (m: MemberRef) => ({
    value: m.value,
    type: m.type,
    ...(m.display === undefined ? {} : { display: m.display }),
    $ref: `${base}/${m.type === 'Group' ? 'Groups' : 'Users'}/${encodeURIComponent(m.value)}`,
  });
  return {
    schemas: [GROUP_SCHEMA],
    id: group.id,
    displayName: group.displayName,
    ...(group.externalId === undefined ? {} : { externalId: group.externalId }),
    ...(group.members === undefined ? {} : { members: group.members.map(member) }),
    meta: { resourceType: 'Group', location: `${base}/Groups/${encodeURIComponent(group.id)}`, ...(group.version === null ? {} : { version: group.version }) },
  };
}

const ALWAYS = new Set(['id', 'schemas']);
const NAMES = ['id', 'schemas', 'displayName', 'externalId', 'members', 'meta'];

export interface Projection {
  readonly attributes?: ReadonlyMap<string, ReadonlySet<string> | null>;
  readonly excluded?: ReadonlySet<string>;
}

const split = (text: string) =>
  text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map(attributeName);

/** attributes=… and excludedAttributes=… of a request; both at once is a 400 (RFC 7644 §3.4.2.5 allows one). */
export function projection(attributes: string | undefined, excluded: string | undefined): Projection {
  if (attributes !== undefined && excluded !== undefined) throw new ScimHttpError(400, 'invalidSyntax', 'send attributes or excludedAttributes, not both');
  if (attributes !== undefined) {
    const map = new Map<string, Set<string> | null>();
    for (const name of split(attributes)) {
      const [top, sub] = name.split('.', 2) as [string, string | undefined];
      const known = map.get(top);
      if (sub === undefined) map.set(top, null);
      else if (known !== null) map.set(top, new Set([...(known ?? []), sub]));
    }
    return { attributes: map };
  }
  if (excluded !== undefined) return { excluded: new Set(split(excluded).filter((name) => !name.includes('.'))) };
  return {};
}

/** Whether the members are to be read for this projection. */
export function wantsMembers(p: Projection): boolean {
  if (p.attributes) return p.attributes.has('members');
  return !(p.excluded?.has('members') ?? false);
}

export function project(resource: Json, p: Projection): Json {
  if (!p.attributes && !p.excluded) return resource;
  const out: Json = {};
  for (const name of NAMES) {
    if (!(name in resource)) continue;
    const key = name.toLowerCase();
    if (ALWAYS.has(name)) out[name] = resource[name];
    else if (p.attributes) {
      if (!p.attributes.has(key)) continue;
      const subs = p.attributes.get(key);
      out[name] = subs && Array.isArray(resource[name]) ? (resource[name] as Json[]).map((item) => Object.fromEntries(Object.entries(item).filter(([k]) => subs.has(k.toLowerCase())))) : resource[name];
    } else if (!p.excluded?.has(key)) out[name] = resource[name];
  }
  return out;
}
