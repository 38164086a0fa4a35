/**
 * The membership contract, written once and run against every membership backend
 * (scim-groups, acd-groups, teams) as the service wires them, end to end over loopback
 * against the simulator: what a caller of `POST /groups/{groupId}/sync` can rely on whatever
 * MEMBERSHIP_BACKEND says. Each backend's upstream state is read with its own API (SCIM
 * /Groups, the ACD group's agents, the agents' teams), never through the backend under test.
 */
import { describe, expect, it } from 'vitest';
import type { MemberRef } from '../../src/core/membership.js';
import { seedIds } from '../../src/simulator/simulator.js';
import { buildFullApp, type FullApp } from '../helpers/full-app.js';

const CLIENT = { clientId: 'sync', clientSecret: 'sync-secret-value' };
const TOKEN = 'contract-token-value-0123456789';
const ctx = () => ({ stats: { upstreamRequests: 0 } });
const users = seedIds.users;
const user = (value: string): MemberRef => ({ value, type: 'User' });

interface BackendUnderTest {
  readonly name: 'scim-groups' | 'acd-groups' | 'teams';
  readonly env: Record<string, string>;
  readonly scimGroups: boolean;
  /** An empty group of the seed. */
  readonly group: string;
  /** A group id the upstream does not have, told before anything is written (undefined: the backend cannot tell, see docs/cxone.md). */
  readonly missingGroup?: string;
  /** The SCIM user ids the upstream holds in `group`, read with the upstream's own API. */
  held(full: FullApp, group: string): Promise<string[]>;
}

const BACKENDS: readonly BackendUnderTest[] = [
  {
    name: 'scim-groups',
    env: { MEMBERSHIP_BACKEND: 'scim-groups' },
    scimGroups: true,
    group: seedIds.groups.contactCenterAgents,
    missingGroup: '00000000-0000-4000-8000-00000000dead',
    async held(full, group) {
      const read = await full.directory.getGroup(group, ctx());
      return (read?.group.members ?? []).map((m) => m.value);
    },
  },
  {
    name: 'acd-groups',
    env: { MEMBERSHIP_BACKEND: 'acd-groups' },
    scimGroups: false,
    group: String(seedIds.acdGroups.contactCenterAgents),
    missingGroup: '999999',
    async held(full, group) {
      const agents = await full.directory.adminApi.listAllAgents({ fields: ['agentId', 'userID'] }, ctx());
      const userOf = new Map(agents.agents.map((a) => [a.agentId, a.userId ?? String(a.agentId)]));
      const inGroup = await full.directory.adminApi.listGroupAgents(Number(group), ctx());
      return (inGroup?.agents ?? []).map((a) => userOf.get(a.agentId) ?? String(a.agentId));
    },
  },
  {
    name: 'teams',
    env: { MEMBERSHIP_BACKEND: 'teams', TEAMS_FALLBACK_TEAM_ID: String(seedIds.teams.defaultTeam) },
    scimGroups: false,
    group: String(seedIds.teams.contactCenter),
    // A user-management team id (a UUID) is looked up before anything is written; an integer one cannot be (docs/cxone.md).
    missingGroup: '00000000-0000-4000-8000-00000000dead',
    async held(full, group) {
      const agents = await full.directory.adminApi.listAllAgents({ fields: ['agentId', 'userID', 'teamId'] }, ctx());
      return agents.agents.filter((a) => a.teamId === Number(group)).map((a) => a.userId ?? String(a.agentId));
    },
  },
];

