/**
 * Canonical JSON: object keys sorted by code unit, no white space, as in RFC 8785 for the
 * values we hash (strings, finite numbers, booleans, null, arrays, plain objects).
 * The same data always gives the same text, whatever order its keys were built in.
 *
 * Made by one native JSON.stringify of the value with its objects' keys put in order:
 * objects whose keys are in order already are used as they are, so a membership built in
 * canonical order (display, type, value) costs a walk and no copy. JSON.stringify writes
 * strings and numbers exactly as RFC 8785 does (it defines them by ECMAScript's rules).
 */
import { createHash } from 'node:crypto';

/** Keys V8 enumerates first, in numeric order, whatever their insertion order. */
const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

class IndexKey extends Error {}

export function canonicalJson(value: unknown): string {
  try {
    return JSON.stringify(ordered(value)) ?? 'null';
  } catch (error) {
    // An object with an integer-like key: no object can hold it in code-unit order.
    if (error instanceof IndexKey) return templated(value);
    throw error;
  }
}

/** SHA-256 (hex) of canonicalJson(value). */
export function canonicalSha256(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** `value` with every object's keys in code-unit order and no undefined member: the same value where that holds already. */
function ordered(value: unknown): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw nonFinite();
    return value;
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const inner = ordered(item);
      if (copy === undefined && inner !== item) copy = value.slice(0, i);
      copy?.push(inner);
    }
    return copy ?? value;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object);
  // The object's values in canonical form, from the first one that needs a copy on.
  let inners: unknown[] | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (isDigit(key.charCodeAt(0)) && ARRAY_INDEX.test(key)) throw new IndexKey();
    const inner = object[key];
    const done = inner === undefined ? undefined : ordered(inner);
    if (inners === undefined && (done !== inner || inner === undefined || (i > 0 && (keys[i - 1] as string) > key))) {
      inners = keys.slice(0, i).map((earlier) => object[earlier]);
    }
    inners?.push(done);
  }
  if (inners === undefined) return object;
  const values = inners;
  // Own properties only, "__proto__" included: no prototype to set by accident.
  const copy = Object.create(null) as Record<string, unknown>;
  const order = keys.map((_, i) => i).toSorted((a, b) => ((keys[a] as string) < (keys[b] as string) ? -1 : 1));
  for (const i of order) if (values[i] !== undefined) copy[keys[i] as string] = values[i];
  return copy;
}

/** The same text, built piece by piece: for values with integer-like keys (rare in SCIM data). */
function templated(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw nonFinite();
    return value === undefined ? 'null' : JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(templated).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, inner]) => inner !== undefined)
    .toSorted(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${templated(inner)}`).join(',')}}`;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function nonFinite(): TypeError {
  return new TypeError('canonical JSON has no representation for non-finite numbers');
}
