/** Request and response schemas of POST /groups/{groupId}/sync: the source of its OpenAPI. */
import { Type } from 'typebox';

export const GroupIdParams = Type.Object({
  groupId: Type.String({
    minLength: 1,
    maxLength: 256,
    // No "/", no control characters, and not "." or "..": it becomes a path segment upstream.
    pattern: '^(?!\\.{1,2}$)[^/\\u0000-\\u001f\\u007f]+$',
    description: 'The SCIM id of the group (1–256 characters, no "/" or control characters)',
    examples: ['c0ffee00-0000-4000-8000-000000000005'],
  }),
});

export const SyncHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      description:
        'Makes retries safe: the first answer (200 or 4xx) for this key is stored for 24 h and replayed to a retry with the same group, query and body, without writing again (header Idempotent-Replayed: true). The same key with anything else different is a 422 idempotency_key_reused; a retry while the first is still running is a 409 idempotency_key_in_use. Scoped to the caller; 1–255 visible ASCII characters.',
      examples: ['okta-2026-11-28-engineering-core-0042'],
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
        {
          displayName: 'Engineering Core',
          members: [
            { value: '2819c223-7f76-453a-919d-413861904646', type: 'User', display: 'Alice Smith' },
            { value: 'e9e30dba-f08f-4109-8486-d5c6a331660a', type: 'Group' },
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
    status: Type.Union([Type.Literal('applied'), Type.Literal('unchanged'), Type.Literal('dry_run')], {
      description: 'applied: written, and the upstream was seen to hold the desired members; unchanged: nothing to write; dry_run: nothing written',
    }),
    added: Type.Array(Type.Ref('MemberIdentity'), { description: 'Members added, relative to the state the write replaced' }),
    removed: Type.Array(Type.Ref('MemberIdentity'), { description: 'Members removed, relative to the state the write replaced' }),
    memberCount: Type.Integer(),
    consistencyRate: Type.Number({ minimum: 0, maximum: 1, description: '|desired ∩ actual| / |desired ∪ actual|: 1 for applied (the write was verified); for unchanged and dry_run, against the group as read' }),
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
        groupId: 'e9e30dba-f08f-4109-8486-d5c6a331660a',
        status: 'applied',
        added: [{ value: '2819c223-7f76-453a-919d-413861904646', type: 'User' }],
        removed: [],
        memberCount: 2,
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

/** The 502 of the sync route: the upstream answered with an error, or did not apply a write it answered as done. */
export const SyncUpstreamFailureBody = Type.Object(
  {
    error: Type.String({ description: 'upstream_error, or write_not_applied' }),
    message: Type.String(),
    syncId: Type.Optional(Type.String({ description: 'The sync this error belongs to (UUIDv7)' })),
    upstreamStatus: Type.Optional(Type.Integer({ description: 'upstream_error: the HTTP status the upstream answered (its first error when a retry of the same write then failed differently)' })),
    scimType: Type.Optional(Type.String({ description: 'upstream_error: the upstream SCIM error scimType (RFC 7644 §3.12), when it sent one' })),
    detail: Type.Optional(Type.String({ description: 'upstream_error: the upstream SCIM error detail, when it sent one' })),
    consistencyRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'write_not_applied: |desired ∩ actual| / |desired ∪ actual| by member value, as the group was read back after the write' })),
    missingCount: Type.Optional(Type.Integer({ minimum: 0, description: 'write_not_applied: desired members the upstream does not hold' })),
    extraCount: Type.Optional(Type.Integer({ minimum: 0, description: 'write_not_applied: members the upstream holds that were not desired' })),
    missing: Type.Optional(Type.Array(Type.Ref('MemberIdentity'), { maxItems: 100, description: 'write_not_applied: the first 100 missing members' })),
    extra: Type.Optional(Type.Array(Type.Ref('MemberIdentity'), { maxItems: 100, description: 'write_not_applied: the first 100 members that should not be there' })),
  },
  {
    description:
      'upstream_error: the upstream answered with an error (after a failed write the group is read back first: a write that landed anyway is answered 200 applied). write_not_applied: the provider answered the write as done, but the group read back does not hold the desired members and its version shows no other writer (or the provider gives no version, so that cannot be told); nothing is retried.',
    examples: [
      {
        syncId: '0193b8a4-7c1e-7000-8000-3f2a9d1c0b11',
        error: 'write_not_applied',
        message:
          "the upstream does not hold what was written: 1349 of the 1500 desired members are missing and 0 other members are present (consistencyRate 0.101); the group's version is still W/\"9\", the one our write answered: the provider did not apply the write as sent",
        consistencyRate: 0.1007,
        missingCount: 1349,
        extraCount: 0,
        missing: [{ value: '2819c223-7f76-453a-919d-413861904646', type: 'User' }],
        extra: [],
      },
      {
        syncId: '0193b8a4-7c1e-7000-8000-3f2a9d1c0b11',
        error: 'upstream_error',
        message: 'SCIM PUT /Groups/{id} answered 500: internal server error; its retry then answered 412, so the failed attempt may have changed the resource',
        upstreamStatus: 500,
        detail: 'internal server error',
      },
    ],
  },
);
