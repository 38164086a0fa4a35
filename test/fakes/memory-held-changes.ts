import type { HeldChange, HeldChangeStore, HoldDecision } from '../../src/core/ports.js';

/** The held changes in memory, with the SQLite store's rules (an approval lets the next matching retry through once). */
export class MemoryHeldChangeStore implements HeldChangeStore {
  readonly changes: HeldChange[] = [];

  async holdOrPass(change: Omit<HeldChange, 'state' | 'decidedAt' | 'decidedBy' | 'expiredAt'>): Promise<HoldDecision> {
    const index = this.changes.findIndex((c) => c.groupId === change.groupId && c.fingerprint === change.fingerprint && c.state !== 'used' && c.state !== 'expired');
    const found = this.changes[index];
    if (found?.state === 'approved') {
      this.changes[index] = { ...found, state: 'used' };
      return { kind: 'approved', id: found.id };
    }
    if (found) return { kind: found.state === 'rejected' ? 'rejected' : 'held', id: found.id, created: false };
    this.changes.push({ ...change, state: 'held', decidedAt: null, decidedBy: null, expiredAt: null });
    return { kind: 'held', id: change.id, created: true };
  }

  async listHeld(state?: HeldChange['state'], limit = 100): Promise<readonly HeldChange[]> {
    return this.changes.filter((c) => state === undefined || c.state === state).toReversed().slice(0, limit);
  }

  async getHeld(id: string): Promise<HeldChange | undefined> {
    return this.changes.find((c) => c.id === id);
  }

  async decide(id: string, decision: 'approved' | 'rejected', by: string, at: string): Promise<HeldChange | undefined> {
    const index = this.changes.findIndex((c) => c.id === id);
    const found = this.changes[index];
    if (found === undefined || found.state !== 'held') return found;
    const decided: HeldChange = { ...found, state: decision, decidedAt: at, decidedBy: by };
    this.changes[index] = decided;
    return decided;
  }

  async expire(before: string, at: string): Promise<readonly HeldChange[]> {
    const expired: HeldChange[] = [];
    this.changes.forEach((c, index) => {
      const due = (c.state === 'held' && c.createdAt < before) || (c.state === 'approved' && c.decidedAt !== null && c.decidedAt < before);
      if (!due) return;
      expired.push(c);
      this.changes[index] = { ...c, state: 'expired', expiredAt: at };
    });
    return expired;
  }
}
