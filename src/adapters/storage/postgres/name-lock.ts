/**
 * Names held across replicas (NameLockService) on PostgreSQL: the per-group locks of
 * ./group-lock.ts (session-level advisory locks on connections of their own, lost when the
 * session ends) under a namespace of their own, one lock per name, taken in sorted order
 * so that two callers never wait on each other in a cycle.
 */
import type { HeldGroupLock, NameLockService } from '../../../core/ports.js';
import { createPostgresGroupLocks } from './group-lock.js';

export const NAME_LOCK_NAMESPACE = 'cxone-scim-sync/name-lock';

export interface PostgresNameLockOptions {
  /** DATABASE_URL. */
  readonly connectionString: string;
  /** What the names belong to besides themselves (the deployment's upstream, as the group locks). */
  readonly scope: string;
  /** How often a held lock's connection is checked. Default 5 s. */
  readonly pingMs?: number;
}

export interface PostgresNameLocks extends NameLockService {
  /** Locks held now, by this process (one per name). */
  readonly held: number;
  /** Ends every lock connection (held locks are given back). */
  close(): Promise<void>;
}

export function createPostgresNameLocks(options: PostgresNameLockOptions): PostgresNameLocks {
  const locks = createPostgresGroupLocks({
    connectionString: options.connectionString,
    backend: options.scope,
    ...(options.pingMs === undefined ? {} : { pingMs: options.pingMs }),
    kind: { namespace: NAME_LOCK_NAMESPACE, describe: () => 'a name being created' },
  });
  return {
    async acquire(names, signal) {
      const held: HeldGroupLock[] = [];
      const releaseAll = async () => {
        for (const lock of held.toReversed()) await lock.release();
      };
      try {
        for (const name of [...new Set(names)].toSorted()) held.push(await locks.acquire(name, signal));
      } catch (error) {
        await releaseAll();
        throw error;
      }
      const lost = held.length === 1 ? (held[0] as HeldGroupLock).lost : AbortSignal.any(held.map((lock) => lock.lost));
      return { lost, release: releaseAll };
    },
    get held() {
      return locks.held;
    },
    close: () => locks.close(),
  };
}
