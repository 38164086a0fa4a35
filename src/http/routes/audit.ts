/** GET /syncs/{syncId}, GET /audit and GET /audit/verify: reading the audit trail (API.md "Audit trail"). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AuditQueries } from '../../adapters/storage/ports.js';
import { SyncNotFoundError } from '../errors.js';
import { AuditPage, AuditQuery, AuditRecordSchema, ChainVerdictSchema, SyncIdParams } from '../schemas/audit.js';

export interface AuditRouteOptions {
  trail: AuditQueries;
}

const errorResponse = (description: string) => Type.Ref('ErrorBody', { description });
const security = [{ bearerAuth: [] }];

export const auditRoutes: FastifyPluginAsyncTypebox<AuditRouteOptions> = async (app, { trail }) => {
  app.get(
    '/syncs/:syncId',
    {
      schema: {
        tags: ['audit'],
        operationId: 'getSync',
        summary: 'The audit record of one sync',
        security,
        params: SyncIdParams,
        response: { 200: AuditRecordSchema, 400: errorResponse('Bad syncId'), 401: errorResponse('Missing or wrong bearer token'), 404: errorResponse('No such sync (sync_not_found)'), 500: errorResponse('Internal error') },
      },
    },
    async (request) => {
      const record = await trail.findSync(request.params.syncId);
      if (!record) throw new SyncNotFoundError(request.params.syncId);
      return record;
    },
  );

  app.get(
    '/audit',
    {
      schema: {
        tags: ['audit'],
        operationId: 'listAudit',
        summary: 'Audit records, newest first, with cursor pagination',
        security,
        querystring: AuditQuery,
        response: { 200: AuditPage, 400: errorResponse('Bad query (limit over 500, since not ISO 8601, unknown cursor)'), 401: errorResponse('Missing or wrong bearer token'), 500: errorResponse('Internal error') },
      },
    },
    async (request) => trail.listRecords({ ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/audit/verify',
    {
      schema: {
        tags: ['audit'],
        operationId: 'verifyAudit',
        summary: 'Walk the hash chain and report the first broken link',
        description:
          'Recomputes every record hash (SHA-256, or HMAC-SHA256 under AUDIT_HMAC_KEY), oldest first, and checks each prevHash, the sequence numbers, the remembered chain head and the counters: an edited, inserted or deleted record, deleted newest records, a deleted head, an emptied trail and a keyed trail re-sealed without its key are reported with a `failure` kind and a reason. After pruning (AUDIT_RETENTION_DAYS) the walk begins at the checkpoint. What it cannot see: a trail replaced whole by an older copy of itself; compare the head (scim_audit_chain_head_sequence, the "audit chain head" log line) with an outside copy for that.',
        security,
        response: { 200: ChainVerdictSchema, 401: errorResponse('Missing or wrong bearer token'), 500: errorResponse('Internal error') },
      },
    },
    async () => trail.verifyChain(),
  );
};
