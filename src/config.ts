/**
 * Configuration: one TypeBox schema, one entry per environment variable (its name in
 * `env`, its meaning in `description`), loaded once by main.ts. A bad value stops the
 * start with one line naming the variable; secret values are never echoed.
 */
import { isIP } from 'node:net';
import { Type, type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { CXONE_DEFAULTS } from './adapters/scim/defaults.js';

const Duration = Type.Integer({ minimum: 0 });

/** CXONE_ISSUER when unset: NICE's global issuer. */
export const DEFAULT_CXONE_ISSUER = 'https://cxone.niceincontact.com';

/** Shortest inbound API token accepted at start (the embedded simulator's demo token, added by main.ts, aside). */
export const MIN_API_TOKEN_LENGTH = 16;

export const ApiTokenSchema = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z0-9._@-]{1,64}$' }),
  token: Type.String({ minLength: MIN_API_TOKEN_LENGTH, pattern: '^\\S+$', secret: true }),
});

export const ConfigSchema = Type.Object({
  port: Type.Integer({ env: 'PORT', minimum: 0, maximum: 65535, default: 8080, description: 'TCP port the API listens on' }),
  host: Type.String({ env: 'HOST', minLength: 1, default: '0.0.0.0', description: 'Address the API listens on' }),
  logLevel: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')], {
    env: 'LOG_LEVEL',
    default: 'info',
    description: 'pino log level',
  }),
  cxoneBaseUrl: Type.Optional(Type.String({ env: 'CXONE_BASE_URL', kind: 'url', description: "Upstream API origin; when set, API discovery is skipped (CXONE_AUTH=password or access_key discover it otherwise). With none of CXONE_BASE_URL, CXONE_TOKEN_URL, CXONE_ISSUER, CXONE_CLIENT_ID, CXONE_ACCESS_KEY_ID set, the embedded simulator runs" })),
  cxoneTokenUrl: Type.Optional(Type.String({ env: 'CXONE_TOKEN_URL', kind: 'url', description: "OAuth 2.0 token endpoint: client_credentials default ${CXONE_BASE_URL}/oauth/token; password default the token_endpoint of CXONE_ISSUER's OpenID configuration; access_key: required, the regional …/authentication/v1/token/access-key" })),
  cxoneScimPath: Type.String({ env: 'CXONE_SCIM_PATH', pattern: '^/[^?#\\s]*$', default: CXONE_DEFAULTS.scimPath, description: 'SCIM 2.0 base path on the upstream' }),
  cxoneClientId: Type.Optional(Type.String({ env: 'CXONE_CLIENT_ID', minLength: 1, description: 'Client id of the registered application (CXONE_AUTH=client_credentials and password)' })),
  cxoneClientSecret: Type.Optional(Type.String({ env: 'CXONE_CLIENT_SECRET', minLength: 1, secret: true, description: 'Client secret of the registered application (CXONE_AUTH=client_credentials and password)' })),
  cxoneScope: Type.String({ env: 'CXONE_SCOPE', default: CXONE_DEFAULTS.scope, description: 'Scopes requested with the token (space separated); none unless set: NICE documents none, a token may do what the role of the employee owning the access key allows' }),
  cxoneTokenAuth: Type.Union([Type.Literal('basic'), Type.Literal('post')], {
    env: 'CXONE_TOKEN_AUTH',
    default: CXONE_DEFAULTS.tokenAuth,
    description: 'Client authentication at the token endpoint: HTTP Basic or credentials in the form body',
  }),
  writeMode: Type.Union([Type.Literal('put'), Type.Literal('patch'), Type.Literal('auto')], {
    env: 'WRITE_MODE',
    default: 'put',
    description: 'put: atomic full replace; patch: the diff as PatchOp; auto: patch for small changes when supported',
  }),
  patchMaxOperations: Type.Integer({ env: 'PATCH_MAX_OPERATIONS', minimum: 1, maximum: 10_000, default: 100, description: 'Member changes per PATCH request (WRITE_MODE patch or auto)' }),
  syncApiTokens: Type.Array(ApiTokenSchema, { env: 'SYNC_API_TOKENS', kind: 'tokens', secret: true, default: [], description: 'Inbound bearer tokens as name:token pairs, comma separated, tokens of at least 16 characters; name is the audited actor' }),
  maxGroupDepth: Type.Integer({ env: 'MAX_GROUP_DEPTH', minimum: 1, maximum: 32, default: 3, description: 'Most groups allowed along one chain of nested groups' }),
  maxMembers: Type.Integer({ env: 'MAX_MEMBERS', minimum: 1, maximum: 1_000_000, default: 100_000, description: 'Largest membership accepted in one request' }),
  groupCacheMembers: Type.Integer({ env: 'GROUP_CACHE_MEMBERS', minimum: 0, maximum: 10_000_000, default: 200_000, description: 'Members of the groups kept in memory for conditional reads (If-None-Match); 0 keeps none' }),
  dataDir: Type.String({ env: 'DATA_DIR', minLength: 1, default: './data', description: 'Embedded storage directory (audit trail, idempotency keys, webhook outbox)' }),
  webhookUrls: Type.Array(Type.String(), { env: 'WEBHOOK_URLS', kind: 'urls', default: [], description: 'Static webhook subscribers, comma separated' }),
  webhookSecret: Type.Optional(Type.String({ env: 'WEBHOOK_SECRET', minLength: 16, secret: true, description: 'Signing secret for WEBHOOK_URLS (whsec_… or raw)' })),
  webhookAllowPrivate: Type.Boolean({ env: 'WEBHOOK_ALLOW_PRIVATE', default: false, description: 'Allow loopback and private webhook targets' }),
  webhookRetrySchedule: Type.Array(Duration, {
    env: 'WEBHOOK_RETRY_SCHEDULE',
    kind: 'durations',
    minItems: 1,
    default: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000],
    description: 'Delays between webhook delivery attempts, e.g. 5s,5m,30m,2h',
  }),
  entitlementMap: Type.Record(Type.String(), Type.Array(Type.String()), {
    env: 'ENTITLEMENT_MAP',
    kind: 'json',
    default: {},
    description: 'JSON object: group id → entitlement values for attribute sync',
  }),
  upstreamTimeoutMs: Type.Integer({ env: 'UPSTREAM_TIMEOUT_MS', minimum: 100, maximum: 300_000, default: 10_000, description: 'Per-request timeout for upstream calls, in ms' }),
  inboundRateLimit: Type.Integer({ env: 'INBOUND_RATE_LIMIT', minimum: 0, maximum: 1_000_000, default: 600, description: 'Requests per minute per API token (0: no limit); over it, 429 rate_limited with Retry-After' }),
  syncDeadlineMs: Type.Integer({ env: 'SYNC_DEADLINE_MS', minimum: 100, maximum: 600_000, default: 55_000, description: 'Overall deadline of one sync; past it the caller gets 504 with Retry-After' }),
  shutdownTimeoutMs: Type.Integer({ env: 'SHUTDOWN_TIMEOUT_MS', minimum: 0, maximum: 600_000, default: 25_000, description: 'On SIGTERM/SIGINT, how long in-flight syncs may finish before they are cut off' }),
  upstreamMaxRps: Type.Number({ env: 'UPSTREAM_MAX_RPS', minimum: 0, maximum: 10_000, default: 0, description: 'Upstream requests per second at most (0: adaptive only, learned from 429s)' }),
  upstreamMaxConcurrency: Type.Integer({ env: 'UPSTREAM_MAX_CONCURRENCY', minimum: 1, maximum: 1024, default: 16, description: 'Upstream requests in flight at once, across all syncs' }),
  scimBatchSize: Type.Integer({ env: 'SCIM_BATCH_SIZE', minimum: 1, maximum: 200, default: 50, description: 'Ids per filtered lookup (`id eq "a" or …`); fewer when the ids are long, so that a lookup URL stays within 8 KB' }),
  groupQueueMax: Type.Integer({
    env: 'GROUP_QUEUE_MAX',
    minimum: 0,
    maximum: 100_000,
    default: 50,
    description: 'Syncs of one group that may wait behind the one running (0: none); over it, 429 group_busy with Retry-After',
  }),
  simulator: Type.Optional(
    Type.Literal('embedded', {
      env: 'SIMULATOR',
      description: 'embedded: run against the embedded CXone SCIM simulator (no tenant configured); required for that under NODE_ENV=production',
    }),
  ),
  cxoneAllowInsecureHttp: Type.Boolean({
    env: 'CXONE_ALLOW_INSECURE_HTTP',
    default: false,
    description: 'Allow a plain http:// CXONE_BASE_URL, CXONE_TOKEN_URL, CXONE_ISSUER or discovered endpoint that is not loopback (secrets and tokens then travel in clear)',
  }),
  auditHmacKey: Type.Optional(
    Type.String({ env: 'AUDIT_HMAC_KEY', minLength: 32, secret: true, description: 'Key of the audit chain (HMAC-SHA256, at least 32 characters): rewriting the trail then needs the key' }),
  ),
  auditHeadLogEvery: Type.Integer({ env: 'AUDIT_HEAD_LOG_EVERY', minimum: 0, maximum: 1_000_000_000, default: 1000, description: 'Log the audit chain head (sequence and hash) every N records, to anchor it outside (0: never)' }),
  auditRetentionDays: Type.Integer({ env: 'AUDIT_RETENTION_DAYS', minimum: 0, maximum: 36_500, default: 0, description: 'Prune audit records older than this many days, keeping the chain verifiable (0: keep forever)' }),
  readinessCacheMs: Type.Integer({ env: 'READINESS_CACHE_MS', minimum: 0, maximum: 300_000, default: 5000, description: 'How long GET /readyz reuses the outcome of its upstream probe, in ms (one probe runs at a time whatever the number of callers)' }),
  authFailureLimit: Type.Integer({ env: 'AUTH_FAILURE_LIMIT', minimum: 0, maximum: 1_000_000, default: 20, description: 'Failed authentications per minute per client address (0: no limit); over it, 429 rate_limited with Retry-After (a valid token is never refused by it)' }),
  trustProxy: Type.Union([Type.Boolean(), Type.Integer({ minimum: 0, maximum: 64 }), Type.String({ minLength: 1 })], {
    env: 'TRUST_PROXY',
    kind: 'trustProxy',
    default: false,
    description: "Which proxies may name the client in X-Forwarded-For (Fastify's trustProxy): false (none: the socket address is the client), true (any), a number of hops, or proxy addresses/CIDRs, comma separated",
  }),
  adminApiTokens: Type.Array(ApiTokenSchema, {
    env: 'ADMIN_API_TOKENS',
    kind: 'tokens',
    secret: true,
    default: [],
    description: 'Inbound bearer tokens of administrators, name:token pairs like SYNC_API_TOKENS: they sync too, and see and manage every subscription and audit record',
  }),
  cxoneAuth: Type.Union([Type.Literal('client_credentials'), Type.Literal('password'), Type.Literal('access_key')], {
    env: 'CXONE_AUTH',
    default: 'client_credentials',
    description:
      'How the service signs in to CXone. client_credentials: CXONE_CLIENT_ID/SECRET at CXONE_TOKEN_URL or ${CXONE_BASE_URL}/oauth/token. password: the access key as username and password, the application as HTTP Basic; token endpoint and API origin discovered from CXONE_ISSUER unless set. access_key: the access key as JSON to the regional CXONE_TOKEN_URL',
  }),
  cxoneIssuer: Type.Optional(
    Type.String({
      env: 'CXONE_ISSUER',
      kind: 'url',
      default: DEFAULT_CXONE_ISSUER,
      applyDefault: false,
      description: 'Where discovery starts: {issuer}/.well-known/openid-configuration (token endpoint) and {issuer}/.well-known/cxone-configuration?tenantId=… (API origin)',
    }),
  ),
  cxoneAccessKeyId: Type.Optional(Type.String({ env: 'CXONE_ACCESS_KEY_ID', minLength: 1, description: 'Access key id of the CXone employee the service acts as (CXONE_AUTH=password and access_key)' })),
  cxoneAccessKeySecret: Type.Optional(Type.String({ env: 'CXONE_ACCESS_KEY_SECRET', minLength: 1, secret: true, description: 'Secret of that access key (CXONE_AUTH=password and access_key)' })),
  cxoneAdminApiPath: Type.String({ env: 'CXONE_ADMIN_API_PATH', pattern: '^/[^?#\\s]*$', default: '/incontactapi/services/v31.0', description: 'Base path of the CXone admin API (agents, ACD groups, teams) below the API origin' }),
  // 'auto' and each of MEMBERSHIP_BACKENDS (src/core/outcome.ts; a test checks they agree).
  membershipBackend: Type.Union([Type.Literal('auto'), Type.Literal('scim-groups'), Type.Literal('acd-groups'), Type.Literal('teams')], {
    env: 'MEMBERSHIP_BACKEND',
    default: 'auto',
    description:
      'Where group memberships are written. scim-groups: RFC 7644 /Groups. acd-groups: CXone ACD groups through the admin API. teams: CXone teams (one per user). auto: probe SCIM /Groups once (200: scim-groups, 404: acd-groups), keep the choice in the store (STORE), and not be ready until it is made',
  }),
  teamsFallbackTeamId: Type.Optional(
    Type.Integer({ env: 'TEAMS_FALLBACK_TEAM_ID', minimum: 1, description: 'The CXone team a user removed from a synced team moves to (every user is in exactly one team); required when MEMBERSHIP_BACKEND=teams' }),
  ),
  teamsMoveFromOther: Type.Boolean({
    env: 'TEAMS_MOVE_FROM_OTHER',
    default: false,
    description: 'MEMBERSHIP_BACKEND=teams: move a user asked for here out of another team this service also syncs (false: refuse that member with member_in_other_team)',
  }),
  store: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')], {
    env: 'STORE',
    default: 'sqlite',
    description: 'Where the audit trail, idempotency keys, subscriptions, webhook outbox, the membership backend choice, the CXone agent map and the admin-API write journal live: sqlite (one process, a file under DATA_DIR) or postgres (DATABASE_URL; several replicas share it, see docs/postgres.md)',
  }),
  databaseUrl: Type.Optional(
    Type.String({ env: 'DATABASE_URL', pattern: '^postgres(ql)?://', secret: true, description: 'PostgreSQL connection URL (postgres://user:password@host:port/database), required with STORE=postgres; never logged' }),
  ),
  driftInterval: Type.Integer({
    env: 'DRIFT_INTERVAL',
    kind: 'duration',
    minimum: 1000,
    maximum: 604_800_000,
    default: 900_000,
    description: 'How often every recently synced group is read again to find drift (changes made upstream out of band), e.g. 15m; the reads are spread over it (docs/consistency.md "Drift")',
  }),
  driftWindow: Type.Integer({
    env: 'DRIFT_WINDOW',
    kind: 'duration',
    minimum: 1000,
    maximum: 31_536_000_000,
    default: 604_800_000,
    description: 'Groups synced (applied or unchanged) within this long are checked for drift, e.g. 7d',
  }),
  driftMaxRps: Type.Number({
    env: 'DRIFT_MAX_RPS',
    minimum: 0,
    maximum: 1000,
    default: 1,
    description: 'Upstream requests per second, at most, that the drift reads send (a cycle that cannot keep to it stretches past DRIFT_INTERVAL); 0 turns drift detection off',
  }),
  driftHeal: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    env: 'DRIFT_HEAL',
    default: 'off',
    description: 'on: re-apply the last desired set of a drifted group through the normal sync path (audited with actor drift-heal); a heal that fails validation is reported and not tried again until the group is synced anew',
  }),
  scimApiTokens: Type.Array(ApiTokenSchema, {
    env: 'SCIM_API_TOKENS',
    kind: 'tokens',
    secret: true,
    default: [],
    description:
      'Inbound bearer tokens of the SCIM 2.0 front door (/scim/v2), name:token pairs like SYNC_API_TOKENS; name is the audited actor. A token listed only here may call /scim/v2 only. Unset: the tokens of SYNC_API_TOKENS and ADMIN_API_TOKENS call /scim/v2',
  }),
  scimGroupDelete: Type.Union([Type.Literal('refuse'), Type.Literal('empty'), Type.Literal('deactivate')], {
    env: 'SCIM_GROUP_DELETE',
    default: 'refuse',
    description:
      'What SCIM DELETE /scim/v2/Groups/{id} does. refuse: 403, nothing changes. empty: the group is synced to no members (audited) and stays upstream. deactivate: emptied, then deactivated where the backend can (acd-groups: isActive=false; scim-groups: deleted upstream); refused (403) under teams',
  }),
  removalGuardPercent: Type.Number({
    env: 'REMOVAL_GUARD_PERCENT',
    minimum: 0,
    maximum: 100,
    default: 30,
    description: 'Mass-removal guard: a sync that would remove more than this percentage of a group\'s members, and more than REMOVAL_GUARD_MIN of them, is refused (409 removal_guard) unless asked with ?allowMassRemoval=true',
  }),
  removalGuardMin: Type.Integer({
    env: 'REMOVAL_GUARD_MIN',
    minimum: 0,
    maximum: 1_000_000,
    default: 10,
    description: 'Mass-removal guard: the number of removals a sync must exceed (besides REMOVAL_GUARD_PERCENT) to be refused; emptying a non-empty group is always refused without ?allowMassRemoval=true',
  }),
  quarantineAfter: Type.Integer({
    env: 'QUARANTINE_AFTER',
    minimum: 0,
    maximum: 1000,
    default: 5,
    description: "Consecutive failures of a group with errors of its own (not validation, not tenant-wide 429/503 or sign-in failures) after which it is quarantined: its syncs answer 503 group_quarantined without upstream requests until a probe read succeeds; 0 turns quarantine off",
  }),
  quarantineBackoff: Type.Array(Type.Integer({ minimum: 1000 }), {
    env: 'QUARANTINE_BACKOFF',
    kind: 'durations',
    minItems: 1,
    default: [60_000, 300_000, 1_800_000, 7_200_000, 21_600_000],
    description: 'Delays between the probe reads of a quarantined group, e.g. 1m,5m,30m,2h,6h; the last repeats',
  }),
  heldChangeTtl: Type.Integer({
    env: 'HELD_CHANGE_TTL',
    kind: 'duration',
    minimum: 60_000,
    maximum: 31_536_000_000,
    default: 604_800_000,
    description: 'How long a change the mass-removal guard held (SCIM front door) waits for a decision, and an approval for its retry, e.g. 7d; then it expires (group.change.expired) and the next retry is held afresh',
  }),
});

