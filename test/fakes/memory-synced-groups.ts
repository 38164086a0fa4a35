import type { MembershipBackendName } from '../../src/core/outcome.js';
import type { SyncedGroups } from '../../src/core/ports.js';

/** SyncedGroups in memory: the groups marked as synced, per backend. */
export class MemorySyncedGroups implements SyncedGroups {
  private readonly groups = new Set<string>();

  mark(backend: MembershipBackendName, groupId: string): this {
    this.groups.add(`${backend}\u0000${groupId}`);
    return this;
  }

  async synced(backend: MembershipBackendName, groupIds: readonly string[]): Promise<ReadonlySet<string>> {
    return new Set(groupIds.filter((id) => this.groups.has(`${backend}\u0000${id}`)));
  }
}
