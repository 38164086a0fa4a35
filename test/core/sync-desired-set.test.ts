/** A sync that applies its desired set (or finds it held) records it, with its audit record, as the group's reference for drift. */
import { describe, expect, it } from 'vitest';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import type { AuditEntry, AuditRecord, DomainEvent } from '../../src/core/audit.js';
import { ValidationFailedError } from '../../src/core/errors.js';
import type { DesiredMember } from '../../src/core/membership.js';
import type { DesiredSet } from '../../src/core/ports.js';
import { syncGroup, type SyncRequest } from '../../src/core/sync-group.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { syncDeps } from '../fakes/sync-deps.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';

/** The audit log the sync sees, noting what each append carried. */
class RecordingAudit extends MemoryAuditLog {
  readonly appends: { entry: AuditEntry; desired: DesiredSet | undefined }[] = [];
  override async append(entry: AuditEntry, events: readonly DomainEvent[], desired?: DesiredSet): Promise<AuditRecord> {
    this.appends.push({ entry, desired });
    return super.append(entry, events);
  }
}

function setup() {
  const directory = new InMemoryDirectory().addUser('u1').addUser('u2').addUser('off', false).addGroup('g', [{ value: 'u1', type: 'User' }]);
  const audit = new RecordingAudit();
  const clock = new FakeClock();
  const deps = syncDeps({ directory, clock, audit });
  const run = (members: DesiredMember[], extra: Partial<SyncRequest> = {}) => syncGroup(deps, { groupId: 'g', desired: { members }, dryRun: false, actor: 'okta', requestId: 'r', ...extra });
  return { run, audit, clock };
}

describe('the desired set a sync leaves behind', () => {
  it('when a sync applies its members, then its audit append carries them, typed and each once, as the group’s desired set', async () => {
    const { run, audit, clock } = setup();
    const result = await run([{ value: 'u1' }, { value: 'u2', type: 'User', display: 'Two' }]);
    expect(result.status).toBe('applied');
    expect(audit.appends).toHaveLength(1);
    expect(audit.appends[0]?.desired).toEqual({
      backend: 'scim-groups',
      groupId: 'g',
      members: [
        { value: 'u1', type: 'User' },
        { value: 'u2', type: 'User' },
      ],
      syncId: result.syncId,
      owner: 'okta',
      appliedAt: new Date(clock.now()).toISOString(),
    });
  });

  it('when a sync finds the members already held, then the desired set is recorded too', async () => {
    const { run, audit } = setup();
    expect((await run([{ value: 'u1', type: 'User' }])).status).toBe('unchanged');
    expect(audit.appends[0]?.desired?.members).toEqual([{ value: 'u1', type: 'User' }]);
  });

  it('when a sync is a dry run, or fails, then no desired set is recorded', async () => {
    const { run, audit } = setup();
    expect((await run([{ value: 'u2', type: 'User' }], { dryRun: true })).status).toBe('dry_run');
    await expect(run([{ value: 'off', type: 'User' }])).rejects.toBeInstanceOf(ValidationFailedError);
    expect(audit.appends.map((a) => [a.entry.status, a.desired])).toEqual([
      ['dry_run', undefined],
      ['validation_failed', undefined],
    ]);
  });

  it('when a sync acts on behalf of another caller (a drift heal), then the desired set stays that caller’s', async () => {
    const { run, audit } = setup();
    await run([{ value: 'u2', type: 'User' }], { actor: 'drift-heal', onBehalfOf: 'okta' });
    expect(audit.appends[0]?.entry.actor).toBe('drift-heal');
    expect(audit.appends[0]?.desired?.owner).toBe('okta');
  });
});
