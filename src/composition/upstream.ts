/**
 * The upstream directory from the configuration: the membership backend the sync reads and
 * writes, paced and timed out as configured, signed in as CXONE_AUTH says (client
 * credentials, the password grant with an access key, or the access-key token), with the
 * admin API on the same connection. Choosing among several backends belongs here.
 */
import { createCxoneConnection, CxoneSetupError, type AdminApiClient } from '../adapters/cxone/index.js';
import { createRedactor, type CxoneDirectory, type UpstreamObserver } from '../adapters/scim/index.js';
import { cxoneIssuer, secretValues, upstreamConfigured, type Config } from '../config.js';
import type { Clock } from '../core/ports.js';

/**
 * What createUpstreamDirectory connects to: a simulator (embedded or stand-alone) with its
 * URL and demo client, or, without `simulator`, the tenant the configuration describes
 * (CXONE_AUTH and its settings; the other fields are then not used).
 */
export interface Upstream {
  readonly baseUrl?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** A simulator: its own token URL and SCIM path, whatever CXONE_TOKEN_URL and CXONE_SCIM_PATH say; client credentials whatever CXONE_AUTH says. */
  readonly simulator?: boolean;
}

/** The SCIM directory of the upstream, its admin API on the same connection, and where its API lives (CXONE_BASE_URL, or discovered). */
export interface UpstreamDirectory extends CxoneDirectory {
  readonly adminApi: AdminApiClient;
  apiBaseUrl(signal?: AbortSignal): Promise<string>;
}

/**
 * The SCIM directory of the configured upstream, paced and timed out as the configuration
 * says. Its redactor is built here, once, from the value of every secret setting; the
 * sign-in adds the credentials in use (the simulator's generated ones too) and each access
 * token and id_token it obtains.
 */
export function createUpstreamDirectory(
  config: Readonly<Config>,
  upstream: Upstream,
  observer?: UpstreamObserver,
  testing: { readonly clock?: Clock; readonly random?: () => number } = {},
): UpstreamDirectory {
  const common = {
    ...testing,
    requestTimeoutMs: config.upstreamTimeoutMs,
    rateLimit: { requestsPerSecond: config.upstreamMaxRps, maxConcurrency: config.upstreamMaxConcurrency },
    userBatchSize: config.scimBatchSize,
    groupBatchSize: config.scimBatchSize,
    groupCacheMembers: config.groupCacheMembers,
    redactor: createRedactor(secretValues(config)),
    observer,
    scope: config.cxoneScope,
    tokenAuth: config.cxoneTokenAuth,
  };
  if (upstream.simulator) {
    if (upstream.baseUrl === undefined || upstream.clientId === undefined || upstream.clientSecret === undefined) throw new TypeError('a simulator upstream needs its baseUrl, clientId and clientSecret');
    const connection = createCxoneConnection({ ...common, auth: 'client_credentials', baseUrl: upstream.baseUrl, clientId: upstream.clientId, clientSecret: upstream.clientSecret });
    return { ...connection, apiBaseUrl: (signal) => connection.signIn.apiBaseUrl(signal) };
  }
  const connection = createCxoneConnection({
    ...common,
    auth: config.cxoneAuth,
    issuer: cxoneIssuer(config),
    baseUrl: config.cxoneBaseUrl,
    tokenUrl: config.cxoneTokenUrl,
    clientId: config.cxoneClientId,
    clientSecret: config.cxoneClientSecret,
    accessKeyId: config.cxoneAccessKeyId,
    accessKeySecret: config.cxoneAccessKeySecret,
    allowInsecureHttp: config.cxoneAllowInsecureHttp,
    scimPath: config.cxoneScimPath,
    adminApiPath: config.cxoneAdminApiPath,
  });
  return { ...connection, apiBaseUrl: (signal) => connection.signIn.apiBaseUrl(signal) };
}

/**
 * At start, a tenant whose API origin is discovered (CXONE_AUTH=password or access_key
 * without CXONE_BASE_URL) is looked up once: a sign-in that cannot work as configured (no
 * tenant named, a document missing or naming a refused URL) is the returned one line to
 * stop with. A failure that may pass (the tenant unreachable, throttled) is only logged:
 * /readyz reports it and the first sync tries again. Otherwise nothing is sent at start.
 */
export async function checkUpstreamAtStart(
  config: Readonly<Config>,
  directory: UpstreamDirectory,
  log: { warn(details: object, message: string): void; info(details: object, message: string): void },
): Promise<string | undefined> {
  if (!upstreamConfigured(config) || config.cxoneAuth === 'client_credentials' || config.cxoneBaseUrl !== undefined) return undefined;
  try {
    const apiBaseUrl = await directory.apiBaseUrl(AbortSignal.timeout(3 * config.upstreamTimeoutMs));
    log.info({ apiBaseUrl, auth: config.cxoneAuth }, 'CXone API discovered');
    return undefined;
  } catch (error) {
    if (error instanceof CxoneSetupError) return error.message;
    log.warn({ err: error, auth: config.cxoneAuth }, 'CXone API discovery failed at start; the first request tries again');
    return undefined;
  }
}

/** The tenant the configuration describes (its settings are read from it), or undefined when none is: the embedded simulator runs. */
export function configuredUpstream(config: Readonly<Config>): Upstream | undefined {
  return upstreamConfigured(config) ? {} : undefined;
}
