/**
 * "One replica runs this at a time" on PostgreSQL: a session-level advisory lock
 * (pg_try_advisory_lock) on a connection of its own, held while the replica runs the work
 * (the quarantine probes). A replica that dies leaves it as soon as PostgreSQL notices its
 * session is gone; a dropped connection loses it, and the next tryHold asks again. Built on
 * the scheduler lease (./scheduler-lease.ts), which also pings a held lease's connection.
 */
import type { HeldGroupLock } from '../../../core/ports.js';
import { createPostgresLease } from './scheduler-lease.js';

export interface RunnerLock {
  /** Whether this process holds the lock now: taken if it is free (never waits). */
  tryHold(): Promise<boolean>;
  /** Gives the lock back and ends its connection. */
  close(): Promise<void>;
}

export function createPostgresRunnerLock(options: { readonly connectionString: string; readonly name: string }): RunnerLock {
  // The same lease as the drift scheduler's (./scheduler-lease.ts), asked for without waiting and kept while it holds.
  const lease = createPostgresLease(options);
  let held: HeldGroupLock | null = null;
  return {
    async tryHold() {
      if (held !== null && !held.lost.aborted) return true;
      // A lease that was lost (its connection dropped) is given up; a new one is asked for.
      await held?.release();
      held = null;
      try {
        held = await lease.tryAcquire();
      } catch {
        held = null;
      }
      return held !== null;
    },
    async close() {
      await held?.release();
      held = null;
      await lease.close();
    },
  };
}

/** The lock of a store one process writes (SQLite): always held. */
export const SOLE_RUNNER: RunnerLock = { tryHold: async () => true, close: async () => {} };
