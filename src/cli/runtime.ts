/**
 * What the sync, reconcile and audit commands run on: the service's own configuration
 * (the same environment variables, SYNC_API_TOKENS aside), its store under DATA_DIR, so
 * that CLI syncs are audited like API syncs (actor `cli`), and the same sync runner and
 * upstream directory (src/composition), or a running service (`--server`).
 *
 * Without a tenant configured the service embeds a simulator; the CLI does not, because an
 * in-process simulator would forget every change when the command exits. It needs a
 * tenant, or a running simulator (`cxone-scim-sync simulator`) named by --simulator-url.
 */
import { existsSync } from 'node:fs';
import { createLocalSync } from '../composition/local-sync.js';
import { databaseFile, lockDataDir, openStore as openConfiguredStore, type DataDirLock, type SqliteStore } from '../composition/storage.js';
import { configuredUpstream, type Upstream } from '../composition/upstream.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { DataDirLockedError, StorageError, type MemberError } from '../core/errors.js';
import type { DesiredMembership } from '../core/membership.js';
import type { SyncRequest, SyncResult } from '../core/sync-request.js';
import { DEFAULT_CLIENT } from '../simulator/oauth.js';
import { CliError, EXIT } from './args.js';

/** One sync, as a command runs it: in this process, or through a running service. */
export type SyncFunction = (request: SyncRequest & { readonly desired: DesiredMembership }) => Promise<SyncResult>;

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
  const configured = configuredUpstream(config);
  if (configured === undefined) {
    throw new CliError(
      'CXONE_BASE_URL is unset (and no other CXone sign-in setting is), and the CLI does not embed a simulator (its changes would be gone when the command exits). ' +
        'Set CXONE_BASE_URL, CXONE_CLIENT_ID and CXONE_CLIENT_SECRET for a tenant (or another CXONE_AUTH with its settings), or start `cxone-scim-sync simulator` and pass --simulator-url http://127.0.0.1:8081',
      EXIT.config,
    );
  }
  return configured;
}

/** The environment variable that holds the bearer token of `--server`. */
export const SERVER_TOKEN_ENV = 'CXONE_SCIM_SYNC_TOKEN';

/** Opens the store under DATA_DIR as the service does; a storage problem exits 74 with the service's line. */
export function openStore(config: Readonly<Config>, options: { readonly?: boolean } = {}): SqliteStore {
  if (config.store === 'postgres') {
    throw new CliError(
      `STORE=postgres: the CLI's local commands use the SQLite store under DATA_DIR only; send the sync through a replica's API (\`--server http://HOST:PORT\` with a bearer token in ${SERVER_TOKEN_ENV}), and check the chain with GET /audit/verify`,
      EXIT.config,
    );
  }
  try {
    return openConfiguredStore(config, { readonly: options.readonly });
  } catch (error) {
    if (error instanceof StorageError) throw new CliError(`storage error: ${error.message}`, EXIT.storage);
    throw error;
  }
}

/**
 * DATA_DIR's lock, for a command that writes to the store (sync, reconcile): while a
 * service runs on the same DATA_DIR, the command is refused and told to go through the
 * service's API instead.
 */
export function lockForWriting(config: Readonly<Config>, command: string): DataDirLock {
  try {
    return lockDataDir(config);
  } catch (error) {
    if (error instanceof DataDirLockedError) {
      throw new CliError(
        `${error.message}. While the service runs, send the sync through its API: \`cxone-scim-sync ${command} --server http://HOST:PORT …\` with a bearer token of its SYNC_API_TOKENS in ${SERVER_TOKEN_ENV}`,
        EXIT.config,
      );
    }
    if (error instanceof StorageError) throw new CliError(`storage error: ${error.message}`, EXIT.storage);
    throw error;
  }
}

/**
 * Opens the existing store for `audit verify`, read-only: it must not create an empty one
 * where the path is wrong, and it works while the service runs on the same DATA_DIR.
 */
