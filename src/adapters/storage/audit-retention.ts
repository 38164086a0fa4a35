/**
 * AUDIT_RETENTION_DAYS: prunes audit records older than the retention, keeping the chain
 * verifiable (each pruning writes a checkpoint the kept records continue from). It runs
 * once at start and then every hour on the injected clock, in batches, so that a large
 * backlog never holds the database for long.
 */
import type { Clock } from '../../core/ports.js';
import type { PruneResult } from './sqlite-store.js';

export const DAY_MS = 86_400_000;

export interface RetentionLog {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface AuditRetentionOptions {
  readonly store: { pruneAudit(before: number, limit?: number): Promise<PruneResult> };
  readonly days: number;
  readonly clock: Clock;
  readonly log: RetentionLog;
  /** Between runs. Default one hour. */
  readonly intervalMs?: number;
  /** Records per batch. Default 10,000. */
  readonly batch?: number;
}

export interface AuditRetention {
  /** One run: prunes every batch due now. Resolves with how many records were pruned. */
  runOnce(): Promise<number>;
  /** Runs now, then every interval, until stop(). */
  start(): void;
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

export function createAuditRetention(options: AuditRetentionOptions): AuditRetention {
  const { store, days, clock, log } = options;
  const intervalMs = options.intervalMs ?? 3_600_000;
  const batch = options.batch ?? 10_000;
  const controller = new AbortController();
  let loop: Promise<void> | undefined;

  async function runOnce(): Promise<number> {
    const before = clock.now() - days * DAY_MS;
    let total = 0;
    for (;;) {
      const result = await store.pruneAudit(before, batch);
      total += result.pruned;
      if (result.refused !== undefined) {
        log.error({ refused: result.refused, before: new Date(before).toISOString() }, 'audit retention: nothing pruned this time (see refused)');
        break;
      }
      if (result.pruned > 0) log.info({ pruned: result.pruned, checkpoint: result.checkpoint }, 'audit retention: old records pruned behind a checkpoint');
      if (result.pruned < batch) break;
    }
    return total;
  }

  return {
    runOnce,
    start() {
      if (loop || days <= 0) return;
      loop = (async () => {
        while (!controller.signal.aborted) {
          try {
            await runOnce();
          } catch (error) {
            log.error({ err: error }, 'audit retention failed; it runs again at the next interval');
          }
          try {
            await clock.sleep(intervalMs, controller.signal);
          } catch {
            return;
          }
        }
      })();
    },
    async stop() {
      controller.abort();
      await loop;
    },
  };
}
