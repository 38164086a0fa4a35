import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { onTestFinished } from 'vitest';
import { createPrometheusMetrics, type PrometheusMetrics } from '../../src/adapters/metrics/prometheus-metrics.js';
import { createCxoneDirectory, type CxoneDirectory } from '../../src/adapters/scim/index.js';
import { composeApp, type AppPorts } from '../../src/composition/app.js';
import { loadConfig } from '../../src/config.js';
import { createSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/simulator.js';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { TOKENS } from './build-test-app.js';

export interface SimulatorApp {
  app: FastifyInstance;
  simulator: Simulator;
  directory: CxoneDirectory;
  clock: FakeClock;
  audit: MemoryAuditLog;
  metrics: PrometheusMetrics;
  /** SCIM and OAuth requests the simulator has seen since the app was built (or since reset()). */
  requests(): number;
}

/**
 * The whole service against the embedded simulator over real loopback HTTP: the real
 * SCIM adapter, a FakeClock for its retry waits, and everything closed after the test.
 */
export async function buildSimulatorApp(options: { simulator?: SimulatorOptions; env?: Record<string, string>; logger?: FastifyBaseLogger; ports?: Partial<AppPorts> } = {}): Promise<SimulatorApp> {
  const clock = new FakeClock(Date.now());
  const simulator = createSimulator({ scimGroups: true, clients: [{ clientId: 'sync', clientSecret: 'sync-secret-value' }], now: () => clock.now(), ...options.simulator });
  const url = await simulator.listen({ port: 0 });
  const metrics = createPrometheusMetrics();
  const directory = createCxoneDirectory({ baseUrl: url, clientId: 'sync', clientSecret: 'sync-secret-value', clock, random: () => 0.5, observer: metrics.upstream });
  const config = loadConfig({ SYNC_API_TOKENS: `okta:${TOKENS.okta},entra:${TOKENS.entra}`, ...options.env });
  const audit = new MemoryAuditLog();
  const app = await composeApp({ config, ports: { directory, clock, audit, metrics, readiness: [{ name: 'upstream', check: () => directory.ping({ stats: { upstreamRequests: 0 } }) }], ...options.ports }, logger: options.logger });
  onTestFinished(async () => {
    await app.close();
    await directory.close();
    await simulator.close();
  });
  simulator.stats.reset();
  return { app, simulator, directory, clock, audit, metrics, requests: () => simulator.stats.total };
}
