/** AUDIT_RETENTION_DAYS: pruning at start and then every interval of the injected clock, behind a checkpoint. */
import { describe, expect, it, onTestFinished } from 'vitest';
import { createAuditRetention, DAY_MS } from '../../../src/adapters/storage/audit-retention.js';
import { openSqliteStore } from '../../../src/adapters/storage/sqlite-store.js';
import type { Clock } from '../../../src/core/ports.js';
import { auditEntry } from '../../fakes/audit-entry.js';
import { tempDir } from '../../helpers/temp-dir.js';

/** A clock whose sleeps wait until the test moves time past them. */
class ManualClock implements Clock {
  private current = Date.parse('2026-01-01T00:00:00Z');
  private readonly sleepers: { until: number; resolve: () => void }[] = [];
  readonly sleeps: number[] = [];
  now() {
    return this.current;
  }
  monotonic() {
    return this.current;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((resolve, reject) => {
      this.sleepers.push({ until: this.current + ms, resolve });
      signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    });
  }
  /** Moves time on and wakes the sleepers that are due; resolves once they have run. */
  async advance(ms: number): Promise<void> {
    this.current += ms;
    for (const sleeper of this.sleepers.splice(0)) {
      if (sleeper.until <= this.current) sleeper.resolve();
      else this.sleepers.push(sleeper);
    }
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  }
}

function setup(days: number) {
  const clock = new ManualClock();
  const store = openSqliteStore({ dataDir: tempDir(), clock });
  const logs: [string, object, string][] = [];
  const log = { info: (d: object, m: string) => logs.push(['info', d, m]), error: (d: object, m: string) => logs.push(['error', d, m]) };
  const retention = createAuditRetention({ store, days, clock, log, batch: 2 });
  onTestFinished(async () => {
    await retention.stop();
    store.close();
  });
  const append = (count: number) => Promise.all(Array.from({ length: count }, () => store.append(auditEntry({ createdAt: new Date(clock.now()).toISOString() }), [])));
  return { clock, store, logs, retention, append };
}

describe('audit retention', () => {
  it('when started, then it prunes what is older than the retention at once, in batches, and again each hour of the injected clock', async () => {
    const { clock, store, logs, retention, append } = setup(30);
    await append(3);
    await clock.advance(31 * DAY_MS);
    await append(1);
    retention.start();
    await clock.advance(0);
    expect(await store.verifyChain()).toMatchObject({ ok: true, records: 1, checkpoint: { firstSeq: 4, pruned: 3 } });
    expect(logs.filter(([, , m]) => m.startsWith('audit retention: old records pruned')).map(([, d]) => (d as { pruned: number }).pruned)).toEqual([2, 1]);
    expect(clock.sleeps).toEqual([3_600_000]);

    await append(1);
    await clock.advance(30 * DAY_MS + 3_600_000); // the timer fires: the records of day 31 are now older than 30 days
    expect(await store.verifyChain()).toMatchObject({ ok: true, records: 0, checkpoint: { firstSeq: 6, pruned: 5 } });
    await append(1);
    expect(await store.verifyChain()).toMatchObject({ ok: true, records: 1 });
    expect(clock.sleeps).toEqual([3_600_000, 3_600_000]);
  });

  it('when retention is off (0 days), then starting it does nothing and nothing is ever pruned', async () => {
    const { clock, store, retention, append } = setup(0);
    await append(2);
    await clock.advance(3650 * DAY_MS);
    retention.start();
    await clock.advance(0);
    expect(clock.sleeps).toEqual([]);
    expect(await store.verifyChain()).toEqual({ ok: true, records: 2 });
  });

  it('when the records to prune were tampered with, then it logs an error and prunes nothing', async () => {
    const { clock, store, logs, retention } = setup(1);
    await store.append(auditEntry({ createdAt: new Date(clock.now()).toISOString() }), []);
    const sqlite = (store as unknown as { file: string }).file;
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(sqlite);
    db.prepare(`UPDATE audit_records SET entry = json_set(entry, '$.actor', 'mallory')`).run();
    db.close();
    await clock.advance(2 * DAY_MS);
    expect(await retention.runOnce()).toBe(0);
    expect(logs).toContainEqual(['error', expect.objectContaining({ refused: expect.stringContaining('edited') }), expect.stringContaining('nothing pruned')]);
  });
});
