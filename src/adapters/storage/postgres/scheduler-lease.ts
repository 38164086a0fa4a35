/**
 * The lease of a background job across the replicas (SchedulerLease) on PostgreSQL: a
 * session-level advisory lock taken with pg_try_advisory_lock on a connection of its own,
 * held as long as that session lives. One replica holds it; the others find it taken and
 * ask again later. A replica that dies leaves it as soon as PostgreSQL notices its session
 * is gone; a connection that drops or stops answering (a ping every `pingMs`) aborts `lost`
 * at once, so the holder stops before another replica may take over.
 */
import { Client } from 'pg';
import type { HeldGroupLock, SchedulerLease } from '../../../core/ports.js';
import { advisoryKey } from './advisory-key.js';
import { describePgError } from './postgres-store.js';

export interface PostgresLeaseOptions {
  /** DATABASE_URL. */
  readonly connectionString: string;
  /** What the lease is for (the drift scheduler): its advisory lock key is derived from it. */
  readonly name: string;
  /** How often a held lease's connection is checked. Default 5 s. */
  readonly pingMs?: number;
}

export interface PostgresLease extends SchedulerLease {
  /** Ends the lease's connection (a held lease is given back). */
  close(): Promise<void>;
}

export function createPostgresLease(options: PostgresLeaseOptions): PostgresLease {
  const key = advisoryKey('cxone-scim-sync/lease', options.name);
  const pingMs = options.pingMs ?? 5_000;
  const open = new Set<Client>();

  async function end(client: Client): Promise<void> {
    open.delete(client);
    await client.end().catch(() => {});
  }

  return {
    async tryAcquire(): Promise<HeldGroupLock | null> {
      const client = new Client({ connectionString: options.connectionString, keepAlive: true, connectionTimeoutMillis: 10_000 });
      const lost = new AbortController();
      let holding = false;
      const lose = (why: string) => {
        if (holding && !lost.signal.aborted) lost.abort(new Error(`the ${options.name} lease was lost (${why})`));
      };
      client.on('error', (error) => lose(`its PostgreSQL connection failed: ${describePgError(error)}`));
      client.on('end', () => lose('its PostgreSQL connection ended'));
      open.add(client);
      try {
        await client.connect();
        const { rows } = await client.query<{ taken: boolean }>('SELECT pg_try_advisory_lock($1) AS taken', [key]);
        if (rows[0]?.taken !== true) {
          await end(client);
          return null;
        }
      } catch (error) {
        await end(client);
        throw error;
      }
      holding = true;
      let pinging = false;
      const ping = setInterval(() => {
        if (pinging) return;
        pinging = true;
        client
          .query('SELECT 1')
          .catch((error: unknown) => lose(`its PostgreSQL connection does not answer: ${describePgError(error)}`))
          .finally(() => (pinging = false));
      }, pingMs);
      ping.unref();
      return {
        lost: lost.signal,
        async release() {
          if (!holding) return;
          holding = false;
          clearInterval(ping);
          // Ending the session gives the lock back.
          await end(client);
        },
      };
    },
    async close() {
      await Promise.all([...open].map((client) => end(client)));
    },
  };
}
