import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { onTestFinished } from 'vitest';
import { composeApp, type AppPorts } from '../../src/composition/app.js';
import { loadConfig } from '../../src/config.js';
import { createPrometheusMetrics, type PrometheusMetrics } from '../../src/adapters/metrics/prometheus-metrics.js';
import { MemoryAuditLog } from '../../src/adapters/storage/memory-audit-log.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { InMemoryDirectory } from '../fakes/in-memory-directory.js';

export const TOKENS = { okta: 'okta-test-token-0001', entra: 'entra-test-token-0002' };
export const bearer = (token = TOKENS.okta) => ({ authorization: `Bearer ${token}` });

export interface TestApp {
  app: FastifyInstance;
  directory: InMemoryDirectory;
  clock: FakeClock;
  audit: MemoryAuditLog;
  metrics: PrometheusMetrics;
}

/**
 * An app on in-memory ports (or the ports given), closed when the test finishes.
 * `env` overrides configuration exactly as environment variables would.
 */
export async function buildTestApp(options: { env?: Record<string, string>; ports?: Partial<AppPorts>; directory?: InMemoryDirectory; logger?: FastifyBaseLogger } = {}): Promise<TestApp> {
  const directory = options.directory ?? new InMemoryDirectory();
  const clock = new FakeClock();
  const config = loadConfig({ SYNC_API_TOKENS: `okta:${TOKENS.okta},entra:${TOKENS.entra}`, ...options.env });
  const audit = new MemoryAuditLog();
  const metrics = createPrometheusMetrics();
  const app = await composeApp({ config, ports: { directory, clock, audit, metrics, ...options.ports }, logger: options.logger });
  onTestFinished(() => app.close());
  return { app, directory, clock, audit, metrics };
}
