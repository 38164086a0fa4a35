/**
 * GET /healthz (the process is alive) and GET /readyz (it can do its work right now).
 *
 * /readyz is public, so it must be cheap whoever calls it how often: each check runs at
 * most once at a time (callers that arrive while it runs share its outcome), and a check
 * with `cacheMs` (the upstream probe: READINESS_CACHE_MS) reuses its last outcome that
 * long, a failure included. The answer names each dependency and says `ok` or
 * `unavailable`, nothing more: why a check failed (URLs, addresses, socket errors) goes
 * to the log, once per probe. It also names the membership backend in use, or, while
 * MEMBERSHIP_BACKEND=auto has chosen none, why not (in words made for it: status codes,
 * never a URL or an upstream's text).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { systemClock } from '../../core/clock.js';
import type { Clock } from '../../core/ports.js';

export interface ReadinessCheck {
  readonly name: string;
  /** Resolves when the dependency is usable; rejects with an error for the log (never shown to the caller). */
  check(): Promise<void>;
  /** How long (ms) an outcome is reused before the dependency is asked again. Default 0: every answer asks (one probe at a time). */
  readonly cacheMs?: number;
}

/** The membership backend as /readyz shows it. */
export interface BackendStatus {
  /** MEMBERSHIP_BACKEND as set: auto, or a backend's name. */
  readonly setting: string;
  /** The backend in use; null while none is chosen. */
  readonly name: string | null;
  /** How it was chosen: setting, kept (an earlier probe's choice, from the store) or probe. */
  readonly chosenBy?: 'setting' | 'kept' | 'probe';
  /** Why none is chosen yet. */
  readonly reason?: string;
}

export interface HealthRouteOptions {
  checks: readonly ReadinessCheck[];
  /** The membership backend, read after the checks ran (they may have chosen it); absent: not shown. */
  backend?: () => BackendStatus;
  /** How long an answer waits for a check (the check itself goes on, and the next callers share it). Default 5 s. */
  timeoutMs?: number;
  /** Times the cached outcomes. Default: the system clock. */
  clock?: Clock;
}

export const CHECK_OK = 'ok';
export const CHECK_UNAVAILABLE = 'unavailable';

const Health = Type.Object({ status: Type.Literal('ok') }, { description: 'The process is alive' });
const Readiness = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('not_ready')]),
    checks: Type.Record(Type.String(), Type.Union([Type.Literal(CHECK_OK), Type.Literal(CHECK_UNAVAILABLE)]), {
      description: 'Each dependency (upstream, storage): "ok" or "unavailable". Why one is unavailable is in the service log, never here.',
    }),
    backend: Type.Optional(
      Type.Object(
        {
          setting: Type.String({ description: 'MEMBERSHIP_BACKEND as set: auto, scim-groups, acd-groups or teams' }),
          name: Type.Union([Type.String(), Type.Null()], { description: 'The membership backend in use (scim-groups, acd-groups, teams); null while MEMBERSHIP_BACKEND=auto has chosen none (the service is then not ready)' }),
          chosenBy: Type.Optional(
            Type.Union([Type.Literal('setting'), Type.Literal('kept'), Type.Literal('probe')], { description: 'setting: MEMBERSHIP_BACKEND names it; kept: chosen by an earlier probe and read from the store; probe: chosen by this process' }),
          ),
          reason: Type.Optional(Type.String({ description: 'While none is chosen: why (the probe of SCIM /Groups answered 401, 403, 5xx or nothing); it is probed again at the next check once READINESS_CACHE_MS has passed' })),
        },
        { description: 'The membership backend syncs run through' },
      ),
    ),
  },
  { description: 'Whether every dependency is usable (200) or not (503), with each check' },
);

type Outcome = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRouteOptions> = async (app, { checks, timeoutMs = 5000, clock = systemClock, backend }) => {
  const probes = checks.map((check) => ({ name: check.name, probe: sharedProbe(check, clock, timeoutMs, app.log) }));

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
      schema: {
        tags: ['operations'],
        summary: 'Readiness: a membership backend is chosen, a token can be had, the upstream answers, storage is open',
        description:
          'Public and cheap: the upstream probe is cached for READINESS_CACHE_MS (default 5 s) and runs once at a time whoever calls, so a flood of probes costs one upstream request per READINESS_CACHE_MS. The upstream probe is what the backend in use needs: SCIM /ServiceProviderConfig under scim-groups, the admin API (GET /agents?top=1) under acd-groups and teams; under MEMBERSHIP_BACKEND=auto before a choice, the probe of SCIM /Groups that makes it. Each dependency is "ok" or "unavailable"; the reason is in the service log. `backend` names the backend in use, or why none is chosen yet.',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const results = await Promise.all(probes.map(async ({ name, probe }) => [name, await probe()] as const));
      const ready = results.every(([, ok]) => ok);
      const named = results.map(([name, ok]) => [name, ok ? CHECK_OK : CHECK_UNAVAILABLE] as const);
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: Object.fromEntries(named), ...(backend ? { backend: backend() } : {}) });
    },
  );
};

/**
 * One probe in flight at a time; its outcome reused for `cacheMs`; a failure logged once
 * per probe. A caller waits at most `timeoutMs` (then the dependency counts as
 * unavailable for it, logged once per probe); the probe goes on for the next callers.
 */
function sharedProbe(check: ReadinessCheck, clock: Clock, timeoutMs: number, log: FastifyBaseLogger): () => Promise<boolean> {
  const cacheMs = check.cacheMs ?? 0;
  let inflight: { readonly outcome: Promise<boolean>; slowLogged: boolean } | undefined;
  let last: { readonly at: number; readonly ok: boolean } | undefined;
  return async () => {
    if (last && clock.monotonic() - last.at < cacheMs) return last.ok;
    if (!inflight) {
      const outcome = settle(check.check()).then((result) => {
        if (!result.ok) log.warn({ check: check.name, err: result.error }, 'readiness check failed');
        last = { at: clock.monotonic(), ok: result.ok };
        inflight = undefined;
        return result.ok;
      });
      inflight = { outcome, slowLogged: false };
    }
    const current = inflight;
    const ok = await withTimeout(current.outcome, timeoutMs);
    if (ok === undefined) {
      if (!current.slowLogged) log.warn({ check: check.name, timeoutMs }, 'readiness check did not answer in time');
      current.slowLogged = true;
      return false;
    }
    return ok;
  };
}

async function settle(promise: Promise<void>): Promise<Outcome> {
  try {
    await promise;
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  }
}

/** undefined when `probe` has not answered within `timeoutMs` (it goes on; its outcome is kept for the next callers). */
async function withTimeout(probe: Promise<boolean>, timeoutMs: number): Promise<boolean | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
