import type { AuditEntry, DomainEvent, EventType } from '../../src/core/audit.js';

let counter = 0;

/** A plausible audit entry; each call gets a fresh syncId unless given one. */
export function auditEntry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  counter++;
  const entry = {
    syncId: `sync-${String(counter).padStart(4, '0')}`,
    requestId: `req-${counter}`,
    actor: 'okta',
    groupId: 'g1',
    status: 'applied',
    added: [{ value: 'u1', type: 'User' }],
    removed: [],
    memberCount: 1,
    payloadSha256: 'a'.repeat(64),
    etagBefore: 'W/"1"',
    etagAfter: 'W/"2"',
    writeMode: 'put',
    latencyMs: 12,
    upstreamRequests: 3,
    errors: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    attributes: null,
  };
  return { ...entry, ...overrides } as AuditEntry;
}

export function domainEvent(entry: AuditEntry, type: EventType = 'group.sync.completed'): DomainEvent {
  return { id: `msg_${entry.syncId}_${type}`, type, timestamp: entry.createdAt, data: { syncId: entry.syncId, groupId: entry.groupId, status: entry.status } };
}
