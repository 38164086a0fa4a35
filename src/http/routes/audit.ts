/**
 * GET /syncs/{syncId}, GET /audit and GET /audit/verify: reading the audit trail (docs/api.md "Audit trail").
 *
 * A caller reads its own records (those whose actor is its token's name); an administrator
 * (ADMIN_API_TOKENS) reads every one. Another caller's sync answers 404 exactly like an
 * unknown one, so ids cannot be probed. /audit/verify checks the whole chain (it cannot be
 * checked in parts) for any caller, and shows no record content: which record broke the
 * chain is named to administrators only.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuditQueries } from '../../core/ports.js';
import { SyncNotFoundError } from '../errors.js';
import { errorResponse } from '../schemas/common.js';
import { AuditPage, AuditQuery, AuditRecordSchema, ChainVerdictSchema, SyncIdParams } from '../schemas/audit.js';

export interface AuditRouteOptions {
  trail: AuditQueries;
}

const security = [{ bearerAuth: [] }];
const unauthorized = errorResponse('Missing or wrong bearer token');
const rateLimited = errorResponse('Too many requests from this caller, or too many failed authentications from this address (rate_limited, with Retry-After)');

export const auditRoutes: FastifyPluginAsyncTypebox<AuditRouteOptions> = async (app, { trail }) => {
  app.get(
    '/syncs/:syncId',
    {
      schema: {
        tags: ['audit'],
        operationId: 'getSync',
        summary: 'The audit record of one of your syncs (an administrator: of any sync)',
        security,
        params: SyncIdParams,
        response: {
          200: AuditRecordSchema,
          400: errorResponse('Bad syncId'),
          401: unauthorized,
          404: errorResponse('No such sync, or not yours (sync_not_found: the same answer either way)'),
          429: rateLimited,
          500: errorResponse('Internal error'),
        },
      },
    },
    async (request) => {
      const record = await trail.findSync(request.params.syncId);
      if (!record || (!request.admin && record.actor !== request.actor)) throw new SyncNotFoundError(request.params.syncId);
      return record;
    },
  );

  app.get(
    '/audit',
    {
      schema: {
        tags: ['audit'],
        operationId: 'listAudit',
        summary: 'Your audit records (an administrator: every record), newest first, with cursor pagination',
        description: 'Sync attempts, webhook subscription changes (status subscription_created or subscription_deleted), quarantine and held-change decisions, and what the SCIM front door changed outside a sync (status scim_group_created, scim_group_external_id_set, scim_user_created, scim_user_replaced, scim_user_patched, scim_user_deactivated), those whose actor is your token\'s name; an administrator (ADMIN_API_TOKENS) sees every caller\'s.',
        security,
        querystring: AuditQuery,
        response: { 200: AuditPage, 400: errorResponse('Bad query (limit over 500, since not ISO 8601, unknown cursor)'), 401: unauthorized, 429: rateLimited, 500: errorResponse('Internal error') },
      },
    },
    async (request) => trail.listRecords({ ...request.query, limit: request.query.limit ?? 50, actor: request.admin ? undefined : request.actor }),
  );

  app.get(
    '/audit/verify',
    {
      schema: {
        tags: ['audit'],
        operationId: 'verifyAudit',
        summary: 'Walk the hash chain and report the first broken link',
        description:
          'Recomputes every record hash (SHA-256, or HMAC-SHA256 under AUDIT_HMAC_KEY), oldest first, and checks each prevHash, the sequence numbers, the remembered chain head and the counters: an edited, inserted or deleted record, deleted newest records, a deleted head, an emptied trail and a keyed trail re-sealed without its key are reported with a `failure` kind and a reason. After pruning (AUDIT_RETENTION_DAYS) the walk begins at the checkpoint. What it cannot see: a trail replaced whole by an older copy of itself; compare the head (scim_audit_chain_head_sequence, the "audit chain head" log line) with an outside copy for that. The whole chain is checked for any caller (records counts every caller\'s records); which record broke it (firstBrokenSyncId) is shown to administrators only.',
        security,
        response: { 200: ChainVerdictSchema, 401: unauthorized, 429: rateLimited, 500: errorResponse('Internal error') },
      },
    },
    async (request) => {
      const verdict = await trail.verifyChain();
      if (request.admin || verdict.ok) return verdict;
      const { firstBrokenSyncId: _hidden, ...shown } = verdict;
      return shown;
    },
  );
};
