/**
 * /scim/v2/Users: CXone's SCIM users, passed through (docs/scim-users.md). Registered by
 * the SCIM front door under its prefix, after authentication: `request.actor` is the name
 * of the caller's token, and it is logged with every write.
 *
 * What the routes add to a plain proxy:
 * - Bad input is a 400 in the SCIM error form (RFC 7644 §3.12) naming the field, and never
 *   reaches CXone: bodies are typed attribute by attribute (./user-schemas.ts), a PATCH is
 *   translated into the `{path, value}` form CXone takes (src/core/scim-user-patch.ts), and
 *   only `filter=userName eq "…"` is read.
 * - Only what CXone's SCIM user has is sent on (user-schemas.ts lists what is accepted and
 *   dropped: password, title, addresses, …); the answer is the user as CXone holds it, so an
 *   IdP sees what was kept.
 * - DELETE deactivates (`active: false`): CXone has no user DELETE. The user stays readable.
 * - `attributes`/`excludedAttributes` (RFC 7644 §3.9) are applied to every user answered
 *   by a GET; meta.location points at this service.
 * - Upstream failures become SCIM errors: 404 → 404, 409 → 409 uniqueness, 400/422 → 400
 *   with CXone's scimType and detail (redacted by the SCIM adapter), 401/403 and other
 *   answers → 502, throttling and outages past the retry budget → 503 with Retry-After, no
 *   answer in time → 504.
 *
 * Errors are thrown as ScimHttpError (./errors.ts); the front door's error handler sends
 * them. Validation errors of the route schemas are Fastify's (error.validation), for that
 * handler to answer as 400 invalidValue/invalidSyntax naming `body/…` or `querystring/…`.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import { UpstreamError, UpstreamTimeoutError, UpstreamUnavailableError } from '../../core/errors.js';
import type { RequestContext, ScimUserDocument, ScimUserGateway } from '../../core/ports.js';
import { translateUserPatch } from '../../core/scim-user-patch.js';
import { callerGoneSignal } from '../caller-gone.js';
import { UNRECORDED, type ChangeNote, type ChangeRecorder } from './change-audit.js';
import { ScimHttpError, type ScimType } from './errors.js';
import {
  ENTERPRISE_USER_SCHEMA,
  LIST_RESPONSE_SCHEMA,
  NICE_USER_SCHEMA,
  SCIM_USER_SCHEMA,
  ScimErrorResponse,
  ScimUserBody,
  ScimUserIdParams,
  ScimUserListQuery,
  ScimUserListResponse,
  ScimUserPatchBody,
  ScimUserReadQuery,
  ScimUserResource,
} from './user-schemas.js';

export interface ScimUsersOptions {
  /** The upstream's /Users (the SCIM adapter implements it). */
  readonly gateway: ScimUserGateway;
  /** Most users one list answer holds (`count` is cut to it; ServiceProviderConfig filter.maxResults). Default 200. */
  readonly maxResults?: number;
  /** The audit records of the writes (created, replaced, patched, deactivated); none: not recorded. */
  readonly changes?: ChangeRecorder;
}

export const SCIM_JSON = 'application/scim+json';
/** `count` when a list request names none. */
export const DEFAULT_USER_COUNT = 100;
const SCIM_TYPES: readonly ScimType[] = ['invalidFilter', 'tooMany', 'uniqueness', 'mutability', 'invalidSyntax', 'invalidPath', 'noTarget', 'invalidValue', 'invalidVers', 'sensitive'];

type Json = Record<string, unknown>;
type UserBody = Static<typeof ScimUserBody>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
// oxlint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL = /[\u0000-\u001f\u007f]/;
// oxlint-disable-next-line no-control-regex -- control characters are what it replaces
const CONTROLS = /[\u0000-\u001f\u007f]/g;
const quoted = (text: string) => JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);

// ---------------------------------------------------------------- filter

const USERNAME_EQ = /^\s*(?:urn:ietf:params:scim:schemas:core:2\.0:user:)?username\s+eq\s+("(?:[^"\\]|\\.)*")\s*$/i;

