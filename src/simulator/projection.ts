/**
 * `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9). `id` and `schemas` are
 * returned always (RFC 7643 §2.4 returned "always"). When both are given, `attributes` wins.
 */
import { parseAttrPath } from './filter.js';
import { canonicalName, isObject, type ResourceSchema } from './schema.js';
import { ScimError } from './scim-error.js';

export interface Projection {
  readonly mode: 'include' | 'exclude';
  /** lower-case top-level name → null for the whole attribute, or the lower-case sub-attributes */
  readonly attrs: ReadonlyMap<string, ReadonlySet<string> | null>;
}

const ALWAYS = new Set(['id', 'schemas']);

export function parseProjection(query: URLSearchParams, schema: ResourceSchema): Projection | null {
  const attributes = query.get('attributes');
  const excluded = query.get('excludedAttributes');
  const text = attributes ?? excluded;
  if (text === null || text.trim() === '') return null;
  const attrs = new Map<string, Set<string> | null>();
  for (const item of text.split(',')) {
    const trimmed = item.trim();
    if (trimmed === '') continue;
    const path = parseAttrPath(trimmed, schema.coreUrn);
    if (path === null) throw ScimError.of('invalidPath', `${JSON.stringify(trimmed)} is not an attribute name`);
    const top = canonicalName(schema, path.attr).toLowerCase();
    if (path.sub === null) {
      attrs.set(top, null);
      continue;
    }
    // An extension's `attr.sub` selects `attr` of the extension.
    const sub = (path.sub.split('.')[0] as string).toLowerCase();
    const subs = attrs.get(top);
    if (subs === null) continue;
    if (subs === undefined) attrs.set(top, new Set([sub]));
    else subs.add(sub);
  }
  return { mode: attributes !== null ? 'include' : 'exclude', attrs };
}

/** Whether a top-level attribute appears (at least partly) in the output: lets renderers skip big ones. */
export function wantsAttribute(projection: Projection | null, name: string): boolean {
  if (projection === null) return true;
  const entry = projection.attrs.get(name.toLowerCase());
  return projection.mode === 'include' ? entry !== undefined || ALWAYS.has(name) : entry !== null;
}

function pick(value: unknown, subs: ReadonlySet<string>, keep: boolean): unknown {
  const one = (item: unknown): unknown => {
    if (!isObject(item)) return item;
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(item)) if (subs.has(key.toLowerCase()) === keep) out[key] = v;
    return out;
  };
  return Array.isArray(value) ? value.map(one) : one(value);
}

export function project(resource: Record<string, unknown>, projection: Projection | null): Record<string, unknown> {
  if (projection === null) return resource;
  const out: Record<string, unknown> = {};
  const include = projection.mode === 'include';
  for (const [key, value] of Object.entries(resource)) {
    const lower = key.toLowerCase();
    const entry = projection.attrs.get(lower);
    if (ALWAYS.has(lower) || (entry === undefined && !include)) out[key] = value;
    else if (entry === null) {
      if (include) out[key] = value;
    } else if (entry !== undefined) {
      out[key] = pick(value, entry, include);
    }
  }
  return out;
}
