/**
 * The provider's groups as a collection (RFC 7644 §3.3 create, §3.4.2 list, §3.6 delete),
 * for the SCIM front door: listed by pages of ids and displayNames (never members), with
 * `filter=displayName eq "…"` when one name is asked for; created empty; deleted.
 */
import type { GroupCatalog, GroupSummary, RequestContext } from '../../core/ports.js';
import { SCIM_SCHEMAS } from '../../core/scim-schemas.js';
import { paginate } from './pagination.js';
import { listPage, shaped } from './scim-answers.js';
import { eqFilter, queryString } from './scim-filter.js';
import type { ScimHttp, ScimRequest } from './scim-http.js';
import { parseJson, ShapeError } from './scim-resources.js';

export interface GroupCatalogOptions {
  readonly http: ScimHttp;
  readonly pageSize: number;
  readonly maxPages: number;
}

function summaryOf(json: unknown, what: string): GroupSummary {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ShapeError(`${what} is not a JSON object`);
  const { id, displayName, externalId } = json as Record<string, unknown>;
  if (typeof id !== 'string' || id === '') throw new ShapeError(`${what} has no string "id"`);
  return { id, displayName: typeof displayName === 'string' ? displayName : '', ...(typeof externalId === 'string' ? { externalId } : {}) };
}

export function createGroupCatalog({ http, pageSize, maxPages }: GroupCatalogOptions): GroupCatalog {
  return {
    async listGroups(query, ctx: RequestContext) {
      const filter = query.displayName === undefined ? undefined : eqFilter('displayName', query.displayName);
      const route = filter === undefined ? '/Groups' : '/Groups?filter=displayName eq …';
      const found: GroupSummary[] = [];
      const pages = paginate(
        async (startIndex, count) => {
          const request: ScimRequest = { method: 'GET', path: `/Groups${queryString({ filter, attributes: 'id,displayName,externalId', startIndex, count })}`, route, resource: 'Groups' };
          return listPage(request, await http.send(request, ctx));
        },
        { pageSize, maxPages, what: `SCIM GET ${route}` },
      );
      for await (const page of pages) {
        for (const resource of page) {
          const summary = shaped(`SCIM GET ${route}`, 200, () => summaryOf(resource, 'a listed group'));
          // A provider that ignores the filter lists every group: keep the one asked for (displayName is caseExact false, RFC 7643 §4.2).
          if (query.displayName === undefined || summary.displayName.toLowerCase() === query.displayName.toLowerCase()) found.push(summary);
        }
      }
      return found;
    },

    async createGroup(group, ctx) {
      const body = Buffer.from(JSON.stringify({ schemas: [SCIM_SCHEMAS.group], displayName: group.displayName, ...(group.externalId === undefined ? {} : { externalId: group.externalId }), members: [] }), 'utf8');
      const response = await http.send({ method: 'POST', path: '/Groups', route: '/Groups', resource: 'Groups', body }, ctx);
      return shaped('SCIM POST /Groups', response.status, () => summaryOf(parseJson(response.text), 'the created group'));
    },

    async deleteGroup(id, ctx) {
      const response = await http.send({ method: 'DELETE', path: `/Groups/${encodeURIComponent(id)}`, route: '/Groups/{id}', resource: 'Groups', expect: [404] }, ctx);
      return response.status !== 404;
    },
  };
}
