/**
 * The simulator's default data (seed.json): 40 users and a nested group tree with fixed ids.
 * src/simulator/README.md draws the tree; `seedIds` names the ids tests reach for.
 */
import seedJson from './seed.json' with { type: 'json' };
import type { SimulatorSeed } from './store.js';

export type { SimulatorSeed } from './store.js';

export const defaultSeed: SimulatorSeed = seedJson as SimulatorSeed;

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
} as const;

export function resolveSeed(seed: 'default' | 'empty' | SimulatorSeed | undefined): SimulatorSeed {
  if (seed === undefined || seed === 'default') return defaultSeed;
  if (seed === 'empty') return emptySeed;
  return seed;
}
