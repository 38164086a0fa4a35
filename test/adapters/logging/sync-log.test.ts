import { describe, expect, it } from 'vitest';
import { withSyncLog } from '../../../src/adapters/logging/sync-log.js';
import { MemoryAuditLog } from '../../../src/adapters/storage/memory-audit-log.js';
import { auditEntry } from '../../fakes/audit-entry.js';

function recordingLog() {
  const lines: { level: string; message: string }[] = [];
  const at = (level: string) => (_details: object, message: string) => lines.push({ level, message });
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('the sync log line', () => {
  it('when an ACD group write failed and so did its undo (rollback_failed), then the line is an error saying the group is left in between', async () => {
    const { lines, log } = recordingLog();
    await withSyncLog(new MemoryAuditLog(), log).append(auditEntry({ status: 'rollback_failed', errors: [{ code: 'rollback_failed', message: 'undo failed' }] }), []);
    expect(lines).toEqual([{ level: 'error', message: expect.stringContaining('the group is left in between') }]);
  });

  it('when a sync failed in another way, then the line stays at info', async () => {
    const { lines, log } = recordingLog();
    await withSyncLog(new MemoryAuditLog(), log).append(auditEntry({ status: 'upstream_error' }), []);
    expect(lines).toEqual([{ level: 'info', message: 'sync failed' }]);
  });
});
