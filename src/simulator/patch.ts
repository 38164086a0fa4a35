/**
 * PATCH (RFC 7644 §3.5.2): parsing a PatchOp request and applying one operation to a
 * resource's plain attributes. Group members are not plain attributes: the store applies
 * operations on `members` itself, against its indexes.
 */
import { elementMatches, parseAttrPath, parseFilter, type OrFilter } from './filter.js';
import { canonicalName, checkSchemas, isObject, type Attrs, type ResourceSchema } from './schema.js';
import { SCHEMA, ScimError } from './scim-error.js';

export type PatchOpName = 'add' | 'remove' | 'replace';

export interface PatchPath {
  /** Canonical attribute name, or an extension schema URN. */
  readonly attr: string;
  readonly filter: OrFilter | null;
  readonly sub: string | null;
}

export interface PatchOperation {
  readonly op: PatchOpName;
  readonly path: PatchPath | null;
  readonly value: unknown;
}

function invalidPath(detail: string): ScimError {
  return ScimError.of('invalidPath', detail);
}

/** `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub` (RFC 7644 §3.5.2, the PATH rule). */
export function parsePatchPath(text: string, schema: ResourceSchema): PatchPath {
  const open = text.indexOf('[');
  let attrText = text;
  let filter: OrFilter | null = null;
  let tail = '';
  if (open !== -1) {
    let close = -1;
    let inString = false;
    for (let i = open + 1; i < text.length; i++) {
      const ch = text[i];
      if (inString && ch === '\\') i++;
      else if (ch === '"') inString = !inString;
      else if (!inString && ch === ']') {
        close = i;
        break;
      }
    }
    if (close === -1) throw invalidPath(`unbalanced "[" in path ${JSON.stringify(text)}`);
    attrText = text.slice(0, open);
    try {
      filter = parseFilter(text.slice(open + 1, close));
    } catch (error) {
      throw invalidPath(`bad value filter in path ${JSON.stringify(text)}: ${(error as Error).message}`);
    }
    tail = text.slice(close + 1);
    if (tail !== '' && !/^\.[A-Za-z$][\w$-]*$/.test(tail)) throw invalidPath(`unexpected ${JSON.stringify(tail)} after "]" in path`);
  }
  const parsed = parseAttrPath(attrText, schema.coreUrn);
  if (parsed === null || (filter !== null && parsed.sub !== null)) throw invalidPath(`${JSON.stringify(text)} is not a valid attribute path`);
  const attr = canonicalName(schema, parsed.attr);
  if (schema.readOnly.has(attr)) throw ScimError.of('mutability', `"${attr}" is readOnly and cannot be modified (RFC 7643 §2.2)`);
  if (attr === 'schemas') throw invalidPath('"schemas" cannot be patched');
  return { attr, filter, sub: tail === '' ? parsed.sub : tail.slice(1) };
}

export function parsePatchRequest(body: unknown, schema: ResourceSchema): PatchOperation[] {
  if (!isObject(body)) throw ScimError.of('invalidSyntax', 'the request body must be a JSON object');
  checkSchemas(body.schemas, SCHEMA.patchOp);
  const operations = body.Operations ?? body.operations;
  if (!Array.isArray(operations) || operations.length === 0) {
    throw ScimError.of('invalidSyntax', '"Operations" must be a non-empty array (RFC 7644 §3.5.2)');
  }
  return operations.map((raw, index): PatchOperation => {
    if (!isObject(raw)) throw ScimError.of('invalidSyntax', `Operations[${index}] must be an object`);
    // CXone's SCIM PATCH takes {path, value} without "op" (calljacob/nice-cxone-api,
    // src/services/userhub/CxoneScimService.ts, ScimRequestPatchUpdate): for users it is a replace.
    const cxoneForm = schema.kind === 'User' && raw.op === undefined && typeof raw.path === 'string' && raw.path !== '';
    const op = cxoneForm ? 'replace' : typeof raw.op === 'string' ? raw.op.toLowerCase() : undefined;
    if (op !== 'add' && op !== 'remove' && op !== 'replace') {
      throw ScimError.of('invalidSyntax', `Operations[${index}].op must be "add", "remove" or "replace"`);
    }
    if (raw.path !== undefined && typeof raw.path !== 'string') throw invalidPath(`Operations[${index}].path must be a string`);
    const path = raw.path === undefined || raw.path === '' ? null : parsePatchPath(raw.path, schema);
    if (op === 'remove' && path === null) {
      throw ScimError.of('noTarget', `Operations[${index}]: "remove" needs a path (RFC 7644 §3.5.2.2)`);
    }
    if (op !== 'remove' && raw.value === undefined) {
      throw ScimError.of('invalidSyntax', `Operations[${index}]: "${op}" needs a value (RFC 7644 §3.5.2.1)`);
    }
    if (path === null && !isObject(raw.value)) {
      throw ScimError.of('invalidValue', `Operations[${index}]: without a path the value must be an object of attributes`);
    }
    // Its values are strings: there, "true" and "false" set the boolean `active`.
    const value = cxoneForm && path?.attr === 'active' && path.sub === null && typeof raw.value === 'string' && /^(true|false)$/i.test(raw.value) ? raw.value.toLowerCase() === 'true' : raw.value;
    return { op, path, value };
  });
}

