/**
 * A SCIM PatchOp request on a user (RFC 7644 §3.5.2), as Okta and Microsoft Entra ID send
 * it, translated into the form CXone's SCIM PATCH takes: `Operations: [{path, value}]`,
 * each value a string, no `op` (calljacob/nice-cxone-api, src/services/userhub/
 * CxoneScimService.ts, ScimRequestPatchUpdate: every operation sets one attribute).
 *
 * What is translated:
 * - `op` in any case ("Replace", "add"; Entra sends "Add", "Replace", "Remove"); `add` on a
 *   single-valued attribute replaces it (RFC 7644 §3.5.2.1).
 * - Operations without a path (RFC 7644 §3.5.2.1, §3.5.2.3: the value is an object of
 *   attributes) are expanded into one operation per attribute; keys may be dotted
 *   (`"name.givenName"`, as Entra's SCIM-compliant mode sends them), complex (`name:
 *   {givenName}`) or multi-valued (`emails: [{type: "work", value}]`, as Okta sends them).
 * - The attributes CXone's SCIM user takes and an IdP maps by default: `active`,
 *   `userName`, `displayName`, `externalId`, `name.givenName`, `name.familyName` and
 *   `emails[type eq "work"].value`, with or without the core schema URN in front.
 *   `active` is a boolean or the string "True"/"False" in any case (Entra's default
 *   PATCH sends the string); it reaches CXone as "true"/"false".
 *
 * What is refused, before anything is sent: any other path (`invalidPath`), a `remove`
 * (CXone's PATCH only sets values: `mutability`), a value of the wrong type or with control
 * characters (`invalidValue`), a malformed request (`invalidSyntax`). Each detail names the
 * operation and the attribute.
 *
 * Pure: no I/O, no framework. The simulator keeps its own PATCH implementation
 * (src/simulator/patch.ts), so that tests do not confirm this module with itself.
 */

export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const CORE_USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';

/** The paths a translated operation may have, in CXone's spelling. */
export const USER_PATCH_PATHS = ['active', 'userName', 'displayName', 'externalId', 'name.givenName', 'name.familyName', 'emails[type eq "work"].value'] as const;
export type UserPatchPath = (typeof USER_PATCH_PATHS)[number];

/** One operation as CXone's SCIM PATCH takes it. */
export interface UserValueOperation {
  readonly path: UserPatchPath;
  readonly value: string;
}

export type UserPatchScimType = 'invalidSyntax' | 'invalidPath' | 'invalidValue' | 'mutability';

export interface UserPatchProblem {
  readonly scimType: UserPatchScimType;
  readonly detail: string;
}

export type UserPatchTranslation = { readonly ok: true; readonly operations: readonly UserValueOperation[] } | { readonly ok: false; readonly problem: UserPatchProblem };

/** Operations per request at most. */
export const MAX_PATCH_OPERATIONS = 100;
/** Characters per value at most. */
export const MAX_VALUE_LENGTH = 1024;

const SUPPORTED = USER_PATCH_PATHS.join(', ');
const LOWER_PATHS = new Map<string, UserPatchPath>([
  ['active', 'active'],
  ['username', 'userName'],
  ['displayname', 'displayName'],
  ['externalid', 'externalId'],
  ['name.givenname', 'name.givenName'],
  ['name.familyname', 'name.familyName'],
]);
/** `emails[type eq "…"]` with an optional `.value`: attribute names and the operator in any case (RFC 7643 §2.1, RFC 7644 §3.4.2.2). */
const EMAIL_FILTER = /^emails\[\s*type\s+eq\s+"((?:[^"\\]|\\.)*)"\s*\](?:\.([A-Za-z]+))?$/i;
// oxlint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL = /[\u0000-\u001f\u007f]/;

class Refusal extends Error {
  constructor(readonly problem: UserPatchProblem) {
    super(problem.detail);
  }
}

const refuse = (scimType: UserPatchScimType, detail: string): never => {
  throw new Refusal({ scimType, detail });
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A key of `body` matched case-insensitively (RFC 7643 §2.1). */
function member(body: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(body, name)) return body[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(body)) if (key.toLowerCase() === lower) return body[key];
  return undefined;
}

const quoted = (text: string) => JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text);