export type Config = Static<typeof ConfigSchema>;
export type ApiToken = Static<typeof ApiTokenSchema>;

/** A configuration problem, worded as the one line the start stops with. */
export class ConfigError extends Error {
  readonly code = 'invalid_config';
}

type SettingMeta = TSchema & {
  env: string;
  type?: string;
  description?: string;
  kind?: 'url' | 'urls' | 'tokens' | 'duration' | 'durations' | 'json' | 'trustProxy';
  secret?: boolean;
  default?: unknown;
  /** false: the value stays undefined while the variable is unset, so that "set" can be told from "defaulted"; `default` is what the service then uses. */
  applyDefault?: boolean;
};

/** Every setting's schema, with the metadata the options above put on it. */
function settings(): [string, SettingMeta][] {
  return Object.entries(ConfigSchema.properties) as unknown as [string, SettingMeta][];
}

export interface LoadConfigOptions {
  /** false for the CLI's sync, reconcile and audit commands, which serve no API: SYNC_API_TOKENS is then not required. Default true. */
  readonly serving?: boolean;
}

export function loadConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>, options: LoadConfigOptions = {}): Readonly<Config> {
  const config: Record<string, unknown> = {};
  for (const [key, schema] of settings()) {
    const raw = env[schema.env];
    const unset = raw === undefined || raw.trim() === '';
    const value = unset ? (schema.applyDefault === false ? undefined : structuredClone(schema.default)) : parseSetting(schema, raw.trim());
    if (value === undefined) continue;
    const error = Value.Errors(schema, value)[0];
    if (error) {
      const at = error.instancePath ? ` (at ${error.instancePath})` : '';
      throw new ConfigError(`${schema.env}: ${error.message}${at}${schema.secret ? '' : `; got ${JSON.stringify(raw)}`}`);
    }
    config[key] = value;
  }
  const result = config as Config;
  checkCombinations(result, options.serving ?? true, env.NODE_ENV?.trim());
  return deepFreeze(result);
}

