import { Webhook } from 'standardwebhooks';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { openSqliteStore, type SqliteStore } from '../../../src/adapters/storage/sqlite-store.js';
import { createOutboxDispatcher, type DispatcherLog, type OutboxDispatcherOptions } from '../../../src/adapters/webhooks/outbox-dispatcher.js';
import { createWebhookTargetPolicy } from '../../../src/adapters/webhooks/ssrf-guard.js';
import type { DeliveryOutcome } from '../../../src/adapters/webhooks/webhook-observer.js';
import type { Clock } from '../../../src/core/ports.js';
import { auditEntry, domainEvent } from '../../fakes/audit-entry.js';
import { FakeClock } from '../../fakes/fake-clock.js';
import { startWebhookReceiver } from '../../helpers/webhook-receiver.js';
import { generateSecret } from '../../../src/adapters/webhooks/signing.js';
import { tempDir } from '../../helpers/temp-dir.js';

const SCHEDULE = [5_000, 300_000, 1_800_000];
const STATIC_SECRET = `whsec_${Buffer.from('static-secret-bytes-0123456789ab').toString('base64')}`;

interface Setup {
  store: SqliteStore;
  clock: FakeClock;
  outcomes: [string, DeliveryOutcome][];
  logs: [string, object, string][];
  dispatcher: ReturnType<typeof createOutboxDispatcher>;
}

/** A SQLite store and a dispatcher on a FakeClock (starting now, so standardwebhooks accepts the timestamps). */
function setup(options: Partial<OutboxDispatcherOptions> & { staticUrls?: string[] } = {}): Setup {
  const clock = new FakeClock(Date.now());
  // The store and the dispatcher must read one clock: two clocks built a millisecond apart
  // make a fresh delivery due in the dispatcher's future, and it waits for it.
  const store = openSqliteStore({ newSecret: generateSecret, dataDir: tempDir(), clock: options.clock ?? clock, staticSubscribers: options.staticUrls ?? [] });
  const outcomes: [string, DeliveryOutcome][] = [];
  const logs: [string, object, string][] = [];
  const log = Object.fromEntries(['debug', 'info', 'warn', 'error'].map((level) => [level, (details: object, message: string) => logs.push([level, details, message])])) as unknown as DispatcherLog;
  const dispatcher = createOutboxDispatcher({
    outbox: store,
    clock,
    schedule: SCHEDULE,
    policy: createWebhookTargetPolicy({ allowPrivate: true }),
    staticSecret: STATIC_SECRET,
    observer: { onDelivery: (event, outcome) => outcomes.push([event, outcome]) },
    log,
    random: () => 0.5,
    ...options,
  });
  onTestFinished(async () => {
    await dispatcher.stop();
    store.close();
  });
  return { store, clock, outcomes, logs, dispatcher };
}

async function syncEvent(store: SqliteStore, type: 'group.sync.completed' | 'group.sync.failed' = 'group.sync.completed') {
  const entry = auditEntry({ createdAt: new Date().toISOString() });
  const event = domainEvent(entry, type);
  await store.append(entry, [event]);
  return event;
}

