import { describe, expect, it } from 'vitest';
import type { MemberRef } from '../../src/core/membership.js';
import { loadNesting, MAX_NESTING_NODES } from '../../src/core/nesting.js';
import { planMembership } from '../../src/core/plan.js';
import type { RequestContext } from '../../src/core/ports.js';
import { ancestorIds, findLoopAbove, longestChainAbove, validatePlan } from '../../src/core/validate.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';

const user = (value: string): MemberRef => ({ value, type: 'User' });
const group = (value: string): MemberRef => ({ value, type: 'Group' });
const ctx = (): RequestContext => ({ stats: { upstreamRequests: 0 } });

/** Plan, load what validation needs from the directory and validate, as the use case does. */
async function check(directory: InMemoryDirectory, target: string, desired: MemberRef[], maxDepth = 3) {
  const plan = planMembership(directory.membersOf(target), desired);
  const context = ctx();
  const users = await directory.findUsers(plan.added.filter((m) => m.type === 'User').map((m) => m.value), context);
  const nesting = await loadNesting(directory, target, plan.added.filter((m) => m.type === 'Group').map((m) => m.value), maxDepth, context);
  return { errors: validatePlan({ targetId: target, plan, users, nesting, maxDepth }), requests: context.stats.upstreamRequests };
}

const codes = (errors: { code: string; member: MemberRef }[]) => errors.map((e) => `${e.code}:${e.member.value}`);

