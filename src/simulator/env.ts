/** Environment of the stand-alone simulator (src/simulator/main.ts); a bad value is one clear line. */
import type { Faults } from './faults.js';
import { DEFAULT_CLIENT } from './oauth.js';
import { SCIM_GROUPS_DEFAULT, type SimulatorCapabilities } from './simulator.js';

export interface SimulatorEnv {
  readonly port: number;
  readonly host: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly faults: Partial<Faults>;
  readonly capabilities: Partial<SimulatorCapabilities>;
  /** Serve SCIM /Groups (SIM_SCIM_GROUPS); NICE's published SCIM API has none. */
  readonly scimGroups: boolean;
}

export class SimulatorEnvError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'SimulatorEnvError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function number(env: Env, name: string, check: (n: number) => boolean, expected: string): number | undefined {
  const text = read(env, name);
  if (text === undefined) return undefined;
  const value = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!check(value)) throw new SimulatorEnvError(name, `expected ${expected}, got ${JSON.stringify(text)}`);
  return value;
}

const ratio = (n: number): boolean => n >= 0 && n <= 1;

function flag(env: Env, name: string): boolean | undefined {
  const text = read(env, name);
  if (text === undefined) return undefined;
  if (text === 'true' || text === 'false') return text === 'true';
  throw new SimulatorEnvError(name, `expected true or false, got ${JSON.stringify(text)}`);
}

export function parseSimulatorEnv(env: Env): SimulatorEnv {
  const port = number(env, 'SIMULATOR_PORT', (n) => Number.isInteger(n) && n <= 65535, 'a port number from 0 to 65535') ?? 8081;
  const faults: Partial<Faults> = {};

  const latency = read(env, 'SIM_LATENCY_MS');
  if (latency !== undefined) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(latency);
    const min = Number(match?.[1]);
    const max = match?.[2] === undefined ? min : Number(match[2]);
    if (match === null || max < min || max > 600_000) {
      throw new SimulatorEnvError('SIM_LATENCY_MS', `expected milliseconds like "20" or a range like "5-40", got ${JSON.stringify(latency)}`);
    }
    faults.latencyMs = min === max ? min : [min, max];
  }
  const rate = number(env, 'SIM_RATE_LIMIT', (n) => n > 0, 'requests per second, a number > 0');
  if (rate !== undefined) faults.rateLimit = { requestsPerSecond: rate };
  const errorRatio = number(env, 'SIM_ERROR_RATIO', ratio, 'a ratio from 0 to 1');
  if (errorRatio !== undefined) faults.errorRatio = errorRatio;
  const dropRatio = number(env, 'SIM_DROP_RATIO', ratio, 'a ratio from 0 to 1');
  if (dropRatio !== undefined) faults.dropRatio = dropRatio;

  const capabilities: Partial<SimulatorCapabilities> = {};
  const etag = flag(env, 'SIM_ETAG');
  if (etag !== undefined) capabilities.etag = etag;
  const patchOnProjection = flag(env, 'SIM_PATCH_ON_PROJECTION');
  if (patchOnProjection !== undefined) capabilities.patchOnProjection = patchOnProjection;
  const maxRequestBytes = number(env, 'SIM_MAX_REQUEST_BYTES', (n) => Number.isInteger(n) && n >= 1 && n <= 64 * 1024 * 1024, 'bytes, an integer from 1 to 67108864');
  if (maxRequestBytes !== undefined) capabilities.maxRequestBytes = maxRequestBytes;

  return {
    port,
    capabilities,
    host: read(env, 'SIMULATOR_HOST') ?? '127.0.0.1',
    clientId: read(env, 'SIMULATOR_CLIENT_ID') ?? DEFAULT_CLIENT.clientId,
    clientSecret: read(env, 'SIMULATOR_CLIENT_SECRET') ?? DEFAULT_CLIENT.clientSecret,
    faults,
    scimGroups: flag(env, 'SIM_SCIM_GROUPS') ?? SCIM_GROUPS_DEFAULT,
  };
}

/** The one startup line: where it listens and how to point the service at it. Never a non-demo secret. */
export function startupLine(url: string, config: SimulatorEnv): string {
  const secret = config.clientSecret === DEFAULT_CLIENT.clientSecret ? config.clientSecret : '<your SIMULATOR_CLIENT_SECRET>';
  const faults = Object.keys(config.faults).length > 0 ? ` Faults: ${JSON.stringify(config.faults)}.` : '';
  const capabilities = Object.keys(config.capabilities).length > 0 ? ` Capabilities: ${JSON.stringify(config.capabilities)}.` : '';
  const groups = config.scimGroups ? '' : ' SCIM /Groups is off (as on CXone).';
  return (
    `CXone SCIM simulator listening on ${url} (SCIM ${url}/scim/v2, OAuth ${url}/oauth/token).${groups}${faults}${capabilities} ` +
    `Point the service at it: CXONE_BASE_URL=${url} CXONE_CLIENT_ID=${config.clientId} CXONE_CLIENT_SECRET=${secret}`
  );
}
