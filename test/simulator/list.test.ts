import { afterEach, describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/simulator.js';
import { closeSimulators, startSimulator } from './harness.js';

afterEach(closeSimulators);

const { groups, users } = seedIds;
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

function q(filter: string): string {
  return encodeURIComponent(filter);
}

function ids(body: { Resources: { id: string }[] }): string[] {
  return body.Resources.map((resource) => resource.id);
}

describe('simulator lists, filters and projections', () => {
  it('when filtering with eq and or, then exactly the matching resources come back', async () => {
    const { request } = await startSimulator();
    const byName = await request('GET', `/scim/v2/Users?filter=${q('userName eq "ALICE.SMITH@example.com"')}`);
    expect(byName.status).toBe(200);
    expect(byName.body).toMatchObject({ schemas: [LIST], totalResults: 1, startIndex: 1, itemsPerPage: 1 });
    expect(ids(byName.body)).toEqual([users.aliceSmith]);

    const byIds = await request('GET', `/scim/v2/Users?filter=${q(`id eq "${users.lauraGarcia}" OR id eq "${users.aliceSmith}" or id eq "u-404"`)}`);
    expect(ids(byIds.body)).toEqual([users.aliceSmith, users.lauraGarcia]);

    const inactive = await request('GET', `/scim/v2/Users?filter=${q('active eq false')}&attributes=id,active`);
    expect(inactive.body.totalResults).toBe(4);
    expect(inactive.body.Resources).toContainEqual({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], id: users.isabelCosta, active: false });

    const byExternal = await request('GET', `/scim/v2/Users?filter=${q('externalId eq "E1001" or displayName eq "laura garcia"')}`);
    expect(ids(byExternal.body)).toEqual([users.aliceSmith, users.lauraGarcia]);

    const escaped = await request('GET', `/scim/v2/Users?filter=${q('displayName eq "James O\'Brien" or displayName eq "say \\"hi\\" \\\\"')}`);
    expect(escaped.body.totalResults).toBe(1);

    const group = await request('GET', `/scim/v2/Groups?filter=${q('displayName eq "platform"')}&excludedAttributes=members`);
    expect(ids(group.body)).toEqual([groups.platform]);
    expect(group.body.Resources[0].members).toBeUndefined();
  });

  it('when filtering groups on members.value, then the groups holding that member directly answer', async () => {
    const { request } = await startSimulator();
    const parents = await request('GET', `/scim/v2/Groups?filter=${q(`members.value eq "${groups.engineeringCore}" or members.value eq "${users.bobJohnson}"`)}&attributes=id,displayName`);
    expect(parents.body.Resources).toEqual([
      { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: groups.allStaff, displayName: 'All Staff' },
      { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: groups.engineering, displayName: 'Engineering' },
    ]);
    const none = await request('GET', `/scim/v2/Groups?filter=${q(`members.value eq "${groups.allStaff}"`)}`);
    expect(none.body).toMatchObject({ totalResults: 0, itemsPerPage: 0, Resources: [] });
  });

  it('when the filter is outside the supported subset, then 400 invalidFilter', async () => {
    const { request } = await startSimulator();
    for (const filter of [
      'userName co "alice"',
      'userName eq "a" and active eq true',
      '(userName eq "a")',
      'userName eq alice',
      'userName eq "unterminated',
      'members.value eq "x"',
      'active eq "true"',
      'title eq "x"',
      'userName eq "a" or',
    ]) {
      const answer = await request('GET', `/scim/v2/Users?filter=${q(filter)}`);
      expect([filter, answer.status, answer.body.scimType]).toEqual([filter, 400, 'invalidFilter']);
    }
  });

  it('when the filter capability is off, then any filter answers 400 invalidFilter', async () => {
    const { request } = await startSimulator({ capabilities: { filter: false } });
    const answer = await request('GET', `/scim/v2/Users?filter=${q(`id eq "${users.aliceSmith}"`)}`);
    expect([answer.status, answer.body.scimType]).toEqual([400, 'invalidFilter']);
    expect((await request('GET', '/scim/v2/Users')).status).toBe(200);
    expect((await request('GET', '/scim/v2/ServiceProviderConfig')).body.filter).toEqual({ supported: false, maxResults: 1000 });
  });

  it('when paging, then startIndex and count select the page and count is capped at maxPageSize', async () => {
    const { request } = await startSimulator({ capabilities: { maxPageSize: 15 } });
    const all = await request('GET', '/scim/v2/Users?count=1000');
    expect(all.body).toMatchObject({ totalResults: 40, itemsPerPage: 15, startIndex: 1 });
    const pages: string[] = [];
    for (let start = 1; start <= 40; start += 15) pages.push(...ids((await request('GET', `/scim/v2/Users?startIndex=${start}&count=15`)).body));
    expect(pages).toHaveLength(40);
    expect(new Set(pages).size).toBe(40);
    const beyond = await request('GET', '/scim/v2/Users?startIndex=41');
    expect(beyond.body).toMatchObject({ totalResults: 40, startIndex: 41, itemsPerPage: 0, Resources: [] });
    const clamped = await request('GET', '/scim/v2/Users?startIndex=0&count=-3');
    expect(clamped.body).toMatchObject({ startIndex: 1, itemsPerPage: 0 });
    const bad = await request('GET', '/scim/v2/Users?count=ten');
    expect([bad.status, bad.body.scimType]).toEqual([400, 'invalidValue']);
    expect((await request('GET', '/scim/v2/ServiceProviderConfig')).body.filter.maxResults).toBe(15);
  });

  it('when the provider lies about totalResults, then it reports more than exist', async () => {
    const { request } = await startSimulator({ capabilities: { lieAboutTotalResults: true } });
    const page = await request('GET', '/scim/v2/Groups?count=5');
    expect(page.body.itemsPerPage).toBe(5);
    expect(page.body.totalResults).toBeGreaterThan(7);
    const last = await request('GET', `/scim/v2/Groups?startIndex=${page.body.totalResults}&count=5`);
    expect(last.body.itemsPerPage).toBe(0);
  });

  it('when attributes or excludedAttributes are given, then id and schemas stay and the rest follows them', async () => {
    const { request } = await startSimulator();
    const only = await request('GET', `/scim/v2/Users/${users.aliceSmith}?attributes=userName,name.givenName,emails.value`);
    expect(only.body).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      id: users.aliceSmith,
      userName: 'alice.smith@example.com',
      name: { givenName: 'Alice' },
      emails: [{ value: 'alice.smith@example.com' }],
    });
    const without = await request('GET', `/scim/v2/Groups/${groups.engineering}?excludedAttributes=members,meta`);
    expect(without.body).toEqual({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: groups.engineering, displayName: 'Engineering' });
    const memberValues = await request('GET', `/scim/v2/Groups/${groups.engineering}?attributes=members.value`);
    expect(memberValues.body.members[0]).toEqual({ value: groups.engineeringCore });
    const list = await request('GET', '/scim/v2/Groups?attributes=displayName&count=2');
    expect(Object.keys(list.body.Resources[0])).toEqual(['schemas', 'id', 'displayName']);
  });

  it('when discovery and unknown routes are asked for, then config, resource types, 404 and 405 answer', async () => {
    const { request, url } = await startSimulator();
    const config = await request('GET', '/scim/v2/ServiceProviderConfig');
    expect(config.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 1000 },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: true },
      authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken' })],
    });
    expect((await request('GET', '/scim/v2/ResourceTypes')).body.totalResults).toBe(2);
    expect((await request('GET', '/scim/v2/ResourceTypes/Group')).body.endpoint).toBe('/Groups');
    const unknown = await request('GET', '/scim/v2/Widgets');
    expect(unknown.body).toMatchObject({ status: '404', schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'] });
    expect((await request('GET', '/nowhere')).status).toBe(404);
    const wrong = await request('DELETE', '/scim/v2/Users');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, POST');
    expect((await request('POST', '/scim/v2/Groups/abc', { body: {} })).status).toBe(405);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