/** The attribute path without the core schema URN (RFC 7644 §3.10), trimmed. */
function withoutCoreUrn(path: string): string {
  const trimmed = path.trim();
  const prefix = `${CORE_USER_URN}:`;
  return trimmed.toLowerCase().startsWith(prefix.toLowerCase()) ? trimmed.slice(prefix.length) : trimmed;
}

type Target = { readonly kind: 'path'; readonly path: UserPatchPath } | { readonly kind: 'name' } | { readonly kind: 'emails' } | { readonly kind: 'workEmail' };

function unsupported(where: string, path: string): never {
  return refuse('invalidPath', `${where}: path ${quoted(path)} is not supported; CXone's SCIM user takes ${SUPPORTED}`);
}

/** What a path names, or an invalidPath refusal. */
function target(path: string, where: string): Target {
  const bare = withoutCoreUrn(path);
  const simple = LOWER_PATHS.get(bare.toLowerCase());
  if (simple !== undefined) return { kind: 'path', path: simple };
  if (bare.toLowerCase() === 'name') return { kind: 'name' };
  if (bare.toLowerCase() === 'emails') return { kind: 'emails' };
  const email = EMAIL_FILTER.exec(bare);
  if (email !== null) {
    const type = (email[1] as string).toLowerCase();
    const sub = email[2]?.toLowerCase();
    if (type === 'work' && sub === 'value') return { kind: 'path', path: 'emails[type eq "work"].value' };
    if (type === 'work' && sub === undefined) return { kind: 'workEmail' };
  }
  return unsupported(where, path);
}