function sameElement(a: unknown, b: unknown): boolean {
  if (isObject(a) && isObject(b) && a.value !== undefined) return a.value === b.value;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Applies one operation to plain attributes, in place. `members` of groups never reach here. */
export function applyAttributeOperation(attrs: Attrs, operation: PatchOperation, schema: ResourceSchema): void {
  const { op, path, value } = operation;
  if (path === null) {
    for (const [key, item] of Object.entries(value as Attrs)) {
      const name = canonicalName(schema, key);
      if (name === 'schemas') continue;
      if (schema.readOnly.has(name)) throw ScimError.of('mutability', `"${name}" is readOnly and cannot be modified (RFC 7643 §2.2)`);
      setAttribute(attrs, name, item, op === 'add', schema);
    }
    return;
  }
  const { attr, filter, sub } = path;
  if (filter === null && sub === null) {
    if (op !== 'remove') {
      setAttribute(attrs, attr, value, op === 'add', schema);
    } else if (schema.multiValued.has(attr) && Array.isArray(value) && Array.isArray(attrs[attr])) {
      attrs[attr] = (attrs[attr] as unknown[]).filter((element) => !value.some((v) => sameElement(element, v)));
    } else {
      delete attrs[attr];
    }
    return;
  }
  if (filter === null && sub !== null) {
    if (schema.multiValued.has(attr)) throw invalidPath(`"${attr}" is multi-valued: select elements with a value filter, e.g. ${attr}[value eq "…"].${sub}`);
    const current = isObject(attrs[attr]) ? { ...(attrs[attr] as Attrs) } : {};
    const dot = sub.indexOf('.');
    if (dot !== -1) {
      // An extension's `attr.sub`, e.g. urn:…:nice:2.0:User:team.value.
      const outer = sub.slice(0, dot);
      const inner = isObject(current[outer]) ? { ...(current[outer] as Attrs) } : {};
      if (op === 'remove') delete inner[sub.slice(dot + 1)];
      else inner[sub.slice(dot + 1)] = value;
      current[outer] = inner;
    } else if (op === 'remove') delete current[sub];
    else current[sub] = value;
    attrs[attr] = current;
    return;
  }
  if (!schema.multiValued.has(attr) || filter === null) throw invalidPath(`a value filter needs a multi-valued attribute, and "${attr}" is not one`);
  const list = Array.isArray(attrs[attr]) ? (attrs[attr] as unknown[]) : [];
  const matches = list.map((element) => elementMatches(element, filter));
  // RFC 7644 §3.12 noTarget: a value filter that yields no match.
  if (!matches.includes(true)) throw ScimError.of('noTarget', `no element of "${attr}" matches the path's filter`);
  if (op === 'remove' && sub === null) {
    attrs[attr] = list.filter((_, i) => !matches[i]);
    return;
  }
  if (op === 'add' && sub === null) throw invalidPath('"add" with a value filter needs a sub-attribute; add elements with path "' + attr + '"');
  if (sub === null && !isObject(value)) throw ScimError.of('invalidValue', `replacing elements of "${attr}" needs an object value`);
  attrs[attr] = list.map((element, i) => {
    if (!matches[i]) return element;
    if (sub === null) return value;
    const copy: Attrs = { ...(element as Attrs) };
    if (op === 'remove') delete copy[sub];
    else copy[sub] = value;
    return copy;
  });
}

function setAttribute(attrs: Attrs, name: string, value: unknown, add: boolean, schema: ResourceSchema): void {
  if (value === null) {
    delete attrs[name];
  } else if (schema.multiValued.has(name)) {
    const items = Array.isArray(value) ? value : [value];
    if (!add || !Array.isArray(attrs[name])) {
      attrs[name] = items;
      return;
    }
    const merged = [...(attrs[name] as unknown[])];
    for (const item of items) if (!merged.some((existing) => sameElement(existing, item))) merged.push(item);
    attrs[name] = merged;
  } else if (schema.complex.has(name) && isObject(value) && isObject(attrs[name])) {
    // RFC 7644 §3.5.2.1/§3.5.2.3: sub-attributes not in the value are left unchanged.
    attrs[name] = { ...(attrs[name] as Attrs), ...value };
  } else {
    attrs[name] = value;
  }
}
