/**
 * ScimUserGateway over the upstream's SCIM /Users (RFC 7644 §3.3–§3.5), in the forms NICE
 * publishes for CXone (calljacob/nice-cxone-api, src/services/userhub/CxoneScimService.ts):
 * `GET /Users?filter=userName eq "…"`, `GET|PUT|PATCH /Users/{id}`, `POST /Users`, a PATCH
 * body of `{schemas, Operations: [{path, value}]}` with string values, and no DELETE.
 *
 * Requests go through the directory's retrying client (./scim-http.ts): its token, its
 * pacing, its redaction of upstream error text, its error classes. A POST or PATCH is not
 * sent twice after a 5xx or a lost connection (it may have been applied): the caller gets
 * the error and the IdP retries, reading first.
 */
import type { RequestContext, ScimUserDocument, ScimUserGateway, ScimUserPage } from '../../core/ports.js';
import { SCIM_SCHEMAS } from '../../core/scim-schemas.js';
import { DEACTIVATE, type UserValueOperation } from '../../core/scim-user-patch.js';
import { shaped } from './scim-answers.js';
import type { ScimHttp, ScimResponse } from './scim-http.js';
import { parseJson, ShapeError } from './scim-resources.js';

function asUser(value: unknown, what: string): ScimUserDocument {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ShapeError(`${what} is not a JSON object`);
  const id = (value as { id?: unknown }).id;
  if (typeof id !== 'string' || id === '') throw new ShapeError(`${what} has no string "id"`);
  return value as ScimUserDocument;
}

function userOf(route: string, method: string, response: ScimResponse): ScimUserDocument {
  return shaped(`SCIM ${method} ${route}`, response.status, () => asUser(parseJson(response.text), 'the user'));
}

/** A ListResponse (RFC 7644 §3.4.2): `Resources` may be absent when there are none. */
function pageOf(response: ScimResponse): ScimUserPage {
  return shaped('SCIM GET /Users', response.status, () => {
    const body = parseJson(response.text);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ShapeError('the list is not a JSON object');
    const { Resources: list, totalResults } = body as { Resources?: unknown; totalResults?: unknown };
    if (list !== undefined && !Array.isArray(list)) throw new ShapeError('"Resources" is not an array');
    const resources = (list ?? []).map((item, index) => asUser(item, `Resources[${index}]`));
    const total = typeof totalResults === 'number' && Number.isSafeInteger(totalResults) && totalResults >= resources.length ? totalResults : resources.length;
    return { totalResults: total, resources };
  });
}

const userPath = (id: string) => `/Users/${encodeURIComponent(id)}`;
const json = (body: unknown) => Buffer.from(JSON.stringify(body), 'utf8');

export function createUserGateway(http: ScimHttp): ScimUserGateway {
  async function getUserResource(id: string, ctx: RequestContext): Promise<ScimUserDocument | null> {
    const response = await http.send({ method: 'GET', path: userPath(id), route: '/Users/{id}', resource: 'Users', expect: [404] }, ctx);
    return response.status === 404 ? null : userOf('/Users/{id}', 'GET', response);
  }

  async function updateUserResource(id: string, operations: readonly UserValueOperation[], ctx: RequestContext): Promise<ScimUserDocument | null> {
    const body = json({ schemas: [SCIM_SCHEMAS.patchOp], Operations: operations.map(({ path, value }) => ({ path, value })) });
    const response = await http.send({ method: 'PATCH', path: userPath(id), route: '/Users/{id}', resource: 'Users', body, expect: [404] }, ctx);
    if (response.status === 404) return null;
    // RFC 7644 §3.5.2: 204 (or a 200 without the resource) is a success too; read the user back.
    if (response.status === 204 || response.text.trim() === '') return getUserResource(id, ctx);
    return userOf('/Users/{id}', 'PATCH', response);
  }

  return {
    getUserResource,
    updateUserResource,

    async listUserResources(query, ctx) {
      if (query.userName === undefined) {
        const path = `/Users?startIndex=${query.startIndex}&count=${query.count}`;
        return pageOf(await http.send({ method: 'GET', path, route: '/Users', resource: 'Users' }, ctx));
      }
      // CXone's search takes the filter alone: at most one user has a userName, so the page is cut here.
      const filter = `userName eq ${JSON.stringify(query.userName)}`;
      const page = pageOf(await http.send({ method: 'GET', path: `/Users?filter=${encodeURIComponent(filter)}`, route: '/Users', resource: 'Users' }, ctx));
      const from = query.startIndex - 1;
      return { totalResults: page.resources.length, resources: page.resources.slice(from, from + query.count) };
    },

    async createUserResource(user, ctx) {
      const response = await http.send({ method: 'POST', path: '/Users', route: '/Users', resource: 'Users', body: json(user) }, ctx);
      return userOf('/Users', 'POST', response);
    },

    async replaceUserResource(id, user, ctx) {
      const response = await http.send({ method: 'PUT', path: userPath(id), route: '/Users/{id}', resource: 'Users', body: json(user), expect: [404] }, ctx);
      return response.status === 404 ? null : userOf('/Users/{id}', 'PUT', response);
    },

    deactivateUser: (id, ctx) => updateUserResource(id, DEACTIVATE, ctx),
  };
}
