/** Shapes shared by every route: the error body (docs/api.md "Errors") and member references. */
import { Type } from 'typebox';

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'Stable error code', examples: ['invalid_request'] }),
    message: Type.String({ description: 'What went wrong, for a person' }),
    syncId: Type.Optional(Type.String({ description: 'The sync this error belongs to (UUIDv7)' })),
    upstreamStatus: Type.Optional(Type.Integer({ description: 'HTTP status the upstream answered (upstream_error only)' })),
    scimType: Type.Optional(Type.String({ description: 'The upstream SCIM error scimType (RFC 7644 §3.12), when it sent one' })),
    detail: Type.Optional(Type.String({ description: 'The upstream SCIM error detail, when it sent one' })),
  },
  { $id: 'ErrorBody', description: 'Every error answer (docs/api.md "Errors")' },
);

/** A route's error answer: the shared error body, described for that route and status. */
export const errorResponse = (description: string) => Type.Ref('ErrorBody', { description });

export const MemberIdentity = Type.Object(
  {
    value: Type.String({ description: 'The member resource id' }),
    type: Type.Union([Type.Literal('User'), Type.Literal('Group')]),
  },
  { $id: 'MemberIdentity' },
);
