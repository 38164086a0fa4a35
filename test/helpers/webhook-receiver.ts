import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';

export interface ReceivedWebhook {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export type Responder = (request: ReceivedWebhook, index: number) => number | Promise<number>;

export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  /** What the next requests are answered with (a status code, or a function of the request). */
  respond(responder: Responder | number): void;
  /**
   * Resolves once `count` requests have arrived (or `until` holds for what arrived); rejects
   * after `timeoutMs`. Checked on each arrival, no polling.
   */
  waitFor(until: number | ((received: readonly ReceivedWebhook[]) => boolean), timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/** A loopback HTTP server on port 0 that records what it receives; closed when the test finishes. */
export async function startWebhookReceiver(initial: Responder | number = 200): Promise<WebhookReceiver> {
  let responder: Responder = typeof initial === 'number' ? () => initial : initial;
  const received: ReceivedWebhook[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const webhook = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const index = received.push(webhook) - 1;
      for (const waiter of waiters) waiter();
      void Promise.resolve(responder(webhook, index)).then((status) => res.writeHead(status).end());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  onTestFinished(close);
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    respond(next) {
      responder = typeof next === 'number' ? () => next : next;
    },
    waitFor(until, timeoutMs = 10_000) {
      const done = typeof until === 'number' ? (all: readonly ReceivedWebhook[]) => all.length >= until : until;
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!done(received)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(typeof until === 'number' ? received.slice(0, until) : [...received]);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the expected webhook requests did not arrive within ${timeoutMs} ms (got ${received.length})`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close,
  };
}