describe('validatePlan', () => {
  it('when every added user exists and is active, then there is no error', async () => {
    const dir = new InMemoryDirectory().addUser('a').addUser('b').addGroup('t');
    expect((await check(dir, 't', [user('a'), user('b')])).errors).toEqual([]);
  });

  it('when an added user does not exist, then user_not_found names it', async () => {
    const dir = new InMemoryDirectory().addUser('a').addGroup('t');
    const { errors } = await check(dir, 't', [user('a'), user('u-404')]);
    expect(errors).toEqual([{ code: 'user_not_found', member: user('u-404'), message: expect.stringContaining('u-404') }]);
  });

  it('when an added user is inactive, then user_inactive names it', async () => {
    const dir = new InMemoryDirectory().addUser('off', false).addGroup('t');
    expect(codes((await check(dir, 't', [user('off')])).errors)).toEqual(['user_inactive:off']);
  });

  it('when an inactive user is already a member, then it is not re-validated', async () => {
    const dir = new InMemoryDirectory().addUser('off', false).addGroup('t', [user('off')]);
    const result = await check(dir, 't', [user('off')]);
    expect(result.errors).toEqual([]);
    expect(result.requests).toBe(0);
  });

  it('when an added group does not exist, then group_not_found names it', async () => {
    const dir = new InMemoryDirectory().addGroup('t');
    expect(codes((await check(dir, 't', [group('g-404')])).errors)).toEqual(['group_not_found:g-404']);
  });

  it('when the target is added to itself, then self_reference', async () => {
    const dir = new InMemoryDirectory().addGroup('t');
    expect(codes((await check(dir, 't', [group('t')])).errors)).toEqual(['self_reference:t']);
  });

  it('when the request repeats a member, then duplicate_member', async () => {
    const dir = new InMemoryDirectory().addUser('a').addGroup('t');
    expect(codes((await check(dir, 't', [user('a'), user('a')])).errors)).toEqual(['duplicate_member:a']);
  });

  it('when an added group contains the target directly, then cycle_detected', async () => {
    const dir = new InMemoryDirectory().addGroup('t').addGroup('p').nest('p', 't');
    expect(codes((await check(dir, 't', [group('p')])).errors)).toEqual(['cycle_detected:p']);
  });

  it('when an added group contains the target through intermediate groups, then cycle_detected', async () => {
    const dir = new InMemoryDirectory().addGroup('t').addGroup('a').addGroup('b').addGroup('c');
    dir.nest('a', 'b').nest('b', 'c').nest('c', 't');
    expect(codes((await check(dir, 't', [group('a')], 10)).errors)).toEqual(['cycle_detected:a']);
  });

  it('when top ⊃ mid ⊃ target and a leaf is added, then depth_exceeded (4 groups > 3)', async () => {
    const dir = new InMemoryDirectory().addGroup('top').addGroup('mid').addGroup('t').addGroup('leaf');
    dir.nest('top', 'mid').nest('mid', 't');
    const { errors } = await check(dir, 't', [group('leaf')]);
    expect(codes(errors)).toEqual(['depth_exceeded:leaf']);
    expect(errors[0]?.message).toMatch(/4 groups deep.*limit is 3/);
  });

  it('when target ⊃ a ⊃ b, then it is allowed (3 groups)', async () => {
    const dir = new InMemoryDirectory().addGroup('t').addGroup('a').addGroup('b').nest('a', 'b');
    expect((await check(dir, 't', [group('a')])).errors).toEqual([]);
  });

  it('when target ⊃ a ⊃ b ⊃ c, then depth_exceeded', async () => {
    const dir = new InMemoryDirectory().addGroup('t').addGroup('a').addGroup('b').addGroup('c').nest('a', 'b').nest('b', 'c');
    expect(codes((await check(dir, 't', [group('a')])).errors)).toEqual(['depth_exceeded:a']);
  });

  it('when the longest chain above runs through several parents, then the longest one counts', async () => {
    const dir = new InMemoryDirectory().addGroup('t').addGroup('p1').addGroup('p2').addGroup('top').addGroup('leaf');
    dir.nest('p1', 't').nest('p2', 't').nest('top', 'p2');
    expect(codes((await check(dir, 't', [group('leaf')])).errors)).toEqual(['depth_exceeded:leaf']);
    expect((await check(dir, 't', [group('leaf')], 4)).errors).toEqual([]);
  });

  it('when MAX_GROUP_DEPTH is raised, then deeper nesting is accepted', async () => {
    const dir = new InMemoryDirectory().addGroup('top').addGroup('mid').addGroup('t').addGroup('leaf');
    dir.nest('top', 'mid').nest('mid', 't');
    expect((await check(dir, 't', [group('leaf')], 4)).errors).toEqual([]);
  });

  it('when a loop already exists upstream above the target, then the walk ends, and a group added to the target is refused: its depth is unbounded', async () => {
    const dir = new InMemoryDirectory().addGroup('t').addGroup('a').addGroup('b').addGroup('leaf').addUser('u');
    dir.nest('a', 't').nest('b', 'a').nest('a', 'b');
    const { errors } = await check(dir, 't', [group('leaf'), user('u')], 10);
    expect(codes(errors)).toEqual(['depth_exceeded:leaf']);
    expect(errors[0]?.message).toMatch(/loop that already exists upstream \("a" ⊃ "b" ⊃ "a"\)/);
    expect(findLoopAbove('t', new Map([['t', ['a']], ['a', ['b']], ['b', ['a']]]))).toEqual(['a', 'b', 'a']);
    expect(findLoopAbove('t', new Map([['t', ['a', 'c']], ['a', ['b']], ['c', ['b']], ['b', []]]))).toBeNull();
    expect(ancestorIds('t', new Map([['t', ['a']], ['a', ['b']], ['b', ['a']]]))).toEqual(new Set(['a', 'b']));
    expect(longestChainAbove('t', new Map([['t', ['a']], ['a', ['b']], ['b', ['a']]]))).toBe(2);
  });

  it('when an added group sits in a loop that already exists upstream (a ⊃ b ⊃ a), then cycle_detected names it: its depth is unbounded', async () => {
    const dir = new InMemoryDirectory().addGroup('t').addGroup('a').addGroup('b').nest('a', 'b').nest('b', 'a');
    const { errors } = await check(dir, 't', [group('a')], 3);
    expect(codes(errors)).toEqual(['cycle_detected:a']);
    expect(errors[0]?.message).toMatch(/loop/);
    expect(codes((await check(dir, 't', [group('a')], 2)).errors)).toEqual(['depth_exceeded:a']);
  });

  it('when a loop is reachable below an added group (x ⊃ a ⊃ b ⊃ a), then cycle_detected names the added group', async () => {
    const dir = new InMemoryDirectory().addGroup('t').addGroup('x').addGroup('a').addGroup('b').addUser('u');
    dir.nest('x', 'a').nest('a', 'b').nest('b', 'a');
    expect(codes((await check(dir, 't', [group('x'), user('u')], 10)).errors)).toEqual(['cycle_detected:x']);
  });

  it('when the groups below an added group are more than MAX_NESTING_NODES, then nesting_too_large names it instead of a pass', async () => {
    const dir = new InMemoryDirectory().addGroup('t').addGroup('wide').addGroup('small');
    for (let i = 0; i <= MAX_NESTING_NODES; i++) dir.addGroup(`w${i}`).nest('wide', `w${i}`);
    const { errors } = await check(dir, 't', [group('wide'), group('small')], 3);
    expect(codes(errors)).toEqual(['nesting_too_large:wide']);
    expect(errors[0]?.message).toContain(String(MAX_NESTING_NODES));
  });

  it('when the groups above the target are more than MAX_NESTING_NODES, then an added group gets nesting_too_large, not a depth counted from part of the graph', async () => {
    // t is in p0 … p1000, each in q, and q sits 8 groups deep: the real chain is r8 … r1 ⊃ q ⊃ p ⊃ t ⊃ leaf, 12 groups.
    const dir = new InMemoryDirectory().addGroup('t').addGroup('q').addGroup('leaf').addUser('u');
    for (let i = 0; i <= MAX_NESTING_NODES; i++) dir.addGroup(`p${i}`).nest(`p${i}`, 't').nest('q', `p${i}`);
    for (let i = 1; i <= 8; i++) dir.addGroup(`r${i}`).nest(`r${i}`, i === 1 ? 'q' : `r${i - 1}`);
    const { errors } = await check(dir, 't', [group('leaf'), user('u')], 10);
    expect(codes(errors)).toEqual(['nesting_too_large:leaf']);
    // adding users reads no group graph at all
    expect((await check(dir, 't', [user('u')], 10)).errors).toEqual([]);
  });

  it('when several members fail, then every problem is reported at once', async () => {
    const dir = new InMemoryDirectory().addUser('off', false).addGroup('t').addGroup('p').nest('p', 't');
    const { errors } = await check(dir, 't', [user('u-404'), user('off'), group('g-404'), group('t'), group('p'), user('off')]);
    expect(codes(errors).toSorted()).toEqual(
      ['cycle_detected:p', 'duplicate_member:off', 'group_not_found:g-404', 'self_reference:t', 'user_inactive:off', 'user_not_found:u-404'].toSorted(),
    );
  });

  it('when no group is added, then the nesting check reads nothing', async () => {
    const dir = new InMemoryDirectory().addUser('a').addGroup('t').addGroup('top').nest('top', 't');
    const { requests } = await check(dir, 't', [user('a')]);
    expect(requests).toBe(1);
    expect(dir.count('findParentGroups') + dir.count('getGroups')).toBe(0);
  });

  it('when one group is added below a target without parents, then the walk costs a handful of lookups', async () => {
    const dir = new InMemoryDirectory().addGroup('t').addGroup('a').addGroup('b').nest('a', 'b');
    const { requests } = await check(dir, 't', [group('a')]);
    // parents of t, then a (level 1), then b (level 2, to see whether it nests further)
    expect(requests).toBe(3);
  });
});
