/**
 * The User and Group schemas as far as the simulator enforces them (RFC 7643 §4.1, §4.2):
 * canonical attribute names (SCIM names are case-insensitive, RFC 7643 §2.1), which are
 * multi-valued, complex or readOnly, and the checks a stored resource must pass.
 */
import { ENTERPRISE_USER_URN, NICE_USER_URN } from './filter.js';
import { SCHEMA, ScimError } from './scim-error.js';

export type Attrs = Record<string, unknown>;
export type ResourceKind = 'User' | 'Group';

export interface ResourceSchema {
  readonly kind: ResourceKind;
  readonly coreUrn: string;
  readonly endpoint: 'Users' | 'Groups';
  /** lower-case name → canonical name */
  readonly names: ReadonlyMap<string, string>;
  readonly multiValued: ReadonlySet<string>;
  /** Single-valued complex attributes: PATCH merges their sub-attributes (RFC 7644 §3.5.2.3). */
  readonly complex: ReadonlySet<string>;
  /** RFC 7643 §2.2 mutability readOnly: ignored in PUT/POST bodies, refused as PATCH targets. */
  readonly readOnly: ReadonlySet<string>;
}

const USER_STRINGS = ['userName', 'displayName', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone', 'externalId', 'password'];
const USER_MULTI = ['emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509Certificates', 'groups'];

function namesOf(list: readonly string[]): Map<string, string> {
  return new Map(list.map((name) => [name.toLowerCase(), name]));
}

export const userSchema: ResourceSchema = {
  kind: 'User',
  coreUrn: SCHEMA.user,
  endpoint: 'Users',
  names: namesOf(['id', 'meta', 'schemas', 'name', 'active', ...USER_STRINGS, ...USER_MULTI, ENTERPRISE_USER_URN, NICE_USER_URN]),
  multiValued: new Set(USER_MULTI),
  complex: new Set(['name', ENTERPRISE_USER_URN, NICE_USER_URN]),
  readOnly: new Set(['id', 'meta', 'groups']),
};

export const groupSchema: ResourceSchema = {
  kind: 'Group',
  coreUrn: SCHEMA.group,
  endpoint: 'Groups',
  names: namesOf(['id', 'meta', 'schemas', 'displayName', 'members', 'externalId']),
  multiValued: new Set(['members']),
  complex: new Set(),
  readOnly: new Set(['id', 'meta']),
};

export function canonicalName(schema: ResourceSchema, name: string): string {
  return schema.names.get(name.toLowerCase()) ?? name;
}

export function isObject(value: unknown): value is Attrs {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalidValue(detail: string): ScimError {
  return ScimError.of('invalidValue', detail);
}

/** RFC 7643 §3: a resource body names its schemas, the core one included. */
export function checkSchemas(schemas: unknown, required: string): void {
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === required.toLowerCase())) {
    throw ScimError.of('invalidSyntax', `"schemas" must be an array containing "${required}"`);
  }
}

/**
 * Copies the writable attributes of a body under their canonical names. readOnly ones are
 * ignored (RFC 7644 §3.5.1); null and [] mean unassigned (RFC 7643 §2.5) and are dropped.
 */
export function writableAttrs(schema: ResourceSchema, input: Attrs, skip: readonly string[] = []): Attrs {
  const attrs: Attrs = {};
  for (const [key, value] of Object.entries(input)) {
    const name = canonicalName(schema, key);
    if (name === 'schemas' || schema.readOnly.has(name) || skip.includes(name)) continue;
    if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    attrs[name] = value;
  }
  return attrs;
}

