import { describe, expect, it } from 'vitest';
import type { MemberRef } from '../../src/core/membership.js';
import { consistencyRate, isEmptyPlan, planMembership } from '../../src/core/plan.js';

const user = (value: string): MemberRef => ({ value, type: 'User' });
const group = (value: string): MemberRef => ({ value, type: 'Group' });

describe('planMembership', () => {
  it('when members are added and removed, then the plan lists exactly those', () => {
    const plan = planMembership([user('a'), user('b'), group('g')], [user('b'), user('c'), group('g')]);
    expect(plan.added).toEqual([user('c')]);
    expect(plan.removed).toEqual([user('a')]);
    expect(plan.unchangedCount).toBe(2);
    expect(plan.duplicates).toEqual([]);
  });

  it('when the desired set equals the current one in another order, then the plan is empty', () => {
    const plan = planMembership([user('a'), user('b')], [user('b'), user('a')]);
    expect(isEmptyPlan(plan)).toBe(true);
  });

  it('when a user and a group share a value, then they are different members', () => {
    const plan = planMembership([user('x')], [group('x')]);
    expect(plan.added).toEqual([group('x')]);
    expect(plan.removed).toEqual([user('x')]);
  });

  it('when the desired set repeats a member, then each extra occurrence is a duplicate and it is added once', () => {
    const plan = planMembership([], [user('a'), user('a'), user('a'), user('b')]);
    expect(plan.added).toEqual([user('a'), user('b')]);
    expect(plan.duplicates).toEqual([user('a'), user('a')]);
  });

  it('when the desired set is empty, then every current member is removed once', () => {
    const plan = planMembership([user('a'), user('a'), group('g')], []);
    expect(plan.removed).toEqual([user('a'), group('g')]);
    expect(plan.added).toEqual([]);
  });

  it('when display names differ, then the member is unchanged (identity is type + value)', () => {
    const plan = planMembership([{ ...user('a'), display: 'Old' }], [{ ...user('a'), display: 'New' }]);
    expect(isEmptyPlan(plan)).toBe(true);
  });

  it('when planning 100,000 members, then it stays linear (finishes with the right counts)', () => {
    const current = Array.from({ length: 100_000 }, (_, i) => user(`u${i}`));
    const desired = [...current.slice(1), user('new')];
    const plan = planMembership(current, desired);
    expect(plan.added).toEqual([user('new')]);
    expect(plan.removed).toEqual([user('u0')]);
    expect(plan.unchangedCount).toBe(99_999);
  });
});

describe('consistencyRate', () => {
  it('when the sets are equal, then it is 1', () => {
    expect(consistencyRate([user('a'), group('g')], [group('g'), user('a')])).toBe(1);
  });
  it('when both are empty, then it is 1', () => {
    expect(consistencyRate([], [])).toBe(1);
  });
  it('when they overlap partly, then it is |∩| / |∪|', () => {
    expect(consistencyRate([user('a'), user('b')], [user('b'), user('c')])).toBeCloseTo(1 / 3);
  });
  it('when they are disjoint, then it is 0', () => {
    expect(consistencyRate([user('a')], [user('b')])).toBe(0);
  });
});