function parseSetting(schema: SettingMeta, raw: string): unknown {
  const fail = (why: string): never => {
    throw new ConfigError(`${schema.env}: ${why}${schema.secret ? '' : `; got ${JSON.stringify(raw)}`}`);
  };
  switch (schema.kind) {
    case 'url':
      return parseUrl(raw, fail);
    case 'urls':
      return raw.split(',').map((part) => parseUrl(part.trim(), fail));
    case 'tokens':
      return raw.split(',').map((pair) => {
        const at = pair.indexOf(':');
        if (at <= 0) fail('expected name:token pairs separated by commas');
        return { name: pair.slice(0, at).trim(), token: pair.slice(at + 1).trim() };
      });
    case 'duration':
      return parseDuration(raw) ?? fail('is not a duration like 500ms, 5s, 5m, 2h or 1d');
    case 'durations':
      return raw.split(',').map((part) => parseDuration(part.trim()) ?? fail(`"${part.trim()}" is not a duration like 500ms, 5s, 5m, 2h or 1d`));
    case 'json':
      try {
        return JSON.parse(raw);
      } catch {
        return fail('is not valid JSON');
      }
    case 'trustProxy':
      return parseTrustProxy(raw, fail);
  }
  if (schema.type === 'integer') return /^-?\d+$/.test(raw) ? Number(raw) : fail('must be an integer');
  if (schema.type === 'number') return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : fail('must be a number');
  if (schema.type === 'boolean') {
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    return fail('must be true or false');
  }
  return raw;
}

