/** Request counters of the simulator (SCIM and OAuth traffic only; admin calls are not counted). */

export interface RequestLogEntry {
  readonly method: string;
  readonly path: string;
  /** 0 when the connection was dropped by fault injection. */
  readonly status: number;
}

export interface SimulatorStatsSnapshot {
  total: number;
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
  log: RequestLogEntry[];
}

export interface SimulatorStats {
  readonly total: number;
  /** Keyed `${METHOD} ${resource}`, e.g. "GET Groups", "PUT Groups", "POST oauth". */
  readonly byRoute: Readonly<Record<string, number>>;
  /** Keyed by status code; "0" counts dropped connections. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** The most recent requests, oldest first (bounded). */
  readonly log: readonly RequestLogEntry[];
  reset(): void;
  toJSON(): SimulatorStatsSnapshot;
}

export interface StatsRecorder extends SimulatorStats {
  record(method: string, resource: string, path: string, status: number): void;
}

export function createStats(logLimit = 1000): StatsRecorder {
  let total = 0;
  let byRoute: Record<string, number> = {};
  let byStatus: Record<string, number> = {};
  let log: RequestLogEntry[] = [];
  let next = 0;

  const ordered = (): RequestLogEntry[] => (log.length < logLimit ? log.slice() : [...log.slice(next), ...log.slice(0, next)]);

  return {
    get total() {
      return total;
    },
    get byRoute() {
      return { ...byRoute };
    },
    get byStatus() {
      return { ...byStatus };
    },
    get log() {
      return ordered();
    },
    record(method, resource, path, status) {
      total++;
      const route = `${method} ${resource}`;
      byRoute[route] = (byRoute[route] ?? 0) + 1;
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      const entry = { method, path, status };
      if (log.length < logLimit) log.push(entry);
      else {
        log[next] = entry;
        next = (next + 1) % logLimit;
      }
    },
    reset() {
      total = 0;
      byRoute = {};
      byStatus = {};
      log = [];
      next = 0;
    },
    toJSON() {
      return { total, byRoute: { ...byRoute }, byStatus: { ...byStatus }, log: ordered() };
    },
  };
}
