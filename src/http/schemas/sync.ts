/** Request and response schemas of POST /groups/{groupId}/sync: the source of its OpenAPI. */
import { Type } from 'typebox';

export const GroupIdParams = Type.Object({
  groupId: Type.String({
    minLength: 1,
    maxLength: 256,
    // No "/", no control characters, and not "." or "..": it becomes a path segment upstream.
    pattern: '^(?!\\.{1,2}$)[^/\\u0000-\\u001f\\u007f]+$',
    description: 'The SCIM id of the group (1–256 characters, no "/" or control characters)',
    // Contact Center Agents in the embedded simulator's seed: "Try it out" runs as shown.
    examples: ['80893dab-f1de-49ac-ba3f-e91137e61ec5'],
  }),
});

export const SyncHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      description:
        'Makes retries safe: the first answer (200 or 4xx) for this key is stored for 24 h and replayed to a retry with the same group, query and body, without writing again (header Idempotent-Replayed: true). The same key with anything else different is a 422 idempotency_key_reused; a retry while the first is still running is a 409 idempotency_key_in_use. Scoped to the caller; 1–255 visible ASCII characters; a fresh one per intended change, e.g. okta-2026-11-28-contact-center-0042.',
    }),
  ),
  'x-request-id': Type.Optional(Type.String({ description: 'Echoed in the answer and recorded in logs and the audit trail (letters, digits and ._:@- only, up to 128; anything else is replaced)' })),
});

export const SyncQuery = Type.Object({
  dryRun: Type.Optional(Type.Boolean({ default: false, description: 'Validate and compute the diff, write nothing upstream' })),
});

const MemberInput = Type.Object(
  {
    value: Type.String({ minLength: 1, maxLength: 1024, description: 'The SCIM id of the user or group' }),
    type: Type.Union([Type.Literal('User'), Type.Literal('Group')], { description: 'Required: User or Group' }),
    display: Type.Optional(Type.String({ maxLength: 1024, description: 'A human-readable name, sent on to the provider' })),
  },
  { description: 'A desired member (RFC 7643 §4.2 members sub-attributes)' },
);

export function syncBodySchema(maxMembers: number) {
  return Type.Object(
    {
      displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'New displayName; absent keeps the current one' })),
      members: Type.Array(MemberInput, { maxItems: maxMembers, description: `The complete desired membership (at most ${maxMembers}); empty empties the group` }),
    },
    {
      description: 'The desired membership of the group',
      examples: [
        // The simulator's seed: three users and the group Platform into Contact Center Agents.
        {
          displayName: 'Contact Center Agents',
          members: [
            { value: '2819c223-7f76-453a-919d-413861904646', type: 'User', display: 'Alice Smith' },
            { value: '7a4860c5-5a22-428a-9117-f317b72b72d3', type: 'User' },
            { value: '11510a04-b50f-4233-ba69-86ef329835f2', type: 'User' },
            { value: '6e4ee2b2-b48b-4392-be1c-8c6138028403', type: 'Group' },
          ],
        },
      ],
    },
  );
}

export const SyncResponse = Type.Object(
  {
    syncId: Type.String({ description: 'UUIDv7 of this sync' }),
    groupId: Type.String(),
    status: Type.Union([Type.Literal('applied'), Type.Literal('unchanged'), Type.Literal('dry_run')]),
    added: Type.Array(Type.Ref('MemberIdentity'), { description: 'Members added, relative to the state the write replaced' }),
    removed: Type.Array(Type.Ref('MemberIdentity'), { description: 'Members removed, relative to the state the write replaced' }),
    memberCount: Type.Integer(),
    consistencyRate: Type.Number({ minimum: 0, maximum: 1, description: '|desired ∩ actual| / |desired ∪ actual| after the write' }),
    etag: Type.Union([Type.String(), Type.Null()], { description: 'The group ETag after the write; null when the provider sends none' }),
    writeMode: Type.Union([Type.Literal('put'), Type.Literal('patch'), Type.Null()], { description: 'How the membership was written (WRITE_MODE); null when nothing was written' }),
    latencyMs: Type.Integer(),
    upstreamRequests: Type.Integer({ description: 'Upstream HTTP requests the membership sync made, retries included (the attribute read-back that follows an applied write is counted in its audit record)' }),
  },
  {
    description: 'The sync ran: applied, unchanged (nothing to write) or dry_run',
    examples: [
      {
        syncId: '0193b8a4-7c1e-7000-8000-3f2a9d1c0b11',
        groupId: '80893dab-f1de-49ac-ba3f-e91137e61ec5',
        status: 'applied',
        added: [
          { value: '2819c223-7f76-453a-919d-413861904646', type: 'User' },
          { value: '7a4860c5-5a22-428a-9117-f317b72b72d3', type: 'User' },
          { value: '11510a04-b50f-4233-ba69-86ef329835f2', type: 'User' },
          { value: '6e4ee2b2-b48b-4392-be1c-8c6138028403', type: 'Group' },
        ],
        removed: [],
        memberCount: 4,
        consistencyRate: 1,
        etag: 'W/"7"',
        writeMode: 'put',
        latencyMs: 41,
        upstreamRequests: 3,
      },
    ],
  },
);

const MemberErrorSchema = Type.Object({
  code: Type.Union(
    ['user_not_found', 'user_inactive', 'group_not_found', 'depth_exceeded', 'cycle_detected', 'self_reference', 'duplicate_member'].map((code) => Type.Literal(code)),
  ),
  member: Type.Ref('MemberIdentity'),
  message: Type.String(),
});

export const ValidationFailedBody = Type.Object(
  {
    syncId: Type.Optional(Type.String()),
    error: Type.String({ description: 'validation_failed, or idempotency_key_reused (without errors)' }),
    message: Type.String(),
    errors: Type.Optional(Type.Array(MemberErrorSchema, { description: 'Every member that failed, not just the first' })),
  },
  {
    description: 'Members failed validation; nothing was written',
    examples: [
      {
        syncId: '0193b8a4-7c1e-7000-8000-3f2a9d1c0b11',
        error: 'validation_failed',
        message: '2 members failed validation',
        errors: [
          { code: 'user_not_found', member: { value: 'u-404', type: 'User' }, message: 'user "u-404" does not exist upstream' },
          { code: 'depth_exceeded', member: { value: 'g-9', type: 'Group' }, message: 'adding group "g-9" would nest 4 groups deep (…); the limit is 3' },
        ],
      },
    ],
  },
);
