/** Schemas of the quarantine and held-change routes: the source of their OpenAPI. */
import { Type } from 'typebox';

export const GroupQuarantineSchema = Type.Object(
  {
    groupId: Type.String(),
    state: Type.Union([Type.Literal('closed'), Type.Literal('quarantined'), Type.Literal('half_open')], {
      description: 'closed: its syncs run (failures may be counted); quarantined: its syncs answer 503 group_quarantined without upstream requests; half_open: a probe read it, its next sync runs (success closes, a failure of its own quarantines it again)',
    }),
    failures: Type.Integer({ minimum: 0, description: 'Consecutive failures of its own (not validation, not tenant-wide 429/503 or sign-in failures)' }),
    lastError: Type.Union([Type.String(), Type.Null()], { description: 'The error code of the last of them' }),
    since: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When it was quarantined (kept while half-open)' }),
    nextProbeAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When it is next probed (quarantined only)' }),
    step: Type.Integer({ minimum: 0, description: 'The QUARANTINE_BACKOFF step of the current quarantine (0: the first delay)' }),
  },
  { description: "A group's quarantine (docs/consistency.md)" },
);

export const QuarantineList = Type.Object({ items: Type.Array(GroupQuarantineSchema, { description: 'Groups quarantined or half-open, longest quarantined first' }) });

export const ReleaseAnswer = Type.Object({
  groupId: Type.String(),
  released: Type.Boolean({ description: 'false: the group was not quarantined or half-open (its failure count, if any, is reset all the same)' }),
  was: GroupQuarantineSchema,
});

export const GroupParams = Type.Object({
  groupId: Type.String({ minLength: 1, maxLength: 256, pattern: '^[^/\\u0000-\\u001f\\u007f]+$', description: 'The group id' }),
});

export const HeldChangeSchema = Type.Object(
  {
    id: Type.String(),
    groupId: Type.String(),
    actor: Type.String({ description: 'The token that sent the change' }),
    removing: Type.Integer({ minimum: 0, description: 'Members the change removes' }),
    of: Type.Integer({ minimum: 0, description: 'Members the group held' }),
    state: Type.Union([Type.Literal('held'), Type.Literal('approved'), Type.Literal('rejected'), Type.Literal('used'), Type.Literal('expired')], {
      description:
        'held: waiting for an administrator; approved: the next retry of the same change goes through, once (then used); rejected: it keeps being refused; expired: not decided (or, approved, not used) within HELD_CHANGE_TTL: the next retry is held afresh',
    }),
    createdAt: Type.String({ format: 'date-time' }),
    decidedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    decidedBy: Type.Union([Type.String(), Type.Null()]),
    expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When a held change (HELD_CHANGE_TTL after it was held) or an unused approval (as long after it was given) expires; null in the other states' }),
    expiredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When it expired (state expired)' }),
  },
  { description: 'A change the mass-removal guard held for an administrator (docs/consistency.md)' },
);

export const HeldList = Type.Object({ items: Type.Array(HeldChangeSchema, { description: 'Newest first, at most 500' }) });

export const HeldQuery = Type.Object({
  state: Type.Optional(Type.Union([Type.Literal('held'), Type.Literal('approved'), Type.Literal('rejected'), Type.Literal('used'), Type.Literal('expired')], { description: 'Only the changes in this state' })),
});

export const HeldParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128, description: 'The id of a held change' }) });
