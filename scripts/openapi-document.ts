/**
 * The OpenAPI document as the code defines it: the app (composeApp) on in-memory ports (no network,
 * no listening, no environment), then @fastify/swagger's output. `npm run openapi` writes
 * it to openapi/; `npm run openapi:check` and test/http/openapi.test.ts compare against it.
 */
import { fileURLToPath } from 'node:url';
import { createPrometheusMetrics } from '../src/adapters/metrics/prometheus-metrics.js';
import { MemoryAuditLog } from '../src/adapters/storage/memory-audit-log.js';
import { composeApp } from '../src/composition/app.js';
import { loadConfig } from '../src/config.js';
import type { DriftStore, HeldChangeStore, QuarantineStore, ScimDirectory, SubscriptionStore } from '../src/core/ports.js';

export const OPENAPI_DIR = fileURLToPath(new URL('../openapi/', import.meta.url));
export const OPENAPI_FILES = { json: 'openapi.json', yaml: 'openapi.yaml' } as const;

/** A port that only has to exist for its routes to be registered: never called while the document is built, loud if it ever is. */
function unused<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get: (_target, name) => () => {
      throw new Error(`no ${what} while generating the OpenAPI document (${String(name)})`);
    },
  });
}

export interface OpenApiDocument {
  /** The document, parsed. */
  readonly document: Record<string, unknown>;
  /** openapi/openapi.json: pretty, with a trailing newline. */
  readonly json: string;
  /** openapi/openapi.yaml. */
  readonly yaml: string;
}

export async function generateOpenApi(): Promise<OpenApiDocument> {
  const app = await composeApp({
    config: loadConfig({}),
    ports: {
      directory: unused<ScimDirectory>('upstream'),
      audit: new MemoryAuditLog(),
      subscriptions: unused<SubscriptionStore>('storage'),
      drift: unused<DriftStore>('storage'),
      quarantine: unused<QuarantineStore>('storage'),
      heldChanges: unused<HeldChangeStore>('storage'),
      metrics: createPrometheusMetrics({ defaultMetrics: false }),
    },
  });
  try {
    await app.ready();
    const document = app.swagger() as unknown as Record<string, unknown>;
    const json = `${JSON.stringify(document, null, 2)}\n`;
    const yaml = app.swagger({ yaml: true });
    return { document: JSON.parse(json) as Record<string, unknown>, json, yaml: yaml.endsWith('\n') ? yaml : `${yaml}\n` };
  } finally {
    await app.close();
  }
}
