/** GET /metrics: this app's Prometheus registry in the text exposition format (docs/api.md "Metrics"). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';
import { Type } from 'typebox';

export interface MetricsRouteOptions {
  registry: Registry;
}

export const metricsRoutes: FastifyPluginAsyncTypebox<MetricsRouteOptions> = async (app, { registry }) => {
  app.get(
    '/metrics',
    {
      config: { public: true },
      logLevel: 'warn',
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics',
        description: 'Sync, upstream, OAuth and webhook metrics plus process metrics, in the Prometheus text format 0.0.4.',
        response: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: Type.String() } } } },
      },
    },
    async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
  );
};
