/**
 * `npm run bench:scim`: what the SCIM front door costs over the sync it runs. For a group of
 * 10,000 members, under scim-groups and acd-groups, one member is added (and removed again,
 * unmeasured) alternately through
 *
 *   - the facade: PATCH /scim/v2/Groups/{id} with one `add` operation, and
 *   - the sync: POST /groups/{id}/sync with the 10,001 members,
 *
 * in the same process, against the embedded simulator over loopback (the service's app,
 * its SQLite store, the real SCIM and admin-API clients). Reported per path: the latency
 * (median, p99, min) measured around the request, and the upstream requests of each change by
 * route, as the simulator counted them. The run fails (exit 1) when the facade's upstream
 * requests differ from the sync's. Results: bench/results/scim-facade.json.
 *
 *   npm run bench:scim              20 rounds per backend
 *   npm run bench:scim -- --quick   5 rounds → bench/results/scim-facade-dev.json
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCxoneConnection } from '../src/adapters/cxone/index.js';
import { createPrometheusMetrics } from '../src/adapters/metrics/prometheus-metrics.js';
import { createCxoneDirectory } from '../src/adapters/scim/index.js';
import { openSqliteStore } from '../src/adapters/storage/sqlite-store.js';
import { createAcdGroupsBackend } from '../src/composition/acd-groups.js';
import { createAgentMap } from '../src/composition/agent-map.js';
import { composeApp } from '../src/composition/app.js';
import { loadConfig } from '../src/config.js';
import type { MembershipBackend } from '../src/core/ports.js';
import { createSimulator } from '../src/simulator/simulator.js';
import { round, summarize } from './lib/stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 5 : 20;
const WARMUP = 2;
const MEMBERS = 10_000;
const TOKEN = 'bench-scim-token-0000000001';
const CLIENT = { clientId: 'bench-scim', clientSecret: 'bench-scim-secret-value' };

const log = (line: string) => process.stderr.write(`[bench:scim] ${line}\n`);

interface PathFigures {
  readonly latencyMs: { readonly p50: number | null; readonly p99: number | null; readonly min: number | null };
  /** Upstream requests of each measured change (all equal when the run passes). */
  readonly upstreamRequests: readonly number[];
  readonly byRoute: Record<string, number>;
}

