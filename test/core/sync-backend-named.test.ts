/**
 * The membership backend in use is named in the sync's answer, in its audit record and in
 * the events it emits. A backend may be chosen per sync (MEMBERSHIP_BACKEND=auto before its
 * probe answered): a sync that finds none fails like any other, audited without a backend.
 * Records written before the backend was recorded still verify next to new ones.
 */
import { describe, expect, it } from 'vitest';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { UpstreamUnavailableError } from '../../src/core/errors.js';
import type { DesiredMember } from '../../src/core/membership.js';
import type { MembershipBackend } from '../../src/core/ports.js';
import { createScimGroupsBackend } from '../../src/core/scim-groups-backend.js';
import { syncGroup, type SyncGroupDeps, type SyncRequest } from '../../src/core/sync-group.js';
import { auditEntry } from '../fakes/audit-entry.js';
import { syncDeps } from '../fakes/sync-deps.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';
import { tempDir } from '../helpers/temp-dir.js';

function setup(extra: Partial<SyncGroupDeps> = {}) {
  const directory = new InMemoryDirectory().addUser('u1').addUser('u2').addGroup('g', [{ value: 'u1', type: 'User' }]);
  const audit = new MemoryAuditLog();
  const deps = syncDeps({ directory, audit, ...extra });
  const run = (members: DesiredMember[], more: Partial<SyncRequest> = {}) => syncGroup(deps, { groupId: 'g', desired: { members }, dryRun: false, actor: 'okta', requestId: 'r', ...more });
  return { run, audit, directory };
}

const MEMBERS: DesiredMember[] = [
  { value: 'u1', type: 'User' },
  { value: 'u2', type: 'User' },
];

describe('the backend in use, named', () => {
  it('when a sync is applied, then its answer, its audit record and its completed event name the backend', async () => {
    const { run, audit } = setup();
    const result = await run(MEMBERS);
    expect(result).toMatchObject({ status: 'applied', backend: 'scim-groups' });
    expect(audit.records[0]).toMatchObject({ status: 'applied', backend: 'scim-groups' });
    expect(audit.events[0]).toMatchObject({ type: 'group.sync.completed', data: { backend: 'scim-groups' } });
  });

  it('when a sync fails after its backend was chosen, then the record and the failed event name it', async () => {
    const { run, audit } = setup();
    await expect(run(MEMBERS, { groupId: 'nope' })).rejects.toMatchObject({ code: 'group_not_found' });
    expect(audit.records[0]).toMatchObject({ status: 'group_not_found', backend: 'scim-groups' });
    expect(audit.events[0]).toMatchObject({ type: 'group.sync.failed', data: { backend: 'scim-groups' } });
  });

  it('when the backend is chosen per sync, then each sync asks in its turn and names the one it got', async () => {
    const directory = new InMemoryDirectory().addUser('u1').addUser('u2').addGroup('g', [{ value: 'u1', type: 'User' }]);
    const scim = createScimGroupsBackend({ directory, maxDepth: 3, writeMode: 'put', patchMaxOperations: 100 });
    const renamed: MembershipBackend = { ...scim, name: 'acd-groups' };
    let asked = 0;
    const { run, audit } = setup({
      directory,
      chooseBackend: async () => {
        asked++;
        return renamed;
      },
    });
    expect(await run(MEMBERS)).toMatchObject({ status: 'applied', backend: 'acd-groups' });
    expect(asked).toBe(1);
    expect(audit.records[0]).toMatchObject({ backend: 'acd-groups' });
  });

  it('when no backend can be chosen yet, then the sync fails with that error and is audited without a backend', async () => {
    const { run, audit } = setup({
      chooseBackend: async () => {
        throw new UpstreamUnavailableError('no membership backend is chosen yet (MEMBERSHIP_BACKEND=auto): SCIM GET /Groups answered 503', 5);
      },
    });
    await expect(run(MEMBERS)).rejects.toMatchObject({ code: 'upstream_unavailable', syncId: 'sync-1', message: expect.stringContaining('no membership backend is chosen yet') });
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]).toMatchObject({ status: 'upstream_unavailable' });
    expect(audit.records[0]).not.toHaveProperty('backend');
    expect(audit.events[0]?.data).not.toHaveProperty('backend');
  });
});

describe('records from before the backend was recorded', () => {
  it('when the trail holds records without a backend and new ones with it, then the whole chain verifies', async () => {
    const store = openSqliteStore({ dataDir: tempDir() });
    try {
      const old = auditEntry({});
      expect(old).not.toHaveProperty('backend');
      await store.append(old, []);
      await store.append({ ...auditEntry({}), backend: 'acd-groups' }, []);
      await store.append(auditEntry({}), []);
      expect(await store.verifyChain()).toEqual({ ok: true, records: 3 });
      const { items } = await store.listRecords({ limit: 10 });
      expect(items.map((r) => ('backend' in r ? r.backend : undefined))).toEqual([undefined, 'acd-groups', undefined]);
    } finally {
      store.close();
    }
  });
});
