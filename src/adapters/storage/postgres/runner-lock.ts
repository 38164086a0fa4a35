/**
 * "One replica runs this at a time" on PostgreSQL: a session-level advisory lock
 * (pg_try_advisory_lock) on a connection of its own, held while the replica runs the work
 * (the quarantine probes). A replica that dies leaves it as soon as PostgreSQL notices its
 * session is gone; a dropped connection loses it, and the next tryHold opens a new one.
 */
import { Client } from 'pg';
import { advisoryKey } from './advisory-key.js';

export interface RunnerLock {
  /** Whether this process holds the lock now: taken if it is free (never waits). */
  tryHold(): Promise<boolean>;
  /** Gives the lock back and ends its connection. */
  close(): Promise<void>;
}

export function createPostgresRunnerLock(options: { readonly connectionString: string; readonly name: string }): RunnerLock {
  const key = advisoryKey('cxone-scim-sync/runner', options.name);
  let client: Client | null = null;
  let holding = false;
  const drop = () => {
    holding = false;
    const old = client;
    client = null;
    void old?.end().catch(() => {});
  };
  return {
    async tryHold() {
      if (holding && client !== null) return true;
      try {
        if (client === null) {
          const fresh = new Client({ connectionString: options.connectionString, keepAlive: true, connectionTimeoutMillis: 10_000 });
          fresh.on('error', () => {
            if (client === fresh) drop();
          });
          fresh.on('end', () => {
            if (client === fresh) drop();
          });
          client = fresh;
          await fresh.connect();
        }
        const { rows } = await client.query<{ held: boolean }>('SELECT pg_try_advisory_lock($1) AS held', [key]);
        holding = rows[0]?.held === true;
        return holding;
      } catch {
        drop();
        return false;
      }
    },
    async close() {
      const old = client;
      client = null;
      holding = false;
      await old?.end().catch(() => {});
    },
  };
}

/** The lock of a store one process writes (SQLite): always held. */
export const SOLE_RUNNER: RunnerLock = { tryHold: async () => true, close: async () => {} };
