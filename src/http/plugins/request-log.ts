/**
 * One log line per request, written when it completes: request id (bound by Fastify),
 * method, route, status and latency. No headers, no bodies: nothing that could hold a token.
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

export class RequestLog extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'requestId' });
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      route: request.routeOptions.url ?? '(no route)',
      status: reply.statusCode,
      latencyMs: Math.round(reply.elapsedTime * 10) / 10,
      actor: request.actor || undefined,
    };
    const level = reply.statusCode >= 500 ? 'error' : request.routeOptions.logLevel === 'warn' ? 'debug' : 'info';
    reply.log[level](error ? { ...line, err: error } : line, 'request completed');
  }
}
