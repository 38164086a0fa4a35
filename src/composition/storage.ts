/**
 * The store under DATA_DIR and its lock, opened as the configuration says: the same store
 * for the service and for the CLI, so that a CLI sync is audited in the same chain.
 */
import { join, resolve } from 'node:path';
import { lockDataDir as lock, type DataDirLock } from '../adapters/storage/data-dir-lock.js';
import { DATABASE_FILE, openSqliteStore, type SqliteStore } from '../adapters/storage/sqlite-store.js';
import { generateSecret } from '../adapters/webhooks/signing.js';
import type { Config } from '../config.js';
import type { ChainHead } from '../core/audit.js';

export type { DataDirLock, SqliteStore };

/**
 * DATA_DIR's lock, held until released or until the process ends (the kernel drops it on
 * SIGKILL). Throws DataDirLockedError while another process holds it, StorageError when it
 * cannot be made.
 */
export function lockDataDir(config: Readonly<Config>): DataDirLock {
  return lock(config.dataDir);
}

/** Opens the store (creating it if need be; `readonly`: an existing one, for reading only). Throws StorageError with a one-line reason. */
export function openStore(config: Readonly<Config>, options: { readonly readonly?: boolean; readonly onHead?: (head: ChainHead) => void } = {}): SqliteStore {
  return openSqliteStore({
    dataDir: config.dataDir,
    staticSubscribers: config.webhookUrls,
    adminActors: config.adminApiTokens.map((t) => t.name),
    auditKey: config.auditHmacKey,
    newSecret: generateSecret,
    readonly: options.readonly,
    onHead: options.onHead,
  });
}

/** The database file under DATA_DIR, whether or not it exists. */
export function databaseFile(config: Readonly<Config>): string {
  return join(resolve(config.dataDir), DATABASE_FILE);
}
