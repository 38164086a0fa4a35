/**
 * A small loopback CXone admin API for the client's tests (the full simulator is built
 * elsewhere): agents, ACD groups and their agents, pages linked by `_links.next`, per-agent
 * results, and a queue of one-off answers (`interpose`) for faults. Shapes as
 * ../shared/CXONE.md describes them.
 */
import type { ServerResponse } from 'node:http';
import { sendJson, startLoopback, type Loopback, type RecordedRequest } from '../scim/loopback.js';

export const ADMIN_PATH = '/incontactapi/services/v31.0';

export interface FakeAgent {
  agentId: number;
  userName: string;
  userID: string;
  isActive: boolean;
  teamId: number;
  lastUpdated: string;
}

export interface FakeGroup {
  groupId: number;
  groupName: string;
  notes?: string;
  lastUpdated: string;
  members: number[];
}

type Answer = (req: RecordedRequest, res: ServerResponse) => void;

export interface FakeAdminApi extends Loopback {
  readonly agents: Map<number, FakeAgent>;
  readonly groups: Map<number, FakeGroup>;
  /** Agents that fail when added or removed, with their error. */
  readonly failing: Map<number, string>;
  /** Page size of a group's agents when the request names none. */
  groupPage: number;
  /** How `_links.next` is written: absolute with this origin, or relative. */
  links: 'absolute' | 'relative' | 'none';
  /** Answer the next requests below the admin path with these first. */
  interpose(...answers: Answer[]): void;
  adminRequests(): RecordedRequest[];
}

