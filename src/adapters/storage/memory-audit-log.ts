/**
 * An audit trail held in memory: the same chain and the same queries as the durable
 * store, gone when the process ends. For tests and for one-shot tools that need no
 * history; the service uses the SQLite store.
 */
import { ChainVerifier, GENESIS_HASH, sealRecord, type AnyAuditRecord, type AuditEntry, type AuditRecord, type ChainVerdict, type DomainEvent, type FrontDoorAuditEntry, type FrontDoorAuditRecord } from '../../core/audit.js';
import type { AuditListQuery, AuditTrail, ChangeAudit, Page } from '../../core/ports.js';
import { decodeCursor, encodeCursor } from './cursor.js';

export class MemoryAuditLog implements AuditTrail, ChangeAudit {
  readonly records: AuditRecord[] = [];
  readonly events: DomainEvent[] = [];

  async append(entry: AuditEntry, events: readonly DomainEvent[]): Promise<AuditRecord> {
    const record = sealRecord(entry, this.chain.at(-1)?.hash ?? GENESIS_HASH);
    this.records.push(record);
    this.chain.push(record);
    this.events.push(...events);
    return record;
  }

  /** The SCIM front door's changes outside a sync, in the same chain (`records` holds the syncs only). */
  readonly changes: FrontDoorAuditRecord[] = [];
  /** The chain as appended, every kind of record, oldest first. */
  readonly chain: AnyAuditRecord[] = [];

  async appendChange(entry: FrontDoorAuditEntry): Promise<void> {
    const record = sealRecord(entry, this.chain.at(-1)?.hash ?? GENESIS_HASH);
    this.changes.push(record);
    this.chain.push(record);
  }

  get(syncId: string): AuditRecord | undefined {
    return this.records.find((r) => r.syncId === syncId);
  }

  verify(): ChainVerdict {
    const verifier = new ChainVerifier();
    for (const record of this.chain) if (!verifier.add(record)) break;
    return verifier.verdict();
  }

  async findSync(syncId: string): Promise<AuditRecord | undefined> {
    return this.get(syncId);
  }

  async listRecords(query: AuditListQuery): Promise<Page<AnyAuditRecord>> {
    // The position in `chain` plus one plays the part of the SQLite row sequence.
    const before = query.cursor === undefined ? this.chain.length + 1 : decodeCursor('audit', query.cursor);
    const since = query.since === undefined ? undefined : new Date(query.since).toISOString();
    const items: AnyAuditRecord[] = [];
    let lastSeq = 0;
    for (let seq = Math.min(before - 1, this.chain.length); seq >= 1; seq--) {
      const record = this.chain[seq - 1] as AnyAuditRecord;
      if (since !== undefined && record.createdAt < since) continue;
      if (query.actor !== undefined && record.actor !== query.actor) continue;
      if (query.groupId !== undefined && (!('groupId' in record) || record.groupId !== query.groupId)) continue;
      if (items.length === query.limit) return { items, nextCursor: encodeCursor('audit', lastSeq) };
      items.push(record);
      lastSeq = seq;
    }
    return { items, nextCursor: null };
  }

  async verifyChain(): Promise<ChainVerdict> {
    return this.verify();
  }
}
