/**
 * The admin-API write journal in memory (MembershipJournal): what the SQLite store keeps,
 * for core tests. `snapshot()` copies every open entry, so a test can "crash" a sync at
 * any journal step and recover from exactly what was journaled.
 */
import type { JournalEntry, JournalStep, MembershipJournal } from '../../src/core/ports.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export class InMemoryJournal implements MembershipJournal {
  private readonly entries = new Map<string, Omit<Mutable<JournalEntry>, 'steps'> & { steps: Mutable<JournalStep>[] }>();
  /** Every call, in order: `open`, `begin:remove`, `end:done`, `phase:undoing`, `close`. */
  readonly log: string[] = [];
  /** Called after each journal write, with its log line: throw from it to cut a sync off there. */
  onWrite: ((line: string) => void) | null = null;

  private note(line: string): void {
    this.log.push(line);
    this.onWrite?.(line);
  }

  async open(entry: Omit<JournalEntry, 'phase' | 'steps'>): Promise<void> {
    if (this.entries.has(entry.syncId)) throw new Error(`journal entry ${entry.syncId} is open already`);
    this.entries.set(entry.syncId, { ...entry, phase: 'writing', steps: [] });
    this.note('open');
  }

  async begin(syncId: string, step: Omit<JournalStep, 'state' | 'failed'>): Promise<number> {
    const entry = this.get(syncId);
    entry.steps.push({ ...step, agentIds: [...step.agentIds], state: 'pending' });
    this.note(`begin:${step.undo ? 'undo-' : ''}${step.action}`);
    return entry.steps.length - 1;
  }

  async end(syncId: string, index: number, state: JournalStep['state'], failed?: JournalStep['failed']): Promise<void> {
    const step = this.get(syncId).steps[index];
    if (!step) throw new Error(`no step ${index}`);
    step.state = state;
    if (failed) step.failed = failed;
    this.note(`end:${state}`);
  }

  async setPhase(syncId: string, phase: JournalEntry['phase']): Promise<void> {
    this.get(syncId).phase = phase;
    this.note(`phase:${phase}`);
  }

  async close(syncId: string): Promise<void> {
    this.entries.delete(syncId);
    this.note('close');
  }

  async openEntries(filter?: { readonly backend?: JournalEntry['backend']; readonly groupId?: string }): Promise<readonly JournalEntry[]> {
    return [...this.entries.values()]
      .filter((e) => (filter?.backend === undefined || e.backend === filter.backend) && (filter?.groupId === undefined || e.groupId === filter.groupId))
      .toSorted((a, b) => a.openedAt.localeCompare(b.openedAt))
      .map((e) => structuredClone(e));
  }

  private get(syncId: string) {
    const entry = this.entries.get(syncId);
    if (!entry) throw new Error(`no open journal entry ${syncId}`);
    return entry;
  }
}
