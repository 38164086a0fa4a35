/** POST /groups/{groupId}/sync: replace a group's membership (docs/api.md "Syncing a group"). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { callerGoneSignal } from '../caller-gone.js';

import { canonicalSyncRequest } from '../plugins/validation.js';
import { errorResponse } from '../schemas/common.js';
import { GroupIdParams, SyncConflictBody, SyncHeaders, SyncQuery, SyncResponse, SyncUnavailableBody, SyncUpstreamFailureBody, syncBodySchema, ValidationFailedBody } from '../schemas/sync.js';

export interface SyncRouteOptions {
  maxMembers: number;
}

/** Room for MAX_MEMBERS members with long display names, plus the envelope. */
export const syncBodyLimit = (maxMembers: number) => maxMembers * 512 + 64 * 1024;


export const syncRoutes: FastifyPluginAsyncTypebox<SyncRouteOptions> = async (app, { maxMembers }) => {
  app.post(
    '/groups/:groupId/sync',
    {
      bodyLimit: syncBodyLimit(maxMembers),
      config: { idempotent: true },
      preValidation: canonicalSyncRequest(maxMembers),
      schema: {
        tags: ['sync'],
        operationId: 'syncGroup',
        summary: 'Replace the membership of one SCIM group',
        description:
          'Validates the desired members (users exist and are active, groups exist, no cycles, nested depth within MAX_GROUP_DEPTH, no duplicates) and writes the whole membership with one PUT guarded by the group ETag (If-Match), or as PATCH requests (WRITE_MODE, or a PUT the provider refused with 413). `applied` is only answered once the upstream is seen to hold the desired members (from the write answer when it holds them and an ETag guards the group, else from a fresh read). Syncs of one group run one at a time; at most GROUP_QUEUE_MAX wait, and a waiting sync whose caller disconnects is cancelled. `?dryRun=true` validates and computes the diff without writing (and reports what the mass-removal guard makes of it). A sync that would remove more than REMOVAL_GUARD_PERCENT of the group and more than REMOVAL_GUARD_MIN members, or empty it, is refused with 409 removal_guard unless `?allowMassRemoval=true`. A member may come without `type` (it is resolved: from the group, else as a user, else as a group); attribute names are case-insensitive; an unknown attribute is a 400 naming it.',
        security: [{ bearerAuth: [] }],
        consumes: ['application/json', 'application/scim+json'],
        params: GroupIdParams,
        querystring: SyncQuery,
        headers: SyncHeaders,
        body: syncBodySchema(maxMembers),
        response: {
          200: SyncResponse,
          400: errorResponse('Malformed JSON, wrong types, a bad groupId, an unknown attribute or one sent twice in two cases, a query parameter other than dryRun and allowMassRemoval (named in the message)'),
          401: errorResponse('Missing or wrong bearer token'),
          404: errorResponse('The group does not exist upstream'),
          409: SyncConflictBody,
          413: errorResponse('Body over the limit, or more than MAX_MEMBERS members'),
          415: errorResponse('Body is not JSON'),
          422: ValidationFailedBody,
          429: errorResponse('group_busy: GROUP_QUEUE_MAX syncs of this group already wait behind the one running (audited); rate_limited: this caller is over INBOUND_RATE_LIMIT. Both with Retry-After'),
          500: errorResponse('Internal error; the details are in the service log'),
          502: SyncUpstreamFailureBody,
          503: SyncUnavailableBody,
          504: errorResponse('upstream_timeout: the upstream did not answer in time, or the sync passed SYNC_DEADLINE_MS after it started (with Retry-After)'),
        },
      },
    },
    async (request, reply) =>
      app.syncGroup({
        groupId: request.params.groupId,
        desired: request.body,
        dryRun: request.query.dryRun ?? false,
        allowMassRemoval: request.query.allowMassRemoval ?? false,
        actor: request.actor,
        requestId: request.id,
        callerGone: callerGoneSignal(reply),
      }),
  );
};

