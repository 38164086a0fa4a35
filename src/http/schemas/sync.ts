/** Request and response schemas of POST /groups/{groupId}/sync: the source of its OpenAPI. */
import { Type } from 'typebox';
import { MAX_MEMBER_ERRORS, MEMBER_ERROR_CODES } from '../../core/errors.js';
import { MEMBERSHIP_BACKENDS, SYNC_STATUSES } from '../../core/outcome.js';

export const GroupIdParams = Type.Object({
  groupId: Type.String({
    minLength: 1,
    maxLength: 256,
    // No "/", no control characters, and not "." or "..": it becomes a path segment upstream.
    pattern: '^(?!\\.{1,2}$)[^/\\u0000-\\u001f\\u007f]+$',
    description: 'The id of the group in the backend (1–256 characters, no "/" or control characters): a SCIM id (scim-groups), an ACD groupId (acd-groups), a team\'s integer teamId or user-management UUID (teams)',
    // The ACD group Contact Center Agents in the embedded simulator's seed (CXone as published): "Try it out" runs as shown.
    examples: ['5001'],
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
  allowMassRemoval: Type.Optional(
    Type.Boolean({
      default: false,
      description:
        'Let the mass-removal guard pass: without it, a sync that would remove more than REMOVAL_GUARD_PERCENT of the group and more than REMOVAL_GUARD_MIN members, or empty a non-empty group, is refused with 409 removal_guard',
    }),
  ),
});

const MemberInput = Type.Object(
  {
    value: Type.String({ minLength: 1, maxLength: 1024, description: 'The SCIM id of the user or group' }),
    type: Type.Optional(
      Type.Enum(['User', 'Group'], {
        description:
          'User or Group. Optional (RFC 7643 §4.2): without it the member takes the type it has in the group, or else the id is looked up as a user, then as a group; an id that is neither is user_not_found',
      }),
    ),
    display: Type.Optional(Type.String({ maxLength: 1024, description: 'A human-readable name; accepted and ignored (the provider computes display, so it is not written upstream)' })),
  },
  {
    additionalProperties: false,
    description:
      'A desired member (RFC 7643 §4.2 members sub-attributes). Attribute names are case-insensitive (RFC 7643 §2.1): Value, TYPE or Display are accepted, and the same attribute in two cases is a 400. The URI of the member resource (RFC 7643 §4.2: the sub-attribute named dollar sign + "ref") is accepted when it is a string, and ignored; any other attribute is a 400 naming it',
  },
);

/** A sync body's attributes by lower-cased name (RFC 7643 §2.1: attribute names are case-insensitive). */
const BODY_ATTRIBUTES = new Map([
  ['displayname', 'displayName'],
  ['members', 'members'],
]);
/** Attributes of a SCIM Group resource that a sync body may carry and that are ignored, unread. */
const IGNORED_BODY_ATTRIBUTES = new Map([
  ['schemas', 'schemas'],
  ['id', 'id'],
  ['externalid', 'externalId'],
  ['meta', 'meta'],
]);
const MEMBER_ATTRIBUTES = new Map([
  ['value', 'value'],
  ['type', 'type'],
  ['display', 'display'],
]);
const IGNORED_MEMBER_ATTRIBUTES = new Map([['$ref', '$ref']]);

export function syncBodySchema(maxMembers: number) {
  return Type.Object(
    {
      displayName: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'New displayName; absent keeps the current one' })),
      members: Type.Array(MemberInput, { maxItems: maxMembers, description: `The complete desired membership (at most ${maxMembers}); empty empties the group` }),
      schemas: Type.Optional(Type.Unknown({ description: 'Ignored, unread (so that a SCIM Group resource can be sent as is)' })),
      id: Type.Optional(Type.Unknown({ description: 'Ignored, unread: the group is the one in the path' })),
      externalId: Type.Optional(Type.Unknown({ description: 'Ignored, unread' })),
      meta: Type.Optional(Type.Unknown({ description: 'Ignored, unread' })),
    },
    {
      additionalProperties: false,
      description:
        'The desired membership of the group. Attribute names are case-insensitive (RFC 7643 §2.1: Members and DisplayName are accepted); the same attribute in two cases is a 400, and so is any attribute not listed here, named in the message and never read',
      examples: [
        // The simulator's seed: three users (their SCIM ids) into the ACD group Contact Center Agents.
        {
          members: [
            { value: '2819c223-7f76-453a-919d-413861904646', type: 'User', display: 'Alice Smith' },
            { value: '7a4860c5-5a22-428a-9117-f317b72b72d3', type: 'User' },
            { value: '11510a04-b50f-4233-ba69-86ef329835f2', type: 'User' },
          ],
        },
      ],
    },
  );
}

