/**
 * Composition root: loadConfig → build adapters → buildApp → listen; graceful close.
 * Without a tenant configured (none of CXONE_BASE_URL, CXONE_TOKEN_URL, CXONE_ISSUER,
 * CXONE_CLIENT_ID, CXONE_ACCESS_KEY_ID) it starts the embedded CXone SCIM simulator on loopback and
 * syncs against it, so a fresh clone does a real sync end to end.
 */
import { randomBytes } from 'node:crypto';
import { createPrometheusMetrics } from './adapters/metrics/prometheus-metrics.js';
import { createAuditRetention } from './adapters/storage/audit-retention.js';
import { DataDirLockedError, lockDataDir, type DataDirLock } from './adapters/storage/data-dir-lock.js';
import { StorageError } from './adapters/storage/ports.js';
import { openSqliteStore, type SqliteStore } from './adapters/storage/sqlite-store.js';
import { createWebhookTargetPolicy } from './adapters/webhooks/ssrf-guard.js';
import { ConfigError, loadConfig, upstreamConfigured, type ApiToken, type Config } from './config.js';
import { systemClock } from './core/clock.js';
import { isEntryModule } from './entry.js';
import { tuneHeapGrowth } from './heap.js';
import { createLogger } from './logger.js';
import { assembleService, reportAuditHead } from './service.js';
import { createSimulator, seedIds, type Simulator } from './simulator/simulator.js';
import { checkUpstreamAtStart, createUpstreamDirectory, type Upstream } from './sync-service.js';

/**
 * The inbound token the simulator mode uses when neither SYNC_API_TOKENS nor ADMIN_API_TOKENS
 * is set; documented in the README. Shorter than the 16 characters configured tokens need:
 * it is public anyway, and only ever guards the embedded simulator.
 */
export const DEMO_TOKEN: ApiToken = { name: 'demo', token: 'demo-token' };

