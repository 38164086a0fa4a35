import { describe, expect, it } from 'vitest';
import { createPrometheusMetrics } from '../../../src/adapters/metrics/prometheus-metrics.js';
import type { EventType } from '../../../src/core/audit.js';
import type { SyncObservation } from '../../../src/core/ports.js';
import { parsePrometheusText, sampleValue } from '../../helpers/prometheus-text.js';

const scrape = async (metrics: ReturnType<typeof createPrometheusMetrics>) => parsePrometheusText(await metrics.registry.metrics());

describe('Prometheus metrics adapter', () => {
  it('when webhook deliveries are reported, then scim_webhook_deliveries_total counts them by event and outcome', async () => {
    const metrics = createPrometheusMetrics({ defaultMetrics: false });
    metrics.webhooks.onDelivery('group.sync.completed', 'retry');
    metrics.webhooks.onDelivery('group.sync.completed', 'delivered');
    metrics.webhooks.onDelivery('group.sync.failed', 'disabled');
    const m = await scrape(metrics);
    expect(sampleValue(m, 'scim_webhook_deliveries_total', { event: 'group.sync.completed', outcome: 'retry' })).toBe(1);
    expect(sampleValue(m, 'scim_webhook_deliveries_total', { event: 'group.sync.completed', outcome: 'delivered' })).toBe(1);
    expect(sampleValue(m, 'scim_webhook_deliveries_total', { event: 'group.sync.failed', outcome: 'disabled' })).toBe(1);
    expect(sampleValue(m, 'scim_webhook_deliveries_total', { event: 'user.attributes.synced', outcome: 'failed' })).toBe(0);
  });

  it('when a sync that was not applied reports a consistency rate, then only applied syncs feed scim_sync_consistency_ratio', async () => {
    const metrics = createPrometheusMetrics({ defaultMetrics: false });
    const observe = (o: Partial<SyncObservation>) => metrics.sync.observeSync({ status: 'applied', durationSeconds: 0.2, consistencyRate: null, validationCodes: [], attributeOutcomes: [], groupsInconsistent: 0, ...o });
    observe({ consistencyRate: 0.5 });
    observe({ status: 'unchanged', consistencyRate: 1 });
    observe({ status: 'dry_run', consistencyRate: 1 });
    const m = await scrape(metrics);
    expect(sampleValue(m, 'scim_sync_consistency_ratio_count')).toBe(1);
    expect(sampleValue(m, 'scim_sync_consistency_ratio_bucket', { le: '0.5' })).toBe(1);
    expect(sampleValue(m, 'scim_sync_duration_seconds_bucket', { status: 'applied', le: '0.25' })).toBe(1);
    expect(sampleValue(m, 'scim_sync_duration_seconds_bucket', { status: 'applied', le: '0.1' })).toBe(0);
  });

  it('when the attribute sync reports per-user outcomes, then they are counted by outcome, with groups disagreements apart', async () => {
    const metrics = createPrometheusMetrics({ defaultMetrics: false });
    metrics.sync.observeSync({ status: 'applied', durationSeconds: 0.1, consistencyRate: 1, validationCodes: [], attributeOutcomes: ['updated', 'updated', 'failed', 'not_managed'], groupsInconsistent: 2 });
    const m = await scrape(metrics);
    expect(sampleValue(m, 'scim_user_attribute_syncs_total', { outcome: 'updated' })).toBe(2);
    expect(sampleValue(m, 'scim_user_attribute_syncs_total', { outcome: 'failed' })).toBe(1);
    expect(sampleValue(m, 'scim_user_attribute_syncs_total', { outcome: 'unchanged' })).toBe(0);
    expect(sampleValue(m, 'scim_user_groups_inconsistent_total')).toBe(2);
  });

  it('when hooks get values outside their fixed sets, then labels fall back to "other" and nothing throws', async () => {
    const metrics = createPrometheusMetrics({ defaultMetrics: false });
    expect(() => {
      metrics.upstream.onRequest?.({ method: 'PROPFIND', resource: 'Groups/123' as never, status: 999, durationMs: -5 });
      metrics.upstream.onRetry?.('bored' as never);
      metrics.webhooks.onDelivery('group.exploded' as EventType, 'shrugged' as never);
      metrics.sync.observeSync({ status: 'weird' as never, durationSeconds: Number.NaN, consistencyRate: null, validationCodes: ['odd' as never], attributeOutcomes: ['strange' as never], groupsInconsistent: 0 });
    }).not.toThrow();
    const m = await scrape(metrics);
    expect(sampleValue(m, 'scim_upstream_requests_total', { method: 'other', resource: 'other', status: 'other' })).toBe(1);
    expect(sampleValue(m, 'scim_upstream_retries_total', { reason: 'other' })).toBe(1);
    expect(sampleValue(m, 'scim_webhook_deliveries_total', { event: 'other', outcome: 'other' })).toBe(1);
    expect(sampleValue(m, 'scim_syncs_total', { status: 'internal_error' })).toBe(1);
    expect(sampleValue(m, 'scim_validation_failures_total', { code: 'other' })).toBe(1);
  });

  it('when two are created, then their registries share nothing and neither is prom-client\'s global one', async () => {
    const { register } = await import('prom-client');
    const a = createPrometheusMetrics();
    const b = createPrometheusMetrics();
    a.upstream.onTokenFetch?.('failure');
    expect(sampleValue(await scrape(a), 'scim_oauth_token_fetches_total', { outcome: 'failure' })).toBe(1);
    expect(sampleValue(await scrape(b), 'scim_oauth_token_fetches_total', { outcome: 'failure' })).toBe(0);
    expect(a.registry).not.toBe(register);
    expect(register.getSingleMetric('scim_syncs_total')).toBeUndefined();
    expect(sampleValue(await scrape(a), 'process_cpu_seconds_total')).toBeGreaterThanOrEqual(0);
  });
});