/** Where in a sync body a problem is (property names and array indexes), and what it is. */
export interface BodyProblem {
  readonly at: readonly (string | number)[];
  readonly message: string;
}

export type CanonicalBody = { readonly ok: true; readonly body: unknown } | { readonly ok: false; readonly problem: BodyProblem };

/**
 * A sync body with its attribute names in canonical case and the ignored ones left out,
 * ready for syncBodySchema; or the first problem that no schema can put in words: an
 * unknown attribute (named, never walked into, however deep), the same attribute in two
 * cases, a `$ref` that is not a string. Shapes that are not objects are left to the schema.
 * Members are not rewritten when there are more than `maxMembers` (the schema refuses them).
 */
export function canonicalSyncBody(body: unknown, maxMembers: number): CanonicalBody {
  if (!isPlainObject(body)) return { ok: true, body };
  const top = canonicalAttributes(body, BODY_ATTRIBUTES, IGNORED_BODY_ATTRIBUTES, []);
  if (!top.ok) return top;
  const canonical = top.kept;
  const members = canonical.members;
  if (!Array.isArray(members) || members.length > maxMembers) return { ok: true, body: canonical };
  const out: unknown[] = Array.from({ length: members.length });
  for (let i = 0; i < members.length; i++) {
    const member: unknown = members[i];
    if (!isPlainObject(member)) {
      out[i] = member;
      continue;
    }
    const result = canonicalAttributes(member, MEMBER_ATTRIBUTES, IGNORED_MEMBER_ATTRIBUTES, ['members', i]);
    if (!result.ok) return result;
    const ref = result.ignored.get('$ref');
    if (ref !== undefined && typeof ref !== 'string') return problem(['members', i, '$ref'], 'must be a string (it is accepted and ignored)');
    out[i] = result.kept;
  }
  return { ok: true, body: { ...canonical, members: out } };
}

type Attributes = { readonly ok: true; readonly kept: Record<string, unknown>; readonly ignored: ReadonlyMap<string, unknown> } | { readonly ok: false; readonly problem: BodyProblem };

function canonicalAttributes(object: Record<string, unknown>, known: ReadonlyMap<string, string>, ignorable: ReadonlyMap<string, string>, at: readonly (string | number)[]): Attributes {
  const kept: Record<string, unknown> = {};
  const ignored = new Map<string, unknown>();
  const sentAs = new Map<string, string>();
  const unknown: string[] = [];
  for (const key of Object.keys(object)) {
    const lower = key.toLowerCase();
    const name = known.get(lower) ?? ignorable.get(lower);
    if (name === undefined) {
      unknown.push(key);
      continue;
    }
    const earlier = sentAs.get(name);
    if (earlier !== undefined) return problem(at, `holds ${quotedName(earlier)} and ${quotedName(key)}: attribute names are case-insensitive (RFC 7643 §2.1); send one of them`);
    sentAs.set(name, key);
    if (known.has(lower)) kept[name] = object[key];
    else ignored.set(name, object[key]);
  }
  if (unknown.length > 0) {
    const names = [...unknown.slice(0, 5).map(quotedName), ...(unknown.length > 5 ? [`and ${unknown.length - 5} more`] : [])].join(', ');
    const allowed = at.length === 0 ? 'a sync request holds displayName and members (schemas, id, externalId and meta are ignored)' : 'a member holds value, type and display ($ref is ignored)';
    return problem(at, `has ${unknown.length === 1 ? 'an unknown attribute' : 'unknown attributes'} ${names}: ${allowed}`);
  }
  return { ok: true, kept, ignored };
}

