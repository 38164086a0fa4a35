/**
 * The /subscriptions API (docs/api.md "Webhooks"). The secret is
 * answered once, by the create.
 *
 * A subscription belongs to the token name that created it: a caller lists, reads,
 * deletes and lists the deliveries of its own only, and someone else's id answers 404
 * exactly like an unknown one (no existence oracle); an administrator (ADMIN_API_TOKENS)
 * manages all. Creating and deleting one is audited in the sync hash chain (by the store,
 * in the same transaction as the change).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ChangeRequest, SubscriptionStore, Viewer, WebhookTargetCheck } from '../../core/ports.js';
import { InvalidWebhookUrlError, SubscriptionNotFoundError } from '../errors.js';
import { errorResponse } from '../schemas/common.js';
import { CreatedSubscriptionSchema, DeliveriesQuery, DeliveryPage, NewSubscriptionBody, SubscriptionIdParams, SubscriptionList, SubscriptionSchema } from '../schemas/subscriptions.js';

export interface SubscriptionRouteOptions {
  store: SubscriptionStore;
  policy: WebhookTargetCheck;
}

const security = [{ bearerAuth: [] }];
const unauthorized = errorResponse('Missing or wrong bearer token');
const notFound = errorResponse('No such subscription, or not yours (subscription_not_found: the same answer either way)');
const rateLimited = errorResponse('Too many requests from this caller, or too many failed authentications from this address (rate_limited, with Retry-After)');
const internal = errorResponse('Internal error');

/** Who is asking: a caller sees and manages its own subscriptions, an administrator every one. */
const viewer = (request: FastifyRequest): Viewer => ({ actor: request.actor, admin: request.admin });
const change = (request: FastifyRequest): ChangeRequest => ({ ...viewer(request), requestId: request.id });

export const subscriptionRoutes: FastifyPluginAsyncTypebox<SubscriptionRouteOptions> = async (app, { store, policy }) => {
  app.post(
    '/subscriptions',
    {
      schema: {
        tags: ['webhooks'],
        operationId: 'createSubscription',
        summary: 'Subscribe a URL to the events of your syncs (an administrator: of every sync); the answer holds the signing secret, shown once',
        description: 'The subscription belongs to your token\'s name (`owner`): only you and administrators see, list or delete it, and it gets the events of your syncs only; an administrator\'s gets every sync\'s. Creating it is audited (status subscription_created).',
        security,
        body: NewSubscriptionBody,
        response: {
          201: CreatedSubscriptionSchema,
          400: errorResponse('Malformed body or unknown event type'),
          401: unauthorized,
          422: errorResponse('The URL may not receive webhooks (invalid_webhook_url): not http(s), carries credentials, or its host is not an allowed target (the answer never says what a name resolved to)'),
          429: rateLimited,
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
      const created = await store.createSubscription(request.body, change(request));
      request.log.info({ subscriptionId: created.id, owner: created.owner, target: originOf(created.url), events: created.events }, 'subscription created');
      return reply.code(201).header('location', `/subscriptions/${encodeURIComponent(created.id)}`).send(created);
    },
  );

  app.get(
    '/subscriptions',
    {
      schema: {
        tags: ['webhooks'],
        operationId: 'listSubscriptions',
        summary: 'Your subscriptions (an administrator: every one), never a secret',
        security,
        response: { 200: SubscriptionList, 401: unauthorized, 429: rateLimited, 500: internal },
      },
    },
    async (request) => ({ items: await store.listSubscriptions(viewer(request)) }),
  );

  app.get(
    '/subscriptions/:id',
    {
      schema: {
        tags: ['webhooks'],
        operationId: 'getSubscription',
        summary: 'One of your subscriptions (never its secret)',
        security,
        params: SubscriptionIdParams,
        response: { 200: SubscriptionSchema, 401: unauthorized, 404: notFound, 429: rateLimited, 500: internal },
      },
    },
    async (request) => {
      const subscription = await store.getSubscription(request.params.id, viewer(request));
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
        summary: 'Delete one of your subscriptions (an administrator: any) and its deliveries; audited',
        security,
        params: SubscriptionIdParams,
        response: { 204: Type.Null({ description: 'Deleted' }), 401: unauthorized, 404: notFound, 429: rateLimited, 500: internal },
      },
    },
    async (request, reply) => {
      const deleted = await store.deleteSubscription(request.params.id, change(request));
      if (!deleted) throw new SubscriptionNotFoundError(request.params.id);
      request.log.info({ subscriptionId: deleted.id, owner: deleted.owner, target: originOf(deleted.url) }, 'subscription deleted');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/subscriptions/:id/deliveries',
    {
      schema: {
        tags: ['webhooks'],
        operationId: 'listDeliveries',
        summary: 'Deliveries to one of your subscriptions, newest first: attempts, status codes, next attempt time',
        security,
        params: SubscriptionIdParams,
        querystring: DeliveriesQuery,
        response: { 200: DeliveryPage, 400: errorResponse('Bad query'), 401: unauthorized, 404: notFound, 429: rateLimited, 500: internal },
      },
    },
    async (request) => {
      const page = await store.listDeliveries(request.params.id, { limit: request.query.limit ?? 20, cursor: request.query.cursor }, viewer(request));
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
