/**
 * /scim/v2/Groups (RFC 7644 §3.3–3.6) on the membership backend in use (./groups-service.ts):
 * list with filter and paging, read with attributes/excludedAttributes, create, replace,
 * patch, delete. Bodies are read with SCIM's case-insensitive attribute names; a PATCH is
 * folded into one delta (./patch.ts), so one member added costs one member's write.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { callerGoneSignal } from '../caller-gone.js';
import { ScimHttpError } from './errors.js';
import { parseGroupFilter } from './filter.js';
import type { Caller, GroupWriteInput, ScimGroups, ScimGroupView } from './groups-service.js';
import { desiredMember, foldPatch } from './patch.js';
import { groupResource, LIST_RESPONSE_SCHEMA, project, projection, wantsMembers } from './resource.js';
import { ScimErrorResponse, ScimResource, scimBase } from './schemas.js';

export interface GroupRoutesOptions {
  readonly groups: ScimGroups;
  /** The most resources one list answers (filter.maxResults) and its default count. */
  readonly maxResults: number;
  /** Members one request may name (MAX_MEMBERS). */
  readonly maxMembers: number;
}

const IdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^/\\u0000-\\u001f\\u007f]+$', description: 'The group id of the backend (teams: the team\'s user-management UUID, or its integer teamId)' }),
});
const Projection = {
  attributes: Type.Optional(Type.String({ maxLength: 1024, description: 'Attributes to return, comma separated (RFC 7644 §3.9)' })),
  excludedAttributes: Type.Optional(Type.String({ maxLength: 1024, description: 'Attributes to leave out, e.g. members (RFC 7644 §3.9)' })),
};
const ListQuery = Type.Object({
  filter: Type.Optional(Type.String({ maxLength: 4096, description: 'displayName eq "…", externalId eq "…" or id eq "…"' })),
  startIndex: Type.Optional(Type.Integer({ description: '1-based index of the first result (RFC 7644 §3.4.2.4); below 1 is 1' })),
  count: Type.Optional(Type.Integer({ description: 'Results per page, at most filter.maxResults; below 0 is 0' })),
  sortBy: Type.Optional(Type.String({ maxLength: 256, description: 'Ignored: sorting is not supported (sort.supported false)' })),
  sortOrder: Type.Optional(Type.String({ maxLength: 32, description: 'Ignored' })),
  ...Projection,
});
const ReadQuery = Type.Object(Projection);
const IfMatch = Type.Object({
  'if-match': Type.Optional(Type.String({ maxLength: 1024, description: 'The ETag read: the write is made only if the group still has that version (412 otherwise). Ignored where ServiceProviderConfig says etag.supported false (acd-groups, teams)' })),
});
const Body = Type.Object({}, { additionalProperties: true, description: 'A SCIM Group (create, replace) or PatchOp (patch), as application/scim+json or application/json' });

