import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createAdminApiClient, PagesChangedError, type AdminApiOptions } from '../../../src/adapters/cxone/admin-api.js';
import { createRedactor } from '../../../src/adapters/scim/redactor.js';
import { OutcomeUnknownError } from '../../../src/adapters/scim/scim-errors.js';
import { createTokenSource } from '../../../src/adapters/scim/token-source.js';
import type { RetryReason, UpstreamRequestEvent } from '../../../src/adapters/scim/upstream-observer.js';
import { PreconditionFailedError, UpstreamError, UpstreamUnavailableError } from '../../../src/core/errors.js';
import type { RequestContext } from '../../../src/core/ports.js';
import { FakeClock } from '../../fakes/fake-clock.js';
import { sendJson, startLoopback } from '../scim/loopback.js';
import { ADMIN_PATH, seedAgents, startFakeAdminApi, type FakeAdminApi } from './fake-admin-api.js';

const TOKEN = 'admin-token-0123456789';
const ctx = (): RequestContext => ({ stats: { upstreamRequests: 0 } });

describe('CXone admin API client', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).toReversed()) await cleanup();
  });

  async function setup(overrides: Partial<AdminApiOptions> = {}, prepare: (fake: FakeAdminApi) => void = () => {}) {
    const fake = await startFakeAdminApi();
    cleanups.push(() => fake.close());
    prepare(fake);
    const agent = new Agent();
    cleanups.push(() => agent.close());
    const clock = new FakeClock();
    const events: UpstreamRequestEvent[] = [];
    const retries: RetryReason[] = [];
    const redactor = createRedactor();
    const tokenSource = createTokenSource({ tokenUrl: `${fake.url}/oauth/token`, clientId: 'id', clientSecret: 'secret-value', clock, dispatcher: agent, redactor });
    const client = createAdminApiClient({
      baseUrl: fake.url,
      tokenSource,
      clock,
      dispatcher: agent,
      random: () => 0.5,
      redactor,
      observer: { onRequest: (event) => events.push(event), onRetry: (reason) => retries.push(reason) },
      ...overrides,
    });
    return { fake, client, clock, events, retries };
  }

  describe('agents', () => {
    it('when a page of agents is asked for, then GET /agents carries skip, top, fields and updateSince, with the bearer token, and userID becomes the SCIM user id', async () => {
      const { fake, client } = await setup({}, (f) => seedAgents(f, 3));
      const page = await client.listAgents({ skip: 0, top: 2, fields: ['agentId', 'userID', 'userName', 'isActive', 'teamId'], updateSince: '2025-01-01T00:00:00Z' }, ctx());
      const [req] = fake.adminRequests();
      expect(req?.method).toBe('GET');
      expect(req?.url).toBe(`${ADMIN_PATH}/agents?skip=0&top=2&fields=agentId,userID,userName,isActive,teamId&updateSince=2025-01-01T00%3A00%3A00Z`);
      expect(req?.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(req?.headers.accept).toBe('application/json');
      expect(page).toEqual({
        totalRecords: 3,
        lastPollTime: '2026-01-01T00:00:00.000Z',
        agents: [
          { agentId: 1, userName: 'agent1@example.com', userId: '11111111-0000-4000-8000-000000000001', isActive: true, teamId: 7 },
          { agentId: 2, userName: 'agent2@example.com', userId: '11111111-0000-4000-8000-000000000002', isActive: true, teamId: 7 },
        ],
      });
    });

    it('when no agent changed since updateSince (204 No Content), then the page is empty, not an error', async () => {
      const { client } = await setup({}, (f) => seedAgents(f, 3));
      expect(await client.listAgents({ updateSince: '2030-01-01T00:00:00Z' }, ctx())).toEqual({ agents: [], totalRecords: 0, lastPollTime: undefined });
    });

    it('when all agents are listed, then pages of `top` are read with skip until totalRecords, each agent once, with the first page\'s lastPollTime', async () => {
      const { fake, client } = await setup({ pageSize: 1000 }, (f) => seedAgents(f, 2500));
      const all = await client.listAllAgents({ fields: ['agentId', 'userID'] }, ctx());
      expect(all.agents).toHaveLength(2500);
      expect(all.pages).toBe(3);
      expect(fake.adminRequests().map((req) => `${req.query.get('skip')}/${req.query.get('top')}`)).toEqual(['0/1000', '1000/1000', '2000/1000']);
      expect(all.lastPollTime).toBe('2026-01-01T00:00:00.000Z');
    });

    it('when an agent has no integer agentId, then the answer is unusable: 502 naming the call', async () => {
      const { client, fake } = await setup();
      fake.interpose((_req, res) => sendJson(res, 200, { totalRecords: 1, agents: [{ agentId: 'x1', userName: 'a' }] }));
      const error = await client.listAgents({}, ctx()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as Error).message).toMatch(/^CXone admin API GET \/agents: an agent has no integer agentId/);
    });
  });

  describe('groups', () => {
    it('when a group is read, then GET /groups/{groupId} answers its lastUpdated (from the list of one the API answers); an unknown group is null', async () => {
      const { client, events } = await setup({}, (f) => f.groups.set(12, { groupId: 12, groupName: 'Sales', lastUpdated: '2026-01-02T03:04:05Z', members: [] }));
      expect(await client.getGroup(12, ctx())).toEqual({ groupId: 12, groupName: 'Sales', isActive: true, lastUpdated: '2026-01-02T03:04:05Z' });
      expect(await client.getGroup(13, ctx())).toBeNull();
      expect(events.map((e) => `${e.method} ${e.resource} ${e.status}`)).toEqual(['GET groups 200', 'GET groups 404']);
    });

    it.each(['absolute', 'relative'] as const)('when a group\'s agents span pages linked by %s _links.next, then every page is read from our own origin and totalRecords is checked', async (links) => {
      const { fake, client, events } = await setup({ pageSize: 2 }, (f) => {
        seedAgents(f, 5);
        f.links = links;
        f.groups.set(7, { groupId: 7, groupName: 'Support', lastUpdated: '2026-01-01T00:00:00Z', members: [5, 4, 3, 2, 1] });
      });
      const read = await client.listGroupAgents(7, ctx());
      expect(read?.agents.map((a) => a.agentId)).toEqual([5, 4, 3, 2, 1]);
      expect(read?.totalRecords).toBe(5);
      expect(read?.pages).toBe(3);
      expect(fake.adminRequests().map((req) => req.url)).toEqual([`${ADMIN_PATH}/groups/7/agents?assigned=true&top=2`, `${ADMIN_PATH}/groups/7/agents?skip=2&top=2`, `${ADMIN_PATH}/groups/7/agents?skip=4&top=2`]);
      expect(new Set(events.map((e) => e.resource))).toEqual(new Set(['group_agents']));
    });

    it('when the pages carry no _links.next but totalRecords says more are left, then it pages on with skip and top', async () => {
      const { fake, client } = await setup({ pageSize: 2 }, (f) => {
        seedAgents(f, 3);
        f.links = 'none';
        f.groups.set(7, { groupId: 7, groupName: 'Support', lastUpdated: '2026-01-01T00:00:00Z', members: [1, 2, 3] });
      });
      expect((await client.listGroupAgents(7, ctx()))?.agents.map((a) => a.agentId)).toEqual([1, 2, 3]);
      expect(fake.adminRequests().map((req) => req.url)).toEqual([`${ADMIN_PATH}/groups/7/agents?assigned=true&top=2`, `${ADMIN_PATH}/groups/7/agents?assigned=true&skip=2&top=2`]);
    });

    it('when a group has no agents (204 No Content), then it is empty, not an error; an unknown group is null', async () => {
      const { client } = await setup({}, (f) => f.groups.set(7, { groupId: 7, groupName: 'Empty', lastUpdated: '2026-01-01T00:00:00Z', members: [] }));
      expect(await client.listGroupAgents(7, ctx())).toEqual({ agents: [], totalRecords: 0, pages: 1 });
      expect(await client.listGroupAgents(8, ctx())).toBeNull();
    });

    it('when the pages hold fewer distinct agents than totalRecords (the group changed between pages), then PagesChangedError, a lost race to read again', async () => {
      const { client, fake } = await setup({ pageSize: 2 }, (f) => {
        seedAgents(f, 4);
        f.groups.set(7, { groupId: 7, groupName: 'Support', lastUpdated: '2026-01-01T00:00:00Z', members: [1, 2, 3, 4] });
      });
      // Between the pages agent 1 leaves: the second page starts at what was agent 3, so agent 3 is never seen.
      fake.interpose((req, res) => {
        const group = fake.groups.get(7);
        sendJson(res, 200, { _links: { next: `${ADMIN_PATH}/groups/7/agents?skip=2&top=2` }, totalRecords: 4, agents: [fake.agents.get(1), fake.agents.get(2)] });
        if (group) group.members = [2, 3, 4];
        void req;
      });
      const error = await client.listGroupAgents(7, ctx()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PagesChangedError);
      expect(error).toBeInstanceOf(PreconditionFailedError);
      expect((error as Error).message).toMatch(/totalRecords (said 4, the pages held 3 distinct agents|went from 4 to 3)/);
    });

    it('when _links.next leads outside the admin API or back to a page already read, then the read fails without following it', async () => {
      const { client, fake } = await setup({}, (f) => f.groups.set(7, { groupId: 7, groupName: 'G', lastUpdated: 'x', members: [1] }));
      fake.interpose((_req, res) => sendJson(res, 200, { _links: { next: 'https://elsewhere.invalid/steal-token?x=1' }, totalRecords: 2, agents: [{ agentId: 1 }] }));
      await expect(client.listGroupAgents(7, ctx())).rejects.toThrow(/_links\.next leads outside \/incontactapi\/services\/v31\.0/);
      fake.interpose((_req, res) => sendJson(res, 200, { _links: { next: `${ADMIN_PATH}/groups/7/agents?assigned=true&top=1000` }, totalRecords: 2, agents: [{ agentId: 1 }] }));
      await expect(client.listGroupAgents(7, ctx())).rejects.toThrow(/leads back to a page already read/);
      expect(fake.requests.every((req) => !req.url.includes('steal-token'))).toBe(true);
    });

    it('when an agent\'s groups are read, then GET /agents/{agentId}/groups; none is 204, an unknown agent null', async () => {
      const { client } = await setup({}, (f) => {
        seedAgents(f, 2);
        f.groups.set(7, { groupId: 7, groupName: 'G', lastUpdated: '2026-01-01T00:00:00Z', members: [1] });
      });
      expect(await client.getAgentGroups(1, ctx())).toEqual([{ groupId: 7, groupName: 'G', isActive: true, lastUpdated: '2026-01-01T00:00:00Z' }]);
      expect(await client.getAgentGroups(2, ctx())).toEqual([]);
      expect(await client.getAgentGroups(3, ctx())).toBeNull();
    });

    it('when a group is created and renamed, then POST /groups answers its groupId and PUT /groups/{groupId} carries the name in the query', async () => {
      const { client, fake } = await setup();
      const id = await client.createGroup({ groupName: 'Sales EU', notes: 'synced' }, ctx());
      expect(fake.groups.get(id)?.groupName).toBe('Sales EU');
      expect(JSON.parse(fake.adminRequests()[0]?.body ?? '')).toEqual({ groups: [{ groupName: 'Sales EU', isActive: true, notes: 'synced' }] });
      await client.renameGroup(id, 'Sales & EU', undefined, ctx());
      const rename = fake.adminRequests()[1];
      expect(`${rename?.method} ${rename?.url}`).toBe(`PUT ${ADMIN_PATH}/groups/${id}?groupName=Sales%20%26%20EU`);
      expect(rename?.body).toBe('');
      expect(fake.groups.get(id)?.groupName).toBe('Sales & EU');
      await expect(client.createGroup({ groupName: 'Sales & EU' }, ctx())).rejects.toThrow(/did not create the group \(200\): Group name already exists/);
    });
  });

  describe('batch writes', () => {
    async function withGroup(prepare: (fake: FakeAdminApi) => void = () => {}, overrides: Partial<AdminApiOptions> = {}) {
      return setup(overrides, (f) => {
        seedAgents(f, 5);
        f.groups.set(7, { groupId: 7, groupName: 'Support', lastUpdated: '2026-01-01T00:00:00Z', members: [1] });
        prepare(f);
      });
    }

    it('when agents are added, then POST /groups/{groupId}/agents sends {"agents":[{"agentId":…}]} as JSON and each agent\'s result is read', async () => {
      const { client, fake, events } = await withGroup((f) => f.failing.set(3, 'Agent is inactive'));
      const outcome = await client.addGroupAgents(7, [2, 3, 4], ctx());
      const [req] = fake.adminRequests();
      expect(`${req?.method} ${req?.url}`).toBe(`POST ${ADMIN_PATH}/groups/7/agents`);
      expect(req?.headers['content-type']).toBe('application/json');
      expect(JSON.parse(req?.body ?? '')).toEqual({ agents: [{ agentId: 2 }, { agentId: 3 }, { agentId: 4 }] });
      expect(outcome).toEqual({ status: 200, errorCount: 1, succeeded: [2, 4], failed: [{ agentId: 3, error: 'Agent is inactive' }], unreported: [] });
      expect(fake.groups.get(7)?.members).toEqual([1, 2, 4]);
      expect(events.map((e) => `${e.method} ${e.resource}`)).toEqual(['POST group_agents']);
    });

    it('when agents are removed, then DELETE /groups/{groupId}/agents carries the same body, answered per agent', async () => {
      const { client, fake } = await withGroup();
      const outcome = await client.removeGroupAgents(7, [1, 9], ctx());
      const [req] = fake.adminRequests();
      expect(`${req?.method} ${req?.url}`).toBe(`DELETE ${ADMIN_PATH}/groups/7/agents`);
      expect(JSON.parse(req?.body ?? '')).toEqual({ agents: [{ agentId: 1 }, { agentId: 9 }] });
      expect(outcome.succeeded).toEqual([1]);
      expect(outcome.failed).toEqual([{ agentId: 9, error: 'Agent not found' }]);
    });

    it('when the answer leaves agents out, or has no agentResults at all, then those agents are unreported, never done', async () => {
      const { client, fake } = await withGroup();
      fake.interpose((_req, res) => sendJson(res, 200, { errorCount: 0, agentResults: [{ agentId: 2, success: true }] }));
      expect(await client.addGroupAgents(7, [2, 3], ctx())).toEqual({ status: 200, errorCount: 0, succeeded: [2], failed: [], unreported: [3] });
      fake.interpose((_req, res) => sendJson(res, 200, { agents: [{ agentId: 2 }, { agentId: 3 }] }));
      expect(await client.addGroupAgents(7, [2, 3], ctx())).toEqual({ status: 200, errorCount: 0, succeeded: [], failed: [], unreported: [2, 3] });
      fake.interpose((_req, res) => void res.writeHead(204).end());
      expect((await client.addGroupAgents(7, [2], ctx())).unreported).toEqual([2]);
    });

    it('when a 400 carries per-agent results, then they are the answer; a 400 without them is an error naming the provider\'s message', async () => {
      const { client, fake } = await withGroup();
      fake.interpose((_req, res) => sendJson(res, 400, { errorCount: 2, agentResults: [{ agentId: '2', success: false, error: 'Invalid agent' }, { agentId: 3, success: 'false', error: 'Invalid agent' }] }));
      expect(await client.addGroupAgents(7, [2, 3], ctx())).toEqual({ status: 400, errorCount: 2, succeeded: [], failed: [{ agentId: 2, error: 'Invalid agent' }, { agentId: 3, error: 'Invalid agent' }], unreported: [] });
      fake.interpose((_req, res) => sendJson(res, 400, { error: 'Invalid request', error_description: 'agents is required' }));
      const error = await client.addGroupAgents(7, [2], ctx()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UpstreamError);
      expect(error).not.toBeInstanceOf(PreconditionFailedError);
      expect((error as UpstreamError).status).toBe(400);
      expect((error as Error).message).toMatch(/^CXone admin API POST \/groups\/\{groupId\}\/agents answered 400: agents is required/);
    });

    it('when agents\' teams are set, then PUT /agents sends agentId and teamId as strings and reads each agent\'s result', async () => {
      const { client, fake } = await withGroup();
      const outcome = await client.updateAgentTeams([{ agentId: 2, teamId: 9 }, { agentId: 44, teamId: 9 }], ctx());
      const [req] = fake.adminRequests();
      expect(`${req?.method} ${req?.url}`).toBe(`PUT ${ADMIN_PATH}/agents`);
      expect(JSON.parse(req?.body ?? '')).toEqual({ agents: [{ agentId: '2', teamId: '9' }, { agentId: '44', teamId: '9' }] });
      expect(outcome).toEqual({ status: 200, errorCount: 1, succeeded: [2], failed: [{ agentId: 44, error: 'Agent not found' }], unreported: [] });
      expect(fake.agents.get(2)?.teamId).toBe(9);
    });

    it('when a batch is empty, too large or names an agent twice, then nothing is sent', async () => {
      const { client, fake } = await withGroup(() => {}, { maxBatch: 2 });
      expect(await client.addGroupAgents(7, [], ctx())).toEqual({ status: 200, errorCount: 0, succeeded: [], failed: [], unreported: [] });
      await expect(client.addGroupAgents(7, [1, 2, 3], ctx())).rejects.toThrow(TypeError);
      await expect(client.removeGroupAgents(7, [2, 2], ctx())).rejects.toThrow(TypeError);
      await expect(client.addGroupAgents(7, [1.5], ctx())).rejects.toThrow(TypeError);
      expect(fake.adminRequests()).toEqual([]);
    });

    it.each([
      ['POST (add)', 'add'],
      ['DELETE (remove)', 'remove'],
      ['PUT /agents (teams)', 'teams'],
      ['POST /groups (create)', 'create'],
    ] as const)('when the connection drops after a %s was sent, then it is not sent again: OutcomeUnknownError, for the caller to re-read', async (_name, kind) => {
      const { client, fake, retries } = await withGroup();
      fake.interpose((_req, res) => res.socket?.destroy());
      const call = {
        add: () => client.addGroupAgents(7, [2], ctx()),
        remove: () => client.removeGroupAgents(7, [1], ctx()),
        teams: () => client.updateAgentTeams([{ agentId: 2, teamId: 3 }], ctx()),
        create: () => client.createGroup({ groupName: 'New' }, ctx()),
      }[kind];
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OutcomeUnknownError);
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect((error as Error).message).toMatch(/the outcome is unknown .*it was not sent again: read the state back/);
      expect(fake.adminRequests()).toHaveLength(1);
      expect(retries).toEqual([]);
    });

    it('when a batch write answers 500 or 503, then it is not retried: OutcomeUnknownError with the status', async () => {
      const { client, fake } = await withGroup();
      fake.interpose((_req, res) => sendJson(res, 500, { message: 'internal' }), (_req, res) => sendJson(res, 503, {}, { 'retry-after': '1' }));
      const first = (await client.removeGroupAgents(7, [1], ctx()).catch((e: unknown) => e)) as OutcomeUnknownError;
      expect(first).toBeInstanceOf(OutcomeUnknownError);
      expect(first.status).toBe(500);
      const second = (await client.addGroupAgents(7, [2], ctx()).catch((e: unknown) => e)) as OutcomeUnknownError;
      expect(second.status).toBe(503);
      expect(fake.adminRequests()).toHaveLength(2);
    });

    it('when a batch write gets no answer in time, then OutcomeUnknownError, sent once', async () => {
      const { client, fake } = await withGroup(() => {}, { requestTimeoutMs: 200 });
      fake.interpose(() => {});
      await expect(client.addGroupAgents(7, [2], ctx())).rejects.toThrow(OutcomeUnknownError);
      expect(fake.adminRequests()).toHaveLength(1);
    });

    it('when a batch write is answered 429 with Retry-After, then it waits exactly that long and sends it again; without Retry-After it backs off', async () => {
      const { client, fake, clock, retries } = await withGroup();
      fake.interpose((_req, res) => sendJson(res, 429, { message: 'slow down' }, { 'retry-after': '3' }), (_req, res) => sendJson(res, 429, { message: 'slow down' }));
      const outcome = await client.addGroupAgents(7, [2], ctx());
      expect(outcome.succeeded).toEqual([2]);
      expect(fake.adminRequests()).toHaveLength(3);
      expect(clock.sleeps[0]).toBe(3000);
      expect(clock.sleeps).toHaveLength(2);
      expect(clock.sleeps[1]).toBeLessThan(3000);
      expect(retries).toEqual(['rate_limited', 'rate_limited']);
    });

    it('when the connection is refused before a batch write is sent, then it is retried (nothing can have been applied), and in the end unavailable, not unknown', async () => {
      const closed = await startLoopback(() => {});
      const url = closed.url;
      await closed.close();
      const agent = new Agent();
      cleanups.push(() => agent.close());
      const clock = new FakeClock();
      const events: UpstreamRequestEvent[] = [];
      const client = createAdminApiClient({ baseUrl: url, tokenSource: { getToken: async () => TOKEN, invalidate: () => {} }, clock, dispatcher: agent, random: () => 0.5, observer: { onRequest: (e) => events.push(e) } });
      const error = await client.addGroupAgents(7, [2], ctx()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UpstreamUnavailableError);
      expect(error).not.toBeInstanceOf(OutcomeUnknownError);
      expect(events.map((e) => e.status)).toEqual(['network', 'network', 'network', 'network', 'network']);
    });

    it('when a read fails on the network or with a 5xx, then it is retried like any idempotent request', async () => {
      const { client, fake, retries } = await withGroup();
      fake.interpose((_req, res) => res.socket?.destroy(), (_req, res) => sendJson(res, 502, {}));
      expect((await client.listGroupAgents(7, ctx()))?.agents.map((a) => a.agentId)).toEqual([1]);
      expect(retries).toEqual(['network', 'server_error']);
    });

    it('when an error or a per-agent error echoes the access token, then it is redacted', async () => {
      const { client, fake } = await withGroup();
      fake.interpose(
        (req, res) => sendJson(res, 200, { errorCount: 1, agentResults: [{ agentId: 2, success: false, error: `token ${String(req.headers.authorization)} may not` }] }),
        (req, res) => sendJson(res, 403, { message: `forbidden for ${String(req.headers.authorization)}` }),
      );
      const outcome = await client.addGroupAgents(7, [2], ctx());
      expect(outcome.failed[0]?.error).not.toContain(TOKEN);
      expect(outcome.failed[0]?.error).toContain('[redacted]');
      const error = (await client.getGroup(7, ctx()).catch((e: unknown) => e)) as UpstreamError;
      expect(error.status).toBe(403);
      expect(`${error.message} ${error.detail} ${JSON.stringify(error)}`).not.toContain(TOKEN);
    });
  });

  it('when the API origin is discovered, then the client waits for it and every request counts in the sync\'s upstream requests', async () => {
    const fake = await startFakeAdminApi();
    cleanups.push(() => fake.close());
    seedAgents(fake, 1);
    const agent = new Agent();
    cleanups.push(() => agent.close());
    let asked = 0;
    const client = createAdminApiClient({
      baseUrl: async () => {
        asked += 1;
        return fake.url;
      },
      tokenSource: { getToken: async () => TOKEN, invalidate: () => {} },
      clock: new FakeClock(),
      dispatcher: agent,
    });
    const context = ctx();
    await client.listAgents({}, context);
    await client.getAgentGroups(1, context);
    expect(asked).toBe(1);
    expect(context.stats.upstreamRequests).toBe(2);
  });
});
