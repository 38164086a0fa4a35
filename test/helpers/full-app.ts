/**
 * The service composed as src/composition/service.ts composes it, in-process: the real SCIM adapter over
 * loopback to a simulator, the SQLite store in a temp DATA_DIR (audit trail, subscriptions,
 * idempotency keys, outbox), the SSRF policy and the outbox dispatcher; the log captured
 * line by line. Differences from the service main.ts opens, each an option: the adapter's clock and jitter,
 * the resolver the SSRF policy asks, and whether the dispatcher runs. Everything is closed
 * when the test finishes.
 */
import type { FastifyInstance } from 'fastify';
import { onTestFinished } from 'vitest';
import { createPrometheusMetrics, type PrometheusMetrics } from '../../src/adapters/metrics/prometheus-metrics.js';
import { openSqliteStore, type SqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import type { OutboxDispatcher } from '../../src/adapters/webhooks/outbox-dispatcher.js';
import { createWebhookTargetPolicy, type Resolve, type WebhookTargetPolicy } from '../../src/adapters/webhooks/ssrf-guard.js';
import { createUpstreamDirectory, type UpstreamDirectory } from '../../src/composition/upstream.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Clock } from '../../src/core/ports.js';
import type { DriftScheduler } from '../../src/core/drift.js';
import { createLogger } from '../../src/adapters/logging/logger.js';
import { composeService } from '../../src/composition/service.js';
import type { ProcessMembership } from '../../src/composition/membership.js';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/simulator.js';
import { tempDir } from './temp-dir.js';
import { generateSecret } from '../../src/adapters/webhooks/signing.js';

export interface FullAppOptions {
  /** Environment variables, as main.ts would read them (DATA_DIR is set to a temp directory). */
  readonly env: Record<string, string>;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly simulator?: Omit<SimulatorOptions, 'clients'>;
  /** The SCIM adapter's clock (retry waits, pacing, token expiry). Default: the system clock. */
  readonly clock?: Clock;
  /** The SCIM adapter's backoff jitter. */
  readonly random?: () => number;
  /** What the SSRF policy resolves host names with. Default: the system resolver. */
  readonly resolve?: Resolve;
  /** Start the outbox dispatcher. Default true. */
  readonly dispatch?: boolean;
  /** The dispatcher's jitter. */
  readonly dispatchRandom?: () => number;
  /** The app's clock (readiness cache, inbound limits). Default: the system clock. */
  readonly appClock?: Clock;
  /** The drift scheduler's clock (its spreading, request budget and records). Default: the app's. */
  readonly driftClock?: Clock;
}

export interface FullApp {
  readonly app: FastifyInstance;
  readonly config: Readonly<Config>;
  readonly simulator: Simulator;
  readonly store: SqliteStore;
  readonly directory: UpstreamDirectory;
  readonly metrics: PrometheusMetrics;
  readonly policy: WebhookTargetPolicy;
  readonly dispatcher: OutboxDispatcher;
  /** The membership backend of the service (the choice, the readiness check, the recovery at start). */
  readonly membership: ProcessMembership;
  /** The drift scheduler, not started (tests run its cycles); undefined when DRIFT_MAX_RPS=0. */
  readonly drift: DriftScheduler | undefined;
  /** Every log line written so far (JSON text), the dispatcher's included. */
  readonly logLines: string[];
  readonly dataDir: string;
}

export async function buildFullApp(options: FullAppOptions): Promise<FullApp> {
  const simulator = createSimulator({ scimGroups: true, ...options.simulator, clients: [{ clientId: options.clientId, clientSecret: options.clientSecret }] });
  const upstreamUrl = await simulator.listen({ port: 0 });
  const dataDir = tempDir('cxone-full-app-');
  const config = loadConfig({ ...options.env, DATA_DIR: dataDir });
  const logLines: string[] = [];
  const logger = createLogger(config.logLevel, { write: (line: string) => void logLines.push(line) });
  const store = openSqliteStore({ newSecret: generateSecret, dataDir: config.dataDir, staticSubscribers: config.webhookUrls, adminActors: config.adminApiTokens.map((t) => t.name) });
  const metrics = createPrometheusMetrics();
  const directory = createUpstreamDirectory(config, { baseUrl: upstreamUrl, clientId: options.clientId, clientSecret: options.clientSecret, simulator: true }, metrics.upstream, {
    clock: options.clock,
    random: options.random,
  });
  const policy = createWebhookTargetPolicy({ allowPrivate: config.webhookAllowPrivate, resolve: options.resolve });
  const { app, dispatcher, membership, drift } = await composeService({ config, store, directory, metrics, policy, logger, dispatchRandom: options.dispatchRandom, clock: options.appClock, driftClock: options.driftClock });
  onTestFinished(async () => {
    await app.close();
    await dispatcher.stop();
    store.close();
    await directory.close();
    await simulator.close();
  });
  if (options.dispatch ?? true) dispatcher.start();
  return { app, config, simulator, store, directory, metrics, policy, dispatcher, membership, drift, logLines, dataDir };
}
