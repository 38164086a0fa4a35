/**
 * The Grafana dashboard (deploy/grafana/dashboards) asks only for what /metrics serves:
 * every metric in every PromQL expression is a sample of a real app's exposition after a
 * few real syncs against the simulator, and every label it filters or groups by is on it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seedIds } from '../../src/simulator/seed.js';
import { bearer } from '../helpers/build-test-app.js';
import { parsePrometheusText, type Sample } from '../helpers/prometheus-text.js';
import { buildSimulatorApp } from '../helpers/simulator-app.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const DASHBOARDS = join(ROOT, 'deploy/grafana/dashboards');

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
}

/** What one PromQL expression reads: metric names, the labels matched per metric, and the labels grouped by. */
export interface PromqlUse {
  readonly metrics: Map<string, Set<string>>;
  readonly groupingLabels: Set<string>;
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

export function promqlUse(expr: string): PromqlUse {
  const metrics = new Map<string, Set<string>>();
  const groupingLabels = new Set<string>();
  let text = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_, _kw: string, labels: string) => {
    for (const label of labels.split(',').map((l) => l.trim()).filter(Boolean)) groupingLabels.add(label);
    return ' ';
  });
  // Selectors with matchers; a bare {…} matcher list belongs to no metric name we can check.
  text = text.replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g, (_, name: string | undefined, matchers: string) => {
    const labels = new Set([...matchers.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1] as string));
    if (name) metrics.set(name, new Set([...(metrics.get(name) ?? []), ...labels]));
    return ' ';
  });
  text = text.replace(/\[[^\]]*\]/g, ' ').replace(/\boffset\s+\S+/g, ' ');
  text = text.replace(/(?<![a-zA-Z0-9_:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g, ' ');
  for (const match of text.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = match[0];
    const after = text.slice((match.index ?? 0) + name.length);
    if (/^\s*\(/.test(after) || KEYWORDS.has(name.toLowerCase())) continue;
    if (!metrics.has(name)) metrics.set(name, new Set());
  }
  return { metrics, groupingLabels };
}

function dashboards(): { file: string; json: { uid: string; panels: Panel[]; templating: { list: { name: string; type: string; query: string }[] } } }[] {
  return readdirSync(DASHBOARDS)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ file, json: JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) }));
}

const panelsOf = (json: { panels: Panel[] }) => json.panels.filter((p) => p.type !== 'row');

/** /metrics of the whole service against the simulator after an applied sync (with its attribute sync), an unchanged one and a validation failure. */
async function exposition(): Promise<Map<string, Sample[]>> {
  const s = await buildSimulatorApp();
  const { groups, users } = seedIds;
  const post = (groupId: string, members: { value: string; type: 'User' | 'Group' }[]) =>
    s.app.inject({ method: 'POST', url: `/groups/${groupId}/sync`, headers: { ...bearer(), 'content-type': 'application/json' }, payload: JSON.stringify({ members }) });
  expect((await post(groups.contactCenterAgents, [{ value: users.aliceSmith, type: 'User' }])).statusCode).toBe(200);
  expect((await post(groups.contactCenterAgents, [{ value: users.aliceSmith, type: 'User' }])).statusCode).toBe(200);
  expect((await post(groups.contactCenterAgents, [{ value: 'u-404', type: 'User' }])).statusCode).toBe(422);
  const res = await s.app.inject({ method: 'GET', url: '/metrics' });
  const samples = new Map<string, Sample[]>();
  for (const family of parsePrometheusText(res.body).values()) for (const sample of family.samples) samples.set(sample.name, [...(samples.get(sample.name) ?? []), sample]);
  return samples;
}

describe('PromQL metric extraction', () => {
  it('when an expression aggregates, filters and divides, then its metrics, matched labels and grouping labels are found, not its functions or keywords', () => {
    const use = promqlUse('sum by (le, resource) (rate(a_bucket{status!~"x|y", le="0.999"}[$__rate_interval])) / ignoring(le) sum(rate(b_total[5m] offset 1h)) > 0.5 or vector(1e3)');
    expect([...use.metrics.keys()].toSorted()).toEqual(['a_bucket', 'b_total']);
    expect([...(use.metrics.get('a_bucket') ?? [])].toSorted()).toEqual(['le', 'status']);
    expect([...use.groupingLabels].toSorted()).toEqual(['le', 'resource']);
  });
});

describe('deploy/grafana: the dashboard', () => {
  it('when its panels are read, then it shows what the issue asks for, each panel on the provisioned data source', () => {
    const [first, ...rest] = dashboards();
    expect(first).toBeDefined();
    expect(rest).toHaveLength(0);
    const { json } = first as NonNullable<typeof first>;
    const panels = panelsOf(json);
    const titles = panels.map((p) => p.title);
    for (const title of ['Sync rate by status', 'Sync latency p50 / p99', 'Consistency ratio after writes', 'Upstream requests by resource and status', 'Upstream 429s and retries', 'Webhook delivery outcomes']) {
      expect(titles).toContain(title);
    }
    expect(new Set(json.panels.map((p) => p.id)).size).toBe(json.panels.length);
    expect(json.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    const unfit = panels.filter((p) => p.datasource?.uid !== '${datasource}' || (p.targets ?? []).length === 0 || p.targets?.some((t) => t.expr.trim() === ''));
    expect(unfit.map((p) => p.title)).toEqual([]);
  });

  it('when every PromQL expression is checked against /metrics after real syncs, then each metric and each label it uses exists', { timeout: 30_000 }, async () => {
    const samples = await exposition();
    const problems: string[] = [];
    for (const { file, json } of dashboards()) {
      for (const panel of panelsOf(json)) {
        for (const target of panel.targets ?? []) {
          const use = promqlUse(target.expr);
          const labelsSeen = new Set<string>(['job', 'instance']);
          for (const [metric, matched] of use.metrics) {
            const series = samples.get(metric);
            if (!series) {
              problems.push(`${file} "${panel.title}" ${target.refId}: ${metric} is not on /metrics`);
              continue;
            }
            const labels = new Set(series.flatMap((s) => Object.keys(s.labels)));
            for (const label of labels) labelsSeen.add(label);
            for (const label of matched) if (!labels.has(label)) problems.push(`${file} "${panel.title}" ${target.refId}: ${metric} has no label ${label}`);
          }
          for (const label of use.groupingLabels) if (!labelsSeen.has(label)) problems.push(`${file} "${panel.title}" ${target.refId}: no metric of the expression has the label ${label} it groups by`);
          if (use.metrics.size === 0) problems.push(`${file} "${panel.title}" ${target.refId}: no metric found in ${target.expr}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
