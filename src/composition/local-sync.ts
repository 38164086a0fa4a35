/**
 * The sync runner of a CLI command that syncs in its own process (sync, reconcile): the
 * service's runner on the store the command opened under DATA_DIR, so that its syncs are
 * audited in the same chain, and on the upstream it chose. Prometheus metrics are fed as
 * in the service; the CLI just never serves them.
 *
 * Quarantine is the service's too (docs/consistency.md "Quarantine"): the store's state is
 * honoured (a quarantined group is refused, group_quarantined, without an upstream request)
 * and the syncs' failures and successes are counted the same way. A one-shot command has no
 * prober running: before its first sync it runs the probes that are due (their
 * QUARANTINE_BACKOFF delay has passed), so that a group whose probe reads well is half-open
 * and its sync runs, exactly as if the service had probed it.
 */
import { v7 as uuidv7 } from 'uuid';
import type { SyncLog } from '../adapters/logging/sync-log.js';
import { createPrometheusMetrics } from '../adapters/metrics/prometheus-metrics.js';
import type { Config } from '../config.js';
import type { SyncRequest, SyncRunner } from '../core/sync-request.js';
import type { ServiceStore } from './storage.js';
import { systemClock } from '../core/clock.js';
import { runDueProbes } from '../core/quarantine.js';
import { createProcessMembership } from './membership.js';
import { createSyncRunner } from './sync-runner.js';
import { createUpstreamDirectory, type Upstream } from './upstream.js';

export interface LocalSync {
  /** The runner; its first sync waits for the due probes. */
  readonly runner: SyncRunner;
  /** Runs the probes of quarantined groups that are due now (once per command); how many ran. */
  probeDue(): Promise<number>;
  /** Closes the upstream's connections; the store is the caller's to close. */
  close(): Promise<void>;
}

/** The most probes one command runs before its syncs. */
export const PROBES_PER_COMMAND = 100;

export function createLocalSync(config: Readonly<Config>, upstream: Upstream, store: ServiceStore, log?: SyncLog): LocalSync {
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
  const runner = createSyncRunner(config, { directory, backend: membership.source, audit: store, metrics: metrics.sync, quarantine: store.quarantine, quarantineObserver: metrics.quarantine, ...(log ? { log } : {}) });
  let probed: Promise<number> | undefined;
  const probeDue = () =>
    (probed ??=
      config.quarantineAfter > 0
        ? runDueProbes(
            {
              store: store.quarantine,
              policy: { after: config.quarantineAfter, backoff: config.quarantineBackoff },
              clock: systemClock,
              newEventId: () => `msg_${uuidv7()}`,
              newRecordId: () => uuidv7(),
              observer: metrics.quarantine,
              backend: membership.source,
            },
            PROBES_PER_COMMAND,
          ).catch((error: unknown) => {
            // The store or the upstream failed the probes: the syncs answer for themselves (a quarantined group is refused).
            log?.warn({ code: (error as { code?: unknown } | null)?.code ?? null }, 'quarantine: the probes due could not be run');
            return 0;
          })
        : Promise.resolve(0));
  return {
    // The runner as it is (its queue, in-flight count), except that its first sync waits for the due probes.
    runner: Object.assign(Object.create(runner) as SyncRunner, { run: async (request: SyncRequest) => (await probeDue(), runner.run(request)) }),
    probeDue,
    close: () => directory.close(),
  };
}
