/**
 * SCIM /Groups is a switch: NICE publishes a SCIM API with Users only, and the RFC 7644
 * /Groups path stays available for providers that have it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseSimulatorEnv } from '../../src/simulator/env.js';
import { NICE_USER_URN, SCIM_GROUPS_DEFAULT, createSimulator, seedIds } from '../../src/simulator/simulator.js';
import { ERROR_SCHEMA, GROUP_SCHEMA, closeSimulators, startSimulator } from './harness.js';

afterEach(closeSimulators);

describe('simulator SCIM /Groups switch', () => {
  it('when scimGroups is off, then every /Groups request answers 404 and Users keep working', async () => {
    const { request, simulator } = await startSimulator({ scimGroups: false });
    expect(simulator.scimGroups).toBe(false);
    const one = await request('GET', `/scim/v2/Groups/${seedIds.groups.platform}`);
    expect(one.status).toBe(404);
    expect(one.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '404' });
    expect((await request('GET', '/scim/v2/Groups')).status).toBe(404);
    expect((await request('POST', '/scim/v2/Groups', { body: { schemas: [GROUP_SCHEMA], displayName: 'X' } })).status).toBe(404);
    expect((await request('PATCH', `/scim/v2/Groups/${seedIds.groups.platform}`, { body: {} })).status).toBe(404);
    expect((await request('GET', `/scim/v2/Users/${seedIds.users.aliceSmith}`)).status).toBe(200);
  });

  it('when scimGroups is off, then /ResourceTypes lists User only and /ResourceTypes/Group is 404', async () => {
    const { request } = await startSimulator({ scimGroups: false });
    const types = await request('GET', '/scim/v2/ResourceTypes');
    expect(types.body.totalResults).toBe(1);
    expect(types.body.Resources.map((type: { id: string }) => type.id)).toEqual(['User']);
    expect((await request('GET', '/scim/v2/ResourceTypes/Group')).status).toBe(404);
    expect((await request('GET', '/scim/v2/ResourceTypes/User')).body.endpoint).toBe('/Users');
  });

  it('when nothing is said, then scimGroups follows the one default constant, and on it serves /Groups', async () => {
    expect(createSimulator().scimGroups).toBe(SCIM_GROUPS_DEFAULT);
    const { request } = await startSimulator({ scimGroups: true });
    expect((await request('GET', `/scim/v2/Groups/${seedIds.groups.platform}`)).status).toBe(200);
    const types = await request('GET', '/scim/v2/ResourceTypes');
    expect(types.body.Resources.map((type: { id: string }) => type.id)).toEqual(['User', 'Group']);
  });

  it('when SIM_SCIM_GROUPS is set, then the stand-alone simulator follows it, and a bad value names the variable', () => {
    expect(parseSimulatorEnv({ SIM_SCIM_GROUPS: 'false' }).scimGroups).toBe(false);
    expect(parseSimulatorEnv({ SIM_SCIM_GROUPS: 'true' }).scimGroups).toBe(true);
    expect(parseSimulatorEnv({}).scimGroups).toBe(SCIM_GROUPS_DEFAULT);
    expect(() => parseSimulatorEnv({ SIM_SCIM_GROUPS: 'off' })).toThrow(/^SIM_SCIM_GROUPS: /);
  });
});

describe('simulator SCIM /Schemas', () => {
  it('when /Schemas is read, then it lists User, NICE\'s user extension with its team, and Group only while /Groups is on', async () => {
    const on = await startSimulator({ scimGroups: true });
    const ids = (body: { Resources: { id: string }[] }) => body.Resources.map((schema) => schema.id);
    const all = await on.request('GET', '/scim/v2/Schemas');
    expect(all.status).toBe(200);
    expect(ids(all.body)).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User', NICE_USER_URN, 'urn:ietf:params:scim:schemas:core:2.0:Group']);
    const nice = await on.request('GET', `/scim/v2/Schemas/${NICE_USER_URN}`);
    expect(nice.body.attributes).toContainEqual(expect.objectContaining({ name: 'team', type: 'complex', subAttributes: expect.arrayContaining([expect.objectContaining({ name: 'value' })]) }));
    expect((await on.request('GET', '/scim/v2/ResourceTypes/User')).body.schemaExtensions).toEqual([{ schema: NICE_USER_URN, required: false }]);

    const off = await startSimulator({ scimGroups: false });
    expect(ids((await off.request('GET', '/scim/v2/Schemas')).body)).toEqual(['urn:ietf:params:scim:schemas:core:2.0:User', NICE_USER_URN]);
    expect((await off.request('GET', '/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group')).status).toBe(404);
  });
});
