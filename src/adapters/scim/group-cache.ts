/**
 * The groups this process last read or wrote, with the ETag the provider gave them, for
 * conditional reads (RFC 7644 §3.14, RFC 9110 §13.1.2): the next read of a group sends
 * `If-None-Match` with that ETag, and a 304 answer means the group is still exactly what
 * is kept here, so it is neither sent again nor parsed again. An IdP that syncs the same
 * group over and over then costs the provider and the service a bodyless answer per read
 * instead of the whole group (17 MB at 100,000 members). The provider decides freshness
 * every time; a provider without ETags or without If-None-Match simply answers 200.
 *
 * Bounded by the number of members kept (least recently used groups go first); a group
 * larger than the bound is not kept.
 */
import type { GroupSnapshot } from '../../core/membership.js';

export interface GroupCache {
  /** The kept snapshot (with its ETag), as the most recently used. */
  get(id: string): (GroupSnapshot & { readonly etag: string }) | undefined;
  /** Keeps a snapshot that has an ETag; one without forgets the group. */
  set(id: string, snapshot: GroupSnapshot): void;
  delete(id: string): void;
  /** Members kept in all. */
  readonly members: number;
}

export function createGroupCache(maxMembers: number): GroupCache {
  // A Map iterates in insertion order: re-inserting on use makes the first key the least recently used.
  const entries = new Map<string, GroupSnapshot & { readonly etag: string }>();
  let members = 0;

  const remove = (id: string) => {
    const old = entries.get(id);
    if (old === undefined) return;
    entries.delete(id);
    members -= weight(old);
  };

  return {
    get(id) {
      const entry = entries.get(id);
      if (entry === undefined) return undefined;
      entries.delete(id);
      entries.set(id, entry);
      return entry;
    },
    set(id, snapshot) {
      remove(id);
      const { etag } = snapshot;
      if (etag === null || weight(snapshot) > maxMembers) return;
      entries.set(id, { ...snapshot, etag });
      members += weight(snapshot);
      for (const [oldest, entry] of entries) {
        if (members <= maxMembers) break;
        entries.delete(oldest);
        members -= weight(entry);
      }
    },
    delete: remove,
    get members() {
      return members;
    },
  };
}

/** A group counts as its members, and at least 1. */
function weight(snapshot: GroupSnapshot): number {
  return Math.max(1, snapshot.group.members.length);
}
