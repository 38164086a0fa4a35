/**
 * A PostgreSQL session of its own for session-level advisory locks: the group locks
 * (./group-lock.ts) and the lease of a job that runs on one replica at a time
 * (./scheduler-lease.ts) both hold their lock on one. The lock lives as long as the
 * session: ending it gives every lock taken on it back, and a replica that dies leaves its
 * locks as soon as PostgreSQL notices the session is gone.
 *
 * Loss is told once, through `onLost` (set by whoever holds a lock on the session now):
 * when the connection fails or ends, and, while `watch` runs, when a ping every `pingMs`
 * finds it silent. The holder then stops before another replica may take the lock over.
 */
import { Client } from 'pg';
import { describePgError } from './postgres-store.js';

export interface LockSession {
  readonly client: Client;
  /** The connection failed or ended: no lock is held on it any more. */
  readonly dead: boolean;
  /** Told why, when the connection fails, ends or (while watched) stops answering. Set by the lock's holder; null: nobody is told. */
  onLost: ((why: string) => void) | null;
  connect(): Promise<void>;
  /** pg_advisory_lock: waits for the lock. */
  lock(key: string): Promise<void>;
  /** pg_try_advisory_lock: the lock if it is free now, never waits. */
  tryLock(key: string): Promise<boolean>;
  /** pg_advisory_unlock: whether this session held it. */
  unlock(key: string): Promise<boolean>;
  /** Pings the connection every `pingMs` (a silent drop is noticed); answers the function that stops it. */
  watch(pingMs: number): () => void;
  /** Ends the session (every lock on it is given back), whatever state it is in. */
  end(): Promise<void>;
  /** Cancels what the session runs now (a wait for a lock), from a connection of its own; the caller then ends it. */
  cancel(): Promise<void>;
}

export interface LockSessionOptions {
  /** DATABASE_URL. */
  readonly connectionString: string;
  /** Called once, before `onLost`, when the connection fails or ends (the owner's bookkeeping). */
  readonly onGone?: (session: LockSession) => void;
}

export function openLockSession(options: LockSessionOptions): LockSession {
  const client = new Client({ connectionString: options.connectionString, keepAlive: true, connectionTimeoutMillis: 10_000 });
  let dead = false;
  const session: LockSession = {
    client,
    get dead() {
      return dead;
    },
    onLost: null,
    async connect() {
      await client.connect();
    },
    async lock(key) {
      await client.query('SELECT pg_advisory_lock($1)', [key]);
    },
    async tryLock(key) {
      const { rows } = await client.query<{ taken: boolean }>('SELECT pg_try_advisory_lock($1) AS taken', [key]);
      return rows[0]?.taken === true;
    },
    async unlock(key) {
      const { rows } = await client.query<{ unlocked: boolean }>('SELECT pg_advisory_unlock($1) AS unlocked', [key]);
      return rows[0]?.unlocked === true;
    },
    watch(pingMs) {
      let pinging = false;
      const ping = setInterval(() => {
        if (pinging) return;
        pinging = true;
        client
          .query('SELECT 1')
          .catch((error: unknown) => session.onLost?.(`its PostgreSQL connection does not answer: ${describePgError(error)}`))
          .finally(() => (pinging = false));
      }, pingMs);
      ping.unref();
      return () => clearInterval(ping);
    },
    async end() {
      dead = true;
      await client.end().catch(() => {});
    },
    cancel: () => cancelBackend(options.connectionString, client),
  };
  const lose = (why: string) => {
    dead = true;
    options.onGone?.(session);
    session.onLost?.(why);
  };
  client.on('error', (error) => lose(`its PostgreSQL connection failed: ${describePgError(error)}`));
  client.on('end', () => lose('its PostgreSQL connection ended'));
  return session;
}

/** Cancels what `client` runs now (its request for a lock), from a connection of its own; the caller then ends `client`. */
async function cancelBackend(connectionString: string, client: Client): Promise<void> {
  const pid = (client as Client & { processID?: number }).processID;
  if (pid === undefined) return;
  const canceller = new Client({ connectionString, connectionTimeoutMillis: 10_000 });
  try {
    await canceller.connect();
    await canceller.query('SELECT pg_cancel_backend($1)', [pid]);
  } catch {
    // The waiter's own connection is ended anyway; the server drops its request when it notices.
    await client.end().catch(() => {});
  } finally {
    await canceller.end().catch(() => {});
  }
}
