/**
 * Process-level: SIGTERM while a sync is in flight. The service stops accepting, lets the
 * sync finish within SHUTDOWN_TIMEOUT_MS, or cuts it off past it (503, audited as
 * interrupted), closes storage and exits 0.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { DATABASE_FILE } from '../../src/adapters/storage/sqlite-store.js';
import { createSimulator, seedIds, type Simulator } from '../../src/simulator/simulator.js';
import { startService } from '../helpers/service-process.js';
import { tempDir } from '../helpers/temp-dir.js';

const TOKEN = 'okta-shutdown-token-0001';

async function upstream(): Promise<Simulator> {
  const simulator = createSimulator({ scimGroups: true, clients: [{ clientId: 'svc', clientSecret: 'svc-secret-000001' }] });
  await simulator.listen({ port: 0 });
  onTestFinished(() => simulator.close());
  return simulator;
}

function env(simulator: Simulator, dataDir: string, shutdownTimeoutMs: number): Record<string, string> {
  return {
    CXONE_BASE_URL: simulator.url,
    CXONE_CLIENT_ID: 'svc',
    CXONE_CLIENT_SECRET: 'svc-secret-000001',
    SYNC_API_TOKENS: `okta:${TOKEN}`,
    DATA_DIR: dataDir,
    SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
  };
}

function sync(url: string) {
  return fetch(`${url}/groups/${seedIds.groups.contactCenterAgents}/sync`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ members: [{ value: seedIds.users.aliceSmith, type: 'User' }] }),
  });
}

/** Holds every PUT until released; resolves `arrived` when the first one comes in. */
function holdWrites(simulator: Simulator) {
  let arrive!: () => void;
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  simulator.onRequest(async (req) => {
    if (req.method !== 'PUT') return;
    arrive();
    await released;
  });
  return { arrived, release };
}

function auditStatuses(dataDir: string): string[] {
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
  try {
    return db.prepare<[], { status: string }>('SELECT status FROM audit_records ORDER BY seq').all().map((r) => r.status);
  } finally {
    db.close();
  }
}

describe('process: graceful shutdown', () => {
  it('when SIGTERM arrives during a sync, then the sync finishes, new requests are refused, and the process exits 0', { timeout: 60_000 }, async () => {
    const simulator = await upstream();
    const dataDir = tempDir();
    const service = await startService(env(simulator, dataDir, 20_000));
    const writes = holdWrites(simulator);
    const inFlight = sync(service.url);
    await writes.arrived;
    service.child.kill('SIGTERM');
    await service.waitForLog((entry) => String(entry.msg).startsWith('shutting down'));
    writes.release();
    const res = await inFlight;
    expect(res.status).toBe(200);
    // the listener is closed: a new request is refused (or answered 503 while closing)
    const late = await sync(service.url).then((r) => r.status, () => 'refused');
    expect(['refused', 503]).toContain(late);
    expect((await res.json()) as { status: string }).toMatchObject({ status: 'applied' });
    expect(await service.exited()).toBe(0);
    expect(auditStatuses(dataDir)).toEqual(['applied']);
    expect(simulator.store.getGroup(seedIds.groups.contactCenterAgents)?.members.map((m) => m.value)).toEqual([seedIds.users.aliceSmith]);
  });

  it('when a sync outlasts SHUTDOWN_TIMEOUT_MS, then it is cut off with 503, audited as interrupted, and the process still exits 0', { timeout: 60_000 }, async () => {
    const simulator = await upstream();
    const dataDir = tempDir();
    const service = await startService(env(simulator, dataDir, 300));
    const writes = holdWrites(simulator);
    const inFlight = sync(service.url);
    await writes.arrived;
    service.child.kill('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect((await res.json()) as { error: string }).toMatchObject({ error: 'interrupted' });
    expect(await service.exited()).toBe(0);
    writes.release();
    expect(auditStatuses(dataDir)).toEqual(['interrupted']);
  });
});
