/**
 * The lease of a background job across the replicas (SchedulerLease) on PostgreSQL: a
 * session-level advisory lock taken with pg_try_advisory_lock on a connection of its own
 * (./lock-session.ts), held as long as that session lives. One replica holds it; the others
 * find it taken and ask again later. A replica that dies leaves it as soon as PostgreSQL
 * notices its session is gone; a connection that drops or stops answering (a ping every
 * `pingMs`) aborts `lost` at once, so the holder stops before another replica may take over.
 */
import type { HeldGroupLock, SchedulerLease } from '../../../core/ports.js';
import { advisoryKey } from './advisory-key.js';
import { openLockSession, type LockSession } from './lock-session.js';

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
  const open = new Set<LockSession>();

  async function end(session: LockSession): Promise<void> {
    open.delete(session);
    await session.end();
  }

  return {
    async tryAcquire(): Promise<HeldGroupLock | null> {
      const session = openLockSession({ connectionString: options.connectionString });
      const lost = new AbortController();
      open.add(session);
      try {
        await session.connect();
        if (!(await session.tryLock(key))) {
          await end(session);
          return null;
        }
      } catch (error) {
        await end(session);
        throw error;
      }
      let holding = true;
      session.onLost = (why) => {
        if (holding && !lost.signal.aborted) lost.abort(new Error(`the ${options.name} lease was lost (${why})`));
      };
      if (session.dead) session.onLost('its PostgreSQL connection ended');
      const unwatch = session.watch(pingMs);
      return {
        lost: lost.signal,
        async release() {
          if (!holding) return;
          holding = false;
          unwatch();
          // Ending the session gives the lock back.
          await end(session);
        },
      };
    },
    async close() {
      await Promise.all([...open].map((session) => end(session)));
    },
  };
}