function parseUrl(raw: string, fail: (why: string) => never): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail('is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail('must be an http:// or https:// URL');
  if (url.username || url.password) fail('must not carry credentials in the URL');
  return url.href.replace(/\/+$/, '');
}

/** false, true, a hop count, or addresses and CIDR ranges (as Fastify's trustProxy takes them). */
function parseTrustProxy(raw: string, fail: (why: string) => never): boolean | number | string {
  if (raw === 'false' || raw === '0') return false;
  if (raw === 'true') return true;
  if (/^\d{1,2}$/.test(raw)) return Number(raw);
  const entries = raw.split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const bits = family === 4 ? 32 : 128;
    const badPrefix = prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits);
    if (family === 0 || badPrefix || rest.length > 0) fail(`"${entry}" is not true, false, a number of hops, or an IP address or CIDR range`);
  }
  return entries.join(',');
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "5s", "5m", "2h", "1d" → milliseconds. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * (UNITS[match[2] as string] as number);
}

/** Loopback by name or address: what a plain-http upstream may be without CXONE_ALLOW_INSECURE_HTTP. */
export function isLoopbackUrl(href: string): boolean {
  const host = new URL(href).hostname.toLowerCase().replace(/\.$/, '');
  return host === 'localhost' || host.endsWith('.localhost') || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '[::1]';
}