describe('outbox dispatcher', () => {
  it('when an event is queued, then the receiver gets one signed POST that standardwebhooks verifies', async () => {
    const receiver = await startWebhookReceiver(200);
    const { store, dispatcher, outcomes } = setup();
    const sub = await store.createSubscription({ url: receiver.url, events: ['group.sync.completed'] });
    const event = await syncEvent(store);

    expect(await dispatcher.runOnce()).toBe(1);
    const [request] = receiver.received;
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['webhook-id']).toBe(event.id);
    const payload = new Webhook(sub.secret).verify(request?.body ?? '', request?.headers as Record<string, string>);
    expect(payload).toEqual({ type: 'group.sync.completed', timestamp: event.timestamp, data: event.data });
    expect(outcomes).toEqual([['group.sync.completed', 'delivered']]);
    expect((await store.listDeliveries(sub.id, { limit: 5 }))?.items[0]).toMatchObject({ status: 'delivered', nextAttemptAt: null, attempts: [{ attempt: 1, statusCode: 200, error: null }] });
    expect(await dispatcher.runOnce()).toBe(0);
  });

  it('when a delivery is sent, then it says who sent it: User-Agent cxone-scim-sync/<version>', async () => {
    const receiver = await startWebhookReceiver(200);
    const { store, dispatcher } = setup();
    await store.createSubscription({ url: receiver.url, events: ['group.sync.completed'] });
    await syncEvent(store);

    expect(await dispatcher.runOnce()).toBe(1);
    const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(receiver.received[0]?.headers['user-agent']).toBe(`cxone-scim-sync/${version}`);
  });

  it('when the subscriber is static (WEBHOOK_URLS), then the delivery is signed with WEBHOOK_SECRET', async () => {
    const receiver = await startWebhookReceiver(204);
    const { store, dispatcher } = setup({ staticUrls: [receiver.url] });
    await syncEvent(store, 'group.sync.failed');
    await dispatcher.runOnce();
    const [request] = receiver.received;
    expect(new Webhook(STATIC_SECRET).verify(request?.body ?? '', request?.headers as Record<string, string>)).toMatchObject({ type: 'group.sync.failed' });
  });

  it('when the receiver fails three times then succeeds, then every attempt carries the same webhook-id and follows the schedule', async () => {
    const receiver = await startWebhookReceiver((_request, index) => (index < 3 ? 500 : 200));
    const { store, dispatcher, clock, outcomes } = setup();
    const sub = await store.createSubscription({ url: receiver.url, events: ['group.sync.completed'] });
    const event = await syncEvent(store);

    await dispatcher.runOnce();
    for (const delay of SCHEDULE) {
      clock.advance(delay - 1);
      expect(await dispatcher.runOnce(), 'not due a millisecond early').toBe(0);
      clock.advance(1);
      expect(await dispatcher.runOnce()).toBe(1);
    }
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([event.id, event.id, event.id, event.id]);
    const timestamps = receiver.received.map((r) => Number(r.headers['webhook-timestamp']));
    expect(timestamps[3]).toBeGreaterThan(timestamps[0] as number);
    for (const [i, request] of receiver.received.entries()) {
      // standardwebhooks refuses timestamps more than 5 minutes from its Date.now(): let it live at the attempt's time.
      vi.useFakeTimers({ toFake: ['Date'], now: (timestamps[i] as number) * 1000 });
      expect(() => new Webhook(sub.secret).verify(request.body, request.headers as Record<string, string>)).not.toThrow();
      vi.useRealTimers();
    }
    expect(outcomes.map(([, outcome]) => outcome)).toEqual(['retry', 'retry', 'retry', 'delivered']);
    const delivery = (await store.listDeliveries(sub.id, { limit: 5 }))?.items[0];
    expect(delivery?.status).toBe('delivered');
    expect(delivery?.attempts.map((a) => a.statusCode)).toEqual([500, 500, 500, 200]);
  });

  it('when the last attempt of the schedule fails, then the delivery is failed and never tried again', async () => {
    const receiver = await startWebhookReceiver(503);
    const { store, dispatcher, clock, outcomes, logs } = setup();
    const sub = await store.createSubscription({ url: receiver.url, events: ['group.sync.completed'] });
    await syncEvent(store);
    await dispatcher.runOnce();
    for (const delay of SCHEDULE) {
      clock.advance(delay);
      await dispatcher.runOnce();
    }
    clock.advance(86_400_000);
    expect(await dispatcher.runOnce()).toBe(0);
    expect(receiver.received).toHaveLength(SCHEDULE.length + 1);
    expect(outcomes.map(([, outcome]) => outcome)).toEqual(['retry', 'retry', 'retry', 'failed']);
    expect((await store.listDeliveries(sub.id, { limit: 5 }))?.items[0]).toMatchObject({ status: 'failed', nextAttemptAt: null });
    expect(logs.at(-1)).toEqual(['warn', expect.objectContaining({ target: new URL(receiver.url).origin, statusCode: 503 }), 'webhook delivery failed for good']);
  });

  it('when a delay is due, then it is varied by at most ±20% (jitter)', async () => {
    for (const [random, expected] of [
      [0, 4_000],
      [0.5, 5_000],
      [0.999_999, 6_000],
    ] as const) {
      const receiver = await startWebhookReceiver(500);
      const { store, dispatcher, clock } = setup({ random: () => random });
      const sub = await store.createSubscription({ url: receiver.url, events: ['group.sync.completed'] });
      await syncEvent(store);
      await dispatcher.runOnce();
      const next = (await store.listDeliveries(sub.id, { limit: 1 }))?.items[0]?.nextAttemptAt;
      expect(Date.parse(next ?? '') - clock.now()).toBe(expected);
    }
  });

  it('when the receiver answers 410 Gone, then the subscription is disabled and gets nothing more', async () => {
    const receiver = await startWebhookReceiver(410);
    const { store, dispatcher, outcomes } = setup();
    const sub = await store.createSubscription({ url: receiver.url, events: ['group.sync.completed'] });
    await syncEvent(store);
    await syncEvent(store);
    const attempted = await dispatcher.runOnce();
    expect(attempted).toBe(2);
    expect(await store.getSubscription(sub.id)).toMatchObject({ disabled: true });
    expect(outcomes.map(([, outcome]) => outcome)).toEqual(['disabled', 'disabled']);
    await syncEvent(store);
    expect(await dispatcher.runOnce()).toBe(0);
    expect((await store.listDeliveries(sub.id, { limit: 10 }))?.items.map((d) => d.status)).toEqual(['failed', 'failed']);
  });

  it('when the receiver does not answer in time, then the attempt fails as a timeout and is retried', async () => {
    const receiver = await startWebhookReceiver(() => new Promise<number>(() => {}));
    const { store, dispatcher, outcomes } = setup({ timeoutMs: 100 });
    const sub = await store.createSubscription({ url: receiver.url, events: ['group.sync.completed'] });
    await syncEvent(store);
    await dispatcher.runOnce();
    expect(outcomes).toEqual([['group.sync.completed', 'retry']]);
    expect((await store.listDeliveries(sub.id, { limit: 1 }))?.items[0]?.attempts).toEqual([expect.objectContaining({ statusCode: null, error: 'no answer within 100 ms' })]);
  });

  it('when a static URL is no longer in WEBHOOK_URLS, then its queued delivery is failed without being sent', async () => {
    const receiver = await startWebhookReceiver(200);
    const { store, dispatcher, outcomes, clock } = setup({ staticUrls: [] });
    const entry = auditEntry();
    // Queued by an earlier run that listed the URL:
    const earlier = openSqliteStore({ newSecret: generateSecret, dataDir: dirname(store.file), clock, staticSubscribers: [receiver.url] });
    await earlier.append(entry, [domainEvent(entry)]);
    earlier.close();
    await dispatcher.runOnce();
    expect(receiver.received).toHaveLength(0);
    expect(outcomes).toEqual([['group.sync.completed', 'failed']]);
  });

  it('when a target is refused by the SSRF policy, then the delivery fails without a request', async () => {
    const receiver = await startWebhookReceiver(200);
    const { store, dispatcher, logs } = setup({ policy: createWebhookTargetPolicy({ allowPrivate: false }) });
    const sub = await store.createSubscription({ url: receiver.url, events: ['group.sync.completed'] }); // e.g. created while private targets were allowed
    await syncEvent(store);
    await dispatcher.runOnce();
    expect(receiver.received).toHaveLength(0);
    expect((await store.listDeliveries(sub.id, { limit: 1 }))?.items[0]).toMatchObject({ status: 'failed', attempts: [expect.objectContaining({ error: expect.stringMatching(/^refused target: .*not an allowed target/) })] });
    expect(JSON.stringify(logs)).not.toContain(sub.secret);
  });

  it('when started, then queued events are delivered without polling, and stop() waits for the attempt in flight', async () => {
    let release: (status: number) => void = () => {};
    const receiver = await startWebhookReceiver(() => new Promise<number>((resolve) => (release = resolve)));
    const { store, dispatcher } = setup({ clock: blockingClock(Date.now()) });
    const sub = await store.createSubscription({ url: receiver.url, events: ['group.sync.completed'] });
    dispatcher.start();
    await syncEvent(store);
    await receiver.waitFor(1);
    let stopped = false;
    const stopping = dispatcher.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release(200);
    await stopping;
    expect((await store.listDeliveries(sub.id, { limit: 1 }))?.items[0]?.status).toBe('delivered');
  });

  it('when started with deliveries that fell due while it was down, then they are attempted at once', async () => {
    const receiver = await startWebhookReceiver(200);
    const clock = blockingClock(Date.now());
    const { store, dispatcher } = setup({ clock });
    const sub = await store.createSubscription({ url: receiver.url, events: ['group.sync.completed'] });
    await syncEvent(store);
    dispatcher.start();
    await receiver.waitFor(1);
    await dispatcher.stop();
    expect((await store.listDeliveries(sub.id, { limit: 1 }))?.items[0]?.status).toBe('delivered');
  });
});

/** A real clock whose sleeps end only when aborted: the dispatcher loop waits for a wake-up, never for time. */
function blockingClock(start: number): Clock {
  const fake = new FakeClock(start);
  return {
    now: () => fake.now(),
    monotonic: () => fake.monotonic(),
    sleep: (_ms, signal) => new Promise<void>((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true })),
  };
}
