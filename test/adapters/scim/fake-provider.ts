/**
 * A small, configurable SCIM provider on a loopback port for the adapter tests, with the
 * quirks real providers have: filters rejected or ignored, lying totalResults, capped pages.
 */
import type { ServerResponse } from 'node:http';
import { scimError, sendJson, startLoopback, type Loopback, type RecordedRequest } from './loopback.js';

export interface FakeUser {
  id: string;
  active?: boolean;
}

export interface FakeGroup {
  id: string;
  displayName: string;
  members: Record<string, unknown>[];
  version: number;
  extra?: Record<string, unknown>;
}

export interface ProviderQuirks {
  /** How filtered list queries are treated. */
  filters: 'ok' | 'reject-400' | 'reject-501' | 'ignore';
  /** Largest page the provider returns, whatever count asks for. */
  maxPageSize: number;
  /** Rewrites totalResults (to lie). */
  totalResults: (actual: number) => number;
  /** Whether reads send an ETag header. */
  etags: boolean;
  /** Longest request target (path and query) answered; longer ones get `longTargetStatus`. */
  maxRequestTarget: number;
  longTargetStatus: 414 | 431;
}

export interface FakeProvider extends Loopback {
  readonly users: Map<string, FakeUser>;
  readonly groups: Map<string, FakeGroup>;
  readonly quirks: ProviderQuirks;
  /** Requests below /scim/v2 only. */
  scimRequests(): RecordedRequest[];
  /** Answer the next SCIM requests with these handlers first. */
  interpose(...handlers: ((req: RecordedRequest, res: ServerResponse) => void)[]): void;
}

const PREFIX = '/scim/v2';

function project(resource: Record<string, unknown>, attributes: string | null): Record<string, unknown> {
  if (!attributes) return resource;
  const keep = new Set(['id', ...attributes.split(',')]);
  return Object.fromEntries(Object.entries(resource).filter(([key]) => keep.has(key)));
}

function matches(resource: Record<string, unknown>, filter: string): boolean {
  const terms = [...filter.matchAll(/([\w.]+) eq ("(?:[^"\\]|\\.)*")/g)].map(([, attr, value]) => ({
    attr: attr as string,
    value: JSON.parse(value as string) as string,
  }));
  return terms.some(({ attr, value }) => {
    if (attr === 'id') return resource.id === value;
    if (attr === 'members.value') {
      return Array.isArray(resource.members) && resource.members.some((m: { value?: unknown }) => m.value === value);
    }
    return false;
  });
}

export async function startFakeProvider(quirks: Partial<ProviderQuirks> = {}): Promise<FakeProvider> {
  const users = new Map<string, FakeUser>();
  const groups = new Map<string, FakeGroup>();
  const settings: ProviderQuirks = { filters: 'ok', maxPageSize: 1000, totalResults: (n) => n, etags: true, maxRequestTarget: Infinity, longTargetStatus: 414, ...quirks };
  const queue: ((req: RecordedRequest, res: ServerResponse) => void)[] = [];

  const etagOf = (group: FakeGroup) => `W/"${group.version}"`;
  const groupJson = (group: FakeGroup) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    ...group.extra,
    id: group.id,
    displayName: group.displayName,
    members: group.members,
    meta: { resourceType: 'Group', version: etagOf(group), location: `${PREFIX}/Groups/${group.id}` },
  });
  const userJson = (user: FakeUser) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    id: user.id,
    userName: `${user.id}@example.com`,
    ...(user.active !== undefined && { active: user.active }),
  });

  function list(req: RecordedRequest, res: ServerResponse, all: Record<string, unknown>[]): void {
    const filter = req.query.get('filter');
    if (filter !== null && settings.filters === 'reject-400') {
      sendJson(res, 400, scimError(400, 'filter not supported', 'invalidFilter'));
      return;
    }
    if (filter !== null && settings.filters === 'reject-501') {
      sendJson(res, 501, scimError(501, 'filtering is not implemented'));
      return;
    }
    const selected = filter !== null && settings.filters === 'ok' ? all.filter((r) => matches(r, filter)) : all;
    const startIndex = Math.max(1, Number(req.query.get('startIndex') ?? 1));
    const count = Math.min(settings.maxPageSize, Number(req.query.get('count') ?? 100));
    const page = selected.slice(startIndex - 1, startIndex - 1 + count).map((r) => project(r, req.query.get('attributes')));
    sendJson(res, 200, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: settings.totalResults(selected.length),
      startIndex,
      itemsPerPage: page.length,
      Resources: page,
    });
  }

  function scim(req: RecordedRequest, res: ServerResponse): void {
    if (req.url.length > settings.maxRequestTarget) return sendJson(res, settings.longTargetStatus, scimError(settings.longTargetStatus, 'request target too long'));
    const interposed = queue.shift();
    if (interposed) {
      interposed(req, res);
      return;
    }
    const rest = req.path.slice(PREFIX.length);
    const [, collection, rawId] = rest.split('/') as [string, string | undefined, string | undefined];
    const id = rawId === undefined ? undefined : decodeURIComponent(rawId);
    if (collection === 'Users' && id === undefined) return list(req, res, [...users.values()].map(userJson));
    if (collection === 'Groups' && id === undefined) return list(req, res, [...groups.values()].map(groupJson));
    if (collection === 'Users' && id !== undefined) {
      const user = users.get(id);
      return user ? sendJson(res, 200, project(userJson(user), req.query.get('attributes'))) : sendJson(res, 404, scimError(404, 'no such user'));
    }
    if (collection === 'Groups' && id !== undefined) {
      const group = groups.get(id);
      if (!group) return sendJson(res, 404, scimError(404, 'no such group'));
      if (req.method === 'GET') {
        const headers: Record<string, string> = settings.etags ? { etag: etagOf(group) } : {};
        return sendJson(res, 200, project(groupJson(group), req.query.get('attributes')), headers);
      }
      if (req.method === 'PUT') {
        const ifMatch = req.headers['if-match'];
        if (ifMatch !== undefined && ifMatch !== etagOf(group)) return sendJson(res, 412, scimError(412, 'version mismatch'));
        const body = JSON.parse(req.body) as { displayName: string; members: Record<string, unknown>[] };
        group.displayName = body.displayName;
        group.members = body.members;
        group.version += 1;
        return sendJson(res, 200, groupJson(group), settings.etags ? { etag: etagOf(group) } : {});
      }
    }
    if (collection === 'ServiceProviderConfig') return sendJson(res, 200, { patch: { supported: true } });
    sendJson(res, 404, scimError(404, 'unknown endpoint'));
  }

  const server = await startLoopback((req, res) => {
    if (req.path === '/oauth/token') return sendJson(res, 200, { access_token: 'fake-provider-token', expires_in: 3600 });
    return scim(req, res);
  });

  return {
    ...server,
    users,
    groups,
    quirks: settings,
    scimRequests: () => server.requests.filter((r) => r.path.startsWith(PREFIX)),
    interpose: (...handlers) => queue.push(...handlers),
  };
}