/**
 * The settings that point the service at a tenant, in the order a message names them: when
 * none is set in the environment, the embedded simulator runs (CXONE_ISSUER counts only
 * when set, not by its default).
 */
const UPSTREAM_SETTINGS = [
  ['cxoneBaseUrl', 'CXONE_BASE_URL'],
  ['cxoneTokenUrl', 'CXONE_TOKEN_URL'],
  ['cxoneIssuer', 'CXONE_ISSUER'],
  ['cxoneClientId', 'CXONE_CLIENT_ID'],
  ['cxoneAccessKeyId', 'CXONE_ACCESS_KEY_ID'],
] as const;

/** The first setting that points the service at a tenant, or undefined when none does (the embedded simulator then runs). */
export function upstreamConfiguredBy(config: Readonly<Config>): string | undefined {
  return UPSTREAM_SETTINGS.find(([key]) => config[key] !== undefined)?.[1];
}

/** Whether a tenant is configured; when not, the service runs the embedded simulator. */
export function upstreamConfigured(config: Readonly<Config>): boolean {
  return upstreamConfiguredBy(config) !== undefined;
}

/** CXONE_ISSUER, or its default. */
export function cxoneIssuer(config: Readonly<Config>): string {
  return config.cxoneIssuer ?? DEFAULT_CXONE_ISSUER;
}

