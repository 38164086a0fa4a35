/** Schemas of GET /syncs/{syncId}, GET /audit and GET /audit/verify: the source of their OpenAPI. */
import { Type } from 'typebox';
import { FRONT_DOOR_CHANGES, QUARANTINE_CHANGE_STATUSES } from '../../core/audit.js';
import { AUDIT_PAGE_MAX } from '../../core/ports.js';

const AuditMember = Type.Object(
  {
    value: Type.String(),
    type: Type.Union([Type.Literal('User'), Type.Literal('Group')]),
    display: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

/**
 * A record exactly as hashed: additionalProperties keeps fields this schema does not
 * list, so a client can recompute `hash` from what it received.
 */
export const AuditRecordSchema = Type.Object(
  {
    syncId: Type.String({ description: 'UUIDv7 of the sync' }),
    requestId: Type.String({ description: 'The X-Request-Id of the request' }),
    actor: Type.String({ description: 'The name of the bearer token that asked' }),
    groupId: Type.String(),
    status: Type.String({ description: 'applied, unchanged, dry_run, or the error code the sync answered with (validation_failed, conflict, upstream_error, …)' }),
    added: Type.Array(AuditMember),
    removed: Type.Array(AuditMember),
    memberCount: Type.Integer(),
    payloadSha256: Type.String({ description: 'SHA-256 (hex) of the canonical JSON that was PUT, or would have been; of the requested displayName and members (value, type, display) when no group was read; "unavailable" if it could not be computed' }),
    etagBefore: Type.Union([Type.String(), Type.Null()]),
    etagAfter: Type.Union([Type.String(), Type.Null()], { description: 'null where the provider has no ETags, or nothing was written' }),
    latencyMs: Type.Integer(),
    upstreamRequests: Type.Integer(),
    errors: Type.Array(Type.Object({ code: Type.String(), message: Type.String(), member: Type.Optional(AuditMember) }, { additionalProperties: true }), { description: 'What failed; for validation_failed, the member errors, at most 1,000' }),
    errorsOmitted: Type.Optional(Type.Integer({ minimum: 1, description: 'validation_failed with more than 1,000 member errors: how many are not listed' })),
    backend: Type.Optional(
      Type.String({
        description:
          'The membership backend the sync ran through (scim-groups, acd-groups or teams). Absent from records written before it was recorded, and from syncs that ended before MEMBERSHIP_BACKEND=auto had chosen one',
      }),
    ),
    createdAt: Type.String({ format: 'date-time' }),
    prevHash: Type.String({ description: 'The hash of the record before this one (64 zeros for the first)' }),
    hash: Type.String({ description: 'SHA-256 (hex) of the canonical JSON of this record without `hash`, with `prevHash`' }),
  },
  { additionalProperties: true, description: 'One sync attempt in the audit trail (docs/api.md "Audit trail")' },
);

/** A webhook subscription created or deleted: a record of the same chain (src/core/audit.ts SubscriptionAuditEntry). */
export const SubscriptionAuditRecordSchema = Type.Object(
  {
    syncId: Type.String({ description: "The record's own id (UUIDv7); no sync is involved" }),
    requestId: Type.String({ description: 'The X-Request-Id of the request' }),
    actor: Type.String({ description: 'The name of the bearer token that created or deleted it (an administrator may delete another caller\'s)' }),
    status: Type.Union([Type.Literal('subscription_created'), Type.Literal('subscription_deleted')]),
    subscriptionId: Type.String(),
    owner: Type.Union([Type.String(), Type.Null()], { description: 'Whose subscription it is; null for one created before owners were recorded' }),
    events: Type.Array(Type.String()),
    target: Type.String({ description: "The URL's origin (scheme, host, port). Path, query and credentials are never recorded: they often hold the receiver's secret" }),
    urlSha256: Type.String({ description: 'SHA-256 (hex) of the full URL as subscribed, to match a URL you know' }),
    createdAt: Type.String({ format: 'date-time' }),
    prevHash: Type.String(),
    hash: Type.String({ description: 'SHA-256 (hex) of the canonical JSON of this record without `hash`, with `prevHash`' }),
  },
  { additionalProperties: true, description: 'A webhook subscription created or deleted, in the same hash chain as the syncs' },
);

/** A change the SCIM front door made outside a sync: a record of the same chain (src/core/audit.ts FrontDoorAuditEntry). */
export const FrontDoorAuditRecordSchema = Type.Object(
  {
    syncId: Type.String({ description: "The record's own id (UUIDv7); no sync is involved" }),
    requestId: Type.String({ description: 'The X-Request-Id of the request' }),
    actor: Type.String({ description: 'The name of the SCIM token that asked' }),
    status: Type.Union(FRONT_DOOR_CHANGES.map((change) => Type.Literal(change))),
    resourceType: Type.Union([Type.Literal('Group'), Type.Literal('User')]),
    resourceId: Type.Union([Type.String(), Type.Null()], { description: "The group's or user's id; null when a create failed before one was given" }),
    groupId: Type.Optional(Type.String({ description: 'Group records with an id: the group (GET /audit?groupId= finds them)' })),
    attributes: Type.Array(Type.String(), { description: 'The attributes the request set: names only, never values (a user\'s are personal, some secret)' }),
    displayName: Type.Optional(Type.String({ description: 'Group records: the name the group was created with' })),
    externalId: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'Group records: the externalId kept (null: forgotten)' })),
    outcome: Type.Union([Type.Literal('applied'), Type.Literal('failed')]),
    error: Type.Optional(Type.String({ description: 'The code the request was answered with, when it failed' })),
    createdAt: Type.String({ format: 'date-time' }),
    prevHash: Type.String(),
    hash: Type.String({ description: 'SHA-256 (hex) of the canonical JSON of this record without `hash`, with `prevHash`' }),
  },
  { additionalProperties: true, description: 'A change the SCIM front door made outside a sync (a group created, an externalId kept, a user written), in the same hash chain as the syncs' },
);

