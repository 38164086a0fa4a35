/**
 * The CLI's local runner (sync and reconcile without --server) and quarantine: the store's
 * state is the service's, honoured and kept the same way; due probes run before a command's
 * first sync. In process (createLocalSync, as openSyncRuntime builds it), on the embedded
 * simulator over loopback.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { generateSecret } from '../../src/adapters/webhooks/signing.js';
import { createLocalSync } from '../../src/composition/local-sync.js';
import { loadConfig } from '../../src/config.js';
import { seedIds } from '../../src/simulator/seed.js';
import { createSimulator } from '../../src/simulator/simulator.js';
import { tempDir } from '../helpers/temp-dir.js';

const { groups, users } = seedIds;
const broken = groups.platform;
const healthy = groups.contactCenterAgents;

async function setup() {
  const simulator = createSimulator({ scimGroups: true, clients: [{ clientId: 'cli', clientSecret: 'cli-secret-value' }] });
  const baseUrl = await simulator.listen({ port: 0, host: '127.0.0.1' });
  const store = openSqliteStore({ dataDir: tempDir(), newSecret: generateSecret });
  const config = loadConfig({ MEMBERSHIP_BACKEND: 'scim-groups', QUARANTINE_AFTER: '2', QUARANTINE_BACKOFF: '1m' });
  const opened: { close(): Promise<void> }[] = [];
  onTestFinished(async () => {
    for (const local of opened) await local.close();
    store.close();
    await simulator.close();
  });
  /** One command's runtime, as openSyncRuntime builds it. */
  const command = () => {
    const local = createLocalSync(config, { baseUrl, clientId: 'cli', clientSecret: 'cli-secret-value', simulator: true }, store);
    opened.push(local);
    return local;
  };
  const members = (groupId: string) => (simulator.store.getGroup(groupId)?.members ?? []).map((m) => ({ value: m.value, type: 'User' as const }));
  const sync = (local: ReturnType<typeof command>, groupId: string, add: string) =>
    local.runner.run({ groupId, desired: { members: [...members(groupId), { value: add, type: 'User' }] }, dryRun: false, actor: 'cli', requestId: `cli-${Math.random()}` });
  return { simulator, store, command, sync };
}

describe('cli: the local runner and quarantine', () => {
  it('when a group keeps failing in local runs, then it is quarantined as in the service: refused with group_quarantined without an upstream request, the others syncing; a later command probes it once its probe is due, and its sync runs again', async () => {
    const s = await setup();
    s.simulator.setFaults({ groupErrors: { groupIds: [broken], status: 500 } });
    const first = s.command();
    for (let i = 0; i < 2; i++) await expect(s.sync(first, broken, users.aliceSmith)).rejects.toMatchObject({ code: 'upstream_error' });
    expect(await s.store.quarantine.health(broken)).toMatchObject({ phase: 'quarantined', failures: 2 });
    // Its own record, in the failing sync's turn, before that sync's record.
    expect((await s.store.listRecords({ limit: 2 })).items.map((r) => [r.status, 'groupId' in r ? r.groupId : null])).toEqual([
      ['upstream_error', broken],
      ['quarantine_entered', broken],
    ]);

    const before = s.simulator.stats.total;
    await expect(s.sync(first, broken, users.aliceSmith)).rejects.toMatchObject({ code: 'group_quarantined' });
    expect(s.simulator.stats.total).toBe(before);
    await expect(s.sync(first, healthy, users.aliceSmith)).resolves.toMatchObject({ status: 'applied' });

    // A later command, the probe not due yet: still refused, no probe.
    const early = s.command();
    await expect(s.sync(early, broken, users.aliceSmith)).rejects.toMatchObject({ code: 'group_quarantined' });
    expect(await s.store.quarantine.health(broken)).toMatchObject({ phase: 'quarantined', step: 0 });

    // Its probe falls due (QUARANTINE_BACKOFF passed) and the provider is well again: the next command probes, and the sync runs.
    const health = await s.store.quarantine.health(broken);
    await s.store.quarantine.probeFailed(broken, 0, Date.now() - 1, 'upstream_error', health?.updatedAt ?? 0);
    s.simulator.setFaults({ groupErrors: null });
    const later = s.command();
    await expect(s.sync(later, broken, users.aliceSmith)).resolves.toMatchObject({ status: 'applied' });
    expect(await s.store.quarantine.health(broken)).toBeUndefined();
    const statuses = (await s.store.listRecords({ limit: 3 })).items.map((r) => r.status);
    expect(statuses).toEqual(['applied', 'quarantine_released', 'quarantine_half_open']);
    expect(await s.store.verifyChain()).toMatchObject({ ok: true });
  });
});
