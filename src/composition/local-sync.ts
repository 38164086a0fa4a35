/**
 * The sync runner of a CLI command that syncs in its own process (sync, reconcile): the
 * service's runner on the store the command opened under DATA_DIR, so that its syncs are
 * audited in the same chain, and on the upstream it chose. Prometheus metrics are fed as
 * in the service; the CLI just never serves them.
 */
import { createPrometheusMetrics } from '../adapters/metrics/prometheus-metrics.js';
import type { Config } from '../config.js';
import type { SyncRunner } from '../core/sync-request.js';
import type { ServiceStore } from './storage.js';
import { systemClock } from '../core/clock.js';
import { createProcessMembership } from './membership.js';
import { createSyncRunner } from './sync-runner.js';
import { createUpstreamDirectory, type Upstream } from './upstream.js';

export interface LocalSync {
  readonly runner: SyncRunner;
  /** Closes the upstream's connections; the store is the caller's to close. */
  close(): Promise<void>;
}

export function createLocalSync(config: Readonly<Config>, upstream: Upstream, store: ServiceStore): LocalSync {
  const metrics = createPrometheusMetrics({ defaultMetrics: false });
  const directory = createUpstreamDirectory(config, upstream, metrics.upstream);
  // The same choice as the service's: MEMBERSHIP_BACKEND, or what `auto` kept in this store (else probes for it).
  const membership = createProcessMembership({
    config,
    upstream: directory,
    store: store.backendChoice,
    cxone: { agentMap: store.agentMap, journal: store.journal, syncedGroups: store.syncedGroups, audit: store },
    clock: systemClock,
  });
  const runner = createSyncRunner(config, { directory, backend: membership.source, audit: store, metrics: metrics.sync });
  return { runner, close: () => directory.close() };
}
