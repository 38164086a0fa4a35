/**
 * What the sync, reconcile and audit commands run on: the service's own configuration
 * (the same environment variables, SYNC_API_TOKENS aside), its SQLite store under
 * DATA_DIR, so that CLI syncs are audited like API syncs (actor `cli`), and the same
 * sync use case and SCIM adapter (src/sync-service.ts). Prometheus metrics are fed as in
 * the service; the CLI just never serves them.
 *
 * Without CXONE_BASE_URL the service embeds a simulator; the CLI does not, because an
 * in-process simulator would forget every change when the command exits. It needs a
 * tenant, or a running simulator (`cxone-scim-sync simulator`) named by --simulator-url.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createPrometheusMetrics } from '../adapters/metrics/prometheus-metrics.js';
import type { CxoneDirectory } from '../adapters/scim/index.js';
import { StorageError } from '../adapters/storage/ports.js';
import { DATABASE_FILE, openSqliteStore, type SqliteStore } from '../adapters/storage/sqlite-store.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { DEFAULT_CLIENT } from '../simulator/oauth.js';
import { createSyncService, createUpstreamDirectory, withDeadline, type SyncService, type Upstream } from '../sync-service.js';
import { CliError, EXIT } from './args.js';

/** The actor CLI syncs are audited as. */
export const CLI_ACTOR = 'cli';

/** The configuration, as the service reads it, with --data-dir applied. Bad values exit 78 with the service's line. */
export function loadCliConfig(env: Readonly<Record<string, string | undefined>>, overrides: { dataDir?: string | undefined } = {}): Readonly<Config> {
  try {
    return loadConfig({ ...env, ...(overrides.dataDir === undefined ? {} : { DATA_DIR: overrides.dataDir }) }, { serving: false });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(`configuration error: ${error.message}`, EXIT.config);
    throw error;
  }
}

/**
 * The upstream to sync against: --simulator-url (with SIMULATOR_CLIENT_ID and
 * SIMULATOR_CLIENT_SECRET, the simulator's own variables, defaulting to its demo client),
 * else CXONE_BASE_URL with its credentials, else a configuration error saying how to choose.
 */
export function resolveUpstream(config: Readonly<Config>, env: Readonly<Record<string, string | undefined>>, simulatorUrl: string | undefined): Upstream {
  if (simulatorUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(simulatorUrl);
    } catch {
      throw new CliError(`--simulator-url: not a URL: ${JSON.stringify(simulatorUrl)}`, EXIT.usage);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError('--simulator-url: must be an http:// or https:// URL', EXIT.usage);
    return {
      baseUrl: url.href.replace(/\/+$/, ''),
      clientId: env.SIMULATOR_CLIENT_ID?.trim() || DEFAULT_CLIENT.clientId,
      clientSecret: env.SIMULATOR_CLIENT_SECRET?.trim() || DEFAULT_CLIENT.clientSecret,
      simulator: true,
    };
  }
  if (config.cxoneBaseUrl === undefined) {
    throw new CliError(
      'CXONE_BASE_URL is unset, and the CLI does not embed a simulator (its changes would be gone when the command exits). ' +
        'Set CXONE_BASE_URL, CXONE_CLIENT_ID and CXONE_CLIENT_SECRET for a tenant, or start `cxone-scim-sync simulator` and pass --simulator-url http://127.0.0.1:8081',
      EXIT.config,
    );
  }
  return { baseUrl: config.cxoneBaseUrl, clientId: config.cxoneClientId as string, clientSecret: config.cxoneClientSecret as string };
}

/** Opens the store under DATA_DIR as the service does; a storage problem exits 74 with the service's line. */
export function openStore(config: Readonly<Config>): SqliteStore {
  try {
    return openSqliteStore({ dataDir: config.dataDir, staticSubscribers: config.webhookUrls, adminActors: config.adminApiTokens.map((t) => t.name) });
  } catch (error) {
    if (error instanceof StorageError) throw new CliError(`storage error: ${error.message}`, EXIT.storage);
    throw error;
  }
}

/** The database file under DATA_DIR, whether or not it exists. */
export function databaseFile(config: Readonly<Config>): string {
  return join(resolve(config.dataDir), DATABASE_FILE);
}

/** Opens the existing store for `audit verify`, which must not create an empty one where the path is wrong. */
export function openExistingStore(config: Readonly<Config>): SqliteStore {
  const file = databaseFile(config);
  if (!existsSync(file)) throw new CliError(`storage error: there is no audit trail at ${file}; check DATA_DIR (or --data-dir)`, EXIT.storage);
  return openStore(config);
}

export interface SyncRuntime {
  /** One sync, under SYNC_DEADLINE_MS as in the service, and cut off when `signal` (the command's interrupt) fires. */
  readonly sync: SyncService;
  readonly store: SqliteStore;
  readonly directory: CxoneDirectory;
  close(): Promise<void>;
}

/** The sync use case on the configured upstream and the store: the service's wiring, without HTTP. */
export function openSyncRuntime(config: Readonly<Config>, upstream: Upstream): SyncRuntime {
  const store = openStore(config);
  const metrics = createPrometheusMetrics({ defaultMetrics: false });
  const directory = createUpstreamDirectory(config, upstream, metrics.upstream);
  const sync = withDeadline(createSyncService(config, { directory, audit: store, metrics: metrics.sync }), config.syncDeadlineMs);
  return {
    sync,
    store,
    directory,
    async close() {
      await directory.close();
      store.close();
    },
  };
}