/** The userName of `userName eq "…"` (RFC 7644 §3.4.2.2; attribute and operator in any case), or a 400 invalidFilter. */
export function parseUserNameFilter(filter: string): string {
  const match = USERNAME_EQ.exec(filter);
  if (match === null) {
    throw new ScimHttpError(400, 'invalidFilter', `filter ${quoted(filter)} is not supported: users are filtered by 'userName eq "…"' only`);
  }
  try {
    const value: unknown = JSON.parse(match[1] as string);
    if (typeof value === 'string') return value;
  } catch {
    // fall through
  }
  throw new ScimHttpError(400, 'invalidFilter', 'filter: the userName value is not a valid JSON string');
}

// ---------------------------------------------------------------- attributes / excludedAttributes

interface AttrRef {
  readonly attr: string;
  readonly sub: string | null;
}

const EXTENSIONS = [NICE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA];

/** `a, b.c, urn:…:core:2.0:User:d, urn:…:extension:…:User:e` → references (RFC 7644 §3.10), or null when empty. */
export function parseAttributeList(text: string | undefined): AttrRef[] | null {
  if (text === undefined || text.trim() === '') return null;
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      const lower = item.toLowerCase();
      for (const urn of EXTENSIONS) {
        if (lower === urn.toLowerCase()) return { attr: urn, sub: null };
        if (lower.startsWith(`${urn.toLowerCase()}:`)) return { attr: urn, sub: item.slice(urn.length + 1) };
      }
      const bare = lower.startsWith(`${SCIM_USER_SCHEMA.toLowerCase()}:`) ? item.slice(SCIM_USER_SCHEMA.length + 1) : item;
      const dot = bare.indexOf('.');
      return dot === -1 ? { attr: bare, sub: null } : { attr: bare.slice(0, dot), sub: bare.slice(dot + 1) };
    });
}

