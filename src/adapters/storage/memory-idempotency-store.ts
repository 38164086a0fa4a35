/** Idempotency keys in memory: the SQLite store's behaviour, for tests and one-shot tools. */
import type { Clock, IdempotencyClaim, IdempotencyStore, StoredResponse } from '../../core/ports.js';

interface Entry {
  fingerprint: string;
  response: StoredResponse | null;
  expiresAt: number;
}

export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly clock: Clock) {}

  async claim(actor: string, key: string, fingerprint: string, ttlMs: number): Promise<IdempotencyClaim> {
    const id = `${actor}\u0000${key}`;
    const now = this.clock.now();
    const entry = this.entries.get(id);
    if (entry && entry.expiresAt > now) {
      return entry.response ? { claimed: false, fingerprint: entry.fingerprint, state: 'completed', response: entry.response } : { claimed: false, fingerprint: entry.fingerprint, state: 'processing' };
    }
    this.entries.set(id, { fingerprint, response: null, expiresAt: now + ttlMs });
    return { claimed: true };
  }

  async complete(actor: string, key: string, response: StoredResponse): Promise<void> {
    const entry = this.entries.get(`${actor}\u0000${key}`);
    if (entry && entry.response === null) entry.response = response;
  }

  async release(actor: string, key: string): Promise<void> {
    const id = `${actor}\u0000${key}`;
    if (this.entries.get(id)?.response === null) this.entries.delete(id);
  }

  async releaseAbandoned(): Promise<number> {
    let released = 0;
    for (const [id, entry] of this.entries) {
      if (entry.response === null) {
        this.entries.delete(id);
        released++;
      }
    }
    return released;
  }
}