export async function startFakeAdminApi(): Promise<FakeAdminApi> {
  const agents = new Map<number, FakeAgent>();
  const groups = new Map<number, FakeGroup>();
  const failing = new Map<number, string>();
  const queue: Answer[] = [];
  let nextGroupId = 900;
  const server = await startLoopback((req, res) => {
    if (req.path === '/oauth/token') return sendJson(res, 200, { access_token: 'admin-token-0123456789', token_type: 'Bearer', expires_in: 3600 });
    if (!req.path.startsWith(ADMIN_PATH)) return sendJson(res, 404, { error: 'not found' });
    const interposed = queue.shift();
    if (interposed) return interposed(req, res);
    const rest = req.path.slice(ADMIN_PATH.length).split('/').slice(1);
    const skip = Number(req.query.get('skip') ?? 0);
    const top = Number(req.query.get('top') ?? fake.groupPage);
    if (rest[0] === 'agents' && rest.length === 1 && req.method === 'GET') {
      const all = [...agents.values()].filter((a) => !req.query.get('updateSince') || a.lastUpdated > String(req.query.get('updateSince')));
      if (all.length === 0) return void res.writeHead(204).end();
      const fields = req.query.get('fields')?.split(',');
      const page = all.slice(skip, skip + top).map((a) => (fields ? Object.fromEntries(Object.entries(a).filter(([k]) => fields.includes(k))) : a));
      return sendJson(res, 200, { businessUnitId: 1, lastPollTime: '2026-01-01T00:00:00.000Z', totalRecords: all.length, agents: page });
    }
    if (rest[0] === 'agents' && rest.length === 1 && req.method === 'PUT') {
      const body = JSON.parse(req.body) as { agents: { agentId: string; teamId: string }[] };
      const agentResults = body.agents.map(({ agentId, teamId }) => {
        const agent = agents.get(Number(agentId));
        if (!agent) return { agentId, success: false, error: 'Agent not found' };
        agent.teamId = Number(teamId);
        return { agentId, success: true };
      });
      return sendJson(res, 200, { errorCount: agentResults.filter((r) => !r.success).length, agentResults });
    }
    if (rest[0] === 'agents' && rest[2] === 'groups') {
      const id = Number(rest[1]);
      if (!agents.has(id)) return sendJson(res, 404, { error: 'Agent not found' });
      const agentGroups = [...groups.values()].filter((g) => g.members.includes(id)).map(({ members: _members, ...g }) => ({ ...g, isActive: true }));
      if (agentGroups.length === 0) return void res.writeHead(204).end();
      return sendJson(res, 200, { agentGroups });
    }
    if (rest[0] === 'groups' && rest.length === 1 && req.method === 'POST') {
      const body = JSON.parse(req.body) as { groups: { groupName: string; notes?: string }[] };
      const groupResults = body.groups.map((g) => {
        if ([...groups.values()].some((existing) => existing.groupName === g.groupName)) return { success: false, error: 'Group name already exists' };
        nextGroupId += 1;
        groups.set(nextGroupId, { groupId: nextGroupId, groupName: g.groupName, notes: g.notes, lastUpdated: '2026-01-01T00:00:00Z', members: [] });
        return { success: true, groupId: nextGroupId };
      });
      return sendJson(res, 200, { errorCount: groupResults.filter((r) => !r.success).length, groupResults });
    }
    const group = groups.get(Number(rest[1]));
    if (rest[0] === 'groups' && !group) return sendJson(res, 404, { error: 'Group not found' });
    if (rest[0] === 'groups' && group && rest.length === 2 && req.method === 'GET') {
      const { members: _members, ...shown } = group;
      return sendJson(res, 200, { totalRecords: 1, groups: [{ ...shown, isActive: true }] });
    }
    if (rest[0] === 'groups' && group && rest.length === 2 && req.method === 'PUT') {
      group.groupName = req.query.get('groupName') ?? group.groupName;
      if (req.query.has('notes')) group.notes = req.query.get('notes') ?? undefined;
      return void res.writeHead(200).end();
    }
    if (rest[0] === 'groups' && group && rest[2] === 'agents' && req.method === 'GET') {
      if (group.members.length === 0) return void res.writeHead(204).end();
      const page = group.members.slice(skip, skip + top).map((id) => agents.get(id));
      const nextQuery = `skip=${skip + top}&top=${top}`;
      const nextPath = `${ADMIN_PATH}/groups/${group.groupId}/agents?${nextQuery}`;
      const next = skip + top >= group.members.length || fake.links === 'none' ? undefined : fake.links === 'absolute' ? `https://api-na1.cxone-test.invalid${nextPath}` : `agents?${nextQuery}`;
      return sendJson(res, 200, { _links: { self: req.url, next }, totalRecords: group.members.length, agents: page });
    }
    if (rest[0] === 'groups' && group && rest[2] === 'agents' && (req.method === 'POST' || req.method === 'DELETE')) {
      const body = JSON.parse(req.body) as { agents: { agentId: number }[] };
      const agentResults = body.agents.map(({ agentId }) => {
        const error = failing.get(agentId) ?? (agents.has(agentId) ? undefined : 'Agent not found');
        if (error) return { agentId, success: false, error };
        if (req.method === 'POST' && !group.members.includes(agentId)) group.members.push(agentId);
        if (req.method === 'DELETE') group.members = group.members.filter((m) => m !== agentId);
        return { agentId, success: true };
      });
      return sendJson(res, 200, { errorCount: agentResults.filter((r) => !r.success).length, agentResults });
    }
    return sendJson(res, 404, { error: 'no such route' });
  });
  const fake: FakeAdminApi = {
    ...server,
    agents,
    groups,
    failing,
    groupPage: 1000,
    links: 'absolute',
    interpose: (...answers) => void queue.push(...answers),
    adminRequests: () => server.requests.filter((req) => req.path.startsWith(ADMIN_PATH)),
  };
  return fake;
}

export function seedAgents(fake: FakeAdminApi, count: number, first = 1): void {
  for (let i = first; i < first + count; i++) {
    fake.agents.set(i, { agentId: i, userName: `agent${i}@example.com`, userID: `11111111-0000-4000-8000-${String(i).padStart(12, '0')}`, isActive: i % 10 !== 0, teamId: 7, lastUpdated: `2025-12-${String(1 + (i % 28)).padStart(2, '0')}T00:00:00Z` });
  }
}
