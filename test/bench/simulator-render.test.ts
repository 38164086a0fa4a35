/**
 * The simulator answers whole groups from cached member fragments (store.renderJson): the
 * text must stay exactly what JSON.stringify of the rendered object gives, also after the
 * writes that change a member's display or remove it.
 */
import { describe, expect, it } from 'vitest';
import { resolveSeed, seedIds } from '../../src/simulator/seed.js';
import { createSimulatorStore } from '../../src/simulator/store.js';

function engine() {
  let base = 'http://127.0.0.1:4000';
  const store = createSimulatorStore({ seed: resolveSeed('default'), now: () => 1_700_000_000_000, baseUrl: () => base });
  const same = (id: string) => expect(store.renderJson('Group', id, null)).toBe(JSON.stringify(store.render('Group', id, null)));
  return { store, same, setBase: (next: string) => (base = next) };
}

describe('simulator group rendering from cached member fragments', () => {
  const { groups, users } = seedIds;

  it('when every seeded group is rendered, then the text equals JSON.stringify of the rendered object', () => {
    const { store, same } = engine();
    for (const id of Object.values(groups)) same(id);
    expect(JSON.parse(store.renderJson('Group', groups.engineering, null) as string).members.length).toBeGreaterThan(0);
  });

  it('when a member user is renamed, replaced or deleted, then the next rendering shows it', () => {
    const { store, same } = engine();
    same(groups.engineeringCore);
    store.patchUser(users.aliceSmith, [{ op: 'replace', path: 'displayName', value: 'Alice Renamed' }]);
    same(groups.engineeringCore);
    expect(store.renderJson('Group', groups.engineeringCore, null)).toContain('"display":"Alice Renamed"');
    store.replaceUser(users.davidKim, { userName: 'david.k@example.com' });
    same(groups.engineeringCore);
    store.deleteUser(users.aliceSmith);
    same(groups.engineeringCore);
    expect(store.renderJson('Group', groups.engineeringCore, null)).not.toContain(users.aliceSmith);
  });

  it('when a member group is renamed by PUT or PATCH, then its parent shows the new display', () => {
    const { store, same } = engine();
    same(groups.engineering);
    store.patchGroup(groups.engineeringCore, [{ op: 'replace', path: 'displayName', value: 'Core Team' }]);
    same(groups.engineering);
    expect(store.renderJson('Group', groups.engineering, null)).toContain('"display":"Core Team"');
    store.replaceGroup(groups.engineeringCore, { displayName: 'Core Team 2', members: [{ value: users.aliceSmith, type: 'User' }] });
    same(groups.engineering);
    same(groups.engineeringCore);
  });

  it('when a group lists itself and is renamed, then its own entry shows the new display', () => {
    const { store, same } = engine();
    store.putGroup({ id: 'loop-group', displayName: 'Loop', members: [{ value: 'loop-group', type: 'Group' }] });
    same('loop-group');
    store.patchGroup('loop-group', [{ op: 'replace', path: 'displayName', value: 'Loop Renamed' }]);
    same('loop-group');
    expect(store.renderJson('Group', 'loop-group', null)).toContain('"display":"Loop Renamed"');
  });

  it('when the base URL changes, then $ref follows it; a projection still goes through the object rendering', () => {
    const { store, same, setBase } = engine();
    same(groups.allStaff);
    setBase('http://127.0.0.1:5000');
    same(groups.allStaff);
    expect(store.renderJson('Group', groups.allStaff, null)).toContain('http://127.0.0.1:5000/scim/v2/');
    const projection = { mode: 'include' as const, attrs: new Map([['displayname', null]]) };
    expect(store.renderJson('Group', groups.allStaff, projection)).toBe(JSON.stringify(store.render('Group', groups.allStaff, projection)));
    expect(store.renderJson('User', users.aliceSmith, null)).toBe(JSON.stringify(store.render('User', users.aliceSmith, null)));
    expect(store.renderJson('Group', 'nope', null)).toBeUndefined();
    expect(store.renderJson('User', 'nope', null)).toBeUndefined();
  });

  it('when a load group of thousands is rendered twice, then both texts are equal and exact', () => {
    const { store, same } = engine();
    const load = store.createLoadGroup({ displayName: 'load', userCount: 2000 });
    same(load.id);
    store.removeMembers(load.id, load.userIds.slice(0, 10));
    same(load.id);
    expect(JSON.parse(store.renderJson('Group', load.id, null) as string).members).toHaveLength(1990);
  });
});
