/**
 * The outbox dispatcher: sends the deliveries the audit log queued, signed per Standard
 * Webhooks (./signing.ts), to targets the SSRF policy accepts (./ssrf-guard.ts).
 *
 * Why it works this way. Delivery is at-least-once: the row is durable before the sync
 * answers, and it is marked delivered only after a 2xx, so a crash between the two
 * sends it again, with the same webhook-id (the event id), which is what receivers
 * deduplicate on. A failed attempt is retried after the next delay of the schedule
 * (WEBHOOK_RETRY_SCHEDULE, after an immediate first attempt), each delay varied by ±20%
 * so that receivers coming back from an outage are not hit by every sender at once;
 * after the last delay the delivery is failed. 410 Gone means "never again": the
 * subscription is disabled. Every attempt has 5 s to get an answer. Because due times
 * are stored, deliveries that fell due while the service was down are simply due at
 * start and go out at once.
 */
import { USER_AGENT } from '../../process/version.js';
import { request, type Dispatcher } from 'undici';
import type { EventType } from '../../core/audit.js';
import { systemClock } from '../../core/clock.js';
import type { AttemptResult, Clock, DeliveryNext, Outbox, PendingDelivery } from '../../core/ports.js';
import { signingKey, webhookHeaders } from './signing.js';
import { BlockedTargetError, createGuardedAgent, type WebhookTargetPolicy } from './ssrf-guard.js';
import type { DeliveryOutcome, WebhookObserver } from './webhook-observer.js';

