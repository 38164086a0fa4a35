/** Schemas of the /subscriptions API: the source of its OpenAPI. The secret appears in the create answer only. */
import { Type } from 'typebox';
import { EVENT_TYPES } from '../../core/audit.js';

const EventTypeSchema = Type.Union(
  EVENT_TYPES.map((type) => Type.Literal(type)),
  { description: 'group.sync.completed (applied or unchanged), group.sync.failed, user.attributes.synced' },
);

export const SubscriptionIdParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 128 }),
});

export const NewSubscriptionBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'http(s) URL without credentials, to a globally reachable address: loopback, private, link-local, metadata and the other special-purpose addresses of the IANA registries are refused unless WEBHOOK_ALLOW_PRIVATE=true' }),
    events: Type.Array(EventTypeSchema, { minItems: 1, uniqueItems: true }),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  {
    additionalProperties: false,
    description: 'Any other attribute is a 400 naming it',
    examples: [{ url: 'https://hooks.example.com/cxone-sync', events: ['group.sync.completed', 'group.sync.failed'], description: 'Provisioning dashboard' }],
  },
);

const subscriptionFields = {
  id: Type.String(),
  owner: Type.Union([Type.String(), Type.Null()], {
    description: 'The name of the token that created it: it gets the events of that name\'s syncs only (an administrator\'s gets every sync\'s). null: created before owners were recorded; only administrators see it, and it gets every event',
  }),
  url: Type.String(),
  events: Type.Array(EventTypeSchema),
  description: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  disabled: Type.Boolean({ description: 'true once the receiver answered 410 Gone' }),
};

export const SubscriptionSchema = Type.Object(subscriptionFields, { description: 'A webhook subscription (never its secret)' });

export const CreatedSubscriptionSchema = Type.Object(
  {
    ...subscriptionFields,
    secret: Type.String({ description: 'whsec_…: the Standard Webhooks signing secret. Shown only in this answer; store it now.' }),
  },
  { description: 'The new subscription with its signing secret (shown once)' },
);

export const SubscriptionList = Type.Object({ items: Type.Array(SubscriptionSchema) });

export const DeliveriesQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page' })),
});

const AttemptSchema = Type.Object({
  attempt: Type.Integer({ minimum: 1 }),
  at: Type.String({ format: 'date-time' }),
  statusCode: Type.Union([Type.Integer(), Type.Null()], { description: "The receiver's HTTP status; null when no answer came" }),
  error: Type.Union([Type.String(), Type.Null()]),
  durationMs: Type.Integer(),
});

export const DeliveryPage = Type.Object({
  items: Type.Array(
    Type.Object({
      id: Type.Integer(),
      eventId: Type.String({ description: 'The webhook-id header of every attempt' }),
      eventType: EventTypeSchema,
      status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
      nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'When the next attempt is due; null unless pending' }),
      createdAt: Type.String({ format: 'date-time' }),
      attempts: Type.Array(AttemptSchema),
    }),
    { description: 'Newest first' },
  ),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});
