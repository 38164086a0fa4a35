/** GroupExternalIds in memory: for tests and tools that run without a store (lost on restart). */
import type { MembershipBackendName } from '../../core/outcome.js';
import type { GroupExternalIds } from '../../core/ports.js';

export class MemoryGroupExternalIds implements GroupExternalIds {
  private readonly byGroup = new Map<string, string>();

  async get(backend: MembershipBackendName, groupId: string): Promise<string | undefined> {
    return this.byGroup.get(`${backend}\u0000${groupId}`);
  }

  async find(backend: MembershipBackendName, externalId: string): Promise<string | undefined> {
    const prefix = `${backend}\u0000`;
    for (const [key, value] of this.byGroup) if (key.startsWith(prefix) && value === externalId) return key.slice(prefix.length);
    return undefined;
  }

  async set(backend: MembershipBackendName, groupId: string, externalId: string | null): Promise<boolean> {
    const key = `${backend}\u0000${groupId}`;
    if (externalId === null) {
      this.byGroup.delete(key);
      return true;
    }
    const holder = await this.find(backend, externalId);
    if (holder !== undefined && holder !== groupId) return false;
    this.byGroup.set(key, externalId);
    return true;
  }
}
