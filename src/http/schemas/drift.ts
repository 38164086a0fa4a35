/** Schemas of GET /groups/{groupId}/drift and GET /drift: the source of their OpenAPI. */
import { Type } from 'typebox';
import { AUDIT_PAGE_MAX } from '../../core/ports.js';

const Member = Type.Object({ value: Type.String(), type: Type.Union([Type.Literal('User'), Type.Literal('Group')]) });

const Heal = Type.Object(
  {
    outcome: Type.Union([Type.Literal('applied'), Type.Literal('failed')]),
    syncId: Type.Union([Type.String(), Type.Null()], { description: "The heal's sync (GET /syncs/{syncId}; its actor is drift-heal); null when it ended before it had one" }),
    at: Type.String({ format: 'date-time' }),
    error: Type.Optional(Type.String({ description: 'The error code of a failed heal (validation_failed, upstream_unavailable, …)' })),
    message: Type.Optional(Type.String()),
    retryable: Type.Optional(
      Type.Boolean({ description: 'false: a failure a retry cannot fix (validation_failed, group_not_found, …): the group is not healed again until a sync records another desired set; true: tried again at the next cycle' }),
    ),
    desiredSyncId: Type.String({ description: 'The desired set the heal re-applied (the sync that recorded it)' }),
  },
  { description: 'The last heal (DRIFT_HEAL=on) of this group; null when none ran' },
);

/** One group's drift, as the last check found it. */
export const DriftRecordSchema = Type.Object(
  {
    groupId: Type.String(),
    backend: Type.String({ description: 'The membership backend the group is synced through (scim-groups, acd-groups, teams)' }),
    status: Type.Union([Type.Literal('drifted'), Type.Literal('in_sync'), Type.Literal('unchecked')], {
      description: 'drifted: the upstream differs from the desired set; in_sync: it holds exactly the desired set; unchecked: synced, not read by the drift scheduler yet',
    }),
    groupMissing: Type.Boolean({ description: 'The group itself is gone upstream (every desired member is then missing)' }),
    missing: Type.Array(Member, { description: 'Desired members the upstream does not hold (the first 100)' }),
    extra: Type.Array(Member, { description: 'Members the upstream holds that are not desired (the first 100)' }),
    missingCount: Type.Integer(),
    extraCount: Type.Integer(),
    firstSeenAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When this drift was first seen; null while in sync' }),
    lastCheckedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'The last read by the drift scheduler; null when unchecked' }),
    resolvedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the last drift was found gone (healed, synced, or put right upstream)' }),
    desiredSyncId: Type.String({ description: 'The sync that recorded the desired set compared with (GET /syncs/{syncId})' }),
    heal: Type.Union([Heal, Type.Null()]),
  },
  { description: 'How a group synced by this service differs upstream from the members it was last synced to (docs/consistency.md "Drift")' },
);

export const GroupDriftSchema = Type.Object(
  {
    ...DriftRecordSchema.properties,
    desired: Type.Object(
      {
        syncId: Type.String({ description: 'The sync that applied it (or found it held)' }),
        appliedAt: Type.String({ format: 'date-time' }),
        memberCount: Type.Integer(),
        owner: Type.String({ description: 'The caller whose sync it was; drift events go to its subscribers' }),
      },
      { description: 'The desired set the upstream is compared with: the members of the last applied or unchanged sync (never a dry run)' },
    ),
  },
  { description: 'The drift of one group (docs/consistency.md "Drift")' },
);

export const GroupDriftQuery = Type.Object({
  backend: Type.Optional(Type.Union([Type.Literal('scim-groups'), Type.Literal('acd-groups'), Type.Literal('teams')], { description: 'The backend whose desired set to answer for (default: the group’s most recently synced one)' })),
});

export const DriftListQuerySchema = Type.Object({
  status: Type.Optional(Type.Union([Type.Literal('drifted'), Type.Literal('all')], { default: 'drifted', description: 'drifted (default): the groups drifted now; all: every group checked' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: AUDIT_PAGE_MAX, default: 50, description: `Groups per page (at most ${AUDIT_PAGE_MAX})` })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page' })),
});

export const DriftPage = Type.Object({
  items: Type.Array(DriftRecordSchema, { description: 'In a stable order (the order the groups were first checked)' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page' }),
});
