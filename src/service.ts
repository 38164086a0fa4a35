/**
 * The HTTP service assembled from its adapters: the app with every port wired, and the
 * webhook dispatcher draining the same store's outbox. main.ts runs what this returns;
 * the process-like tests (fault, crash) build exactly the same thing in-process.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AuditObserver, PrometheusMetrics } from './adapters/metrics/prometheus-metrics.js';
import type { CxoneDirectory } from './adapters/scim/index.js';
import type { SqliteStore } from './adapters/storage/sqlite-store.js';
import { createOutboxDispatcher, type OutboxDispatcher } from './adapters/webhooks/outbox-dispatcher.js';
import type { WebhookTargetPolicy } from './adapters/webhooks/ssrf-guard.js';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import type { Clock } from './core/ports.js';
import type { ChainHead } from './core/audit.js';

/**
 * What the service does with each new audit chain head: the sequence number becomes the
 * scim_audit_chain_head_sequence gauge, and every `every` records (AUDIT_HEAD_LOG_EVERY;
 * 0: never) the head is logged, so that a copy of the log kept elsewhere anchors the trail.
 */
export function reportAuditHead(observer: AuditObserver, log: { info(details: object, message: string): void }, every: number): (head: ChainHead) => void {
  return (head) => {
    observer.onHead(head);
    if (every > 0 && head.seq % every === 0) log.info({ auditHead: head }, 'audit chain head');
  };
}

export interface ServiceParts {
  readonly config: Readonly<Config>;
  readonly store: SqliteStore;
  readonly directory: CxoneDirectory;
  readonly metrics: PrometheusMetrics;
  readonly policy: WebhookTargetPolicy;
  readonly logger: Logger;
  /** Jitter of the webhook retry schedule. Default Math.random. */
  readonly dispatchRandom?: () => number;
  /** The app's clock (the readiness cache, the inbound limits, sync latency). Default: the system clock. */
  readonly clock?: Clock;
}

export interface Service {
  readonly app: FastifyInstance;
  /** Not started: start it once the app listens. */
  readonly dispatcher: OutboxDispatcher;
}

export async function assembleService({ config, store, directory, metrics, policy, logger, dispatchRandom, clock }: ServiceParts): Promise<Service> {
  const app = await buildApp({
    config,
    ports: {
      directory,
      audit: store,
      subscriptions: store,
      idempotency: store,
      webhookPolicy: policy,
      metrics,
      clock,
      readiness: [
        // Public and costly (a token, an upstream request): cached, so that probes cannot load the upstream.
        { name: 'upstream', check: () => directory.ping({ stats: { upstreamRequests: 0 } }), cacheMs: config.readinessCacheMs },
        { name: 'storage', check: () => store.ping() },
      ],
    },
    logger,
  });
  const dispatcher = createOutboxDispatcher({
    outbox: store,
    schedule: config.webhookRetrySchedule,
    policy,
    staticUrls: config.webhookUrls,
    staticSecret: config.webhookSecret,
    observer: metrics.webhooks,
    log: logger.child({ component: 'webhooks' }),
    random: dispatchRandom,
  });
  return { app, dispatcher };
}
