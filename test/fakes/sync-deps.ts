/**
 * The use case's ports for core tests: an in-memory directory (unless given), a fresh queue,
 * an in-memory audit log, a fake clock, recording metrics, numbered sync and event ids, and
 * the settings every core test starts from (depth 3, 3 conflict retries, PUT, 100 PATCH
 * operations, no entitlement map). `overrides` replaces any of them.
 */
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { KeyedLock } from '../../src/core/keyed-lock.js';
import type { SyncGroupDeps } from '../../src/core/sync-group.js';
import { FakeClock } from './fake-clock.js';
import { InMemoryDirectory } from './in-memory-directory.js';
import { RecordingMetrics } from './recording-metrics.js';

export function syncDeps(overrides: Partial<SyncGroupDeps> = {}): SyncGroupDeps {
  let n = 0;
  return {
    directory: new InMemoryDirectory(),
    clock: new FakeClock(),
    locks: new KeyedLock(),
    audit: new MemoryAuditLog(),
    metrics: new RecordingMetrics(),
    newSyncId: () => `sync-${++n}`,
    newEventId: () => `evt-${n}`,
    maxDepth: 3,
    maxConflictRetries: 3,
    writeMode: 'put',
    patchMaxOperations: 100,
    attributes: { entitlementMap: {}, concurrency: 4 },
    ...overrides,
  };
}