for (const backend of BACKENDS) {
  describe(`the membership contract: ${backend.name}`, () => {
    const start = () => buildFullApp({ env: { SYNC_API_TOKENS: `idp:${TOKEN}`, ...backend.env }, ...CLIENT, simulator: { scimGroups: backend.scimGroups } });
    const sync = async (full: FullApp, members: readonly MemberRef[], query = '', group = backend.group) => {
      const response = await full.app.inject({ method: 'POST', url: `/groups/${group}/sync${query}`, headers: { authorization: `Bearer ${TOKEN}` }, payload: { members } });
      return { status: response.statusCode, body: response.json() as Record<string, unknown> };
    };
    const sorted = (values: readonly string[]) => values.toSorted();

    it('when members are added to an empty group, then applied, the upstream holds exactly them, and the same body again is unchanged', async () => {
      const full = await start();
      const desired = [user(users.aliceSmith), user(users.davidKim), user(users.carmenRodriguez)];
      const first = await sync(full, desired);
      expect(first).toMatchObject({ status: 200, body: { status: 'applied', backend: backend.name, memberCount: 3, consistencyRate: 1, removed: [] } });
      expect(sorted((first.body.added as MemberRef[]).map((m) => m.value))).toEqual(sorted(desired.map((m) => m.value)));
      expect(sorted(await backend.held(full, backend.group))).toEqual(sorted(desired.map((m) => m.value)));
      expect((await sync(full, desired)).body).toMatchObject({ status: 'unchanged', added: [], removed: [] });
    });

    it('when one member is swapped for another, then only they are added and removed', async () => {
      const full = await start();
      await sync(full, [user(users.aliceSmith), user(users.davidKim)]);
      const swapped = await sync(full, [user(users.aliceSmith), user(users.lauraGarcia)]);
      expect(swapped.body).toMatchObject({ status: 'applied', added: [user(users.lauraGarcia)], removed: [user(users.davidKim)], memberCount: 2 });
      expect(sorted(await backend.held(full, backend.group))).toEqual(sorted([users.aliceSmith, users.lauraGarcia]));
    });

    it('when the body names an unknown and an inactive user, then 422 names both and the upstream is untouched', async () => {
      const full = await start();
      await sync(full, [user(users.aliceSmith)]);
      const refused = await sync(full, [user(users.aliceSmith), user('no-such-user'), user(users.isabelCosta)]);
      expect(refused.status).toBe(422);
      expect((refused.body.errors as { code: string; member: MemberRef }[]).map((e) => `${e.code}:${e.member.value}`).toSorted()).toEqual(
        [`user_inactive:${users.isabelCosta}`, 'user_not_found:no-such-user'].toSorted(),
      );
      expect(await backend.held(full, backend.group)).toEqual([users.aliceSmith]);
    });

    it('when the body names a member twice, then 422 duplicate_member and nothing is written', async () => {
      const full = await start();
      const refused = await sync(full, [user(users.aliceSmith), user(users.aliceSmith)]);
      expect(refused.status).toBe(422);
      expect((refused.body.errors as { code: string }[]).map((e) => e.code)).toEqual(['duplicate_member']);
      expect(await backend.held(full, backend.group)).toEqual([]);
    });

    it('when it is a dry run, then the difference is answered and nothing is written', async () => {
      const full = await start();
      const dry = await sync(full, [user(users.aliceSmith)], '?dryRun=true');
      expect(dry.body).toMatchObject({ status: 'dry_run', added: [user(users.aliceSmith)], removed: [] });
      expect(await backend.held(full, backend.group)).toEqual([]);
    });

    it('when the desired set is empty, then the mass-removal guard refuses it, and with allowMassRemoval every member is removed', async () => {
      const full = await start();
      await sync(full, [user(users.aliceSmith), user(users.davidKim)]);
      expect(await sync(full, [])).toMatchObject({ status: 409, body: { error: 'removal_guard' } });
      expect(sorted(await backend.held(full, backend.group))).toEqual(sorted([users.aliceSmith, users.davidKim]));
      const emptied = await sync(full, [], '?allowMassRemoval=true');
      expect(emptied.body).toMatchObject({ status: 'applied', memberCount: 0 });
      expect(await backend.held(full, backend.group)).toEqual([]);
    });

    it.runIf(backend.missingGroup !== undefined)('when the group does not exist upstream, then 404 group_not_found', async () => {
      const full = await start();
      full.simulator.stats.reset();
      const missing = await sync(full, [user(users.aliceSmith)], '', backend.missingGroup);
      expect(missing).toMatchObject({ status: 404, body: { error: 'group_not_found' } });
      expect(Object.keys(full.simulator.stats.byRoute).filter((route) => !route.startsWith('GET ') && route !== 'POST oauth' && !route.includes('search'))).toEqual([]);
    });
  });
}
