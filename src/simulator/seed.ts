/**
 * The simulator's default data: seed.json (40 users and a nested SCIM group tree with fixed
 * ids; six teams; an agent for every user plus five without a SCIM user; four ACD groups)
 * and 1,050 generated overflow agents that make the Overflow Queue longer than a page of
 * 1,000. src/simulator/README.md draws it; `seedIds` names the ids tests reach for.
 */
import type { AgentSeed } from './directory.js';
import seedJson from './seed.json' with { type: 'json' };
import type { SimulatorSeed } from './store.js';

export type { SimulatorSeed } from './store.js';

/** The generated agents: no SCIM users, all in the Overflow team and the Overflow Queue. */
const OVERFLOW = { firstAgentId: 20_001, count: 1_050, teamId: 3005, groupId: 5004 } as const;

function overflowAgents(): AgentSeed[] {
  return Array.from({ length: OVERFLOW.count }, (_, i) => {
    const agentId = OVERFLOW.firstAgentId + i;
    const userName = `overflow.${agentId}@agents.example.com`;
    return {
      agentId,
      userID: `0f10a000-0000-4000-8000-${String(agentId).padStart(12, '0')}`,
      userName,
      firstName: 'Overflow',
      lastName: `Agent ${i + 1}`,
      emailAddress: userName,
      isActive: true,
      teamId: OVERFLOW.teamId,
    };
  });
}

function buildDefaultSeed(): SimulatorSeed {
  const json = seedJson as SimulatorSeed;
  const generated = overflowAgents();
  return {
    ...json,
    agents: [...(json.agents ?? []), ...generated],
    acdGroups: (json.acdGroups ?? []).map((group) =>
      group.groupId === OVERFLOW.groupId ? { ...group, agentIds: [...(group.agentIds ?? []), ...generated.map((agent) => agent.agentId)] } : group,
    ),
  };
}

export const defaultSeed: SimulatorSeed = buildDefaultSeed();

export const emptySeed: SimulatorSeed = { users: [], groups: [] };

export const seedIds = {
  groups: {
    /** ⊃ Engineering, Support Tier 1, Support Tier 2 and 4 users; no parents. */
    allStaff: 'a7076139-2aef-4a60-b9f7-bc57cbb41de2',
    /** In All Staff; ⊃ Engineering Core and 4 users. */
    engineering: 'b22e0232-a289-434e-867e-8053cc3453dc',
    /** All Staff ⊃ Engineering ⊃ Engineering Core: already 3 deep, so any group added to it exceeds depth 3. 6 users, one inactive. */
    engineeringCore: 'e9e30dba-f08f-4109-8486-d5c6a331660a',
    /** In All Staff; 11 users, one inactive. */
    supportTier1: 'f5d7b411-5ead-4724-9911-0918e160cbee',
    /** In All Staff; 6 users, one inactive. */
    supportTier2: 'fe04d475-e403-4743-b623-bf81f944ab1a',
    /** Empty, no parents: the README's curl example. */
    contactCenterAgents: '80893dab-f1de-49ac-ba3f-e91137e61ec5',
    /** No parents, 4 users. */
    platform: '6e4ee2b2-b48b-4392-be1c-8c6138028403',
  },
  users: {
    /** Active, in Engineering Core. */
    aliceSmith: '2819c223-7f76-453a-919d-413861904646',
    /** Active, in All Staff directly, entitlement cxone:administrator. */
    bobJohnson: '3c3e70a8-fc1c-4e1b-bf53-e4da50fabac6',
    /** Active, in Support Tier 1, entitlement cxone:agent. */
    carmenRodriguez: '11510a04-b50f-4233-ba69-86ef329835f2',
    /** Active, in Engineering Core. */
    davidKim: '7a4860c5-5a22-428a-9117-f317b72b72d3',
    /** Active, in no group. */
    lauraGarcia: '3bb4dbfb-54d0-470d-8550-b195390a71c3',
    /** Active, in no group. */
    nadiaAhmed: 'fe2e297c-7d09-4105-9975-5e2092ac9e02',
    /** Inactive, in Support Tier 2. */
    isabelCosta: '680def0c-da88-460b-982d-46338f5ff176',
    /** Inactive, in Support Tier 1. */
    raniaAziz: '9022698b-55c7-44c1-b2e9-79c670f89105',
    /** Inactive, in Engineering Core. */
    dmitriVolkov: '8fd19ad9-9d31-4800-9e4a-8580092db102',
    /** Inactive, in no group. */
    marcusJohansson: '1b8bd80f-fb01-408c-928d-0e8c9212a33e',
  },
  /** Agents (integer ids). An agent of a SCIM user has that user's id as its `userID`. */
  agents: {
    /** users.aliceSmith; team Engineering; in no ACD group. */
    aliceSmith: 1001,
    /** users.bobJohnson; Default Team; in Escalations. */
    bobJohnson: 1002,
    /** users.carmenRodriguez; team Support; in Tier 1 Support. */
    carmenRodriguez: 1003,
    /** users.davidKim; team Engineering; in no ACD group. */
    davidKim: 1004,
    /** users.isabelCosta (inactive); team Support; in Escalations. */
    isabelCosta: 1009,
    /** users.raniaAziz (inactive); team Support; in Tier 1 Support. */
    raniaAziz: 1018,
    /** users.dmitriVolkov (inactive); team Engineering. */
    dmitriVolkov: 1030,
    /** users.lauraGarcia; Default Team; in no ACD group. */
    lauraGarcia: 1038,
    /** users.marcusJohansson (inactive); Default Team. */
    marcusJohansson: 1039,
    /** users.nadiaAhmed; Default Team; in no ACD group. */
    nadiaAhmed: 1040,
    /** No SCIM user; team Support; in Tier 1 Support. */
    tomasVega: 1041,
    /** No SCIM user; team Support; in Escalations. */
    priyaRaman: 1042,
    /** No SCIM user, inactive; team Support; in no ACD group. */
    oluBankole: 1043,
    /** No SCIM user; team Overflow; in the Overflow Queue. */
    svenLind: 1044,
    /** The first of the 1,050 generated agents (20001–21050): no SCIM users, team Overflow, all in the Overflow Queue. */
    firstOverflow: OVERFLOW.firstAgentId,
    lastOverflow: OVERFLOW.firstAgentId + OVERFLOW.count - 1,
  },
  /** Teams (integer teamId; each also has a teamUuId). Every agent is in exactly one. */
  teams: {
    /** The fallback team (isDefault): users created without a team land here. */
    defaultTeam: 3000,
    engineering: 3001,
    support: 3002,
    platform: 3003,
    /** Empty. */
    contactCenter: 3004,
    /** The generated agents and two contractors. */
    overflow: 3005,
  },
  /** ACD groups (integer groupId). */
  acdGroups: {
    /** Empty: the README's example. */
    contactCenterAgents: 5001,
    /** 12 agents: Support Tier 1's 11 users (one inactive) and tomasVega. */
    tier1Support: 5002,
    /** 6 agents, one inactive (isabelCosta), one without a SCIM user (priyaRaman). */
    escalations: 5003,
    /** 1,052 agents: more than one page of 1,000. */
    overflowQueue: 5004,
  },
} as const;

export function resolveSeed(seed: 'default' | 'empty' | SimulatorSeed | undefined): SimulatorSeed {
  if (seed === undefined || seed === 'default') return defaultSeed;
  if (seed === 'empty') return emptySeed;
  return seed;
}