type SignInSetting = 'cxoneBaseUrl' | 'cxoneTokenUrl' | 'cxoneClientId' | 'cxoneClientSecret' | 'cxoneAccessKeyId' | 'cxoneAccessKeySecret';
const SIGN_IN_ENV: Record<SignInSetting, string> = {
  cxoneBaseUrl: 'CXONE_BASE_URL',
  cxoneTokenUrl: 'CXONE_TOKEN_URL',
  cxoneClientId: 'CXONE_CLIENT_ID',
  cxoneClientSecret: 'CXONE_CLIENT_SECRET',
  cxoneAccessKeyId: 'CXONE_ACCESS_KEY_ID',
  cxoneAccessKeySecret: 'CXONE_ACCESS_KEY_SECRET',
};

/** What each CXONE_AUTH needs, and the credentials it would silently ignore (set by mistake, they are refused). */
const SIGN_IN_NEEDS: Record<Config['cxoneAuth'], { readonly needs: readonly SignInSetting[]; readonly unused: readonly SignInSetting[] }> = {
  client_credentials: { needs: ['cxoneBaseUrl', 'cxoneClientId', 'cxoneClientSecret'], unused: ['cxoneAccessKeyId', 'cxoneAccessKeySecret'] },
  password: { needs: ['cxoneClientId', 'cxoneClientSecret', 'cxoneAccessKeyId', 'cxoneAccessKeySecret'], unused: [] },
  access_key: { needs: ['cxoneAccessKeyId', 'cxoneAccessKeySecret', 'cxoneTokenUrl'], unused: ['cxoneClientId', 'cxoneClientSecret'] },
};

