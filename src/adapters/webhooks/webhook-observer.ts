/** What the webhook dispatcher tells the metrics (scim_webhook_deliveries_total{event,outcome}). */
import type { EventType } from '../../core/audit.js';

/** delivered: 2xx; retry: failed, another attempt is scheduled; failed: the last attempt failed; disabled: 410 Gone turned the subscription off. */
export type DeliveryOutcome = 'delivered' | 'retry' | 'failed' | 'disabled';

export interface WebhookObserver {
  onDelivery(event: EventType, outcome: DeliveryOutcome): void;
}