const common = { tags: ['scim'], security: [{ bearerAuth: [] }], consumes: ['application/scim+json', 'application/json'] };
const failures = {
  400: ScimErrorResponse('invalidSyntax, invalidFilter, invalidPath, invalidValue (a member refused by validation, named in detail), noTarget, mutability'),
  401: ScimErrorResponse('Missing or wrong bearer token'),
  404: ScimErrorResponse('No such group'),
  409: ScimErrorResponse('uniqueness: a group of that displayName or externalId exists (a create), or the upstream refuses a new displayName as taken (a rename); or the group kept changing under the retries'),
  412: ScimErrorResponse('If-Match does not match the group\'s version (version_mismatch, audited); nothing was written'),
  413: ScimErrorResponse('Body over the limit, or more than MAX_MEMBERS members'),
  415: ScimErrorResponse('Body is not JSON'),
  429: ScimErrorResponse('group_busy or rate_limited, with Retry-After'),
  501: ScimErrorResponse('The membership backend in use cannot do this (SCIM_GROUP_DELETE=deactivate under acd-groups and teams)'),
  502: ScimErrorResponse('The upstream failed, or did not apply the write (detail names the members)'),
  503: ScimErrorResponse('No backend chosen yet, upstream unavailable, queue timeout: with Retry-After'),
  504: ScimErrorResponse('The upstream did not answer in time'),
};

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A Group body of POST or PUT, attribute names in any case. */
function groupInput(body: unknown, maxMembers: number): GroupWriteInput {
  if (!isObject(body)) throw new ScimHttpError(400, 'invalidSyntax', 'the body must be a Group object');
  let displayName: unknown;
  let externalId: unknown;
  let members: unknown;
  for (const [key, value] of Object.entries(body)) {
    const name = key.toLowerCase().replace(/^urn:ietf:params:scim:schemas:core:2\.0:group:/, '');
    if (name === 'displayname') displayName = value;
    else if (name === 'externalid') externalId = value;
    else if (name === 'members') members = value;
  }
  if (typeof displayName !== 'string' || displayName.trim() === '' || displayName.length > 256) throw new ScimHttpError(400, 'invalidValue', 'displayName is required: a non-empty string of at most 256 characters');
  if (externalId !== undefined && externalId !== null && (typeof externalId !== 'string' || externalId === '' || externalId.length > 256)) throw new ScimHttpError(400, 'invalidValue', 'externalId must be a string of 1–256 characters');
  if (members !== undefined && members !== null && !Array.isArray(members)) throw new ScimHttpError(400, 'invalidValue', 'members must be an array');
  const list = (members as unknown[] | null | undefined) ?? [];
  if (list.length > maxMembers) throw new ScimHttpError(413, 'tooMany', `members must hold at most ${maxMembers} entries (MAX_MEMBERS)`);
  return { displayName, ...(typeof externalId === 'string' ? { externalId } : {}), members: list.map((item, index) => desiredMember(item, `members[${index}]`)) };
}

function callerOf(request: FastifyRequest, reply: FastifyReply): Caller {
  return { actor: request.actor, requestId: request.id, callerGone: callerGoneSignal(reply) };
}

function sendGroup(reply: FastifyReply, request: FastifyRequest, group: ScimGroupView, status: number, query: { attributes?: string; excludedAttributes?: string } = {}) {
  const base = scimBase(request);
  if (group.version !== null) reply.header('etag', group.version);
  if (status === 201) reply.header('location', `${base}/Groups/${encodeURIComponent(group.id)}`);
  return reply.code(status).send(project(groupResource(group, base), projection(query.attributes, query.excludedAttributes)));
}

/** Room for MAX_MEMBERS members with long display names, plus the envelope. */
const bodyLimit = (maxMembers: number) => maxMembers * 512 + 64 * 1024;