async function runBackend(backend: 'scim-groups' | 'acd-groups') {
  const simulator = createSimulator({ scimGroups: backend === 'scim-groups', clients: [CLIENT] });
  const url = await simulator.listen({ port: 0, host: '127.0.0.1' });
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-scim-'));
  const store = openSqliteStore({ dataDir });
  const metrics = createPrometheusMetrics();
  let groupId: string;
  let userIds: string[];
  let extra: string;
  const load = async <T>(path: string, body: unknown): Promise<T> => {
    const res = await fetch(`${url}/_simulator/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 201) throw new Error(`simulator /_simulator/${path} answered ${res.status}`);
    return (await res.json()) as T;
  };
  if (backend === 'scim-groups') {
    const group = await load<{ id: string; userIds: string[] }>('groups', { displayName: 'Bench 10k', userCount: MEMBERS });
    const spare = await load<{ userIds: string[] }>('groups', { displayName: 'Bench spare', userCount: 1 });
    groupId = group.id;
    userIds = group.userIds;
    extra = spare.userIds[0] as string;
  } else {
    const group = await load<{ groupId: number; userIds: string[] }>('acd-groups', { groupName: 'Bench 10k', agentCount: MEMBERS + 1, memberCount: MEMBERS });
    groupId = String(group.groupId);
    userIds = group.userIds.slice(0, MEMBERS);
    extra = group.userIds[MEMBERS] as string;
  }
  const connection = createCxoneConnection({ auth: 'client_credentials', baseUrl: url, ...CLIENT, allowInsecureHttp: true });
  const directory = backend === 'scim-groups' ? createCxoneDirectory({ baseUrl: url, ...CLIENT }) : connection;
  let chosen: MembershipBackend | undefined;
  if (backend === 'acd-groups') {
    const agents = createAgentMap(connection.adminApi, store.agentMap);
    await agents.load();
    chosen = createAcdGroupsBackend({ adminApi: connection.adminApi, agents, journal: store.journal, audit: store });
  }
  const config = loadConfig({ SYNC_API_TOKENS: `bench:${TOKEN}`, MEMBERSHIP_BACKEND: backend, INBOUND_RATE_LIMIT: '0', LOG_LEVEL: 'silent' });
  const app = await composeApp({ config, ports: { directory, backend: chosen ? async () => chosen : undefined, audit: store, metrics, groupExternalIds: store.groupExternalIds } });
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const patchBody = (op: 'add' | 'remove') =>
    JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: op === 'add' ? [{ op: 'add', path: 'members', value: [{ value: extra }] }] : [{ op: 'remove', path: `members[value eq "${extra}"]` }] });
  const syncBody = (withExtra: boolean) => JSON.stringify({ members: (withExtra ? [...userIds, extra] : userIds).map((value) => ({ value, type: 'User' })) });

  const facade = { latency: [] as number[], requests: [] as number[], byRoute: {} as Record<string, number> };
  const sync = { latency: [] as number[], requests: [] as number[], byRoute: {} as Record<string, number> };
  const measure = async (into: typeof facade, send: () => Promise<{ statusCode: number; body: string }>, expected: number) => {
    simulator.stats.reset();
    const began = performance.now();
    const res = await send();
    const took = performance.now() - began;
    if (res.statusCode !== expected) throw new Error(`${backend}: answered ${res.statusCode} ${res.body.slice(0, 300)}`);
    return { took, requests: simulator.stats.total, byRoute: { ...simulator.stats.byRoute } } as const;
  };
  const record = (into: typeof facade, m: { took: number; requests: number; byRoute: Record<string, number> }, warm: boolean) => {
    if (warm) return;
    into.latency.push(m.took);
    into.requests.push(m.requests);
    into.byRoute = m.byRoute;
  };
  try {
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      const warm = i < WARMUP;
      const viaFacade = await measure(facade, () => app.inject({ method: 'PATCH', url: `/scim/v2/Groups/${groupId}`, headers, payload: patchBody('add') }), 204);
      record(facade, viaFacade, warm);
      await measure(facade, () => app.inject({ method: 'PATCH', url: `/scim/v2/Groups/${groupId}`, headers, payload: patchBody('remove') }), 204);
      const viaSync = await measure(sync, () => app.inject({ method: 'POST', url: `/groups/${groupId}/sync`, headers, payload: syncBody(true) }), 200);
      record(sync, viaSync, warm);
      await measure(sync, () => app.inject({ method: 'POST', url: `/groups/${groupId}/sync`, headers, payload: syncBody(false) }), 200);
      if (!warm) log(`${backend} round ${i - WARMUP + 1}/${ROUNDS}: facade ${viaFacade.took.toFixed(1)} ms (${viaFacade.requests} requests), sync ${viaSync.took.toFixed(1)} ms (${viaSync.requests} requests)`);
    }
  } finally {
    await app.close();
    await connection.close();
    if (directory !== connection) await (directory as { close(): Promise<void> }).close();
    store.close();
    await simulator.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const figures = (path: typeof facade): PathFigures => {
    const s = summarize(path.latency);
    return { latencyMs: { p50: round(s.p50, 1), p99: round(s.p99, 1), min: round(s.min, 1) }, upstreamRequests: path.requests, byRoute: path.byRoute };
  };
  const f = figures(facade);
  const y = figures(sync);
  const overhead = f.latencyMs.p50 !== null && y.latencyMs.p50 !== null ? round((f.latencyMs.p50 - y.latencyMs.p50) / y.latencyMs.p50, 3) : null;
  const sameRequests = f.upstreamRequests.every((n, i) => n === y.upstreamRequests[i]);
  return { backend, members: MEMBERS, rounds: ROUNDS, facade: f, sync: y, facadeOverheadAtMedian: overhead, sameUpstreamRequests: sameRequests };
}

const results = [];
for (const backend of ['scim-groups', 'acd-groups'] as const) results.push(await runBackend(backend));
const out = { generatedAt: new Date().toISOString(), node: process.version, quick, results };
const file = join(ROOT, 'bench', 'results', quick ? 'scim-facade-dev.json' : 'scim-facade.json');
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
for (const r of results) {
  log(`${r.backend}: facade p50 ${r.facade.latencyMs.p50} ms vs sync p50 ${r.sync.latencyMs.p50} ms (overhead ${r.facadeOverheadAtMedian}); upstream requests equal: ${r.sameUpstreamRequests}`);
}
log(`wrote ${file}`);
if (results.some((r) => !r.sameUpstreamRequests)) process.exit(1);
