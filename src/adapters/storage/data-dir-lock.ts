/**
 * One process per DATA_DIR. Two processes on one store would each forget the other's
 * in-flight Idempotency-Keys at start, run the same key twice and deliver every webhook
 * twice. The service (and a CLI command that writes) holds an exclusive operating-system
 * lock on a file in DATA_DIR for as long as it runs.
 *
 * Node has no flock(2); SQLite's own POSIX advisory lock does the job without a new
 * dependency: a tiny database `cxone-scim-sync.lock`, opened in exclusive locking mode with
 * an exclusive transaction that is never committed. The kernel drops the lock when the
 * process ends in any way (SIGKILL, a crash, power loss does not matter: the lock is not
 * on disk), so a restart takes it at once. A pid file could not do that: it outlives a
 * killed process and a recycled pid lies.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { DataDirLockedError, StorageError } from '../../core/errors.js';

export const LOCK_FILE = 'cxone-scim-sync.lock';

export interface DataDirLock {
  readonly file: string;
  /** Gives the lock up (the process ending does too). */
  release(): void;
}

/**
 * Takes the lock on `dataDir` (created if need be), or throws DataDirLockedError at once
 * when another process holds it; StorageError when the lock file cannot be made.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  const file = join(dir, LOCK_FILE);
  let db: Database.Database;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    db = new Database(file);
  } catch (error) {
    throw new StorageError(`${file} cannot be created (${error instanceof Error ? error.message : String(error)}); check DATA_DIR's permissions`, { cause: error });
  }
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    // Rollback journal (not WAL): BEGIN EXCLUSIVE takes the file's exclusive POSIX lock now.
    db.pragma('journal_mode = DELETE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))) throw new DataDirLockedError(dir);
    throw new StorageError(`${file} cannot be locked (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
  held.add(db);
  return {
    file,
    release() {
      held.delete(db);
      if (!db.open) return;
      try {
        db.exec('ROLLBACK');
      } catch {
        // nothing was written
      }
      db.close();
    },
  };
}

/** Whether another process holds the lock on `dataDir` now (it is taken and given back at once). */
export function isDataDirLocked(dataDir: string): boolean {
  try {
    lockDataDir(dataDir).release();
    return false;
  } catch (error) {
    if (error instanceof DataDirLockedError) return true;
    throw error;
  }
}

/** Held connections stay referenced for the life of the lock. */
const held = new Set<Database.Database>();