export const groupRoutes: FastifyPluginAsyncTypebox<GroupRoutesOptions> = async (app, { groups, maxResults, maxMembers }) => {
  app.get(
    '/Groups',
    {
      config: { scim: true },
      schema: {
        ...common,
        operationId: 'scimListGroups',
        summary: 'List groups (RFC 7644 §3.4.2)',
        description:
          'All groups of the backend, or those a filter selects (displayName eq, externalId eq, id eq), paged by startIndex and count (at most filter.maxResults). Members are read for the page unless excludedAttributes=members. Under teams, the teams of user-management, each by its UUID id.',
        querystring: ListQuery,
        response: { 200: ScimResource, ...failures },
      },
    },
    async (request) => {
      const { filter, attributes, excludedAttributes } = request.query;
      const shape = projection(attributes, excludedAttributes);
      const startIndex = Math.max(1, request.query.startIndex ?? 1);
      const count = Math.min(maxResults, Math.max(0, request.query.count ?? maxResults));
      const page = await groups.list(filter === undefined ? undefined : parseGroupFilter(filter), startIndex, count, wantsMembers(shape));
      const base = scimBase(request);
      return { schemas: [LIST_RESPONSE_SCHEMA], totalResults: page.total, itemsPerPage: page.groups.length, startIndex, Resources: page.groups.map((group) => project(groupResource(group, base), shape)) };
    },
  );

  app.get(
    '/Groups/:id',
    {
      config: { scim: true },
      schema: { ...common, operationId: 'scimGetGroup', summary: 'Read one group (RFC 7644 §3.4.1)', params: IdParams, querystring: ReadQuery, response: { 200: ScimResource, ...failures } },
    },
    async (request, reply) => sendGroup(reply, request, await groups.get(request.params.id, wantsMembers(projection(request.query.attributes, request.query.excludedAttributes))), 200, request.query),
  );

  app.post(
    '/Groups',
    {
      config: { scim: true },
      bodyLimit: bodyLimit(maxMembers),
      schema: {
        ...common,
        operationId: 'scimCreateGroup',
        summary: 'Create a group (RFC 7644 §3.3)',
        description:
          'Creates the group in the backend (scim-groups: the provider\'s POST /Groups; acd-groups: the admin API\'s POST /groups; teams: user-management\'s POST /user-management/v3/teams, the id is the team\'s UUID), keeps its externalId, then syncs its members (validated and audited like any sync). A displayName (case-insensitive) or externalId that exists already: 409 uniqueness.',
        body: Body,
        response: { 201: ScimResource, ...failures },
      },
    },
    async (request, reply) => sendGroup(reply, request, await groups.create(groupInput(request.body, maxMembers), callerOf(request, reply)), 201),
  );

  app.put(
    '/Groups/:id',
    {
      config: { scim: true },
      bodyLimit: bodyLimit(maxMembers),
      schema: {
        ...common,
        operationId: 'scimReplaceGroup',
        summary: 'Replace a group (RFC 7644 §3.5.1)',
        description:
          'Runs the sync with the members and displayName sent (the same path as POST /groups/{groupId}/sync) and answers the group as the sync verified it. If-Match (where ServiceProviderConfig says etag.supported) is checked by the sync in the group\'s turn and guards its write upstream: 412 when the group has another version, nothing written; ignored where the backend has no ETags. A new displayName renames the group after its members are verified (teams: a team by its UUID; a team by its integer teamId keeps its name, and the answer shows the id); a name the upstream has for another group is 409 uniqueness.',
        params: IdParams,
        headers: IfMatch,
        body: Body,
        response: { 200: ScimResource, ...failures },
      },
    },
    async (request, reply) => {
      return sendGroup(reply, request, await groups.replace(request.params.id, groupInput(request.body, maxMembers), request.headers['if-match'], callerOf(request, reply)), 200);
    },
  );

  app.patch(
    '/Groups/:id',
    {
      config: { scim: true },
      bodyLimit: bodyLimit(maxMembers),
      schema: {
        ...common,
        operationId: 'scimPatchGroup',
        summary: 'Modify a group (RFC 7644 §3.5.2)',
        description:
          'add, remove and replace of members, displayName and externalId, op in any case, a value as one object or an array, several operations per request, members[value eq "…"] paths. The operations are folded into one change: members added and removed are applied to the group as read, so the write is as small as the change. A displayName renames the group as PUT does (teams by their integer teamId keep their name). Answers 204.',
        params: IdParams,
        headers: IfMatch,
        body: Body,
        response: { 204: Type.Null({ description: 'Applied (or nothing to change)' }), ...failures },
      },
    },
    async (request, reply) => {
      const change = foldPatch(request.body, request.params.id, maxMembers);
      const result = await groups.patch(request.params.id, change, request.headers['if-match'], callerOf(request, reply));
      if (result?.etag) reply.header('etag', result.etag);
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/Groups/:id',
    {
      config: { scim: true },
      schema: {
        ...common,
        operationId: 'scimDeleteGroup',
        summary: 'Delete a group (RFC 7644 §3.6), as SCIM_GROUP_DELETE says',
        description: 'refuse (default): 403, nothing changes. empty: the group is synced to no members (audited) and stays in the backend. deactivate: emptied, then removed where the backend can (scim-groups: DELETE upstream); 501 where it cannot.',
        params: IdParams,
        response: { 204: Type.Null({ description: 'Done' }), 403: ScimErrorResponse('SCIM_GROUP_DELETE=refuse'), ...failures },
      },
    },
    async (request, reply) => {
      await groups.remove(request.params.id, callerOf(request, reply));
      return reply.code(204).send(null);
    },
  );
};
