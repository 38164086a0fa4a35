import { describe, expect, it } from 'vitest';
import { createGroupCache } from '../../../src/adapters/scim/group-cache.js';
import type { GroupSnapshot } from '../../../src/core/membership.js';

const snapshot = (id: string, members: number, etag: string | null = `W/"${id}"`): GroupSnapshot => ({
  group: { id, displayName: id, members: Array.from({ length: members }, (_, i) => ({ value: `${id}-u${i}`, type: 'User' as const })), extra: {} },
  etag,
});

describe('group cache for conditional reads', () => {
  it('when it holds more members than its bound, then the least recently used groups go first', () => {
    const cache = createGroupCache(10);
    cache.set('a', snapshot('a', 4));
    cache.set('b', snapshot('b', 4));
    expect(cache.get('a')?.etag).toBe('W/"a"'); // a is now the most recently used
    cache.set('c', snapshot('c', 4));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.group.members).toHaveLength(4);
    expect(cache.get('c')).toBeDefined();
    expect(cache.members).toBe(8);
  });

  it('when a snapshot has no ETag or is larger than the bound, then the group is not kept (and an older one is forgotten)', () => {
    const cache = createGroupCache(10);
    cache.set('a', snapshot('a', 2));
    cache.set('a', snapshot('a', 2, null));
    expect(cache.get('a')).toBeUndefined();
    cache.set('b', snapshot('b', 11));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.members).toBe(0);
  });

  it('when a group is replaced or deleted, then the count follows; an empty group counts as one; a bound of 0 keeps nothing', () => {
    const cache = createGroupCache(10);
    cache.set('a', snapshot('a', 5));
    cache.set('a', snapshot('a', 3));
    cache.set('e', snapshot('e', 0));
    expect(cache.members).toBe(4);
    cache.delete('a');
    cache.delete('missing');
    expect(cache.members).toBe(1);
    const off = createGroupCache(0);
    off.set('e', snapshot('e', 0));
    expect(off.get('e')).toBeUndefined();
  });
});