/** Validates and completes user attributes in place; throws 400 invalidValue. */
export function checkUserAttrs(attrs: Attrs): Attrs {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || (Array.isArray(value) && value.length === 0)) delete attrs[key];
  }
  // password is writeOnly and "returned never" (RFC 7643 §4.1.1): the simulator does not keep it.
  delete attrs.password;
  if (typeof attrs.userName !== 'string' || attrs.userName.trim() === '') {
    throw invalidValue('"userName" is required and must be a non-empty string (RFC 7643 §4.1.1)');
  }
  attrs.active ??= true;
  if (typeof attrs.active !== 'boolean') throw invalidValue('"active" must be a boolean');
  for (const name of USER_STRINGS) {
    if (attrs[name] !== undefined && typeof attrs[name] !== 'string') throw invalidValue(`"${name}" must be a string`);
  }
  if (attrs.name !== undefined) {
    if (!isObject(attrs.name) || Object.values(attrs.name).some((v) => typeof v !== 'string')) {
      throw invalidValue('"name" must be an object of strings');
    }
  }
  for (const urn of [ENTERPRISE_USER_URN, NICE_USER_URN]) {
    if (attrs[urn] !== undefined && !isObject(attrs[urn])) throw invalidValue(`"${urn}" must be an object`);
  }
  for (const name of USER_MULTI) {
    const list = attrs[name];
    if (list === undefined) continue;
    if (!Array.isArray(list) || !list.every(isObject)) throw invalidValue(`"${name}" must be an array of objects`);
    if (name !== 'addresses' && !list.every((item) => typeof item.value === 'string')) {
      throw invalidValue(`every element of "${name}" needs a string "value"`);
    }
  }
  return attrs;
}

/** Validates group attributes (members are kept apart) in place; throws 400 invalidValue. */
export function checkGroupAttrs(attrs: Attrs): Attrs {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || (Array.isArray(value) && value.length === 0)) delete attrs[key];
  }
  if (typeof attrs.displayName !== 'string' || attrs.displayName.trim() === '') {
    throw invalidValue('"displayName" is required and must be a non-empty string (RFC 7643 §4.2)');
  }
  if (attrs.externalId !== undefined && typeof attrs.externalId !== 'string') throw invalidValue('"externalId" must be a string');
  return attrs;
}

const attribute = (name: string, type: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  type,
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...extra,
});

/**
 * The schema resources of GET /Schemas (RFC 7643 §7): the core User, NICE's user extension
 * with its `team` and `loginAuthenticator` (calljacob/nice-cxone-api,
 * src/services/userhub/CxoneScimService.ts, UserExtension), and the core Group while /Groups
 * is served. Abridged to the attributes the simulator keeps.
 */
export function scimSchemas(withGroups: boolean): Record<string, unknown>[] {
  const subs = [attribute('value', 'string'), attribute('display', 'string')];
  const schemas: Record<string, unknown>[] = [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
      id: SCHEMA.user,
      name: 'User',
      description: 'User Account',
      attributes: [
        attribute('userName', 'string', { required: true, uniqueness: 'server' }),
        attribute('name', 'complex', { subAttributes: [attribute('givenName', 'string'), attribute('familyName', 'string'), attribute('middleName', 'string')] }),
        attribute('displayName', 'string'),
        attribute('emails', 'complex', { multiValued: true, subAttributes: [attribute('value', 'string'), attribute('type', 'string'), attribute('primary', 'boolean')] }),
        attribute('active', 'boolean'),
        attribute('externalId', 'string', { caseExact: true }),
        attribute('groups', 'complex', { multiValued: true, mutability: 'readOnly' }),
      ],
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
      id: NICE_USER_URN,
      name: 'NiceUser',
      description: "NICE CXone's user extension",
      attributes: [attribute('team', 'complex', { subAttributes: subs }), attribute('loginAuthenticator', 'complex', { subAttributes: subs })],
    },
  ];
  if (withGroups) {
    schemas.push({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
      id: SCHEMA.group,
      name: 'Group',
      description: 'Group',
      attributes: [attribute('displayName', 'string', { required: true }), attribute('members', 'complex', { multiValued: true, subAttributes: [attribute('value', 'string', { mutability: 'immutable' }), attribute('type', 'string')] })],
    });
  }
  return schemas;
}
