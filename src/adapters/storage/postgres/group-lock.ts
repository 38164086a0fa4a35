/**
 * The per-group lock across replicas (GroupLockService) on PostgreSQL: a session-level
 * advisory lock keyed on a hash of (backend, group id), taken on a connection of its own
 * and held for the sync's whole run. The lock lives as long as that session: a replica
 * that dies (SIGKILL, a lost network) leaves it to the next one as soon as PostgreSQL
 * notices the session is gone. If the connection drops while the lock is held, `lost`
 * aborts at once (the sync stops before its next write): another replica may hold the
 * lock by then. A ping on the connection every `pingMs` notices a silent drop. A lock
 * given back normally leaves its connection open for the next sync (up to IDLE_MAX idle).
 */
import { Client } from 'pg';
import { SyncInterruptedError } from '../../../core/errors.js';
import type { GroupLockService, HeldGroupLock } from '../../../core/ports.js';
import { advisoryKey } from './advisory-key.js';
import { describePgError } from './postgres-store.js';

export interface PostgresGroupLockOptions {
  /** DATABASE_URL. */
  readonly connectionString: string;
  /** The membership backend the groups belong to (its kind and its upstream): the same group id of another backend is another lock. */
  readonly backend: string;
  /** How often a held lock's connection is checked. Default 5 s. */
  readonly pingMs?: number;
  /**
   * What the locks are of, when not groups: the namespace of their advisory keys (default
   * GROUP_LOCK_NAMESPACE) and how an error names one (default `group <id>`). The SCIM
   * front door's name locks (./name-lock.ts) are these locks under a namespace of their own.
   */
  readonly kind?: { readonly namespace: string; readonly describe: (id: string) => string };
}

export interface PostgresGroupLocks extends GroupLockService {
  /** Locks held now, by this process. */
  readonly held: number;
  /** Ends every lock connection (held locks are given back). */
  close(): Promise<void>;
}

export const GROUP_LOCK_NAMESPACE = 'cxone-scim-sync/group-lock';

export function groupLockKey(backend: string, groupId: string): string {
  return advisoryKey(GROUP_LOCK_NAMESPACE, backend, groupId);
}

/** A lock connection, kept between syncs: taking a lock then costs one round trip, not a new session. */
interface LockConnection {
  readonly client: Client;
  dead: boolean;
  /** Told when the connection fails or ends while a lock is held on it. */
  onLost: ((why: string) => void) | null;
}

/** Idle lock connections kept for the next syncs. */
const IDLE_MAX = 8;

export function createPostgresGroupLocks(options: PostgresGroupLockOptions): PostgresGroupLocks {
  const pingMs = options.pingMs ?? 5_000;
  const namespace = options.kind?.namespace ?? GROUP_LOCK_NAMESPACE;
  const describe = options.kind?.describe ?? ((id: string) => `group ${id}`);
  const open = new Set<LockConnection>();
  const idle: LockConnection[] = [];
  let held = 0;

  function connection(): LockConnection {
    const client = new Client({ connectionString: options.connectionString, keepAlive: true, connectionTimeoutMillis: 10_000 });
    const entry: LockConnection = { client, dead: false, onLost: null };
    const lose = (why: string) => {
      entry.dead = true;
      const at = idle.indexOf(entry);
      if (at >= 0) idle.splice(at, 1);
      open.delete(entry);
      entry.onLost?.(why);
    };
    client.on('error', (error) => lose(`its PostgreSQL connection failed: ${describePgError(error)}`));
    client.on('end', () => lose('its PostgreSQL connection ended'));
    open.add(entry);
    return entry;
  }

  async function discard(entry: LockConnection): Promise<void> {
    entry.onLost = null;
    entry.dead = true;
    open.delete(entry);
    await entry.client.end().catch(() => {});
  }

  async function acquire(groupId: string, signal?: AbortSignal): Promise<HeldGroupLock> {
    if (signal?.aborted) throw signal.reason;
    const key = advisoryKey(namespace, options.backend, groupId);
    let entry = idle.pop();
    const fresh = entry === undefined;
    entry ??= connection();
    const { client } = entry;
    // Waiting ends when the signal aborts: the server is told to cancel the request for the
    // lock (a backend waiting for a lock does not notice its client going away).
    let connected = !fresh;
    const giveUp = () => {
      if (connected) void cancelBackend(options.connectionString, client);
      else void client.end().catch(() => {});
    };
    signal?.addEventListener('abort', giveUp, { once: true });
    try {
      if (fresh) await client.connect();
      connected = true;
      if (signal?.aborted) throw signal.reason;
      await client.query('SELECT pg_advisory_lock($1)', [key]);
    } catch (error) {
      await discard(entry);
      if (signal?.aborted) throw signal.reason;
      throw new SyncInterruptedError(`the lock of ${describe(groupId)} across replicas could not be taken (PostgreSQL: ${describePgError(error)}); nothing was sent upstream: retry the request`);
    } finally {
      signal?.removeEventListener('abort', giveUp);
    }
    if (signal?.aborted) {
      await discard(entry);
      throw signal.reason;
    }
    const lost = new AbortController();
    let holding = true;
    held++;
    const loseIt = (why: string) => {
      if (!holding || lost.signal.aborted) return;
      lost.abort(new SyncInterruptedError(`the lock of ${describe(groupId)} across replicas was lost (${why}); the sync stopped before its next write: retry the request`));
    };
    entry.onLost = loseIt;
    if (entry.dead) loseIt('its PostgreSQL connection ended');
    let pinging = false;
    const ping = setInterval(() => {
      if (pinging) return;
      pinging = true;
      client
        .query('SELECT 1')
        .catch((error: unknown) => loseIt(`its PostgreSQL connection does not answer: ${describePgError(error)}`))
        .finally(() => (pinging = false));
    }, pingMs);
    ping.unref();
    const owner = entry;
    return {
      lost: lost.signal,
      async release() {
        if (!holding) return;
        holding = false;
        held--;
        clearInterval(ping);
        owner.onLost = null;
        if (owner.dead || lost.signal.aborted || idle.length >= IDLE_MAX) return discard(owner);
        try {
          // Given back on the same session, which then waits for the next sync.
          const { rows } = await client.query<{ unlocked: boolean }>('SELECT pg_advisory_unlock($1) AS unlocked', [key]);
          if (rows[0]?.unlocked !== true || owner.dead) return await discard(owner);
          idle.push(owner);
        } catch {
          // Ending the session gives the lock back, whatever state the connection is in.
          await discard(owner);
        }
      },
    };
  }

  return {
    acquire,
    get held() {
      return held;
    },
    async close() {
      const all = [...open];
      idle.length = 0;
      await Promise.all(all.map((entry) => discard(entry)));
    },
  };
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
