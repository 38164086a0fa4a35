/** Noticing that the caller of a request went away before its answer. */
import type { FastifyReply } from 'fastify';
import { SyncCancelledError } from '../core/errors.js';

/**
 * A signal that fires (with SyncCancelledError) when the connection of `reply` closes
 * before the answer was sent: the caller gave up, and nobody will read the answer.
 */
export function callerGoneSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const res = reply.raw;
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new SyncCancelledError());
  });
  return controller.signal;
}
