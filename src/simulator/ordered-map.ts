/**
 * An insertion-ordered map over an array of slots plus a key → slot index: O(1) get, add
 * and delete, positional slices for pagination, and exact undo (a deleted entry can be put
 * back in its old slot), so that a failed PATCH restores a 100,000-member group without
 * copying it. Deletes leave holes; compact() squeezes them out in one O(n) pass, which
 * callers run only once holes outnumber live entries.
 */
export class OrderedMap<V> {
  private slots: (V | undefined)[] = [];
  private keys: (string | undefined)[] = [];
  private readonly index = new Map<string, number>();
  private holes = 0;

  get size(): number {
    return this.index.size;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get(key: string): V | undefined {
    const slot = this.index.get(key);
    return slot === undefined ? undefined : this.slots[slot];
  }

  /** Appends a new key, or replaces the value of an existing one in place. */
  set(key: string, value: V): void {
    const slot = this.index.get(key);
    if (slot !== undefined) {
      this.slots[slot] = value;
      return;
    }
    this.index.set(key, this.slots.length);
    this.slots.push(value);
    this.keys.push(key);
  }

  /** Removes the key and returns the slot it held (for restore()), or -1 when absent. */
  delete(key: string): number {
    const slot = this.index.get(key);
    if (slot === undefined) return -1;
    this.index.delete(key);
    if (slot === this.slots.length - 1) {
      this.slots.pop();
      this.keys.pop();
      while (this.slots.length > 0 && this.keys[this.keys.length - 1] === undefined) {
        this.slots.pop();
        this.keys.pop();
        this.holes--;
      }
    } else {
      this.slots[slot] = undefined;
      this.keys[slot] = undefined;
      this.holes++;
    }
    return slot;
  }

  /** Puts back an entry removed by delete() at its old slot; valid only if no compact() ran since. */
  restore(key: string, value: V, slot: number): void {
    while (this.slots.length < slot) {
      this.slots.push(undefined);
      this.keys.push(undefined);
      this.holes++;
    }
    if (slot === this.slots.length) {
      this.slots.push(value);
      this.keys.push(key);
    } else {
      this.slots[slot] = value;
      this.keys[slot] = key;
      this.holes--;
    }
    this.index.set(key, slot);
  }

  *values(): IterableIterator<V> {
    for (const value of this.slots) if (value !== undefined) yield value;
  }

  /** Live entries [start, end) by position (0-based). */
  slice(start: number, end: number): V[] {
    this.compact();
    return this.slots.slice(start, end) as V[];
  }

  toArray(): V[] {
    this.compact();
    return this.slots.slice() as V[];
  }

  compact(): void {
    if (this.holes === 0) return;
    const slots: V[] = [];
    const keys: string[] = [];
    for (let i = 0; i < this.slots.length; i++) {
      const value = this.slots[i];
      const key = this.keys[i];
      if (value === undefined || key === undefined) continue;
      this.index.set(key, slots.length);
      slots.push(value);
      keys.push(key);
    }
    this.slots = slots;
    this.keys = keys;
    this.holes = 0;
  }

  /** compact() once holes outnumber live entries: amortised O(1) per delete. */
  maybeCompact(): void {
    if (this.holes > 32 && this.holes > this.index.size) this.compact();
  }
}
