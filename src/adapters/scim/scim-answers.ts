/**
 * What an answer of the provider is worth: a body whose shape cannot be used (ShapeError)
 * becomes an upstream_error that names the request, and the answer's status.
 */
import { UpstreamError } from '../../core/errors.js';
import type { ScimRequest, ScimResponse } from './scim-http.js';
import { parseJson, parseListResponse, parseMembers, ShapeError, type ListPage } from './scim-resources.js';

export function unusable(what: string, status: number, detail: string): UpstreamError {
  return new UpstreamError(`${what} answered ${status} with an unusable body: ${detail}`, { status, detail });
}

export function shaped<T>(what: string, status: number, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    throw unusable(what, status, error.message);
  }
}

export function listPage(request: ScimRequest, response: ScimResponse): ListPage {
  return shaped(`SCIM GET ${request.route}`, response.status, () => parseListResponse(parseJson(response.text)));
}

export function parseMembersOf(route: string, members: unknown) {
  return shaped(`SCIM GET ${route}`, 200, () => parseMembers(members));
}
