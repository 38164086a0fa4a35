/** Environment of the stand-alone simulator (src/simulator/main.ts); a bad value is one clear line. */
import type { CxoneBehaviours } from './directory.js';
import type { FaultsInput } from './faults.js';
import { DEFAULT_ACCESS_KEY, DEFAULT_CLIENT } from './oauth.js';
import { DEFAULT_TENANT_ID } from './signin.js';
import { SCIM_GROUPS_DEFAULT, type SimulatorCapabilities } from './simulator.js';

export interface SimulatorEnv {
  readonly port: number;
  readonly host: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The one access key of the password grant and the access-key endpoint. */
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly tenantId: string;
  readonly faults: FaultsInput;
  readonly capabilities: Partial<SimulatorCapabilities>;
  readonly behaviours: Partial<CxoneBehaviours>;
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
  const faults: FaultsInput = {};

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
  const agentFailureRatio = number(env, 'SIM_AGENT_FAILURE_RATIO', ratio, 'a ratio from 0 to 1');
  if (agentFailureRatio !== undefined) faults.agentFailures = { ratio: agentFailureRatio };
  const throttleRatio = number(env, 'SIM_THROTTLE_RATIO', ratio, 'a ratio from 0 to 1');
  const retryText = read(env, 'SIM_THROTTLE_RETRY_AFTER');
  let retryAfterSeconds: number | null = 1;
  if (retryText === 'none') retryAfterSeconds = null;
  else if (retryText !== undefined) {
    retryAfterSeconds = number(env, 'SIM_THROTTLE_RETRY_AFTER', (n) => Number.isInteger(n) && n <= 86_400, 'seconds (an integer from 0 to 86400) or none') as number;
  }
  if (throttleRatio !== undefined) faults.throttle = { ratio: throttleRatio, retryAfterSeconds };

  const behaviours: Partial<CxoneBehaviours> = {};
  const movesLastUpdated = flag(env, 'SIM_MEMBERSHIP_MOVES_LAST_UPDATED');
  if (movesLastUpdated !== undefined) behaviours.membershipMovesLastUpdated = movesLastUpdated;
  for (const [name, key] of [
    ['SIM_ADD_EXISTING', 'addExisting'],
    ['SIM_REMOVE_ABSENT', 'removeAbsent'],
  ] as const) {
    const text = read(env, name);
    if (text === undefined) continue;
    if (text !== 'success' && text !== 'error') throw new SimulatorEnvError(name, `expected success or error, got ${JSON.stringify(text)}`);
    behaviours[key] = text;
  }
  const emptyList = read(env, 'SIM_EMPTY_LIST');
  if (emptyList !== undefined) {
    if (emptyList !== '204' && emptyList !== '200') throw new SimulatorEnvError('SIM_EMPTY_LIST', `expected 204 or 200, got ${JSON.stringify(emptyList)}`);
    behaviours.emptyList = emptyList === '204' ? 204 : 200;
  }

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
    accessKeyId: read(env, 'SIMULATOR_ACCESS_KEY_ID') ?? DEFAULT_ACCESS_KEY.accessKeyId,
    accessKeySecret: read(env, 'SIMULATOR_ACCESS_KEY_SECRET') ?? DEFAULT_ACCESS_KEY.accessKeySecret,
    tenantId: read(env, 'SIMULATOR_TENANT_ID') ?? DEFAULT_TENANT_ID,
    faults,
    behaviours,
    scimGroups: flag(env, 'SIM_SCIM_GROUPS') ?? SCIM_GROUPS_DEFAULT,
  };
}

/** The one startup line: where it listens and how to point the service at it. Never a non-demo secret. */
export function startupLine(url: string, config: SimulatorEnv): string {
  const secret = config.clientSecret === DEFAULT_CLIENT.clientSecret ? config.clientSecret : '<your SIMULATOR_CLIENT_SECRET>';
  const keySecret = config.accessKeySecret === DEFAULT_ACCESS_KEY.accessKeySecret ? config.accessKeySecret : '<your SIMULATOR_ACCESS_KEY_SECRET>';
  const behaviours = Object.keys(config.behaviours).length > 0 ? ` Behaviours: ${JSON.stringify(config.behaviours)}.` : '';
  const faults = Object.keys(config.faults).length > 0 ? ` Faults: ${JSON.stringify(config.faults)}.` : '';
  const capabilities = Object.keys(config.capabilities).length > 0 ? ` Capabilities: ${JSON.stringify(config.capabilities)}.` : '';
  const groups = config.scimGroups ? '' : ' SCIM /Groups is off (as on CXone).';
  return (
    `CXone simulator listening on ${url} (SCIM ${url}/scim/v2, admin API ${url}/incontactapi/services/v31.0, OAuth ${url}/oauth/token, ` +
    `OpenID ${url}/.well-known/openid-configuration).${groups}${faults}${capabilities}${behaviours} ` +
    `Point the service at it: CXONE_BASE_URL=${url} CXONE_CLIENT_ID=${config.clientId} CXONE_CLIENT_SECRET=${secret}; ` +
    `or sign in as CXone does: CXONE_AUTH=password CXONE_ISSUER=${url} CXONE_CLIENT_ID=${config.clientId} CXONE_CLIENT_SECRET=${secret} ` +
    `CXONE_ACCESS_KEY_ID=${config.accessKeyId} CXONE_ACCESS_KEY_SECRET=${keySecret} (tenant ${config.tenantId})`
  );
}
