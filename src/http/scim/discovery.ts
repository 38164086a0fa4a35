/**
 * Discovery (RFC 7644 §4, RFC 7643 §5–7): /ServiceProviderConfig, /ResourceTypes and
 * /Schemas say what this front door does and nothing more: PATCH yes; filter yes (the
 * operators of ./filter.ts) with maxResults; bulk, sort and changePassword no; ETags only
 * where the membership backend's writes check them (scim-groups over a provider that
 * supports them; never acd-groups or teams); bearer tokens.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ScimHttpError } from './errors.js';
import { GROUP_SCHEMA } from './filter.js';
import type { ScimGroups } from './groups-service.js';
import { LIST_RESPONSE_SCHEMA, type Json } from './resource.js';
import { ScimErrorResponse, ScimResource, scimBase } from './schemas.js';

import { SCIM_USER_SCHEMA } from './user-schemas.js';

export const SPC_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

export interface DiscoveryOptions {
  readonly groups: ScimGroups;
  /** /Users is served (the User resource type and schema are listed). */
  readonly users: boolean;
  /** filter.maxResults: the most resources one list answers. */
  readonly maxResults: number;
}

const attribute = (name: string, type: string, extra: Json = {}): Json => ({
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

/** The Group schema (RFC 7643 §8.7.1), as far as this service keeps it. */
export const GROUP_SCHEMA_DEFINITION: Json = {
  id: GROUP_SCHEMA,
  name: 'Group',
  description: 'A group whose members the service syncs into the membership backend in use (MEMBERSHIP_BACKEND)',
  attributes: [
    attribute('displayName', 'string', { required: true, uniqueness: 'server', description: 'The group name; unique among the groups of the backend (case-insensitive)' }),
    // A common attribute (RFC 7643 §3.1), listed because Entra's schema discovery looks for each attribute it maps here.
    attribute('externalId', 'string', { caseExact: true, uniqueness: 'server', description: 'The identity provider\'s id of the group, kept by the service; unique among the groups of the backend' }),
    attribute('members', 'complex', {
      multiValued: true,
      description: 'The members: users (and groups, where the backend nests groups)',
      subAttributes: [
        attribute('value', 'string', { mutability: 'immutable', description: 'The member id (a SCIM user or group id)' }),
        attribute('$ref', 'reference', { mutability: 'immutable', referenceTypes: ['User', 'Group'] }),
        attribute('type', 'string', { mutability: 'immutable', canonicalValues: ['User', 'Group'] }),
        attribute('display', 'string', { mutability: 'readOnly' }),
      ],
    }),
  ],
  meta: { resourceType: 'Schema' },
};

export const GROUP_RESOURCE_TYPE: Json = {
  schemas: [RESOURCE_TYPE_SCHEMA],
  id: 'Group',
  name: 'Group',
  endpoint: '/Groups',
  description: 'Groups of the membership backend in use',
  schema: GROUP_SCHEMA,
  meta: { resourceType: 'ResourceType' },
};

/** The User schema (RFC 7643 §8.7.1), as far as /Users passes it on to CXone (src/core/scim-user-patch.ts, docs/scim-users.md). */
export const USER_SCHEMA_DEFINITION: Json = {
  id: SCIM_USER_SCHEMA,
  name: 'User',
  description: 'Users of CXone, passed through to its SCIM /Users',
  attributes: [
    attribute('userName', 'string', { required: true, uniqueness: 'server' }),
    attribute('name', 'complex', {
      subAttributes: [attribute('givenName', 'string'), attribute('familyName', 'string'), attribute('formatted', 'string')],
    }),
    attribute('displayName', 'string'),
    attribute('emails', 'complex', { multiValued: true, subAttributes: [attribute('value', 'string'), attribute('type', 'string'), attribute('primary', 'boolean')] }),
    attribute('active', 'boolean'),
    attribute('externalId', 'string', { caseExact: true }),
  ],
  meta: { resourceType: 'Schema' },
};

export const USER_RESOURCE_TYPE: Json = {
  schemas: [RESOURCE_TYPE_SCHEMA],
  id: 'User',
  name: 'User',
  endpoint: '/Users',
  description: "CXone's users (DELETE deactivates)",
  schema: SCIM_USER_SCHEMA,
  meta: { resourceType: 'ResourceType' },
};

/** The resource types and schemas served. */
const resourceTypes = (users: boolean): Json[] => (users ? [USER_RESOURCE_TYPE, GROUP_RESOURCE_TYPE] : [GROUP_RESOURCE_TYPE]);
const schemaDefinitions = (users: boolean): Json[] => (users ? [USER_SCHEMA_DEFINITION, GROUP_SCHEMA_DEFINITION] : [GROUP_SCHEMA_DEFINITION]);

const withLocation = (resource: Json, base: string, path: string): Json => ({ ...resource, schemas: resource.schemas ?? [SCHEMA_SCHEMA], meta: { ...(resource.meta as Json), location: `${base}${path}` } });

function listOf(resources: Json[]): Json {
  return { schemas: [LIST_RESPONSE_SCHEMA], totalResults: resources.length, itemsPerPage: resources.length, startIndex: 1, Resources: resources };
}

const errors = {
  401: ScimErrorResponse('Missing or wrong bearer token'),
  404: ScimErrorResponse('No such resource type or schema'),
  503: ScimErrorResponse('MEMBERSHIP_BACKEND=auto has not chosen a backend yet (with Retry-After)'),
};

export const discoveryRoutes: FastifyPluginAsyncTypebox<DiscoveryOptions> = async (app, { groups, maxResults, users }) => {
  const common = { tags: ['scim'], security: [{ bearerAuth: [] }] };

  app.get(
    '/ServiceProviderConfig',
    {
      config: { scim: true },
      schema: { ...common, operationId: 'scimServiceProviderConfig', summary: 'SCIM ServiceProviderConfig (RFC 7643 §5)', description: 'What the front door supports; etag.supported follows the membership backend in use.', response: { 200: ScimResource, ...errors } },
    },
    async (request) => {
      const backend = await groups.backend();
      const etag = (await backend.supportsEtags?.({ stats: { upstreamRequests: 0 } })) ?? false;
      const base = scimBase(request);
      return {
        schemas: [SPC_SCHEMA],
        documentationUri: `${base.replace(/\/scim\/v2$/, '')}/docs`,
        patch: { supported: true },
        bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
        filter: { supported: true, maxResults },
        changePassword: { supported: false },
        sort: { supported: false },
        etag: { supported: etag },
        authenticationSchemes: [
          { type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'A bearer token of SCIM_API_TOKENS (else SYNC_API_TOKENS) in the Authorization header', specUri: 'https://www.rfc-editor.org/info/rfc6750', primary: true },
        ],
        meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
      };
    },
  );

  app.get(
    '/ResourceTypes',
    { config: { scim: true }, schema: { ...common, operationId: 'scimResourceTypes', summary: 'SCIM ResourceTypes (RFC 7643 §6)', response: { 200: ScimResource, ...errors } } },
    async (request) => listOf(resourceTypes(users).map((type) => withLocation(type, scimBase(request), `/ResourceTypes/${String(type.id)}`))),
  );

  app.get(
    '/ResourceTypes/:id',
    {
      config: { scim: true },
      schema: { ...common, operationId: 'scimResourceType', summary: 'One SCIM ResourceType', params: Type.Object({ id: Type.String({ maxLength: 256 }) }), response: { 200: ScimResource, ...errors } },
    },
    async (request) => {
      const type = resourceTypes(users).find((candidate) => candidate.id === request.params.id);
      if (type === undefined) throw new ScimHttpError(404, undefined, `no resource type ${JSON.stringify(request.params.id)}`);
      return withLocation(type, scimBase(request), `/ResourceTypes/${String(type.id)}`);
    },
  );

  app.get(
    '/Schemas',
    { config: { scim: true }, schema: { ...common, operationId: 'scimSchemas', summary: 'SCIM Schemas (RFC 7643 §7)', response: { 200: ScimResource, ...errors } } },
    async (request) => listOf(schemaDefinitions(users).map((schema) => withLocation(schema, scimBase(request), `/Schemas/${String(schema.id)}`))),
  );

  app.get(
    '/Schemas/:id',
    {
      config: { scim: true },
      schema: { ...common, operationId: 'scimSchema', summary: 'One SCIM Schema, by its URN', params: Type.Object({ id: Type.String({ maxLength: 256 }) }), response: { 200: ScimResource, ...errors } },
    },
    async (request) => {
      const schema = schemaDefinitions(users).find((candidate) => candidate.id === request.params.id);
      if (schema === undefined) throw new ScimHttpError(404, undefined, `no schema ${JSON.stringify(request.params.id)}`);
      return withLocation(schema, scimBase(request), `/Schemas/${String(schema.id)}`);
    },
  );
};
