/**
 * GET /groups/{groupId}/drift and GET /drift: what the drift scheduler found (docs/api.md
 * "Drift", docs/consistency.md "Drift").
 *
 * Authorised like the audit trail: a caller sees the drift of the groups whose desired set
 * is its own (its token's name synced them last); an administrator (ADMIN_API_TOKENS) sees
 * every group's. Another caller's group answers 404 exactly like one never synced, so
 * group ids cannot be probed.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { DriftStore } from '../../core/ports.js';
import { DriftNotFoundError } from '../errors.js';
import { errorResponse } from '../schemas/common.js';
import { DriftListQuerySchema, DriftPage, GroupDriftQuery, GroupDriftSchema } from '../schemas/drift.js';
import { GroupIdParams } from '../schemas/sync.js';

export interface DriftRouteOptions {
  drift: Pick<DriftStore, 'groupDrift' | 'listDrift'>;
}

const security = [{ bearerAuth: [] }];
const unauthorized = errorResponse('Missing or wrong bearer token');
const rateLimited = errorResponse('Too many requests from this caller, or too many failed authentications from this address (rate_limited, with Retry-After)');

export const driftRoutes: FastifyPluginAsyncTypebox<DriftRouteOptions> = async (app, { drift }) => {
  app.get(
    '/groups/:groupId/drift',
    {
      schema: {
        tags: ['drift'],
        operationId: 'getGroupDrift',
        summary: 'How one of your groups differs upstream from the members it was last synced to (an administrator: any group)',
        description:
          'The drift scheduler re-reads every group synced (applied or unchanged) within DRIFT_WINDOW every DRIFT_INTERVAL and compares it with the members of that sync. status unchecked: synced, not read yet. The answer is as of lastCheckedAt.',
        security,
        params: GroupIdParams,
        querystring: GroupDriftQuery,
        response: {
          200: GroupDriftSchema,
          400: errorResponse('Bad groupId or query'),
          401: unauthorized,
          404: errorResponse('The group was never synced by this service, or not by you (drift_not_found: the same answer either way)'),
          429: rateLimited,
          500: errorResponse('Internal error'),
        },
      },
    },
    async (request) => {
      const { groupId } = request.params;
      const found = await drift.groupDrift(groupId, request.query.backend);
      if (!found || (!request.admin && found.desired.owner !== request.actor)) throw new DriftNotFoundError(groupId);
      const { desired, drift: record } = found;
      const shown = { syncId: desired.syncId, appliedAt: desired.appliedAt, memberCount: desired.memberCount, owner: desired.owner };
      // A record of an older desired set still tells what the last check found; a set never checked is unchecked.
      if (record === undefined) {
        return {
          groupId,
          backend: desired.backend,
          status: 'unchecked' as const,
          groupMissing: false,
          missing: [],
          extra: [],
          missingCount: 0,
          extraCount: 0,
          firstSeenAt: null,
          lastCheckedAt: null,
          resolvedAt: null,
          desiredSyncId: desired.syncId,
          heal: null,
          desired: shown,
        };
      }
      const { owner: _owner, ...rest } = record;
      return { ...rest, desired: shown };
    },
  );

  app.get(
    '/drift',
    {
      schema: {
        tags: ['drift'],
        operationId: 'listDrift',
        summary: 'Your drifted groups (an administrator: every group), with cursor pagination',
        description: 'The groups whose upstream membership differs from the desired set they were last synced to, as last checked; status=all lists every group checked.',
        security,
        querystring: DriftListQuerySchema,
        response: { 200: DriftPage, 400: errorResponse('Bad query (limit over 500, unknown cursor)'), 401: unauthorized, 429: rateLimited, 500: errorResponse('Internal error') },
      },
    },
    async (request) => {
      const page = await drift.listDrift({ ...request.query, limit: request.query.limit ?? 50, owner: request.admin ? undefined : request.actor });
      return { items: page.items.map(({ owner: _owner, ...rest }) => rest), nextCursor: page.nextCursor };
    },
  );
};
