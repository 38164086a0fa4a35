/** Every sync that reaches the use case is audited, whatever it was given and however it ends. */
import { describe, expect, it } from 'vitest';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { GroupNotFoundError } from '../../src/core/errors.js';
import type { DesiredMember } from '../../src/core/membership.js';
import { syncGroup, type SyncRequest } from '../../src/core/sync-group.js';
import { syncDeps } from '../fakes/sync-deps.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';

function setup(directory: InMemoryDirectory) {
  const audit = new MemoryAuditLog();
  const deps = syncDeps({ directory, audit });
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
