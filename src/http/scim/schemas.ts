/** Shapes of the SCIM front door for the OpenAPI document: resources are open objects (SCIM attribute names are case-insensitive and extensible). */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';

export const SCIM_MEDIA_TYPE = 'application/scim+json';

/** The base URL of the front door as the caller reached it (RFC 7643 §3.1 meta.location). */
export function scimBase(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}/scim/v2`;
}

export const ScimErrorBodySchema = Type.Object(
  {
    schemas: Type.Array(Type.String(), { description: '["urn:ietf:params:scim:api:messages:2.0:Error"]' }),
    status: Type.String({ description: 'The HTTP status, as a string' }),
    scimType: Type.Optional(Type.String({ description: 'RFC 7644 §3.12 Table 9' })),
    detail: Type.String({ description: 'What went wrong; names the members concerned' }),
  },
  { $id: 'ScimError', description: 'A SCIM error (RFC 7644 §3.12), sent as application/scim+json' },
);

export const ScimErrorResponse = (description: string) => Type.Ref('ScimError', { description });

export const ScimResource = Type.Object({}, { additionalProperties: true, description: 'A SCIM resource or ListResponse, as application/scim+json' });
