import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../../src/core/audit.js';
import { openSqliteStore, type SqliteStore } from '../../../src/adapters/storage/sqlite-store.js';
import { auditEntry } from '../../fakes/audit-entry.js';
import { tempDir } from '../../helpers/temp-dir.js';

describe('SQLite store: the groups this service syncs', () => {
  const open: SqliteStore[] = [];
  afterEach(() => {
    for (const store of open.splice(0)) store.close();
  });

  it('when the audit trail holds an applied or unchanged sync of a group, then it counts as synced; failed syncs and other backends\' records do not', async () => {
    const store = openSqliteStore({ dataDir: tempDir() });
    open.push(store);
    await store.append(auditEntry({ groupId: '3001', status: 'applied' }), []);
    await store.append(auditEntry({ groupId: '3002', status: 'unchanged' }), []);
    await store.append(auditEntry({ groupId: '3003', status: 'validation_failed' }), []);
    await store.append({ ...auditEntry({ groupId: '3004', status: 'applied' }), backend: 'acd-groups' } as AuditEntry, []);
    await store.append({ ...auditEntry({ groupId: '3005', status: 'applied' }), backend: 'teams' } as AuditEntry, []);

    const synced = await store.syncedGroups.synced('teams', ['3001', '3002', '3003', '3004', '3005', '3006']);

    expect([...synced].toSorted()).toEqual(['3001', '3002', '3005']);
    expect(await store.syncedGroups.synced('teams', [])).toEqual(new Set());
  });
});
