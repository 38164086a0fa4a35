/** GET /healthz (the process is alive) and GET /readyz (it can do its work right now). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

export interface ReadinessCheck {
  readonly name: string;
  /** Resolves when the dependency is usable; rejects with an error whose message is safe to show. */
  check(): Promise<void>;
}

export interface HealthRouteOptions {
  checks: readonly ReadinessCheck[];
  timeoutMs?: number;
}

const Health = Type.Object({ status: Type.Literal('ok') }, { description: 'The process is alive' });
const Readiness = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
    checks: Type.Record(Type.String(), Type.String(), { description: 'Each dependency: "ok" or why it is not usable' }),
  },
  { description: 'Whether every dependency is usable (200) or not (503), with each check' },
);

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRouteOptions> = async (app, { checks, timeoutMs = 5000 }) => {
  app.get(
    '/healthz',
    { config: { public: true }, logLevel: 'warn', schema: { tags: ['operations'], summary: 'Liveness: the process is up', response: { 200: Health } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { public: true },
      logLevel: 'warn',
      schema: { tags: ['operations'], summary: 'Readiness: a token can be had, the upstream answers, storage is open', response: { 200: Readiness, 503: Readiness } },
    },
    async (_request, reply) => {
      const results = await Promise.all(checks.map(async ({ name, check }) => [name, await runCheck(check, timeoutMs)] as const));
      const ready = results.every(([, outcome]) => outcome === 'ok');
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(results) });
    },
  );
};

async function runCheck(check: () => Promise<void>, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([check().then(() => 'ok'), timeout]);
  } catch (error) {
    return error instanceof Error ? error.message : 'failed';
  } finally {
    clearTimeout(timer);
  }
}