function keyOf(object: Json, name: string): string | undefined {
  if (Object.hasOwn(object, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(object).find((key) => key.toLowerCase() === lower);
}

function pick(value: unknown, sub: string): unknown {
  if (Array.isArray(value)) return value.map((item) => (isObject(item) ? pick(item, sub) : item));
  if (!isObject(value)) return undefined;
  const key = keyOf(value, sub);
  return key === undefined ? {} : { [key]: value[key] };
}

function omit(value: unknown, sub: string): unknown {
  if (Array.isArray(value)) return value.map((item) => omit(item, sub));
  if (!isObject(value)) return value;
  const key = keyOf(value, sub);
  if (key === undefined) return value;
  const { [key]: _dropped, ...rest } = value;
  return rest;
}

function merge(into: unknown, part: unknown): unknown {
  if (Array.isArray(into) && Array.isArray(part)) return into.map((item, i) => ({ ...(isObject(item) ? item : {}), ...(isObject(part[i]) ? part[i] : {}) }));
  if (isObject(into) && isObject(part)) return { ...into, ...part };
  return part;
}

/** RFC 7644 §3.9: the user with only `attributes`, then without `excluded`; `schemas` and `id` (returned "always") stay. */
export function projectUser(user: Json, attributes: readonly AttrRef[] | null, excluded: readonly AttrRef[] | null): Json {
  let out: Json = { ...user };
  if (attributes !== null) {
    out = {};
    for (const { attr, sub } of attributes) {
      const key = keyOf(user, attr);
      if (key === undefined) continue;
      out[key] = sub === null ? user[key] : key in out ? merge(out[key], pick(user[key], sub)) : pick(user[key], sub);
    }
  }
  for (const { attr, sub } of excluded ?? []) {
    const key = keyOf(out, attr);
    if (key === undefined || key === 'id' || key === 'schemas') continue;
    if (sub === null) delete out[key];
    else out[key] = omit(out[key], sub);
  }
  const { schemas: _schemas, id: _id, ...rest } = out;
  // RFC 7643 §3: `schemas` names the schemas the resource holds; an extension left out goes.
  const schemas = Array.isArray(user.schemas) ? user.schemas.filter((urn) => typeof urn !== 'string' || !EXTENSIONS.some((e) => e.toLowerCase() === urn.toLowerCase()) || keyOf(rest, urn) !== undefined) : user.schemas;
  return { schemas, id: user.id, ...rest };
}

// ---------------------------------------------------------------- bodies

/**
 * Top-level and `name` attribute names in their canonical case (RFC 7643 §2.1: names are
 * case-insensitive), and attributes sent as null left out (RFC 7643 §2.5: null is
 * "unassigned", as Entra ID sends `"addresses": null`).
 */
function canonicalNames(body: unknown): unknown {
  if (!isObject(body)) return body;
  const names = new Map(Object.keys(ScimUserBody.properties).map((name) => [name.toLowerCase(), name]));
  const out: Json = {};
  for (const [key, value] of Object.entries(body)) {
    if (value === null) continue;
    const name = names.get(key.toLowerCase()) ?? key;
    if (Object.hasOwn(out, name)) throw new ScimHttpError(400, 'invalidSyntax', `body: attribute ${quoted(name)} is given twice (names are case-insensitive)`);
    out[name] = name === 'name' && isObject(value) ? canonicalSubNames(value) : value;
  }
  return out;
}

function canonicalSubNames(name: Json): Json {
  const known = ['givenName', 'familyName', 'middleName', 'formatted', 'honorificPrefix', 'honorificSuffix'];
  return Object.fromEntries(Object.entries(name).filter(([, value]) => value !== null).map(([key, value]) => [known.find((k) => k.toLowerCase() === key.toLowerCase()) ?? key, value]));
}

function checkUserBody(body: UserBody): void {
  if (!body.schemas.some((schema) => schema.toLowerCase() === SCIM_USER_SCHEMA.toLowerCase())) {
    throw new ScimHttpError(400, 'invalidSyntax', `body/schemas must contain ${quoted(SCIM_USER_SCHEMA)}`);
  }
  if (body.userName.trim() === '') throw new ScimHttpError(400, 'invalidValue', 'body/userName must not be empty');
  if (CONTROL.test(body.userName)) throw new ScimHttpError(400, 'invalidValue', 'body/userName must not contain control characters');
}

const activeOf = (value: boolean | string): boolean => (typeof value === 'boolean' ? value : value.toLowerCase() === 'true');

/** What is sent to CXone: the attributes its SCIM user takes (calljacob/nice-cxone-api, CxoneScimService.ts, ScimRequestCreate/ScimRequestUpdate), nothing else. */
export function upstreamUserBody(body: UserBody, id?: string): Json {
  const extension = body[NICE_USER_SCHEMA];
  const out: Json = { schemas: extension === undefined ? [SCIM_USER_SCHEMA] : [SCIM_USER_SCHEMA, NICE_USER_SCHEMA] };
  if (id !== undefined) out.id = id;
  out.userName = body.userName;
  if (body.externalId !== undefined) out.externalId = body.externalId;
  if (body.name !== undefined) {
    const { givenName, familyName, middleName } = body.name;
    out.name = { ...(givenName !== undefined && { givenName }), ...(familyName !== undefined && { familyName }), ...(middleName !== undefined && { middleName }) };
  }
  if (body.displayName !== undefined) out.displayName = body.displayName;
  if (body.active !== undefined) out.active = activeOf(body.active);
  if (body.emails !== undefined) out.emails = body.emails;
  if (body.phoneNumbers !== undefined) out.phoneNumbers = body.phoneNumbers;
  if (body.userType !== undefined) out.userType = body.userType;
  if (body.timezone !== undefined) out.timezone = body.timezone;
  // CXone's ScimRoleRequest is {display, value}; Entra ID names the display `displayName` and adds type and primary.
  if (body.roles !== undefined) {
    out.roles = body.roles.map(({ value, display, displayName }) => ({ ...(value !== undefined && { value }), ...((display ?? displayName) !== undefined && { display: display ?? displayName }) }));
  }
  if (extension !== undefined) out[NICE_USER_SCHEMA] = extension;
  return out;
}

// ---------------------------------------------------------------- upstream failures

function cleanDetail(detail: string | undefined): string | undefined {
  if (detail === undefined) return undefined;
  const text = detail.replace(CONTROLS, ' ').replace(/\s+/g, ' ').trim();
  return text === '' ? undefined : text.slice(0, 300);
}

/** The SCIM error for an upstream failure of `what` ("creating the user"); anything else is returned as it is. */
export function scimUpstreamError(error: unknown, what: string, write: boolean): unknown {
  if (error instanceof ScimHttpError) return error;
  if (error instanceof UpstreamUnavailableError) {
    const retryAfter = String(Math.max(1, Math.ceil(error.retryAfterSeconds)));
    const unsure = write ? '; it may or may not have been applied: read the user before retrying' : '';
    return new ScimHttpError(503, undefined, `CXone is throttling or unavailable while ${what}${unsure}; retry in ${retryAfter} s`, { 'retry-after': retryAfter });
  }
  if (error instanceof UpstreamTimeoutError) {
    const unsure = write ? '; it may or may not have been applied: read the user before retrying' : '';
    return new ScimHttpError(504, undefined, `CXone did not answer in time while ${what}${unsure}`, { 'retry-after': '5' });
  }
  if (!(error instanceof UpstreamError)) return error;
  const detail = cleanDetail(error.detail);
  const upstreamType = SCIM_TYPES.find((type) => type === error.scimType);
  const says = detail === undefined ? '' : `: ${detail}`;
  switch (error.status) {
    case 404:
      return new ScimHttpError(404, undefined, `CXone has no such user (${what})`);
    case 409:
      return new ScimHttpError(409, 'uniqueness', `CXone refused ${what}: the userName (or another unique attribute) is taken${says}`);
    case 400:
    case 422:
      return new ScimHttpError(400, upstreamType ?? 'invalidValue', `CXone refused ${what}${says}`);
    case 401:
    case 403:
      return new ScimHttpError(502, undefined, `CXone refused the service's own credentials (${error.status}) while ${what}; the service's CXone access needs fixing, not this request`);
    default: {
      const unsure = write && error.status >= 500 ? '; it may or may not have been applied: read the user before retrying' : '';
      return new ScimHttpError(502, undefined, `CXone answered ${error.status} while ${what}${unsure}`);
    }
  }
}

// ---------------------------------------------------------------- routes

const readCtx = (signal: AbortSignal): RequestContext => ({ stats: { upstreamRequests: 0 }, signal });
// A write is not cut off when its caller leaves: half a write helps nobody.
const writeCtx = (): RequestContext => ({ stats: { upstreamRequests: 0 } });

async function upstream<T>(what: string, write: boolean, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw scimUpstreamError(error, what, write);
  }
}

const notFound = (id: string) => new ScimHttpError(404, undefined, `no user ${quoted(id)} in CXone`);

const logWrite = (request: FastifyRequest, action: string, id: string, ctx: RequestContext) =>
  request.log.info({ actor: request.actor, scimUserId: id, upstreamRequests: ctx.stats.upstreamRequests }, `SCIM user ${action}`);

/** The top-level attributes a body sets (names only: their values may be personal or secret and never reach the audit trail). */
function attributeNames(body: object): string[] {
  return Object.keys(body).filter((name) => !['schemas', 'id', 'meta'].includes(name));
}

const asker = (request: FastifyRequest) => ({ actor: request.actor, requestId: request.id });

/** A user write's audit note: which user (null while a create has none), and which attributes it set. */
function userNote(status: ChangeNote['status'], id: string | null, attributes: readonly string[]): ChangeNote {
  return { status, resourceType: 'User', resourceId: id, attributes };
}

const errors = {
  400: ScimErrorResponse('invalidFilter, invalidSyntax, invalidValue, invalidPath or mutability, naming the field; or CXone refused the request (its detail)'),
  401: ScimErrorResponse('Missing or wrong bearer token'),
  502: ScimErrorResponse("CXone answered an error that is not this request's (5xx, or it refused the service's credentials)"),
  503: ScimErrorResponse('CXone throttled or was unavailable past the retry budget (Retry-After)'),
  504: ScimErrorResponse('CXone did not answer in time'),
};

export const scimUsersRoutes: FastifyPluginAsyncTypebox<ScimUsersOptions> = async (app, options) => {
  const { gateway } = options;
  const changes = options.changes ?? UNRECORDED;
  const maxResults = options.maxResults ?? 200;
  if (!Number.isInteger(maxResults) || maxResults < 1) throw new RangeError(`maxResults must be a positive integer, got ${maxResults}`);
  const prefix = app.prefix;

  const locationOf = (request: FastifyRequest, id: string) => `${request.protocol}://${request.host}${prefix}/Users/${encodeURIComponent(id)}`;

  /** The user as answered: no password ever, meta.location here. */
  const present = (request: FastifyRequest, user: ScimUserDocument): Json => {
    const { password: _never, ...rest } = user as Json;
    const meta = isObject(rest.meta) ? { ...rest.meta } : {};
    meta.resourceType ??= 'User';
    meta.location = locationOf(request, user.id);
    return { ...rest, schemas: Array.isArray(rest.schemas) ? rest.schemas : [SCIM_USER_SCHEMA], id: user.id, meta };
  };

  app.get(
    '/Users',
    {
      schema: {
        tags: ['scim'],
        operationId: 'scimListUsers',
        summary: 'List CXone users, or find one by userName',
        description: `GET /Users of CXone's SCIM API. \`filter=userName eq "…"\` finds the user with that userName (case-insensitive), as Okta and Entra ID ask before they create one; any other filter is a 400 invalidFilter. Without a filter, \`startIndex\` and \`count\` page through CXone's users (count at most ${maxResults}).`,
        security: [{ bearerAuth: [] }],
        querystring: ScimUserListQuery,
        response: { 200: ScimUserListResponse, ...errors },
      },
    },
    async (request, reply) => {
      const { query } = request;
      const userName = query.filter === undefined ? undefined : parseUserNameFilter(query.filter);
      const attributes = parseAttributeList(query.attributes);
      const excluded = parseAttributeList(query.excludedAttributes);
      // RFC 7644 §3.4.2.4: startIndex below 1 is 1; a negative count is 0.
      const startIndex = Math.max(1, query.startIndex ?? 1);
      const count = Math.min(Math.max(0, query.count ?? DEFAULT_USER_COUNT), maxResults);
      const ctx = readCtx(callerGoneSignal(reply));
      const page = await upstream('listing users', false, () => gateway.listUserResources({ ...(userName !== undefined && { userName }), startIndex, count }, ctx));
      const resources = page.resources.slice(0, count).map((user) => projectUser(present(request, user), attributes, excluded));
      reply.type(SCIM_JSON);
      return { schemas: [LIST_RESPONSE_SCHEMA], totalResults: page.totalResults, startIndex, itemsPerPage: resources.length, Resources: resources };
    },
  );

  app.get(
    '/Users/:id',
    {
      schema: {
        tags: ['scim'],
        operationId: 'scimGetUser',
        summary: 'Read one CXone user',
        description: 'GET /Users/{id} of CXone, with `attributes`/`excludedAttributes` applied. A deactivated user is still returned, with `active: false`.',
        security: [{ bearerAuth: [] }],
        params: ScimUserIdParams,
        querystring: ScimUserReadQuery,
        response: { 200: ScimUserResource, ...errors, 404: ScimErrorResponse('No such user in CXone') },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const attributes = parseAttributeList(request.query.attributes);
      const excluded = parseAttributeList(request.query.excludedAttributes);
      const ctx = readCtx(callerGoneSignal(reply));
      const user = await upstream('reading the user', false, () => gateway.getUserResource(id, ctx));
      if (user === null) throw notFound(id);
      reply.type(SCIM_JSON);
      return projectUser(present(request, user), attributes, excluded);
    },
  );

  const bodyDescription =
    'Attributes sent to CXone: userName, name (givenName, familyName, middleName), displayName, externalId, active (a boolean, or "True"/"False"), emails, phoneNumbers, userType, timezone, roles and the NICE extension (team, loginAuthenticator). The other RFC 7643 attributes (password, title, addresses, the enterprise extension, …) are accepted and not sent; any other attribute is a 400 naming it.';

  app.post(
    '/Users',
    {
      preValidation: async (request) => {
        request.body = canonicalNames(request.body) as UserBody;
      },
      schema: {
        tags: ['scim'],
        operationId: 'scimCreateUser',
        summary: 'Create a CXone user',
        description: `POST /Users of CXone. ${bodyDescription} A userName CXone already has is a 409 uniqueness (Okta and Entra ID then look the user up by userName).`,
        security: [{ bearerAuth: [] }],
        consumes: [SCIM_JSON, 'application/json'],
        body: ScimUserBody,
        response: { 201: ScimUserResource, ...errors, 409: ScimErrorResponse('uniqueness: CXone has a user with this userName') },
      },
    },
    async (request, reply) => {
      checkUserBody(request.body);
      const ctx = writeCtx();
      const body = upstreamUserBody(request.body);
      const user = await changes.audited(
        asker(request),
        (created) => userNote('scim_user_created', created?.id ?? null, attributeNames(request.body)),
        () => upstream('creating the user', true, () => gateway.createUserResource(body, ctx)),
      );
      logWrite(request, 'created', user.id, ctx);
      reply.code(201).type(SCIM_JSON).header('location', locationOf(request, user.id));
      return present(request, user);
    },
  );

  app.put(
    '/Users/:id',
    {
      preValidation: async (request) => {
        request.body = canonicalNames(request.body) as UserBody;
      },
      schema: {
        tags: ['scim'],
        operationId: 'scimReplaceUser',
        summary: 'Replace a CXone user',
        description: `PUT /Users/{id} of CXone (RFC 7644 §3.5.1). ${bodyDescription} An \`id\` in the body must be the one in the path.`,
        security: [{ bearerAuth: [] }],
        consumes: [SCIM_JSON, 'application/json'],
        params: ScimUserIdParams,
        body: ScimUserBody,
        response: { 200: ScimUserResource, ...errors, 404: ScimErrorResponse('No such user in CXone'), 409: ScimErrorResponse('uniqueness: another CXone user has this userName') },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      checkUserBody(request.body);
      if (request.body.id !== undefined && request.body.id !== id) {
        throw new ScimHttpError(400, 'mutability', `body/id ${quoted(request.body.id)} is not the id of the path: id is readOnly (RFC 7643 §3.1)`);
      }
      const ctx = writeCtx();
      const body = upstreamUserBody(request.body, id);
      const user = await changes.audited(
        asker(request),
        () => userNote('scim_user_replaced', id, attributeNames(request.body)),
        async () => (await upstream('replacing the user', true, () => gateway.replaceUserResource(id, body, ctx))) ?? Promise.reject(notFound(id)),
      );
      logWrite(request, 'replaced', id, ctx);
      reply.type(SCIM_JSON);
      return present(request, user);
    },
  );

  app.patch(
    '/Users/:id',
    {
      schema: {
        tags: ['scim'],
        operationId: 'scimPatchUser',
        summary: 'Update a CXone user (PatchOp)',
        description:
          'RFC 7644 §3.5.2, translated into the `{path, value}` operations CXone\'s PATCH takes. Supported: active (a boolean, or "True"/"False" as Entra ID sends it), userName, displayName, externalId, name.givenName, name.familyName and emails[type eq "work"].value, with or without a path (a path-less value is an object of those attributes, as Okta sends `{"active": false}`); `op` in any case. Any other path is a 400 invalidPath, a remove a 400 mutability; nothing is sent to CXone then.',
        security: [{ bearerAuth: [] }],
        consumes: [SCIM_JSON, 'application/json'],
        params: ScimUserIdParams,
        body: ScimUserPatchBody,
        response: { 200: ScimUserResource, ...errors, 404: ScimErrorResponse('No such user in CXone'), 409: ScimErrorResponse('uniqueness: another CXone user has this userName') },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const translation = translateUserPatch(request.body);
      if (!translation.ok) throw new ScimHttpError(400, translation.problem.scimType, translation.problem.detail);
      const ctx = writeCtx();
      const user = await changes.audited(
        asker(request),
        // The attribute of each operation (emails[type eq "work"].value is emails), never its value.
        () => userNote('scim_user_patched', id, translation.operations.map((o) => String(o.path).split(/[.[]/, 1)[0] as string)),
        async () => (await upstream('updating the user', true, () => gateway.updateUserResource(id, translation.operations, ctx))) ?? Promise.reject(notFound(id)),
      );
      logWrite(request, `updated (${translation.operations.map((o) => o.path).join(', ')})`, id, ctx);
      reply.type(SCIM_JSON);
      return present(request, user);
    },
  );

  app.delete(
    '/Users/:id',
    {
      schema: {
        tags: ['scim'],
        operationId: 'scimDeleteUser',
        summary: 'Deactivate a CXone user',
        description:
          "CXone's SCIM API has no user DELETE: the user is deactivated (`active: false`), as when an IdP deprovisions it, and stays readable (RFC 7644 §3.6 would have it answer 404 after a DELETE; CXone keeps the user). 204 once CXone holds it.",
        security: [{ bearerAuth: [] }],
        params: ScimUserIdParams,
        response: { 204: { type: 'null', description: 'Deactivated' }, ...errors, 404: ScimErrorResponse('No such user in CXone') },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const ctx = writeCtx();
      await changes.audited(
        asker(request),
        () => userNote('scim_user_deactivated', id, ['active']),
        async () => {
          const user = await upstream('deactivating the user', true, () => gateway.deactivateUser(id, ctx));
          if (user === null) throw notFound(id);
          if (user.active !== false) throw new ScimHttpError(502, undefined, 'CXone answered the deactivation with a user that is still active; nothing is promised: retry the DELETE');
          return user;
        },
      );
      logWrite(request, 'deactivated', id, ctx);
      return reply.code(204).send(null);
    },
  );
};
