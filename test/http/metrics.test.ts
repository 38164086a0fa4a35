import { describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/simulator.js';
import { bearer, buildTestApp } from '../helpers/build-test-app.js';
import { parsePrometheusText, sampleValue, type MetricFamily } from '../helpers/prometheus-text.js';
import { buildSimulatorApp, type SimulatorApp } from '../helpers/simulator-app.js';

const { users, groups } = seedIds;
const user = (value: string) => ({ value, type: 'User' as const });
const group = (value: string) => ({ value, type: 'Group' as const });
const SCIM_ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

function post(s: SimulatorApp, groupId: string, body: unknown, query = '') {
  return s.app.inject({ method: 'POST', url: `/groups/${groupId}/sync${query}`, headers: { ...bearer(), 'content-type': 'application/json' }, payload: JSON.stringify(body) });
}

async function scrape(s: { app: SimulatorApp['app'] }): Promise<Map<string, MetricFamily>> {
  const res = await s.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(res.body);
}

/** applied, unchanged, dry run, validation failure, conflict, then a 429 followed by success. */
async function scriptedSyncs(s: SimulatorApp): Promise<void> {
  const expectStatus = async (res: Promise<{ statusCode: number }>, status: number) => expect((await res).statusCode).toBe(status);

  await expectStatus(post(s, groups.contactCenterAgents, { members: [user(users.aliceSmith)] }), 200);
  await expectStatus(post(s, groups.contactCenterAgents, { members: [user(users.aliceSmith)] }), 200);
  await expectStatus(post(s, groups.contactCenterAgents, { members: [user(users.davidKim)] }, '?dryRun=true'), 200);
  await expectStatus(post(s, groups.engineeringCore, { members: [group(groups.platform), group(groups.allStaff), user(users.marcusJohansson), user('u-404')] }), 422);

  s.simulator.onRequest((req) => {
    if (req.method === 'PUT') s.simulator.store.bumpGroup(groups.platform);
  });
  await expectStatus(post(s, groups.platform, { members: [user(users.aliceSmith)] }), 409);

  let limited = false;
  s.simulator.onRequest((req) => {
    if (req.method === 'GET' && !limited) {
      limited = true;
      return { status: 429, headers: { 'retry-after': '2' }, body: { schemas: [SCIM_ERROR], status: '429', detail: 'slow down' } };
    }
  });
  await expectStatus(post(s, groups.contactCenterAgents, { members: [user(users.aliceSmith), user(users.davidKim)] }), 200);
  s.simulator.onRequest(null);
}

describe('GET /metrics', () => {
  it('when a scripted set of syncs has run, then the counters and histograms show exactly what happened', async () => {
    const s = await buildSimulatorApp();
    await scriptedSyncs(s);
    const m = await scrape(s);
    const v = (name: string, labels: Record<string, string> = {}) => sampleValue(m, name, labels);

    expect(v('scim_syncs_total', { status: 'applied' })).toBe(2);
    expect(v('scim_syncs_total', { status: 'unchanged' })).toBe(1);
    expect(v('scim_syncs_total', { status: 'dry_run' })).toBe(1);
    expect(v('scim_syncs_total', { status: 'validation_failed' })).toBe(1);
    expect(v('scim_syncs_total', { status: 'conflict' })).toBe(1);
    expect(v('scim_syncs_total', { status: 'upstream_error' })).toBe(0);

    expect(v('scim_sync_duration_seconds_count', { status: 'applied' })).toBe(2);
    // The 429's Retry-After (2 s on the injected clock) is inside the second applied sync.
    expect(v('scim_sync_duration_seconds_bucket', { status: 'applied', le: '1' })).toBe(1);
    expect(v('scim_sync_duration_seconds_bucket', { status: 'applied', le: '2.5' })).toBe(2);
    expect(v('scim_sync_duration_seconds_count', { status: 'conflict' })).toBe(1);

    expect(v('scim_sync_consistency_ratio_count')).toBe(2);
    expect(v('scim_sync_consistency_ratio_sum')).toBe(2);
    expect(v('scim_sync_consistency_ratio_bucket', { le: '0.999' })).toBe(0);

    for (const code of ['depth_exceeded', 'cycle_detected', 'user_inactive', 'user_not_found']) {
      expect(v('scim_validation_failures_total', { code })).toBe(1);
    }
    expect(v('scim_validation_failures_total', { code: 'duplicate_member' })).toBe(0);

    expect(v('scim_upstream_retries_total', { reason: 'rate_limited' })).toBe(1);
    expect(v('scim_upstream_retries_total', { reason: 'conflict' })).toBe(4); // 4 PUTs lost the race; the 4th ended the sync as a 409
    expect(v('scim_upstream_retries_total', { reason: 'server_error' })).toBe(0);
    expect(v('scim_upstream_retries_total', { reason: 'network' })).toBe(0);
    expect(v('scim_upstream_retries_total', { reason: 'unauthorized' })).toBe(0);

    expect(v('scim_upstream_requests_total', { method: 'GET', resource: 'Groups', status: '429' })).toBe(1);
    expect(v('scim_upstream_requests_total', { method: 'PUT', resource: 'Groups', status: '412' })).toBe(4);
    expect(v('scim_upstream_requests_total', { method: 'PUT', resource: 'Groups', status: '200' })).toBe(2);
    expect(v('scim_upstream_requests_total', { method: 'POST', resource: 'oauth', status: '200' })).toBe(1);
    expect(v('scim_oauth_token_fetches_total', { outcome: 'success' })).toBe(1);
    expect(v('scim_oauth_token_fetches_total', { outcome: 'failure' })).toBe(0);

    const upstreamSent = m.get('scim_upstream_requests_total')?.samples.reduce((sum, sample) => sum + sample.value, 0);
    expect(upstreamSent).toBe(s.requests());
    const scimCount = m.get('scim_upstream_request_duration_seconds')?.samples.filter((x) => x.name.endsWith('_count')).reduce((sum, x) => sum + x.value, 0);
    expect(scimCount).toBe(s.requests());
  });

  it('when scraped, then every docs/api.md metric is there with its type and labels, plus the process metrics', async () => {
    const s = await buildSimulatorApp();
    await scriptedSyncs(s);
    const m = await scrape(s);
    const expected: Record<string, { type: string; labels: string[] }> = {
      scim_syncs_total: { type: 'counter', labels: ['status'] },
      scim_sync_duration_seconds: { type: 'histogram', labels: ['status'] },
      scim_sync_consistency_ratio: { type: 'histogram', labels: [] },
      scim_validation_failures_total: { type: 'counter', labels: ['code'] },
      scim_upstream_requests_total: { type: 'counter', labels: ['method', 'resource', 'status'] },
      scim_upstream_request_duration_seconds: { type: 'histogram', labels: ['method', 'resource'] },
      scim_upstream_retries_total: { type: 'counter', labels: ['reason'] },
      scim_oauth_token_fetches_total: { type: 'counter', labels: ['outcome'] },
      scim_webhook_deliveries_total: { type: 'counter', labels: ['event', 'outcome'] },
      // beyond the original contract's list: the attribute sync after an applied write (issue 4)
      scim_user_attribute_syncs_total: { type: 'counter', labels: ['outcome'] },
      scim_user_groups_inconsistent_total: { type: 'counter', labels: [] },
      // the audit chain head's sequence number, to anchor the trail outside
      scim_audit_chain_head_sequence: { type: 'gauge', labels: [] },
      // drift (docs/consistency.md "Drift"): no per-group labels
      scim_drift_groups: { type: 'gauge', labels: [] },
      scim_drift_members: { type: 'gauge', labels: [] },
      scim_drift_oldest_age_seconds: { type: 'gauge', labels: [] },
      scim_drift_cycle_lag_seconds: { type: 'gauge', labels: [] },
      scim_drift_cycle_duration_seconds: { type: 'gauge', labels: [] },
      scim_drift_checks_total: { type: 'counter', labels: ['outcome'] },
      scim_drift_heals_total: { type: 'counter', labels: ['outcome'] },
      scim_drift_upstream_requests_total: { type: 'counter', labels: [] },
      // quarantine: no per-group labels
      scim_groups_quarantined: { type: 'gauge', labels: [] },
      scim_quarantine_entered_total: { type: 'counter', labels: [] },
      scim_quarantine_left_total: { type: 'counter', labels: [] },
      scim_quarantine_probes_total: { type: 'counter', labels: ['outcome'] },
      scim_quarantine_store_errors_total: { type: 'counter', labels: ['step'] },
    };
    for (const [name, { type, labels }] of Object.entries(expected)) {
      const family = m.get(name);
      expect(family?.type, `${name}`).toBe(type);
      expect(family?.help, `${name}`).toBeTruthy();
      for (const sample of family?.samples ?? []) {
        expect(Object.keys(sample.labels).filter((l) => l !== 'le').toSorted(), `${name}`).toEqual(labels.toSorted());
      }
    }
    expect([...m.keys()].filter((name) => name.startsWith('scim_')).toSorted()).toEqual(Object.keys(expected).toSorted());
    expect(m.get('process_cpu_seconds_total')?.type).toBe('counter');
    expect(m.get('process_resident_memory_bytes')?.type).toBe('gauge');
    expect(m.get('nodejs_eventloop_lag_seconds')).toBeDefined();

    const buckets = m.get('scim_sync_duration_seconds')?.samples.filter((x) => x.name.endsWith('_bucket')).map((x) => x.labels.le);
    expect(buckets).toContain('0.005');
    expect(buckets).toContain('30');
  });

  it('when upstream labels are recorded, then resource is a fixed name and no label value is an id', async () => {
    const s = await buildSimulatorApp();
    await scriptedSyncs(s);
    await s.app.inject('/readyz');
    const m = await scrape(s);
    const resources = new Set(m.get('scim_upstream_requests_total')?.samples.map((x) => x.labels.resource));
    expect([...resources].toSorted()).toEqual(['Groups', 'ServiceProviderConfig', 'Users', 'oauth']);
    const ids = [...Object.values(users), ...Object.values(groups), 'u-404'];
    for (const family of m.values()) {
      for (const sample of family.samples) {
        for (const value of Object.values(sample.labels)) expect(ids, `${sample.name} ${JSON.stringify(sample.labels)}`).not.toContain(value);
      }
    }
  });

  it('when /metrics is called without a token, then it answers: it is public', async () => {
    const { app } = await buildTestApp();
    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('# TYPE scim_syncs_total counter');
  });

  it('when two apps run in one process, then each has its own registry', async () => {
    const a = await buildTestApp();
    const b = await buildTestApp();
    a.directory.addGroup('g1');
    const res = await a.app.inject({ method: 'POST', url: '/groups/g1/sync', headers: { ...bearer(), 'content-type': 'application/json' }, payload: '{"members":[]}' });
    expect(res.statusCode).toBe(200);
    expect(sampleValue(await scrape(a), 'scim_syncs_total', { status: 'unchanged' })).toBe(1);
    expect(sampleValue(await scrape(b), 'scim_syncs_total', { status: 'unchanged' })).toBe(0);
  });
});

describe('the strict Prometheus text parser used above', () => {
  it('when the exposition is malformed, then it throws', () => {
    const bad = [
      'metric 1', // no final line feed
      'bad-name 1\n',
      'm{l="a\\x"} 1\n',
      'm{l="a"} one\n',
      'm 1\nm 2\n',
      'a 1\nb 1\na 2\n',
      'm 1\n# TYPE m counter\n',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
      '# TYPE c counter\nc -1\n',
    ];
    for (const text of bad) expect(() => parsePrometheusText(text), `${text}`).toThrow(SyntaxError);
  });
});