export interface DispatcherLog {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface OutboxDispatcherOptions {
  readonly outbox: Outbox;
  /** Delays after the 1st, 2nd, … failed attempt, in ms (WEBHOOK_RETRY_SCHEDULE). */
  readonly schedule: readonly number[];
  readonly policy: WebhookTargetPolicy;
  readonly clock?: Clock;
  /** Default: a guarded Agent (ssrf-guard.ts), owned and closed by the dispatcher. */
  readonly dispatcher?: Dispatcher;
  /** WEBHOOK_URLS: static subscribers; a queued delivery to a URL no longer listed is failed, not sent. */
  readonly staticUrls?: readonly string[];
  /** WEBHOOK_SECRET: signs deliveries to static subscribers. */
  readonly staticSecret?: string;
  readonly observer?: WebhookObserver;
  readonly log?: DispatcherLog;
  /** In [0, 1): the jitter source. */
  readonly random?: () => number;
  /** Per attempt, until the answer's headers. Default 5000. */
  readonly timeoutMs?: number;
  /** Attempts in flight at once. Default 8. */
  readonly concurrency?: number;
  /** Longest idle wait between looks at the outbox when nothing wakes the loop. Default 30 s. */
  readonly idleMs?: number;
}

export interface OutboxDispatcher {
  /** Runs in the background until stop(): due deliveries at once, later ones when they fall due. */
  start(): void;
  /** Stops taking new work and waits for the attempts in flight; nothing is lost. */
  stop(): Promise<void>;
  /** Attempts the deliveries due now (up to `concurrency`) and resolves when all are recorded. For tests and tools. */
  runOnce(): Promise<number>;
}

const JITTER = 0.2;
const ERROR_PAUSE_MS = 5_000;

const quiet: DispatcherLog = { debug() {}, info() {}, warn() {}, error() {} };

export function createOutboxDispatcher(options: OutboxDispatcherOptions): OutboxDispatcher {
  const { outbox, schedule, policy } = options;
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const concurrency = options.concurrency ?? 8;
  const idleMs = options.idleMs ?? 30_000;
  const log = options.log ?? quiet;
  const staticUrls = new Set(options.staticUrls ?? []);
  const staticKey = options.staticSecret === undefined ? undefined : signingKey(options.staticSecret);
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher = options.dispatcher ?? createGuardedAgent(policy, { connectTimeoutMs: timeoutMs });

  const inFlight = new Map<number, Promise<void>>();
  let loop: Promise<void> | null = null;
  let stopping = false;
  let closed = false;
  let woken = false;
  let wakeUp: AbortController | null = null;
  let unsubscribe: (() => void) | null = null;

  const wake = () => {
    woken = true;
    wakeUp?.abort();
  };

  const observe = (event: EventType, outcome: DeliveryOutcome) => {
    try {
      options.observer?.onDelivery(event, outcome);
    } catch {
      // Metrics never change a delivery.
    }
  };

  async function deliver(delivery: PendingDelivery): Promise<void> {
    const attempt = delivery.attempts + 1;
    const at = clock.now();
    const started = clock.monotonic();
    const { statusCode, error, final } = await send(delivery, at);
    const result: AttemptResult = { at, statusCode, error, durationMs: Math.max(0, clock.monotonic() - started) };
    const delay = schedule[attempt - 1];
    let next: DeliveryNext;
    let outcome: DeliveryOutcome;
    if (statusCode !== null && statusCode >= 200 && statusCode < 300) {
      next = { status: 'delivered' };
      outcome = 'delivered';
    } else if (statusCode === 410 && delivery.subscriptionId !== null) {
      next = { status: 'failed' };
      outcome = 'disabled';
    } else if (!final && statusCode !== 410 && delay !== undefined) {
      next = { status: 'pending', nextAttemptAt: clock.now() + Math.round(delay * (1 - JITTER + 2 * JITTER * random())) };
      outcome = 'retry';
    } else {
      next = { status: 'failed' };
      outcome = 'failed';
    }
    await outbox.recordAttempt(delivery.id, result, next);
    if (outcome === 'disabled') await outbox.disableSubscription(delivery.subscriptionId as string);
    observe(delivery.eventType, outcome);

    const details = { eventId: delivery.eventId, eventType: delivery.eventType, subscriptionId: delivery.subscriptionId ?? 'static', target: originOf(delivery.url), attempt, statusCode, error };
    if (outcome === 'delivered') log.debug(details, 'webhook delivered');
    else if (outcome === 'retry') log.info({ ...details, nextAttemptAt: new Date((next as { nextAttemptAt: number }).nextAttemptAt).toISOString() }, 'webhook attempt failed; will retry');
    else if (outcome === 'disabled') log.warn(details, 'webhook receiver answered 410 Gone; subscription disabled');
    else log.warn(details, 'webhook delivery failed for good');
  }

  /** One HTTP attempt. `final`: retrying cannot help (refused target, subscriber gone, no secret). */
  async function send(delivery: PendingDelivery, at: number): Promise<{ statusCode: number | null; error: string | null; final: boolean }> {
    if (delivery.subscriptionId === null && !staticUrls.has(delivery.url)) return { statusCode: null, error: 'the URL is no longer listed in WEBHOOK_URLS', final: true };
    const secret = delivery.subscriptionId === null ? staticKey : delivery.secret === null ? undefined : signingKey(delivery.secret);
    if (secret === undefined) return { statusCode: null, error: 'no signing secret (WEBHOOK_SECRET) for this subscriber', final: true };
    const refused = policy.refuseUrl(delivery.url);
    if (refused) return { statusCode: null, error: `refused target: ${refused}`, final: true };
    try {
      const response = await request(delivery.url, {
        method: 'POST',
        dispatcher,
        headers: { ...webhookHeaders(secret, delivery.eventId, at, delivery.body), 'user-agent': USER_AGENT },
        body: delivery.body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body.dump({ limit: 64 * 1024 }).catch(() => {});
      return { statusCode: response.statusCode, error: response.statusCode >= 300 ? `HTTP ${response.statusCode}` : null, final: false };
    } catch (error) {
      return { statusCode: null, error: describeFailure(error, timeoutMs), final: false };
    }
  }

  function launch(delivery: PendingDelivery): Promise<void> {
    const running = deliver(delivery)
      .catch((error: unknown) => log.error({ err: error, eventId: delivery.eventId }, 'recording a webhook attempt failed'))
      .finally(() => {
        inFlight.delete(delivery.id);
        wake();
      });
    inFlight.set(delivery.id, running);
    return running;
  }

  async function fill(): Promise<Promise<void>[]> {
    const free = concurrency - inFlight.size;
    if (free <= 0) return [];
    const due = await outbox.dueDeliveries(clock.now(), free, new Set(inFlight.keys()));
    return due.map(launch);
  }

  async function pause(ms: number): Promise<void> {
    if (woken || stopping) return;
    const controller = new AbortController();
    wakeUp = controller;
    try {
      await clock.sleep(ms, controller.signal);
    } catch {
      // Woken early: new work, a finished attempt, or stop().
    } finally {
      if (wakeUp === controller) wakeUp = null;
    }
  }

  async function run(): Promise<void> {
    for (;;) {
      if (stopping) return;
      woken = false;
      try {
        const launched = await fill();
        if (launched.length > 0 && inFlight.size < concurrency) continue;
        let wait = idleMs;
        if (inFlight.size < concurrency) {
          const next = await outbox.nextDueAt(new Set(inFlight.keys()));
          if (next !== null) wait = Math.min(idleMs, Math.max(0, next - clock.now()));
        }
        if (wait > 0) await pause(wait);
      } catch (error) {
        log.error({ err: error }, 'the webhook outbox could not be read; trying again shortly');
        await pause(ERROR_PAUSE_MS);
      }
    }
  }

  return {
    start() {
      if (loop) return;
      stopping = false;
      unsubscribe = outbox.onQueued(wake);
      loop = run();
    },

    async stop() {
      stopping = true;
      unsubscribe?.();
      unsubscribe = null;
      wake();
      await loop;
      loop = null;
      await Promise.all(inFlight.values());
      if (ownsDispatcher && !closed) await dispatcher.close();
      closed = true;
    },

    async runOnce() {
      const launched = await fill();
      await Promise.all(launched);
      return launched.length;
    },
  };
}

/** Where a delivery goes, for logs: scheme, host and port only, as paths often hold tokens. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

function describeFailure(error: unknown, timeoutMs: number): string {
  for (let cause: unknown = error, depth = 0; cause && depth < 5; cause = (cause as { cause?: unknown }).cause, depth++) {
    if (cause instanceof BlockedTargetError) return `refused target: ${cause.message}`;
    const name = (cause as { name?: unknown }).name;
    if (name === 'TimeoutError' || (cause as { code?: unknown }).code === 'UND_ERR_CONNECT_TIMEOUT') return `no answer within ${timeoutMs} ms`;
  }
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return (typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message).replace(/\s+/g, ' ').slice(0, 300);
}