/** Starts the service (npm start, `cxone-scim-sync serve`); runs until SIGTERM or SIGINT. */
export async function startService(): Promise<void> {
  let config: Readonly<Config>;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`cxone-scim-sync: configuration error: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const heapGrowingPercent = tuneHeapGrowth();

  const webhookPolicy = createWebhookTargetPolicy({ allowPrivate: config.webhookAllowPrivate });
  for (const url of config.webhookUrls) {
    const refused = webhookPolicy.refuseUrl(url);
    if (refused) {
      process.stderr.write(`cxone-scim-sync: configuration error: WEBHOOK_URLS: ${new URL(url).origin} is refused: ${refused}\n`);
      process.exit(78); // EX_CONFIG
    }
  }
  // One process per DATA_DIR, held until the process ends (the kernel drops it on SIGKILL).
  let lock: DataDirLock;
  try {
    lock = lockDataDir(config.dataDir);
  } catch (error) {
    if (error instanceof DataDirLockedError) {
      process.stderr.write(`cxone-scim-sync: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    if (error instanceof StorageError) {
      process.stderr.write(`cxone-scim-sync: storage error: ${error.message}\n`);
      process.exit(74); // EX_IOERR
    }
    throw error;
  }
  const metrics = createPrometheusMetrics();
  let store: SqliteStore;
  try {
    store = openSqliteStore({
      dataDir: config.dataDir,
      staticSubscribers: config.webhookUrls,
      adminActors: config.adminApiTokens.map((t) => t.name),
      auditKey: config.auditHmacKey,
      // An outside copy of the head log lines anchors the trail: a rewrite or a rollback shows against it.
      onHead: reportAuditHead(metrics.audit, logger, config.auditHeadLogEvery),
    });
  } catch (error) {
    if (error instanceof StorageError) {
      process.stderr.write(`cxone-scim-sync: storage error: ${error.message}\n`);
      process.exit(74); // EX_IOERR
    }
    throw error;
  }
  // This process holds DATA_DIR's lock: an Idempotency-Key still "processing" belongs to a
  // process that died (kill -9, power loss); forget it, so the caller's retry runs again.
  const abandoned = await store.releaseAbandoned();
  const head = store.auditHead();
  if (head) metrics.audit.onHead(head);
  logger.info({ file: store.file, abandonedIdempotencyKeys: abandoned, auditHead: head, auditKeyed: config.auditHmacKey !== undefined }, 'storage open');
  const retention = createAuditRetention({ store, days: config.auditRetentionDays, clock: systemClock, log: logger.child({ component: 'audit-retention' }) });

  let simulator: Simulator | undefined;
  // A tenant is described by the configuration (CXONE_AUTH and its settings); without one, the embedded simulator.
  let upstream: Upstream = {};
  if (!upstreamConfigured(config)) {
    const clientSecret = randomBytes(24).toString('base64url');
    simulator = createSimulator({ clients: [{ clientId: 'cxone-scim-sync', clientSecret }] });
    const baseUrl = await simulator.listen({ port: 0, host: '127.0.0.1' });
    upstream = { baseUrl, clientId: 'cxone-scim-sync', clientSecret, simulator: true };
    logger.warn({ upstream: baseUrl }, 'no CXone tenant is configured (CXONE_BASE_URL, CXONE_TOKEN_URL, CXONE_ISSUER, CXONE_CLIENT_ID, CXONE_ACCESS_KEY_ID are unset): syncing against the embedded CXone SCIM simulator');
  }

  const directory = createUpstreamDirectory(config, upstream, metrics.upstream);
  const signInProblem = await checkUpstreamAtStart(config, directory, logger);
  if (signInProblem !== undefined) {
    process.stderr.write(`cxone-scim-sync: configuration error: ${signInProblem}\n`);
    process.exit(78); // EX_CONFIG
  }

  // The demo token is only for a first run against the embedded simulator with no token configured.
  const tokensConfigured = config.syncApiTokens.length > 0 || config.adminApiTokens.length > 0;
  const syncApiTokens = tokensConfigured ? config.syncApiTokens : [DEMO_TOKEN];
  const { app, dispatcher } = await assembleService({ config: { ...config, syncApiTokens }, store, directory, metrics, policy: webhookPolicy, logger });

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal, syncsInFlight: app.syncsInFlight, deadlineMs: config.shutdownTimeoutMs }, 'shutting down: no new requests, in-flight syncs may finish');
    // Past the deadline, cut the syncs still running off: each answers 503 and is audited
    // as interrupted. Then give everything a few more seconds before giving up.
    const cutOff = setTimeout(() => {
      logger.warn({ syncsInFlight: app.syncsInFlight }, 'shutdown deadline reached: interrupting the syncs still running');
      app.interruptSyncs();
    }, config.shutdownTimeoutMs);
    const giveUp = setTimeout(() => {
      logger.error('shutdown did not complete; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 10_000);
    cutOff.unref();
    giveUp.unref();
    try {
      await app.close();
      clearTimeout(cutOff);
      await dispatcher.stop();
      await retention.stop();
      store.close();
      lock.release();
      await directory.close();
      await simulator?.close();
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  const address = await app.listen({ port: config.port, host: config.host });
  dispatcher.start();
  retention.start();
  logger.info({ address, heapGrowingPercent: heapGrowingPercent ?? 'as started' }, 'cxone-scim-sync listening');
  if (simulator && !tokensConfigured) printDemoBanner(config.port === 0 ? address : `http://localhost:${config.port}`);
}

/** How to call the service against the simulator: a person reads this, so it goes to stderr, not the JSON log. */
function printDemoBanner(url: string): void {
  const group = seedIds.groups.contactCenterAgents;
  const { aliceSmith, davidKim, carmenRodriguez } = seedIds.users;
  process.stderr.write(
    [
      '',
      `cxone-scim-sync is running on ${url} against the embedded CXone SCIM simulator.`,
      `Demo bearer token: ${DEMO_TOKEN.token} (set SYNC_API_TOKENS to choose your own). Try:`,
      '',
      `  curl -s -X POST ${url}/groups/${group}/sync \\`,
      `    -H 'Authorization: Bearer ${DEMO_TOKEN.token}' -H 'Content-Type: application/json' \\`,
      `    -d '{"members":[{"value":"${aliceSmith}","type":"User"},{"value":"${davidKim}","type":"User"},{"value":"${carmenRodriguez}","type":"User"}]}'`,
      '',
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
}

/** The one line a failed start ends with. */
export function exitOnStartFailure(error: unknown): never {
  process.stderr.write(`cxone-scim-sync: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

if (isEntryModule(import.meta.url)) startService().catch(exitOnStartFailure);
