/**
 * HTTP clients of the benchmark, on undici over loopback: the simulator's admin API and
 * the service's sync route. Latency is measured here, by the client, from sending the
 * request to having read the whole answer.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface StatsSnapshot {
  total: number;
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
}

export interface LoadGroup {
  id: string;
  displayName: string;
  memberCount: number;
  /** Active users first, in creation order. */
  userIds: string[];
}

export class SimulatorAdmin {
  private readonly pool: Pool;

  constructor(readonly baseUrl: string) {
    this.pool = new Pool(baseUrl, { connections: 2, headersTimeout: 120_000, bodyTimeout: 120_000 });
  }

  private async call(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<unknown> {
    const response = await this.pool.request({
      method,
      path,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.body.text();
    if (response.statusCode >= 300) throw new Error(`simulator admin ${method} ${path} answered ${response.statusCode}: ${text.slice(0, 500)}`);
    return text === '' ? undefined : JSON.parse(text);
  }

  async stats(): Promise<StatsSnapshot> {
    const { total, byRoute, byStatus } = (await this.call('GET', '/_simulator/stats')) as StatsSnapshot;
    return { total, byRoute, byStatus };
  }

  async resetStats(): Promise<void> {
    await this.call('POST', '/_simulator/stats/reset');
  }

  async faults(): Promise<Record<string, unknown>> {
    return (await this.call('GET', '/_simulator/faults')) as Record<string, unknown>;
  }

  async setFaults(faults: Record<string, unknown>): Promise<void> {
    await this.call('PUT', '/_simulator/faults', faults);
  }

  async createGroup(displayName: string, userCount: number): Promise<LoadGroup> {
    return (await this.call('POST', '/_simulator/groups', { displayName, userCount })) as LoadGroup;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** The difference of two stats snapshots: what happened in between. */
function diff(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(b).toSorted()) {
    const d = (b[key] ?? 0) - (a[key] ?? 0);
    if (d !== 0) out[key] = d;
  }
  return out;
}

export function statsDelta(before: StatsSnapshot, after: StatsSnapshot): StatsSnapshot {
  return { total: after.total - before.total, byRoute: diff(before.byRoute, after.byRoute), byStatus: diff(before.byStatus, after.byStatus) };
}

export interface SyncAnswer {
  readonly httpStatus: number;
  readonly ms: number;
  readonly status?: string;
  readonly writeMode?: string | null;
  readonly upstreamRequests?: number;
  readonly added?: number;
  readonly removed?: number;
  readonly error?: string;
}

export class ServiceClient {
  private readonly pool: Pool;

  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    connections: number,
  ) {
    this.pool = new Pool(baseUrl, { connections, headersTimeout: 180_000, bodyTimeout: 180_000, keepAliveTimeout: 60_000 });
  }

  /** POST /groups/{id}/sync with a body serialised beforehand (its cost is not the service's). */
  async sync(groupId: string, body: string): Promise<SyncAnswer> {
    const started = performance.now();
    try {
      const response = await this.pool.request({
        method: 'POST',
        path: `/groups/${encodeURIComponent(groupId)}/sync`,
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
        body,
      });
      const text = await response.body.text();
      const ms = performance.now() - started;
      const json = JSON.parse(text) as Record<string, unknown>;
      if (response.statusCode !== 200) {
        return { httpStatus: response.statusCode, ms, error: `${String(json.error)}: ${String(json.message)}` };
      }
      return {
        httpStatus: 200,
        ms,
        status: json.status as string,
        writeMode: (json.writeMode as string | null | undefined) ?? null,
        upstreamRequests: json.upstreamRequests as number,
        added: (json.added as unknown[]).length,
        removed: (json.removed as unknown[]).length,
      };
    } catch (error) {
      return { httpStatus: 0, ms: performance.now() - started, error: error instanceof Error ? error.message : String(error) };
    }
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** The JSON body of a sync: members as an IdP sends them. */
export function syncBody(userIds: readonly string[]): string {
  return JSON.stringify({ members: userIds.map((value) => ({ value, type: 'User' })) });
}
