/** The /subscriptions API (API.md "Event subscriptions and webhooks"). The secret is answered once, by the create. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { SubscriptionStore } from '../../adapters/storage/ports.js';
import type { WebhookTargetPolicy } from '../../adapters/webhooks/ssrf-guard.js';
import { InvalidWebhookUrlError, SubscriptionNotFoundError } from '../errors.js';
import { CreatedSubscriptionSchema, DeliveriesQuery, DeliveryPage, NewSubscriptionBody, SubscriptionIdParams, SubscriptionList, SubscriptionSchema } from '../schemas/subscriptions.js';

export interface SubscriptionRouteOptions {
  store: SubscriptionStore;
  policy: WebhookTargetPolicy;
}

const errorResponse = (description: string) => Type.Ref('ErrorBody', { description });
const security = [{ bearerAuth: [] }];
const unauthorized = errorResponse('Missing or wrong bearer token');
const notFound = errorResponse('No such subscription (subscription_not_found)');
const internal = errorResponse('Internal error');

export const subscriptionRoutes: FastifyPluginAsyncTypebox<SubscriptionRouteOptions> = async (app, { store, policy }) => {
  app.post(
    '/subscriptions',
    {
      schema: {
        tags: ['webhooks'],
        operationId: 'createSubscription',
        summary: 'Subscribe a URL to events; the answer holds the signing secret, shown once',
        security,
        body: NewSubscriptionBody,
        response: {
          201: CreatedSubscriptionSchema,
          400: errorResponse('Malformed body or unknown event type'),
          401: unauthorized,
          422: errorResponse('The URL may not receive webhooks (invalid_webhook_url): not http(s), carries credentials, or its host is not an allowed target (the answer never says what a name resolved to)'),
          500: internal,
        },
      },
    },
    async (request, reply) => {
      const refused = await policy.checkTarget(request.body.url);
      if (refused) {
        // The caller learns only that the target is not allowed; what its name resolved to is for the operator.
        request.log.info({ target: originOf(request.body.url), why: refused.detail }, 'webhook target refused');
        throw new InvalidWebhookUrlError(refused.reason);
      }
      const created = await store.createSubscription(request.body);
      return reply.code(201).header('location', `/subscriptions/${encodeURIComponent(created.id)}`).send(created);
    },
  );

  app.get(
    '/subscriptions',
    {
      schema: { tags: ['webhooks'], operationId: 'listSubscriptions', summary: 'Every subscription (never a secret)', security, response: { 200: SubscriptionList, 401: unauthorized, 500: internal } },
    },
    async () => ({ items: await store.listSubscriptions() }),
  );

  app.get(
    '/subscriptions/:id',
    {
      schema: { tags: ['webhooks'], operationId: 'getSubscription', summary: 'One subscription (never its secret)', security, params: SubscriptionIdParams, response: { 200: SubscriptionSchema, 401: unauthorized, 404: notFound, 500: internal } },
    },
    async (request) => {
      const subscription = await store.getSubscription(request.params.id);
      if (!subscription) throw new SubscriptionNotFoundError(request.params.id);
      return subscription;
    },
  );

  app.delete(
    '/subscriptions/:id',
    {
      schema: {
        tags: ['webhooks'],
        operationId: 'deleteSubscription',
        summary: 'Delete a subscription and its pending deliveries',
        security,
        params: SubscriptionIdParams,
        response: { 204: Type.Null({ description: 'Deleted' }), 401: unauthorized, 404: notFound, 500: internal },
      },
    },
    async (request, reply) => {
      if (!(await store.deleteSubscription(request.params.id))) throw new SubscriptionNotFoundError(request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/subscriptions/:id/deliveries',
    {
      schema: {
        tags: ['webhooks'],
        operationId: 'listDeliveries',
        summary: 'Deliveries to a subscription, newest first: attempts, status codes, next attempt time',
        security,
        params: SubscriptionIdParams,
        querystring: DeliveriesQuery,
        response: { 200: DeliveryPage, 400: errorResponse('Bad query'), 401: unauthorized, 404: notFound, 500: internal },
      },
    },
    async (request) => {
      const page = await store.listDeliveries(request.params.id, { limit: request.query.limit ?? 20, cursor: request.query.cursor });
      if (!page) throw new SubscriptionNotFoundError(request.params.id);
      return page;
    },
  );
};

/** The origin of a URL, for the log (paths and queries often hold tokens). */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(not a URL)';
  }
}