function problem(at: readonly (string | number)[], message: string): { readonly ok: false; readonly problem: BodyProblem } {
  return { ok: false, problem: { at, message } };
}

/** A name as sent (an attribute, a query parameter), quoted and cut short, safe to put in a message. */
export function quotedName(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const SyncResponse = Type.Object(
  {
    syncId: Type.String({ description: 'UUIDv7 of this sync' }),
    groupId: Type.String(),
    status: Type.Union(SYNC_STATUSES.map((status) => Type.Literal(status)), {
      description: 'applied: written, and the upstream was seen to hold the desired members; unchanged: nothing to write; dry_run: nothing written',
    }),
    added: Type.Array(Type.Ref('MemberIdentity'), { description: 'Members added, relative to the state the write replaced' }),
    removed: Type.Array(Type.Ref('MemberIdentity'), { description: 'Members removed, relative to the state the write replaced' }),
    memberCount: Type.Integer(),
    consistencyRate: Type.Number({ minimum: 0, maximum: 1, description: '|desired ∩ actual| / |desired ∪ actual|: 1 for applied (the write was verified); for unchanged and dry_run, against the group as read' }),
    etag: Type.Union([Type.String(), Type.Null()], { description: 'The group ETag after the write; null when the provider sends none' }),
    writeMode: Type.Union([Type.Literal('put'), Type.Literal('patch'), Type.Literal('admin-api'), Type.Null()], { description: 'How the membership was written: put or patch (WRITE_MODE, SCIM /Groups), admin-api (CXone ACD groups); null when nothing was written' }),
    latencyMs: Type.Integer(),
    upstreamRequests: Type.Integer({ description: 'Upstream HTTP requests the membership sync made, retries included (the attribute read-back that follows an applied write is counted in its audit record)' }),
    backend: Type.Union(MEMBERSHIP_BACKENDS.map((name) => Type.Literal(name)), {
      description: 'The membership backend the sync ran through: scim-groups (RFC 7644 /Groups), acd-groups (CXone ACD groups) or teams (CXone teams); MEMBERSHIP_BACKEND, or what auto chose',
    }),
    removalGuard: Type.Optional(
      Type.Object(
        {
          wouldTrip: Type.Boolean({ description: 'Whether this request without dryRun would be refused with 409 removal_guard (allowMassRemoval counts)' }),
          removing: Type.Integer({ minimum: 0, description: 'Members the sync would remove' }),
          of: Type.Integer({ minimum: 0, description: 'Members the group holds now' }),
        },
        { description: 'Dry runs only: what the mass-removal guard makes of the plan' },
      ),
    ),
  },
  {
    description: 'The sync ran: applied, unchanged (nothing to write) or dry_run',
    examples: [
      {
        syncId: '0193b8a4-7c1e-7000-8000-3f2a9d1c0b11',
        groupId: '5001',
        status: 'applied',
        added: [
          { value: '2819c223-7f76-453a-919d-413861904646', type: 'User' },
          { value: '7a4860c5-5a22-428a-9117-f317b72b72d3', type: 'User' },
          { value: '11510a04-b50f-4233-ba69-86ef329835f2', type: 'User' },
        ],
        removed: [],
        memberCount: 3,
        consistencyRate: 1,
        etag: null,
        writeMode: 'admin-api',
        latencyMs: 48,
        upstreamRequests: 7,
        backend: 'acd-groups',
      },
    ],
  },
);

const MemberErrorSchema = Type.Object({
  code: Type.Union(MEMBER_ERROR_CODES.map((code) => Type.Literal(code))),
  member: Type.Ref('MemberIdentity'),
  message: Type.String(),
});

export const ValidationFailedBody = Type.Object(
  {
    syncId: Type.Optional(Type.String()),
    error: Type.String({ description: 'validation_failed, or idempotency_key_reused (without errors)' }),
    message: Type.String(),
    errors: Type.Optional(Type.Array(MemberErrorSchema, { maxItems: MAX_MEMBER_ERRORS, description: 'Every member that failed, not just the first, up to 1,000 (in request order, duplicates first)' })),
    errorsOmitted: Type.Optional(Type.Integer({ minimum: 1, description: 'How many more members failed and are not listed; present only when more than 1,000 failed' })),
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

/** The 409 of the sync route: a lost race, a key in use, or the mass-removal guard with its numbers. */
export const SyncConflictBody = Type.Object(
  {
    error: Type.String({ description: 'conflict, idempotency_key_in_use, or removal_guard' }),
    message: Type.String(),
    syncId: Type.Optional(Type.String({ description: 'The sync this error belongs to (UUIDv7)' })),
    removing: Type.Optional(Type.Integer({ minimum: 0, description: 'removal_guard: members the sync would remove' })),
    of: Type.Optional(Type.Integer({ minimum: 0, description: 'removal_guard: members the group holds now' })),
    percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'removal_guard: removing / of, in percent (one decimal)' })),
    limits: Type.Optional(
      Type.Object(
        { percent: Type.Number({ description: 'REMOVAL_GUARD_PERCENT' }), min: Type.Integer({ description: 'REMOVAL_GUARD_MIN' }) },
        { description: 'removal_guard: the limits the sync went over' },
      ),
    ),
  },
  {
    description:
      'conflict: the group kept changing under us after the retries (lost races, or another writer overwriting our verified write); idempotency_key_in_use: a request with this Idempotency-Key is still running; removal_guard: the sync would remove more than REMOVAL_GUARD_PERCENT of the group and more than REMOVAL_GUARD_MIN members, or empty it; nothing was written, it is audited, and the answer is not kept under the Idempotency-Key: repeat it with ?allowMassRemoval=true if the removal is meant',
    examples: [
      {
        syncId: '0193b8a4-7c1e-7000-8000-3f2a9d1c0b11',
        error: 'removal_guard',
        message:
          "the sync would remove 480 of the group's 500 members (96%), more than REMOVAL_GUARD_PERCENT (30%) and REMOVAL_GUARD_MIN (10) allow; nothing was written: repeat it with ?allowMassRemoval=true if that is meant",
        removing: 480,
        of: 500,
        percent: 96,
        limits: { percent: 30, min: 10 },
      },
    ],
  },
);

/** The 503 of the sync route: the upstream, the queue, the audit trail, a shutdown, or the group's quarantine. */
export const SyncUnavailableBody = Type.Object(
  {
    error: Type.String({ description: 'upstream_unavailable, queue_timeout, audit_unavailable, interrupted, or group_quarantined' }),
    message: Type.String(),
    syncId: Type.Optional(Type.String({ description: 'The sync this error belongs to (UUIDv7)' })),
    quarantinedSince: Type.Optional(Type.String({ format: 'date-time', description: 'group_quarantined: when the group was quarantined' })),
    nextProbeAt: Type.Optional(Type.String({ format: 'date-time', description: 'group_quarantined: when a probe reads it next (Retry-After counts down to it)' })),
  },
  {
    description:
      'upstream_unavailable: upstream rate limit or outage outlasted the retry budget; queue_timeout: the deadline passed while the sync waited behind other syncs of its group, nothing was sent upstream; audit_unavailable: the sync could not be recorded; interrupted: cut off by a shutdown; group_quarantined: the group failed QUARANTINE_AFTER times in a row with errors of its own and is refused without an upstream request until a probe reads it (or an administrator releases it; docs/consistency.md). All with Retry-After',
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
