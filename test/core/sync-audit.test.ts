/** Every sync that reaches the use case is audited, whatever it was given and however it ends. */
import { describe, expect, it } from 'vitest';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { GroupNotFoundError } from '../../src/core/errors.js';
import { KeyedLock } from '../../src/core/keyed-lock.js';
import type { DesiredMember } from '../../src/core/membership.js';
import { syncGroup, type SyncGroupDeps, type SyncRequest } from '../../src/core/sync-group.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { RecordingMetrics } from '../fakes/recording-metrics.js';

function setup(directory: InMemoryDirectory) {
  let n = 0;
  const audit = new MemoryAuditLog();
  const deps: SyncGroupDeps = {
    directory,
    clock: new FakeClock(),
    locks: new KeyedLock(),
    audit,
    metrics: new RecordingMetrics(),
    newSyncId: () => `sync-${++n}`,
    newEventId: () => `evt-${n}`,
    maxDepth: 3,
    maxConflictRetries: 3,
    writeMode: 'put',
    patchMaxOperations: 100,
    attributes: { entitlementMap: {}, concurrency: 4 },
  };
  const run = (members: DesiredMember[], extra: Partial<SyncRequest> = {}) =>
    syncGroup(deps, { groupId: 't', desired: { members }, dryRun: false, actor: 'okta', requestId: 'r', ...extra });
  return { run, audit, directory };
}

describe('every sync that reaches the use case is audited', () => {
  it('when a member carries a deeply nested attribute the sync does not know, then the failure is still audited', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    const { run, audit } = setup(new InMemoryDirectory());
    const member = { value: 'a', type: 'User', extra: deep } as unknown as DesiredMember;
    await expect(run([member])).rejects.toBeInstanceOf(GroupNotFoundError);
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]).toMatchObject({ status: 'group_not_found', payloadSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('when the request digest cannot be computed, then the failure is still audited, its digest marked unavailable', async () => {
    const { run, audit } = setup(new InMemoryDirectory());
    const member = { value: 'a', type: 'User', display: 10n } as unknown as DesiredMember;
    await expect(run([member])).rejects.toBeInstanceOf(GroupNotFoundError);
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]).toMatchObject({ status: 'group_not_found', payloadSha256: 'unavailable' });
  });
});