/** A group's quarantine changed, or a held change did: a record of the same chain (src/core/audit.ts QuarantineAuditEntry). */
export const QuarantineAuditRecordSchema = Type.Object(
  {
    syncId: Type.String({ description: "The record's own id (UUIDv7); no sync is involved" }),
    requestId: Type.String({ description: 'The X-Request-Id of the request that caused it (a probe or an expiry: one of its own)' }),
    actor: Type.String({
      description: 'The caller whose sync tipped the group or whose change was held, the administrator who released it or decided the held change, quarantine-probe or held-change-expiry',
    }),
    groupId: Type.String(),
    status: Type.Union(QUARANTINE_CHANGE_STATUSES.map((change) => Type.Literal(change))),
    reason: Type.String({ description: 'Why, in words (for a held change: its id, its numbers and who asked for it)' }),
    createdAt: Type.String({ format: 'date-time' }),
    prevHash: Type.String(),
    hash: Type.String({ description: 'SHA-256 (hex) of the canonical JSON of this record without `hash`, with `prevHash`' }),
  },
  { additionalProperties: true, description: "A group's quarantine entered, half-open or released, or a change the mass-removal guard held, decided or let expire, in the same hash chain as the syncs" },
);

/** What GET /audit lists: sync attempts, subscription, quarantine, held-change and front-door changes, told apart by `status`. */
export const AnyAuditRecordSchema = Type.Union([AuditRecordSchema, SubscriptionAuditRecordSchema, QuarantineAuditRecordSchema, FrontDoorAuditRecordSchema], {
  description: `A sync attempt (AuditRecord), a subscription change (SubscriptionAuditRecord: status subscription_created or subscription_deleted), a quarantine or held-change change (QuarantineAuditRecord: status ${QUARANTINE_CHANGE_STATUSES.join(', ')}) or a SCIM front-door change (FrontDoorAuditRecord: status ${FRONT_DOOR_CHANGES.join(', ')})`,
});

export const SyncIdParams = Type.Object({
  syncId: Type.String({ minLength: 1, maxLength: 128, description: 'The syncId of a sync answer or error' }),
});

export const AuditQuery = Type.Object({
  groupId: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Only syncs of this group' })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Only records created at or after this instant (ISO 8601)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: AUDIT_PAGE_MAX, default: 50, description: `Records per page (at most ${AUDIT_PAGE_MAX})` })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page' })),
});

export const AuditPage = Type.Object({
  items: Type.Array(AnyAuditRecordSchema, { description: "Newest first: the caller's own records (an administrator's: every record)" }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page' }),
});

export const ChainVerdictSchema = Type.Object(
  {
    ok: Type.Boolean(),
    records: Type.Integer({ description: 'Records checked (up to and including the first broken one)' }),
    failure: Type.Optional(
      Type.Union(
        ['edited', 'relinked', 'gap', 'head_missing', 'truncated', 'emptied', 'not_keyed', 'key_mismatch', 'checkpoint_invalid', 'cut'].map((kind) => Type.Literal(kind)),
        {
          description:
            'What broke the chain: edited (a record does not match its hash), relinked (a prevHash does not match the record before), gap (sequence numbers are missing), head_missing (records exist, the remembered head does not), truncated (the newest records were deleted), emptied (no records, but records were written), not_keyed (AUDIT_HMAC_KEY is set but the trail carries no key anchor: never keyed, or re-sealed without the key), key_mismatch (the key anchor or the head does not match the key), checkpoint_invalid (the checkpoint of pruned records is forged), cut (the head was found deleted when a record was appended; the chain continued from what was left)',
        },
      ),
    ),
    firstBrokenSyncId: Type.Optional(Type.String({ description: 'The first record whose link is broken; "(end of chain)" when the newest records or the head are gone, "(chain metadata)" when the key anchor, head seal or checkpoint is. Shown to administrators only: the record may be another caller\'s' })),
    reason: Type.Optional(Type.String()),
    unverifiedKeyedRecords: Type.Optional(Type.Integer({ description: 'Keyed records checked for their links only, because the verifier has no AUDIT_HMAC_KEY (the CLI without it)' })),
    checkpoint: Type.Optional(
      Type.Object(
        {
          firstSeq: Type.Integer({ description: 'Sequence number of the oldest record kept' }),
          prevHash: Type.String({ description: 'The hash that record continues from (of the newest pruned record)' }),
          pruned: Type.Integer({ description: 'Records pruned so far' }),
          createdAt: Type.String({ format: 'date-time' }),
        },
        { description: 'Present when AUDIT_RETENTION_DAYS pruned older records: where the kept chain begins' },
      ),
    ),
  },
  {
    examples: [
      { ok: true, records: 1234 },
      { ok: false, records: 17, failure: 'edited', firstBrokenSyncId: '0193b8a4-7c1e-7000-8000-3f2a9d1c0b11', reason: 'record 17: the record content does not match its hash: it was edited' },
      { ok: false, records: 1200, failure: 'truncated', firstBrokenSyncId: '(end of chain)', reason: 'the newest records were deleted: the chain ends at record 1200 before the remembered head, record 1234 (records 1201 to 1234 were deleted)' },
    ],
  },
);