function checkCombinations(config: Config, serving: boolean, nodeEnv: string | undefined): void {
  const configuredBy = upstreamConfiguredBy(config);
  if (config.simulator === 'embedded' && configuredBy !== undefined) {
    throw new ConfigError(`SIMULATOR: embedded runs the embedded simulator, which ${configuredBy} replaces; set one of them`);
  }
  if (serving && nodeEnv === 'production' && configuredBy === undefined && config.simulator !== 'embedded') {
    throw new ConfigError(
      'CXONE_BASE_URL: required when NODE_ENV=production (without it, CXONE_TOKEN_URL, CXONE_ISSUER, CXONE_CLIENT_ID or CXONE_ACCESS_KEY_ID the service would run the embedded simulator; set SIMULATOR=embedded to do that on purpose)',
    );
  }
  for (const [url, name] of [
    [config.cxoneBaseUrl, 'CXONE_BASE_URL'],
    [config.cxoneTokenUrl, 'CXONE_TOKEN_URL'],
    [config.cxoneIssuer, 'CXONE_ISSUER'],
  ] as const) {
    if (url === undefined || config.cxoneAllowInsecureHttp || !url.startsWith('http:') || isLoopbackUrl(url)) continue;
    throw new ConfigError(`${name}: ${new URL(url).origin} is plain http and not loopback: the client secret and tokens would travel in clear; use https://, or set CXONE_ALLOW_INSECURE_HTTP=true`);
  }
  if (configuredBy !== undefined) {
    const mode = config.cxoneAuth;
    const { needs, unused } = SIGN_IN_NEEDS[mode];
    const missing = needs.filter((key) => config[key] === undefined).map((key) => SIGN_IN_ENV[key]);
    if (missing.length > 0) {
      const also = missing.length > 1 ? `; also missing: ${missing.slice(1).join(', ')}` : '';
      throw new ConfigError(`${missing[0]}: required when ${configuredBy} is set (CXONE_AUTH=${mode} needs ${needs.map((key) => SIGN_IN_ENV[key]).join(', ')}${also})`);
    }
    const ignored = unused.find((key) => config[key] !== undefined);
    if (ignored !== undefined) {
      throw new ConfigError(`${SIGN_IN_ENV[ignored]}: not used with CXONE_AUTH=${mode}; set CXONE_AUTH to ${mode === 'access_key' ? 'password or client_credentials' : 'password or access_key'}, or unset it`);
    }
    if (serving && config.syncApiTokens.length === 0 && config.adminApiTokens.length === 0) {
      throw new ConfigError(`SYNC_API_TOKENS: required when ${configuredBy} is set (the API must not run open against a real tenant)`);
    }
  }
  const tokens = new Map<string, string>();
  const names = new Map<string, string>();
  const scimTokens = new Map<string, string>();
  for (const { name, token } of config.scimApiTokens) {
    if (scimTokens.has(token)) throw new ConfigError('SCIM_API_TOKENS: the same token is listed twice');
    scimTokens.set(token, name);
  }
  for (const [variable, list] of [
    ['SYNC_API_TOKENS', config.syncApiTokens],
    ['ADMIN_API_TOKENS', config.adminApiTokens],
  ] as const) {
    for (const { name, token } of list) {
      const scimName = scimTokens.get(token);
      if (scimName !== undefined && scimName !== name) throw new ConfigError(`SCIM_API_TOKENS: a token is also in ${variable} under another name; a token has one name (the audited actor)`);
    }
  }
  for (const [variable, list] of [
    ['SYNC_API_TOKENS', config.syncApiTokens],
    ['ADMIN_API_TOKENS', config.adminApiTokens],
  ] as const) {
    for (const { name, token } of list) {
      const tokenIn = tokens.get(token);
      if (tokenIn === variable) throw new ConfigError(`${variable}: the same token is listed twice`);
      if (tokenIn !== undefined) throw new ConfigError(`${variable}: a token is also listed in ${tokenIn}; each token belongs to one list`);
      const nameIn = names.get(name);
      if (nameIn !== undefined && nameIn !== variable) throw new ConfigError(`${variable}: the name ${JSON.stringify(name)} is also in ${nameIn}; a name is an administrator or not`);
      tokens.set(token, variable);
      names.set(name, variable);
    }
  }
  if (config.membershipBackend === 'teams' && config.teamsFallbackTeamId === undefined) {
    throw new ConfigError('TEAMS_FALLBACK_TEAM_ID: required when MEMBERSHIP_BACKEND=teams (the team a user removed from a synced team moves to: every CXone user is in exactly one team)');
  }
  if (config.store === 'postgres' && config.databaseUrl === undefined) throw new ConfigError('DATABASE_URL: required when STORE=postgres');
  if (config.store === 'sqlite' && config.databaseUrl !== undefined) throw new ConfigError('DATABASE_URL: not used with STORE=sqlite; set STORE=postgres to use it, or unset it');
  if (config.webhookUrls.length > 0 && config.webhookSecret === undefined) {
    throw new ConfigError('WEBHOOK_SECRET: required when WEBHOOK_URLS is set');
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * The value of every setting marked `secret` (for a list of API tokens: each token, not its
 * name, because only properties marked `secret` are taken from an object), for the
 * redactor of upstream error text. Derived from the schema: a secret setting added later
 * is covered without touching the redactor.
 */
export function secretValues(config: Readonly<Config>): string[] {
  const out: string[] = [];
  for (const [key, schema] of settings()) {
    if (schema.secret === true) collectStrings(schema, (config as Record<string, unknown>)[key], out);
  }
  // The password of DATABASE_URL on its own too: a driver's message may quote it apart from the URL.
  const password = config.databaseUrl === undefined ? '' : passwordOf(config.databaseUrl);
  if (password !== '') out.push(password);
  return out;
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

function collectStrings(schema: TSchema, value: unknown, out: string[]): void {
  const meta = schema as TSchema & { items?: TSchema; properties?: Record<string, TSchema & { secret?: boolean }> };
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) collectStrings(meta.items ?? schema, item, out);
  else if (value !== null && typeof value === 'object') {
    for (const [name, inner] of Object.entries(meta.properties ?? {})) {
      if (inner.secret === true) collectStrings(inner, (value as Record<string, unknown>)[name], out);
    }
  }
}

/** The variables with their defaults and meanings, for docs and `--help`. */
export function describeConfig(): { env: string; default: string; description: string; secret: boolean }[] {
  return settings().map(([, schema]) => ({
    env: schema.env,
    default: schema.default === undefined ? '' : JSON.stringify(schema.default),
    description: schema.description ?? '',
    secret: schema.secret === true,
  }));
}