function stringValue(value: unknown, path: UserPatchPath, where: string): string {
  if (path === 'active') {
    if (typeof value === 'boolean') return value ? 'true' : 'false';
    if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase();
    return refuse('invalidValue', `${where}: "active" must be a boolean (or the string "True" or "False"), got ${describe(value)}`);
  }
  if (typeof value !== 'string') return refuse('invalidValue', `${where}: ${quoted(path)} must be a string, got ${describe(value)}`);
  if (value.length > MAX_VALUE_LENGTH) return refuse('invalidValue', `${where}: ${quoted(path)} must be at most ${MAX_VALUE_LENGTH} characters`);
  if (CONTROL.test(value)) return refuse('invalidValue', `${where}: ${quoted(path)} must not contain control characters`);
  if ((path === 'userName' || path === 'emails[type eq "work"].value') && value.trim() === '') {
    return refuse('invalidValue', `${where}: ${quoted(path)} must not be empty`);
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${quoted(value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

/** The operations that set what `value` holds at `to`, appended to `out`. */
function expand(to: Target, value: unknown, where: string, shown: string, out: UserValueOperation[]): void {
  if (value === null) return refuse('mutability', `${where}: ${quoted(shown)} cannot be cleared: CXone's SCIM PATCH only sets values`);
  switch (to.kind) {
    case 'path':
      out.push({ path: to.path, value: stringValue(value, to.path, where) });
      return;
    case 'name': {
      if (!isObject(value)) return refuse('invalidValue', `${where}: "name" must be an object of sub-attributes, got ${describe(value)}`);
      for (const [key, item] of Object.entries(value)) expand(target(`name.${key}`, where), item, where, `name.${key}`, out);
      return;
    }
    case 'workEmail': {
      if (!isObject(value)) return refuse('invalidValue', `${where}: 'emails[type eq "work"]' takes an object with "value", got ${describe(value)}`);
      workEmail(value, where, 'emails[type eq "work"]', out);
      return;
    }
    case 'emails': {
      const items = Array.isArray(value) ? value : [value];
      const work = items.filter((item, index) => {
        if (!isObject(item)) return refuse('invalidValue', `${where}: emails[${index}] must be an object, got ${describe(item)}`);
        const type = member(item, 'type');
        if (typeof type !== 'string' || type.toLowerCase() !== 'work') {
          return refuse('invalidPath', `${where}: emails[${index}] has type ${type === undefined ? 'none' : describe(type)}; CXone's SCIM user takes only the "work" email (emails[type eq "work"].value)`);
        }
        return true;
      });
      if (work.length > 1) return refuse('invalidValue', `${where}: "emails" holds ${work.length} emails of type "work"; at most one is allowed`);
      if (work.length === 1) workEmail(work[0] as Record<string, unknown>, where, 'emails[0]', out);
      return;
    }
  }
}

/** A work email object: its `value` is what CXone takes; `type` and `primary` are accepted, anything else refused. */
function workEmail(item: Record<string, unknown>, where: string, shown: string, out: UserValueOperation[]): void {
  for (const key of Object.keys(item)) {
    if (!['value', 'type', 'primary', 'display'].includes(key.toLowerCase())) unsupported(where, `${shown}.${key}`);
  }
  const type = member(item, 'type');
  if (type !== undefined && (typeof type !== 'string' || type.toLowerCase() !== 'work')) unsupported(where, `${shown}.type`);
  const primary = member(item, 'primary');
  if (primary !== undefined && typeof primary !== 'boolean') refuse('invalidValue', `${where}: ${shown}.primary must be a boolean, got ${describe(primary)}`);
  const value = member(item, 'value');
  if (value === undefined) refuse('invalidValue', `${where}: ${shown} needs a "value"`);
  out.push({ path: 'emails[type eq "work"].value', value: stringValue(value, 'emails[type eq "work"].value', where) });
}

function translateOperation(raw: unknown, index: number, out: UserValueOperation[]): void {
  const where = `Operations[${index}]`;
  if (!isObject(raw)) return refuse('invalidSyntax', `${where} must be an object`);
  for (const key of Object.keys(raw)) {
    if (!['op', 'path', 'value'].includes(key.toLowerCase())) refuse('invalidSyntax', `${where} has an unknown member ${quoted(key)}; an operation has op, path and value (RFC 7644 §3.5.2)`);
  }
  const opText = member(raw, 'op');
  const op = typeof opText === 'string' ? opText.trim().toLowerCase() : undefined;
  if (op !== 'add' && op !== 'replace' && op !== 'remove') {
    return refuse('invalidSyntax', `${where}.op must be "add", "replace" or "remove" (in any case), got ${opText === undefined ? 'none' : describe(opText)}`);
  }
  const path = member(raw, 'path');
  const value = member(raw, 'value');
  if (path !== undefined && (typeof path !== 'string' || path.trim() === '')) return refuse('invalidPath', `${where}.path must be a non-empty string`);
  if (op === 'remove') {
    if (path === undefined) return refuse('invalidSyntax', `${where}: "remove" needs a path (RFC 7644 §3.5.2.2)`);
    target(path, where);
    return refuse('mutability', `${where}: "remove" of ${quoted(path)} is not supported: CXone's SCIM PATCH only sets values`);
  }
  if (value === undefined) return refuse('invalidSyntax', `${where}: "${op}" needs a value (RFC 7644 §3.5.2.1)`);
  if (path !== undefined) {
    expand(target(path, where), value, where, path, out);
    return;
  }
  // RFC 7644 §3.5.2.1/§3.5.2.3: without a path, the value is an object of the attributes to set.
  if (!isObject(value)) return refuse('invalidValue', `${where}: without a path the value must be an object of attributes, got ${describe(value)}`);
  for (const [key, item] of Object.entries(value)) {
    if (key.toLowerCase() === 'schemas') continue;
    expand(target(key, where), item, where, key, out);
  }
}

/** The operations to send CXone for one PatchOp request, or why it is refused. */
export function translateUserPatch(body: unknown): UserPatchTranslation {
  try {
    if (!isObject(body)) return refuse('invalidSyntax', 'the request body must be a JSON object (RFC 7644 §3.5.2)');
    const schemas = member(body, 'schemas');
    if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === PATCH_OP_SCHEMA.toLowerCase())) {
      return refuse('invalidSyntax', `"schemas" must be an array containing ${quoted(PATCH_OP_SCHEMA)}`);
    }
    const operations = member(body, 'Operations');
    if (!Array.isArray(operations) || operations.length === 0) return refuse('invalidSyntax', '"Operations" must be a non-empty array (RFC 7644 §3.5.2)');
    if (operations.length > MAX_PATCH_OPERATIONS) return refuse('invalidValue', `"Operations" holds ${operations.length} operations; at most ${MAX_PATCH_OPERATIONS} are allowed`);
    const out: UserValueOperation[] = [];
    operations.forEach((raw, index) => translateOperation(raw, index, out));
    if (out.length === 0) return refuse('invalidValue', '"Operations" sets no attribute');
    return { ok: true, operations: out };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, problem: error.problem };
    throw error;
  }
}

/** The operation that deactivates a user (DELETE /Users/{id} as deactivation: CXone has no user DELETE). */
export const DEACTIVATE: readonly UserValueOperation[] = Object.freeze([{ path: 'active', value: 'false' }]);
