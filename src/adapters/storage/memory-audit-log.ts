/**
 * An audit trail held in memory: the same chain and the same queries as the durable
 * store, gone when the process ends. For tests and for one-shot tools that need no
 * history; the service uses the SQLite store.
 */
import { ChainVerifier, GENESIS_HASH, sealRecord, type AuditEntry, type AuditRecord, type ChainVerdict, type DomainEvent } from '../../core/audit.js';
import type { AuditLog } from '../../core/ports.js';

export class MemoryAuditLog implements AuditLog {
  readonly records: AuditRecord[] = [];
  readonly events: DomainEvent[] = [];

  async append(entry: AuditEntry, events: readonly DomainEvent[]): Promise<AuditRecord> {
    const record = sealRecord(entry, this.records.at(-1)?.hash ?? GENESIS_HASH);
    this.records.push(record);
    this.events.push(...events);
    return record;
  }

  get(syncId: string): AuditRecord | undefined {
    return this.records.find((r) => r.syncId === syncId);
  }

  verify(): ChainVerdict {
    const verifier = new ChainVerifier();
    for (const record of this.records) if (!verifier.add(record)) break;
    return verifier.verdict();
  }
}
