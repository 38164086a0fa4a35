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
import { SyncInterruptedError } from '../../../core/errors.js';
import type { GroupLockService, HeldGroupLock } from '../../../core/ports.js';
import { advisoryKey } from './advisory-key.js';
import { openLockSession, type LockSession } from './lock-session.js';
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

/** Idle lock connections kept for the next syncs. */
const IDLE_MAX = 8;

export function createPostgresGroupLocks(options: PostgresGroupLockOptions): PostgresGroupLocks {
  const pingMs = options.pingMs ?? 5_000;
  const namespace = options.kind?.namespace ?? GROUP_LOCK_NAMESPACE;
  const describe = options.kind?.describe ?? ((id: string) => `group ${id}`);
  // Lock connections, kept between syncs: taking a lock then costs one round trip, not a new session.
  const open = new Set<LockSession>();
  const idle: LockSession[] = [];
  let held = 0;

  function connection(): LockSession {
    const session = openLockSession({
      connectionString: options.connectionString,
      onGone(gone) {
        const at = idle.indexOf(gone);
        if (at >= 0) idle.splice(at, 1);
        open.delete(gone);
      },
    });
    open.add(session);
    return session;
  }

  async function discard(session: LockSession): Promise<void> {
    session.onLost = null;
    open.delete(session);
    await session.end();
  }

  async function acquire(groupId: string, signal?: AbortSignal): Promise<HeldGroupLock> {
    if (signal?.aborted) throw signal.reason;
    const key = advisoryKey(namespace, options.backend, groupId);
    let session = idle.pop();
    const fresh = session === undefined;
    session ??= connection();
    const entry = session;
    // Waiting ends when the signal aborts: the server is told to cancel the request for the
    // lock (a backend waiting for a lock does not notice its client going away).
    let connected = !fresh;
    const giveUp = () => {
      if (connected) void entry.cancel();
      else void entry.end();
    };
    signal?.addEventListener('abort', giveUp, { once: true });
    try {
      if (fresh) await entry.connect();
      connected = true;
      if (signal?.aborted) throw signal.reason;
      await entry.lock(key);
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
    const unwatch = entry.watch(pingMs);
    return {
      lost: lost.signal,
      async release() {
        if (!holding) return;
        holding = false;
        held--;
        unwatch();
        entry.onLost = null;
        if (entry.dead || lost.signal.aborted || idle.length >= IDLE_MAX) return discard(entry);
        try {
          // Given back on the same session, which then waits for the next sync.
          if (!(await entry.unlock(key)) || entry.dead) return await discard(entry);
          idle.push(entry);
        } catch {
          // Ending the session gives the lock back, whatever state the connection is in.
          await discard(entry);
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
      await Promise.all(all.map((session) => discard(session)));
    },
  };
}
