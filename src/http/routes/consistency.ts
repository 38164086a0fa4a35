/**
 * Quarantine and the changes the mass-removal guard holds (docs/consistency.md):
 * GET /quarantine, GET /groups/{groupId}/quarantine, POST /groups/{groupId}/quarantine/release,
 * GET /guard/held, POST /guard/held/{id}/approve and /reject. Administrators (ADMIN_API_TOKENS)
 * only, except a group's own quarantine state, which any caller may read (its syncs' 503s say as
 * much).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Clock, HeldChangeStore, QuarantineStore } from '../../core/ports.js';
import { describeHealth, releaseByHand, type QuarantineObserver } from '../../core/quarantine.js';
import { decideHeld, describeHeld, expireHeld } from '../../core/held-changes.js';
import { AdminRequiredError, HeldChangeDecidedError, HeldChangeExpiredError, HeldChangeNotFoundError } from '../errors.js';
import { errorResponse } from '../schemas/common.js';
import { GroupParams, GroupQuarantineSchema, HeldChangeSchema, HeldList, HeldParams, HeldQuery, QuarantineList, ReleaseAnswer } from '../schemas/consistency.js';

export interface ConsistencyRouteOptions {
  readonly quarantine?: { readonly store: QuarantineStore; readonly observer?: QuarantineObserver };
  readonly heldChanges?: HeldChangeStore;
  /** HELD_CHANGE_TTL in ms. */
  readonly heldChangeTtlMs: number;
  readonly clock: Clock;
  readonly newId: () => string;
  readonly newEventId: () => string;
}

const security = [{ bearerAuth: [] }];
const unauthorized = errorResponse('Missing or wrong bearer token');
const forbidden = errorResponse('forbidden: the token is not an administrator token (ADMIN_API_TOKENS)');

function requireAdmin(request: FastifyRequest): void {
  if (!request.admin) throw new AdminRequiredError();
}

export const consistencyRoutes: FastifyPluginAsyncTypebox<ConsistencyRouteOptions> = async (app, options) => {
  const { quarantine, heldChanges, clock } = options;
  if (quarantine) {
    const { store } = quarantine;
    app.get(
      '/quarantine',
      {
        schema: {
          tags: ['consistency'],
          operationId: 'listQuarantine',
          summary: 'Groups quarantined or half-open (administrators)',
          security,
          response: { 200: QuarantineList, 401: unauthorized, 403: forbidden },
        },
      },
      async (request) => {
        requireAdmin(request);
        return { items: (await store.listQuarantined()).map((health) => describeHealth(health.groupId, health)) };
      },
    );
    app.get(
      '/groups/:groupId/quarantine',
      {
        schema: {
          tags: ['consistency'],
          operationId: 'getGroupQuarantine',
          summary: "A group's quarantine: closed, quarantined or half-open, with its failures and next probe",
          security,
          params: GroupParams,
          response: { 200: GroupQuarantineSchema, 400: errorResponse('A bad groupId'), 401: unauthorized },
        },
      },
      async (request) => describeHealth(request.params.groupId, await store.health(request.params.groupId)),
    );
    app.post(
      '/groups/:groupId/quarantine/release',
      {
        schema: {
          tags: ['consistency'],
          operationId: 'releaseGroupQuarantine',
          summary: 'Release a group from quarantine by hand (administrators): its next sync runs; audited, with group.quarantine.released',
          security,
          params: GroupParams,
          response: { 200: ReleaseAnswer, 400: errorResponse('A bad groupId'), 401: unauthorized, 403: forbidden },
        },
      },
      async (request) => {
        requireAdmin(request);
        const { groupId } = request.params;
        const was = await releaseByHand({ store, clock, newEventId: options.newEventId, observer: quarantine.observer }, groupId, { actor: request.actor, requestId: request.id }, options.newId());
        return { groupId, released: was?.phase === 'quarantined' || was?.phase === 'half_open', was: describeHealth(groupId, was) };
      },
    );
  }
  if (heldChanges) {
    const heldDeps = { store: heldChanges, clock, newId: options.newId, newEventId: options.newEventId, ttlMs: options.heldChangeTtlMs };
    app.get(
      '/guard/held',
      {
        schema: {
          tags: ['consistency'],
          operationId: 'listHeldChanges',
          summary: 'Changes the mass-removal guard held for an administrator (administrators), newest first',
          security,
          querystring: HeldQuery,
          response: { 200: HeldList, 400: errorResponse('A bad state'), 401: unauthorized, 403: forbidden },
        },
      },
      async (request) => {
        requireAdmin(request);
        // Those whose time ran out are listed as expired (and told so) from now on.
        await expireHeld(heldDeps);
        return { items: (await heldChanges.listHeld(request.query.state, 500)).map((change) => describeHeld(change, heldDeps.ttlMs)) };
      },
    );
    for (const decision of ['approve', 'reject'] as const) {
      app.post(
        `/guard/held/:id/${decision}`,
        {
          schema: {
            tags: ['consistency'],
            operationId: decision === 'approve' ? 'approveHeldChange' : 'rejectHeldChange',
            summary:
              decision === 'approve'
                ? 'Approve a held change (administrators): the next retry of the same change goes through, once'
                : 'Reject a held change (administrators): retries of the same change keep being refused',
            security,
            params: HeldParams,
            response: {
              200: HeldChangeSchema,
              401: unauthorized,
              403: forbidden,
              404: errorResponse('held_change_not_found'),
              409: errorResponse('held_change_decided: it was approved, rejected or used already'),
              410: errorResponse('held_change_expired: HELD_CHANGE_TTL ran out before it was decided; the next retry of the change is held afresh'),
            },
          },
        },
        async (request) => {
          requireAdmin(request);
          const { id } = request.params;
          const state = decision === 'approve' ? 'approved' : 'rejected';
          const outcome = await decideHeld(heldDeps, id, state, { actor: request.actor, requestId: request.id });
          if (outcome.kind === 'not_found') throw new HeldChangeNotFoundError(id);
          if (outcome.kind === 'expired') throw new HeldChangeExpiredError(id, outcome.change.expiredAt);
          if (outcome.kind === 'decided_already') throw new HeldChangeDecidedError(id, outcome.change.state);
          const after = outcome.change;
          request.log.info({ heldChange: id, groupId: after.groupId, decision: state }, 'held change decided');
          return describeHeld(after, heldDeps.ttlMs);
        },
      );
    }
  }
};
