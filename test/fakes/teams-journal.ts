import type { JournalEntry, JournalStep, MembershipJournal } from '../../src/core/ports.js';

/** A MembershipJournal in memory: entries by syncId, closed ones kept aside for assertions. */
export class TeamsJournal implements MembershipJournal {
  readonly entries = new Map<string, JournalEntry>();
  readonly closed: JournalEntry[] = [];

  async open(entry: Omit<JournalEntry, 'phase' | 'steps'>): Promise<void> {
    if (this.entries.has(entry.syncId)) throw new Error(`journal entry ${entry.syncId} is open already`);
    this.entries.set(entry.syncId, { ...entry, phase: 'writing', steps: [] });
  }

  async begin(syncId: string, step: Omit<JournalStep, 'state' | 'failed'>): Promise<number> {
    const entry = this.get(syncId);
    this.entries.set(syncId, { ...entry, steps: [...entry.steps, { ...step, state: 'pending' }] });
    return entry.steps.length;
  }

  async end(syncId: string, index: number, state: JournalStep['state'], failed?: JournalStep['failed']): Promise<void> {
    const entry = this.get(syncId);
    const steps = entry.steps.map((step, i) => (i === index ? { ...step, state, ...(failed ? { failed } : {}) } : step));
    this.entries.set(syncId, { ...entry, steps });
  }

  async setPhase(syncId: string, phase: JournalEntry['phase']): Promise<void> {
    this.entries.set(syncId, { ...this.get(syncId), phase });
  }

  async close(syncId: string): Promise<void> {
    this.closed.push(this.get(syncId));
    this.entries.delete(syncId);
  }

  async openEntries(filter: { readonly backend?: JournalEntry['backend']; readonly groupId?: string } = {}): Promise<readonly JournalEntry[]> {
    return [...this.entries.values()].filter((e) => (filter.backend === undefined || e.backend === filter.backend) && (filter.groupId === undefined || e.groupId === filter.groupId));
  }

  private get(syncId: string): JournalEntry {
    const entry = this.entries.get(syncId);
    if (!entry) throw new Error(`no open journal entry ${syncId}`);
    return entry;
  }
}