export function openExistingStore(config: Readonly<Config>): SqliteStore {
  const file = databaseFile(config);
  if (!existsSync(file)) throw new CliError(`storage error: there is no audit trail at ${file}; check DATA_DIR (or --data-dir)`, EXIT.storage);
  return openStore(config, { readonly: true });
}

export interface SyncRuntime {
  /** One sync, under SYNC_DEADLINE_MS as in the service, and cut off when `signal` (the command's interrupt) fires. */
  readonly sync: SyncFunction;
  /** Where the syncs are audited: the database file, or the service that runs them. */
  readonly auditedIn: string;
  /** The audit record of a sync, when this runtime can read it. */
  findSync(syncId: string): Promise<{ upstreamRequests: number; latencyMs: number } | undefined>;
  close(): Promise<void>;
}

/** The sync runner on the configured upstream and the store: the service's wiring, without HTTP. Holds DATA_DIR's lock while open. */
export function openSyncRuntime(config: Readonly<Config>, upstream: Upstream, command: string): SyncRuntime {
  const lock = lockForWriting(config, command);
  let store: SqliteStore;
  try {
    store = openStore(config);
  } catch (error) {
    lock.release();
    throw error;
  }
  const local = createLocalSync(config, upstream, store);
  return {
    sync: (request) => local.runner.run(request),
    auditedIn: store.file,
    findSync: (syncId) => store.findSync(syncId),
    async close() {
      await local.close();
      store.close();
      lock.release();
    },
  };
}

/** An error answer of the service, for `--server`: what it said, as the API said it. */
export class RemoteSyncError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error: string; message: string; syncId?: string; errors?: MemberError[]; errorsOmitted?: number; upstreamStatus?: number; removing?: number; of?: number },
  ) {
    super(body.message);
    this.name = 'RemoteSyncError';
  }
}

/**
 * `--server URL`: each sync is POST {URL}/groups/{groupId}/sync on a running service, with
 * the bearer token in CXONE_SCIM_SYNC_TOKEN. The service validates, writes and audits it;
 * the command prints the answer as it prints a local sync.
 */
export function openRemoteRuntime(serverUrl: string, env: Readonly<Record<string, string | undefined>>): SyncRuntime {
  let base: URL;
  try {
    base = new URL(serverUrl);
  } catch {
    throw new CliError(`--server: not a URL: ${JSON.stringify(serverUrl)}`, EXIT.usage);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new CliError('--server: must be an http:// or https:// URL', EXIT.usage);
  const token = env[SERVER_TOKEN_ENV]?.trim();
  if (!token) throw new CliError(`${SERVER_TOKEN_ENV}: required with --server (a bearer token of the service's SYNC_API_TOKENS)`, EXIT.config);
  const origin = base.href.replace(/\/+$/, '');
  const sync: SyncFunction = async (request) => {
    let response: Response;
    try {
      const query = new URLSearchParams({ ...(request.dryRun ? { dryRun: 'true' } : {}), ...(request.allowMassRemoval ? { allowMassRemoval: 'true' } : {}) }).toString();
      response = await fetch(`${origin}/groups/${encodeURIComponent(request.groupId)}/sync${query === '' ? '' : `?${query}`}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-request-id': request.requestId },
        body: JSON.stringify({ ...(request.desired.displayName === undefined ? {} : { displayName: request.desired.displayName }), members: request.desired.members }),
        signal: request.signal,
      });
    } catch (error) {
      if (request.signal?.aborted) throw error;
      throw new CliError(`--server: ${origin} cannot be reached (${error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)})`, EXIT.failed);
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (response.status === 200 && body && typeof body === 'object') return body as SyncResult;
    const answer = body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string' ? (body as RemoteSyncError['body']) : { error: 'upstream_error', message: `the service answered ${response.status}` };
    throw new RemoteSyncError(response.status, answer);
  };
  return {
    sync,
    auditedIn: `the service at ${origin}`,
    findSync: async () => undefined,
    async close() {},
  };
}
