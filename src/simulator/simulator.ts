/**
 * The embedded CXone simulator: a real HTTP server on `node:http` speaking CXone as NICE
 * publishes it: the admin API under /incontactapi/services/vNN.0 and user-management teams
 * (admin-api.ts over directory.ts), SCIM 2.0 (RFC 7643/7644) under /scim/v2 with NICE's user
 * extension and /Groups as a switch, CXone sign-in and discovery (oauth.ts, signin.ts) and
 * OAuth 2.0 client credentials at /oauth/token; with weak ETags, configurable capabilities,
 * open behaviours as knobs, fault injection and a small unauthenticated admin API under
 * /_simulator for benchmarks that run it as a separate process.
 *
 * The service uses it in-process when no tenant is configured; tests and benchmarks use it
 * over loopback. Request flow: /_simulator routes bypass everything; every other request goes
 * through route matching, fault injection, crash points, the onRequest hook, then the handler.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AdminError, adminErrorBody, createAdminApi, matchAdminRoute, type AdminRoute } from './admin-api.js';
import { createDirectory, type CxoneBehaviours, type DirectoryEngine, type GroupRecord, type SimulatorDirectory } from './directory.js';
import { createFaultInjector, mulberry32, type Faults, type FaultsInput } from './faults.js';
import { NICE_USER_URN, parseFilter } from './filter.js';
import { DEFAULT_ACCESS_KEY, DEFAULT_CLIENT, SCOPE_READ, SCOPE_WRITE, createTokenService, type AccessKey, type OAuthClient } from './oauth.js';
import { parsePatchRequest } from './patch.js';
import { parseProjection, type Projection } from './projection.js';
import { groupSchema, scimSchemas, userSchema, type ResourceKind } from './schema.js';
import { SCHEMA, ScimError, errorBody } from './scim-error.js';
import { resolveSeed } from './seed.js';
import { DEFAULT_AREA, DEFAULT_TENANT_ID, cxoneConfiguration, jwks, openidConfiguration, signJwt } from './signin.js';
import { MAX_BODY_BYTES, readBody, writeResponse } from './http.js';
import { createStats, type SimulatorStats } from './stats.js';
import { createSimulatorStore, type SimulatorSeed, type SimulatorStore, type StoreEngine } from './store.js';

export type { Faults, FaultsInput } from './faults.js';
export { DEFAULT_BEHAVIOURS, NICE_USER_URN } from './directory.js';
export type { AcdGroup, AcdGroupSeed, Agent, AgentSeed, CxoneBehaviours, SimulatorDirectory, Team, TeamSeed } from './directory.js';
export type { AccessKey, OAuthClient } from './oauth.js';
export { DEFAULT_ACCESS_KEY, DEFAULT_CLIENT } from './oauth.js';
export { DEFAULT_AREA, DEFAULT_TENANT_ID } from './signin.js';
export { seedIds } from './seed.js';
export type { RequestLogEntry, SimulatorStats, SimulatorStatsSnapshot } from './stats.js';
export type {
  GroupInput,
  LoadGroupResult,
  MemberInput,
  PatchOperationInput,
  ScimGroup,
  ScimMember,
  ScimMeta,
  ScimUser,
  SimulatorSeed,
  SimulatorStore,
  UserInput,
} from './store.js';

export interface SimulatorCapabilities {
  /** false: no ETag header and no If-Match checks (meta.version is still there). */
  etag: boolean;
  /** false: any ?filter= answers 400 invalidFilter. */
  filter: boolean;
  /** false: PATCH answers 405. */
  patch: boolean;
  /** true: list responses report more totalResults than exist (by one page). */
  lieAboutTotalResults: boolean;
  /** Largest page a list answers (`count` is capped to it). */
  maxPageSize: number;
  /**
   * A provider bug: a PATCH that names `attributes` or `excludedAttributes` applies its
   * operations to that projection of the resource (RFC 7644 §3.9 read the wrong way) and
   * writes the result back, so `excludedAttributes=members` leaves only the patched members.
   */
  patchOnProjection: boolean;
  /** Largest request body accepted; a larger one is read to its end and answered 413. */
  maxRequestBytes: number;
  /** A provider that silently keeps at most this many members of a group on every write (null: no limit). */
  silentMemberLimit: number | null;
  /** Admin API: the page size when `top` is absent (an assumption; NICE publishes none). */
  adminPageSize: number;
  /** Admin API: the largest `top` honoured; a larger one is capped. */
  adminMaxPageSize: number;
  /** Admin API: the most agents (or groups) one write may carry; more is 400. */
  adminMaxBatch: number;
}

/**
 * Whether the simulator serves SCIM /Groups unless told otherwise. NICE's published SCIM API
 * has Users only, so CXone as published means false: the service then syncs ACD groups (or
 * teams) through the admin API. This one constant is the default of `createSimulator`, of
 * `SIM_SCIM_GROUPS` and so of the embedded simulator (which the service starts with SCIM
 * /Groups on only under MEMBERSHIP_BACKEND=scim-groups).
 */
export const SCIM_GROUPS_DEFAULT = false;

export interface SimulatorOptions {
  seed?: 'default' | 'empty' | SimulatorSeed;
  /** Serve SCIM /Groups (RFC 7644) besides /Users. Default SCIM_GROUPS_DEFAULT. */
  scimGroups?: boolean;
  /** OAuth clients: client credentials at /oauth/token, and the registered application of the password grant. Default demo-client / demo-secret. */
  clients?: { clientId: string; clientSecret: string; scopes?: string[] }[];
  /** Employees' access keys for the password grant and the access-key endpoint. Default DEFAULT_ACCESS_KEY. */
  accessKeys?: AccessKey[];
  /** The tenant the id_token names and /.well-known/cxone-configuration answers for. Default DEFAULT_TENANT_ID. */
  tenantId?: string;
  /** The area /.well-known/cxone-configuration answers. Default DEFAULT_AREA. */
  area?: string;
  /** false: the access-key endpoint answers without an id_token (the token names no tenant). Default true. */
  accessKeyIdToken?: boolean;
  tokenTtlSeconds?: number;
  capabilities?: Partial<SimulatorCapabilities>;
  faults?: FaultsInput;
  /** What NICE's published material leaves open (README.md gives each default and why). */
  behaviours?: Partial<CxoneBehaviours>;
  /** Clock for token expiry, rate limiting and meta timestamps (ms since the epoch). */
  now?: () => number;
  /** PRNG for faults, uniform in [0, 1). Default: mulberry32 with a fixed seed. */
  random?: () => number;
}

export interface SimulatorRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
}

export interface SimulatorResponse {
  status: number;
  headers?: Record<string, string>;
  /** Sent as JSON unless it is a string. */
  body?: unknown;
}

export type SimulatorHook = (request: SimulatorRequest) => void | SimulatorResponse | Promise<void | SimulatorResponse>;

export interface Simulator {
  /** Default port 0 and host 127.0.0.1. Resolves to the base URL, e.g. http://127.0.0.1:41234. */
  listen(options?: { port?: number; host?: string }): Promise<string>;
  /** Stops listening and closes keep-alive sockets (in-flight requests get one second). */
  close(): Promise<void>;
  /** The base URL, once listening. */
  readonly url: string;
  readonly store: SimulatorStore;
  /** Agents, teams and ACD groups (the admin API's data), kept in step with the SCIM users. */
  readonly directory: SimulatorDirectory;
  readonly stats: SimulatorStats;
  readonly faults: Faults;
  readonly capabilities: Readonly<SimulatorCapabilities>;
  /** Whether SCIM /Groups is served (off: every /Groups request answers 404, as on CXone). */
  readonly scimGroups: boolean;
  setFaults(faults: FaultsInput): void;
  readonly behaviours: Readonly<CxoneBehaviours>;
  /** Merges a partial behaviour configuration; throws a RangeError naming the bad field. */
  setBehaviours(behaviours: Partial<CxoneBehaviours>): void;
  /** Test hook, run before each simulated request (SCIM, admin API, tokens, discovery) is handled (after fault injection). */
  onRequest(hook: SimulatorHook | null): void;
  /** Invalidates every issued access and refresh token: the next SCIM or admin-API request answers 401. */
  revokeTokens(): void;
  /**
   * Holds the answer to the next write of a group (SCIM PUT or PATCH of a group; admin-API
   * POST or DELETE of a group's agents, PUT of a group, PUT /agents that moves agents between
   * teams), narrowed by `method` and `api` when given: the write is applied and its answer
   * made, then kept back until another write to the same group (or team) has been applied.
   * Replaces any earlier hold that caught nothing yet.
   */
  holdNextWrite(options?: { method?: HoldMethod; api?: 'scim' | 'admin' }): WriteHold;
  /** The current write hold, or null. */
  readonly writeHold: WriteHold | null;
}

export type HoldMethod = 'PUT' | 'PATCH' | 'POST' | 'DELETE';

export interface WriteHold {
  readonly method: HoldMethod | null;
  readonly api: 'scim' | 'admin' | null;
  /** armed: waiting for a write; held: a write's answer is kept back; released: it was sent. */
  readonly state: 'armed' | 'held' | 'released';
  /** Resolves once a write's answer is being held. */
  readonly held: Promise<void>;
  /** Resolves once the held answer has been let go. */
  readonly released: Promise<void>;
  /** Lets the held answer go now (or disarms the hold). */
  release(): void;
}

const SCIM_PREFIX = '/scim/v2';
/** The business unit every admin-API answer names. */
const BUSINESS_UNIT_ID = 4_600_001;

/** Sign-in and discovery: path → statistics resource and method. Answers are OAuth-style JSON. */
const AUTH_ROUTES: Record<string, { readonly resource: string; readonly method: 'GET' | 'POST' }> = {
  '/oauth/token': { resource: 'oauth', method: 'POST' },
  '/auth/token': { resource: 'auth/token', method: 'POST' },
  '/auth/jwks': { resource: 'auth/jwks', method: 'GET' },
  '/.well-known/openid-configuration': { resource: '.well-known/openid-configuration', method: 'GET' },
  '/.well-known/cxone-configuration': { resource: '.well-known/cxone-configuration', method: 'GET' },
  '/authentication/v1/token/access-key': { resource: 'authentication/v1/token/access-key', method: 'POST' },
};
const ADMIN_PREFIX = '/_simulator';
const SCIM_JSON = 'application/scim+json';
const DEFAULT_PAGE_SIZE = 100;
const RANDOM_SEED = 0x5eed;

interface RouteSpec {
  readonly collection: readonly string[];
  readonly item: readonly string[] | null;
}

const ROUTES: Record<string, RouteSpec> = {
  Users: { collection: ['GET', 'POST'], item: ['GET', 'PUT', 'PATCH', 'DELETE'] },
  Groups: { collection: ['GET', 'POST'], item: ['GET', 'PUT', 'PATCH', 'DELETE'] },
  ServiceProviderConfig: { collection: ['GET'], item: null },
  ResourceTypes: { collection: ['GET'], item: ['GET'] },
  Schemas: { collection: ['GET'], item: ['GET'] },
};

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** For stats: Users, Groups, oauth, ServiceProviderConfig, … */
  readonly resource: string;
  send(status: number, body?: unknown, headers?: Record<string, string>, contentType?: string): void;
}

/** RFC 7644 §3.1 / §3.8: SCIM bodies are application/scim+json; plain JSON is accepted too. */
function parseJson(req: IncomingMessage, raw: Buffer): unknown {
  const mediaType = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== undefined && mediaType !== SCIM_JSON && mediaType !== 'application/json') {
    throw new ScimError(415, `Content-Type ${JSON.stringify(mediaType)} is not supported; send ${SCIM_JSON} or application/json`);
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw ScimError.of('invalidSyntax', 'the request body is not valid JSON');
  }
}

/** Entity tags of an If-Match / If-None-Match header (RFC 9110 §13.1.1). */
function entityTags(header: string): string[] {
  const tags = header.match(/\*|(?:W\/)?"[^"]*"/g);
  return tags ?? [header.trim()];
}

function integerParam(query: URLSearchParams, name: string, fallback: number): number {
  const text = query.get(name);
  if (text === null || text.trim() === '') return fallback;
  if (!/^-?\d+$/.test(text.trim())) throw ScimError.of('invalidValue', `${name} must be an integer`);
  return Number(text);
}

function listResponse(total: number, startIndex: number, resources: unknown[]): Record<string, unknown> {
  return { schemas: [SCHEMA.listResponse], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}

/** Weak comparison (RFC 9110 §8.8.3.2), as If-None-Match uses. */
function weakEqual(a: string, b: string): boolean {
  return a.replace(/^W\//, '') === b.replace(/^W\//, '');
}

/** The requests a crash point can hit: SCIM and admin-API writes (token requests and searches are not). */
function isWriteRoute(method: string, resource: string): boolean {
  if (method === 'GET' || method === 'HEAD') return false;
  return resource === 'Users' || resource === 'Groups' || (resource.startsWith('admin/') && resource !== 'admin/unknown');
}

/** A hold as the admin API shows it: `api` only when the hold names one. */
function holdJson(current: WriteHold): Record<string, unknown> {
  return current.api === null ? { state: current.state, method: current.method } : { state: current.state, method: current.method, api: current.api };
}

function urlOf(address: AddressInfo): string {
  let host = address.address;
  if (host === '0.0.0.0') host = '127.0.0.1';
  else if (host === '::') host = '[::1]';
  else if (host.includes(':')) host = `[${host}]`;
  return `http://${host}:${address.port}`;
}

function checkCapabilities(input: Partial<SimulatorCapabilities> | undefined): SimulatorCapabilities {
  const caps: SimulatorCapabilities = {
    etag: true,
    filter: true,
    patch: true,
    lieAboutTotalResults: false,
    maxPageSize: 1000,
    patchOnProjection: false,
    maxRequestBytes: MAX_BODY_BYTES,
    silentMemberLimit: null,
    adminPageSize: 100,
    adminMaxPageSize: 1000,
    adminMaxBatch: 1000,
    ...input,
  };
  for (const name of ['adminPageSize', 'adminMaxPageSize', 'adminMaxBatch'] as const) {
    if (!Number.isSafeInteger(caps[name]) || caps[name] < 1) throw new RangeError(`capabilities.${name} must be an integer >= 1`);
  }
  if (!Number.isSafeInteger(caps.maxPageSize) || caps.maxPageSize < 1) throw new RangeError('capabilities.maxPageSize must be an integer >= 1');
  if (!Number.isSafeInteger(caps.maxRequestBytes) || caps.maxRequestBytes < 1 || caps.maxRequestBytes > MAX_BODY_BYTES) {
    throw new RangeError(`capabilities.maxRequestBytes must be an integer from 1 to ${MAX_BODY_BYTES}`);
  }
  if (caps.silentMemberLimit !== null && (!Number.isSafeInteger(caps.silentMemberLimit) || caps.silentMemberLimit < 0)) {
    throw new RangeError('capabilities.silentMemberLimit must be null or an integer >= 0');
  }
  return caps;
}

function checkAccessKeys(input: SimulatorOptions['accessKeys']): AccessKey[] {
  const keys = input ?? [DEFAULT_ACCESS_KEY];
  for (const key of keys) {
    if (typeof key.accessKeyId !== 'string' || key.accessKeyId === '' || typeof key.accessKeySecret !== 'string' || key.accessKeySecret === '') {
      throw new RangeError('every access key needs a non-empty accessKeyId and accessKeySecret');
    }
  }
  return keys.map((key) => ({ ...key }));
}

function nonEmpty(value: unknown, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '') throw new RangeError(`${name} must be a non-empty string`);
  return value;
}

function checkClients(input: SimulatorOptions['clients']): OAuthClient[] {
  const clients = input ?? [DEFAULT_CLIENT];
  if (clients.length === 0) throw new RangeError('at least one OAuth client is needed');
  for (const client of clients) {
    if (typeof client.clientId !== 'string' || client.clientId === '' || typeof client.clientSecret !== 'string' || client.clientSecret === '') {
      throw new RangeError('every client needs a non-empty clientId and clientSecret');
    }
  }
  return clients.map((client) => ({ ...client }));
}

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const now = options.now ?? Date.now;
  const random = options.random ?? mulberry32(RANDOM_SEED);
  const tokenTtlSeconds = options.tokenTtlSeconds ?? 3600;
  if (!Number.isFinite(tokenTtlSeconds) || tokenTtlSeconds <= 0) throw new RangeError('tokenTtlSeconds must be a number > 0');
  const capabilities = Object.freeze(checkCapabilities(options.capabilities));
  const scimGroups = options.scimGroups ?? SCIM_GROUPS_DEFAULT;
  if (typeof scimGroups !== 'boolean') throw new RangeError('scimGroups must be a boolean');
  const tenantId = nonEmpty(options.tenantId, 'tenantId', DEFAULT_TENANT_ID);
  const area = nonEmpty(options.area, 'area', DEFAULT_AREA);
  const tokens = createTokenService({
    clients: checkClients(options.clients),
    accessKeys: checkAccessKeys(options.accessKeys),
    ttlSeconds: tokenTtlSeconds,
    now,
    accessKeyIdToken: options.accessKeyIdToken ?? true,
    idToken: ({ sub, aud }) => {
      const iat = Math.floor(now() / 1000);
      return signJwt({ iss: url, sub, aud, iat, exp: iat + Math.ceil(tokenTtlSeconds), tenantId });
    },
  });
  const faults = createFaultInjector(options.faults ?? {}, now, random);
  const stats = createStats();
  let url = '';
  const directory: DirectoryEngine = createDirectory({ now, behaviours: options.behaviours });
  const store: StoreEngine = createSimulatorStore({ seed: resolveSeed(options.seed), now, baseUrl: () => url, users: directory.hooks });
  directory.attachUsers({ applyAgentChange: (id, change) => store.applyAgentChange(id, change) });
  let hook: SimulatorHook | null = null;
  let server: Server | null = null;
  let closing = false;
  const delayed = new Set<{ timer: NodeJS.Timeout; socket: Socket; resolve: () => void }>();
  let hold: (WriteHold & { catch(keys: readonly string[]): void; landed(keys: readonly string[]): void }) | null = null;

  function createHold(method: HoldMethod | null, api: 'scim' | 'admin' | null): NonNullable<typeof hold> {
    let state: WriteHold['state'] = 'armed';
    let heldKeys: readonly string[] = [];
    let markHeld!: () => void;
    let markReleased!: () => void;
    const held = new Promise<void>((resolve) => (markHeld = resolve));
    const released = new Promise<void>((resolve) => (markReleased = resolve));
    const release = () => {
      if (state === 'released') return;
      state = 'released';
      markHeld();
      markReleased();
    };
    return {
      method,
      api,
      get state() {
        return state;
      },
      held,
      released,
      release,
      catch(keys) {
        state = 'held';
        heldKeys = keys;
        markHeld();
      },
      landed(keys) {
        if (state === 'held' && keys.some((key) => heldKeys.includes(key))) release();
      },
    };
  }

  /** A write was applied to these groups (`scim:<id>`, `acd:<groupId>`, `team:<teamId>`): a held answer to an earlier write of one of them goes. */
  function landed(keys: readonly string[]): void {
    hold?.landed(keys);
  }

  /** Keeps this write's answer back when a hold is armed for it. */
  async function maybeHold(keys: readonly string[], method: string, api: 'scim' | 'admin'): Promise<void> {
    const current = hold;
    if (current === null || current.state !== 'armed' || keys.length === 0) return;
    if ((current.method !== null && current.method !== method) || (current.api !== null && current.api !== api)) return;
    current.catch(keys);
    await current.released;
  }

  /** The silentMemberLimit capability: members past the limit are dropped, without a word. */
  function enforceMemberLimit(id: string): void {
    const limit = capabilities.silentMemberLimit;
    if (limit === null || (store.memberCount(id) ?? 0) <= limit) return;
    const members = store.getGroup(id)?.members ?? [];
    store.removeMembers(id, members.slice(limit).map((member) => member.value));
  }

  /** The patchOnProjection capability: the operations apply to the projection, which is then written back. */
  function patchProjected(kind: ResourceKind, id: string, projection: Projection, operations: ReturnType<typeof parsePatchRequest>): void {
    const before = store.render(kind, id, null);
    store.replace(kind, id, store.render(kind, id, projection));
    try {
      store.patch(kind, id, operations);
    } catch (error) {
      store.replace(kind, id, before);
      throw error;
    }
  }

  function delay(ms: number, socket: Socket): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          delayed.delete(entry);
          resolve();
        }, ms),
        socket,
        resolve,
      };
      delayed.add(entry);
    });
  }

  // ---- admin API -----------------------------------------------------------------------

  const adminApi = createAdminApi({
    directory,
    now,
    origin: () => url,
    limits: { pageSize: capabilities.adminPageSize, maxPageSize: capabilities.adminMaxPageSize, maxBatch: capabilities.adminMaxBatch, maxRequestBytes: capabilities.maxRequestBytes },
    businessUnitId: BUSINESS_UNIT_ID,
    agentFailure: (operation, agentId) => faults.agentFailure(operation, agentId),
    pageServed: shiftPage,
    landed,
    hold: (keys, method) => maybeHold(keys, method, 'admin'),
  });

  /** The pageShift fault: someone else changes the group between the reader's pages. */
  function shiftPage(group: GroupRecord): void {
    const shift = faults.takePageShift(group.groupId);
    if (shift === null) return;
    if (shift.change === 'remove') {
      const agentId = shift.agentId ?? directory.members(group)[0];
      if (agentId !== undefined) directory.removeAgents(group.groupId, [agentId]);
    } else {
      const agentId = shift.agentId ?? directory.agents().find((agent) => !group.members.has(agent.agentId))?.agentId;
      if (agentId !== undefined && directory.agentRecord(agentId) !== undefined) directory.addAgents(group.groupId, [agentId]);
    }
    landed([`acd:${group.groupId}`]);
  }

  async function handleAdminApi(ex: Exchange, route: AdminRoute): Promise<void> {
    const write = ex.method !== 'GET' && route.resource !== 'user-management/teams/search';
    const verdict = bearerVerdict(ex.req.headers.authorization, write, 'cxone');
    if (verdict !== null) throw new AdminError(verdict.status, verdict.status === 401 ? 'Unauthorized' : 'Forbidden', verdict.why, { 'www-authenticate': verdict.challenge });
    await adminApi.handle({ req: ex.req, method: ex.method, path: ex.path, query: ex.query, send: (status, body, headers = {}) => ex.send(status, body, headers, 'application/json') }, route);
  }

  // ---- SCIM ----------------------------------------------------------------------------

  /** The bearer token's verdict (RFC 6750 §3): null when it may do this, else the status, why and the challenge. */
  function bearerVerdict(header: string | undefined, write: boolean, realm: string): { status: 401 | 403; why: string; challenge: string } | null {
    const match = header === undefined ? null : /^Bearer +([^\s]+) *$/i.exec(header);
    const challenge = `Bearer realm="${realm}"`;
    if (match === null) return { status: 401, why: 'a bearer token is required (Authorization: Bearer <token>)', challenge };
    const grant = tokens.verify(match[1] as string);
    if (grant === undefined || grant === 'expired') {
      const why = grant === 'expired' ? 'the access token expired' : 'the access token is not valid';
      return { status: 401, why, challenge: `${challenge}, error="invalid_token", error_description="${why}"` };
    }
    const scope = write ? SCOPE_WRITE : SCOPE_READ;
    if (!grant.scopes.has(scope)) return { status: 403, why: `the access token lacks scope ${scope}`, challenge: `${challenge}, error="insufficient_scope", scope="${scope}"` };
    return null;
  }

  function authorize(ex: Exchange, write: boolean): void {
    const verdict = bearerVerdict(ex.req.headers.authorization, write, 'scim');
    if (verdict !== null) throw new ScimError(verdict.status, verdict.why, undefined, { 'www-authenticate': verdict.challenge });
  }

  /** RFC 7644 §3.14: a stale If-Match answers 412. `*` matches any current version. */
  function checkIfMatch(ex: Exchange, current: string): void {
    const header = ex.req.headers['if-match'];
    if (!capabilities.etag || header === undefined) return;
    const tags = entityTags(header);
    if (tags.includes('*') || tags.includes(current)) return;
    throw new ScimError(412, `If-Match ${header} does not match the current version ${current}; re-read the resource and retry`);
  }

  function etagHeader(etag: string | undefined): Record<string, string> {
    return capabilities.etag && etag !== undefined ? { etag } : {};
  }

  function serviceProviderConfig(): Record<string, unknown> {
    return {
      schemas: [SCHEMA.serviceProviderConfig],
      documentationUri: 'https://developer.niceincontact.com/',
      patch: { supported: capabilities.patch },
      bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
      filter: { supported: capabilities.filter, maxResults: capabilities.maxPageSize },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: capabilities.etag },
      authenticationSchemes: [
        {
          type: 'oauthbearertoken',
          name: 'OAuth Bearer Token',
          description: 'OAuth 2.0 client credentials from /oauth/token',
          specUri: 'https://www.rfc-editor.org/info/rfc6750',
          primary: true,
        },
      ],
      meta: { resourceType: 'ServiceProviderConfig', location: `${url}${SCIM_PREFIX}/ServiceProviderConfig` },
    };
  }

  function resourceType(kind: ResourceKind): Record<string, unknown> {
    const schema = kind === 'User' ? userSchema : groupSchema;
    return {
      schemas: [SCHEMA.resourceType],
      id: kind,
      name: kind,
      endpoint: `/${schema.endpoint}`,
      schema: schema.coreUrn,
      ...(kind === 'User' ? { schemaExtensions: [{ schema: NICE_USER_URN, required: false }] } : {}),
      meta: { resourceType: 'ResourceType', location: `${url}${SCIM_PREFIX}/ResourceTypes/${kind}` },
    };
  }

  /** GET /Schemas (RFC 7643 §7), as CXone publishes it (calljacob/nice-cxone-api, src/services/userhub/CxoneScimService.ts, getSchemas). */
  function schemaResources(): Record<string, unknown>[] {
    const list = scimSchemas(scimGroups);
    return list.map((schema) => ({ ...schema, meta: { resourceType: 'Schema', location: `${url}${SCIM_PREFIX}/Schemas/${schema.id as string}` } }));
  }

  async function handleScim(ex: Exchange, resource: string, id: string | null): Promise<void> {
    const write = ex.method !== 'GET';
    authorize(ex, write);
    const raw = ex.method === 'POST' || ex.method === 'PUT' || ex.method === 'PATCH' ? await readBody(ex.req, capabilities.maxRequestBytes) : null;

    if (resource === 'ServiceProviderConfig') return ex.send(200, serviceProviderConfig());
    if (resource === 'Schemas') {
      const all = schemaResources();
      if (id === null) return ex.send(200, listResponse(all.length, 1, all));
      const found = all.find((schema) => (schema.id as string).toLowerCase() === id.toLowerCase());
      if (found === undefined) throw new ScimError(404, `Schema ${JSON.stringify(id)} not found`);
      return ex.send(200, found);
    }
    if (resource === 'ResourceTypes') {
      const kinds: ResourceKind[] = scimGroups ? ['User', 'Group'] : ['User'];
      if (id === null) return ex.send(200, listResponse(kinds.length, 1, kinds.map(resourceType)));
      const kind = kinds.find((k) => k === id);
      if (kind === undefined) throw new ScimError(404, `ResourceType ${JSON.stringify(id)} not found`);
      return ex.send(200, resourceType(kind));
    }

    const kind: ResourceKind = resource === 'Users' ? 'User' : 'Group';
    const schema = kind === 'User' ? userSchema : groupSchema;
    const projection = parseProjection(ex.query, schema);

    if (id === null) {
      if (ex.method === 'POST') {
        const newId = store.insert(kind, parseJson(ex.req, raw as Buffer));
        const body = store.renderJson(kind, newId, projection) as string;
        const location = `${url}${SCIM_PREFIX}/${resource}/${newId}`;
        return ex.send(201, body, { location, ...etagHeader(store.etagOf(kind, newId)) });
      }
      const filterText = ex.query.get('filter');
      if (filterText !== null && !capabilities.filter) throw ScimError.of('invalidFilter', 'this service provider does not support filtering');
      const filter = filterText === null ? null : parseFilter(filterText);
      // RFC 7644 §3.4.2.4: startIndex below 1 means 1; a negative count means 0.
      const startIndex = Math.max(1, integerParam(ex.query, 'startIndex', 1));
      const count = Math.min(Math.max(0, integerParam(ex.query, 'count', DEFAULT_PAGE_SIZE)), capabilities.maxPageSize);
      const page = store.list(kind, filter, startIndex, count, projection);
      const total = capabilities.lieAboutTotalResults ? page.total + Math.max(count, 1) : page.total;
      return ex.send(200, listResponse(total, startIndex, page.resources));
    }

    const current = store.etagOf(kind, id);
    if (current === undefined) throw new ScimError(404, `${kind} ${JSON.stringify(id)} not found`);
    switch (ex.method) {
      case 'GET': {
        const ifNoneMatch = ex.req.headers['if-none-match'];
        if (capabilities.etag && ifNoneMatch !== undefined && entityTags(ifNoneMatch).some((tag) => tag === '*' || weakEqual(tag, current))) {
          return ex.send(304, undefined, { etag: current });
        }
        return ex.send(200, store.renderJson(kind, id, projection), etagHeader(current));
      }
      case 'DELETE':
        checkIfMatch(ex, current);
        store.remove(kind, id);
        return ex.send(204);
      case 'PUT':
      default: {
        checkIfMatch(ex, current);
        const body = parseJson(ex.req, raw as Buffer);
        const operations = ex.method === 'PATCH' ? parsePatchRequest(body, schema) : null;
        const failure = kind === 'Group' ? faults.takeWriteFailure() : null;
        if (failure !== null && !failure.apply) store.bumpGroup(id);
        else if (operations === null) store.replace(kind, id, body);
        else if (capabilities.patchOnProjection && projection !== null) patchProjected(kind, id, projection, operations);
        else store.patch(kind, id, operations);
        if (kind !== 'Group') return ex.send(200, store.renderJson(kind, id, projection), etagHeader(store.etagOf(kind, id)));
        enforceMemberLimit(id);
        landed([`scim:${id}`]);
        if (failure !== null) return ex.send(failure.status, errorBody(failure.status, 'internal server error (injected write fault)'));
        const text = store.renderJson(kind, id, projection);
        const headers = etagHeader(store.etagOf(kind, id));
        await maybeHold([`scim:${id}`], ex.method, 'scim');
        return ex.send(200, text, headers);
      }
    }
  }

  /** Token endpoints and discovery documents (see oauth.ts and signin.ts for the sources of their shapes). */
  async function handleAuth(ex: Exchange): Promise<void> {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): void => ex.send(status, body, headers, 'application/json');
    switch (ex.resource) {
      case 'auth/jwks':
        return json(200, jwks());
      case '.well-known/openid-configuration':
        return json(200, openidConfiguration(url));
      case '.well-known/cxone-configuration': {
        const asked = ex.query.get('tenantId');
        if (asked === null || asked === '') return json(400, { error: 'invalid_request', error_description: 'tenantId is required' });
        if (asked !== tenantId) return json(404, { error: 'not_found', error_description: 'no tenant with this tenantId' });
        return json(200, cxoneConfiguration(url, tenantId, area));
      }
      default: {
        const body = (await readBody(ex.req)).toString('utf8');
        const request = { contentType: ex.req.headers['content-type'], authorization: ex.req.headers.authorization, body };
        const answer = ex.resource === 'oauth' ? tokens.handle(request) : ex.resource === 'auth/token' ? tokens.handleCxone(request) : tokens.handleAccessKey(request);
        return json(answer.status, answer.body, answer.headers);
      }
    }
  }

  // ---- admin ---------------------------------------------------------------------------

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, method: string, path: string): Promise<void> {
    const json = (status: number, body?: unknown, headers: Record<string, string> = {}): void =>
      writeResponse(res, status, body, closing ? { ...headers, connection: 'close' } : headers, 'application/json');
    const readJson = async (): Promise<unknown> => {
      try {
        return JSON.parse((await readBody(req)).toString('utf8'));
      } catch (error) {
        if (error instanceof ScimError) throw error;
        throw new RangeError('the request body is not valid JSON');
      }
    };
    const routes: Record<string, Record<string, () => Promise<void> | void>> = {
      '/_simulator/stats': { GET: () => json(200, stats.toJSON()) },
      '/_simulator/stats/reset': { POST: () => (stats.reset(), json(204)) },
      '/_simulator/faults': {
        GET: () => json(200, faults.faults),
        PUT: async () => json(200, faults.set(await readJson())),
      },
      '/_simulator/groups': {
        POST: async () => {
          const body = await readJson();
          if (typeof body !== 'object' || body === null) throw new RangeError('expected { id?, displayName, userCount, inactiveCount? }');
          json(201, store.createLoadGroup(body as Parameters<StoreEngine['createLoadGroup']>[0]));
        },
      },
      '/_simulator/behaviours': {
        GET: () => json(200, directory.behaviours),
        PUT: async () => json(200, directory.setBehaviours(await readJson())),
      },
      '/_simulator/acd-groups': {
        POST: async () => {
          const body = await readJson();
          if (typeof body !== 'object' || body === null) throw new RangeError('expected { groupId?, groupName, agentCount, memberCount?, inactiveCount?, teamId? }');
          json(201, directory.createLoadGroup(body as Parameters<DirectoryEngine['createLoadGroup']>[0]));
        },
      },
      '/_simulator/reset': { POST: () => (store.reset(), json(204)) },
      '/_simulator/hold': {
        GET: async () => {
          const until = new URL(req.url ?? '/', 'http://simulator.invalid').searchParams.get('until');
          if (until !== null && until !== 'held' && until !== 'released') throw new RangeError('until must be held or released');
          const current = hold;
          if (current !== null && until !== null) await (until === 'held' ? current.held : current.released);
          json(200, current === null ? { state: null } : holdJson(current));
        },
        PUT: async () => {
          const body = await readJson();
          const { method: writeMethod, api, ...rest } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
          const methods: unknown[] = ['PUT', 'PATCH', 'POST', 'DELETE'];
          if ((writeMethod !== undefined && !methods.includes(writeMethod)) || (api !== undefined && api !== 'scim' && api !== 'admin') || Object.keys(rest).length > 0) {
            throw new RangeError('expected { method?: "PUT" | "PATCH" | "POST" | "DELETE", api?: "scim" | "admin" }');
          }
          const next = holdNextWriteOf((writeMethod as HoldMethod | undefined) ?? null, (api as 'scim' | 'admin' | undefined) ?? null);
          json(200, holdJson(next));
        },
        DELETE: () => {
          hold?.release();
          hold = null;
          json(204);
        },
      },
      '/_simulator/tokens/revoke': { POST: () => (tokens.revokeAll(), json(204)) },
    };
    const route = routes[path];
    if (route === undefined) return json(404, { error: 'not_found', message: `no admin route ${path}` });
    const handler = route[method];
    if (handler === undefined) return json(405, { error: 'method_not_allowed', message: `${method} is not allowed on ${path}` }, { allow: Object.keys(route).join(', ') });
    try {
      await handler();
    } catch (error) {
      if (error instanceof RangeError) return json(400, { error: 'bad_request', message: error.message });
      if (error instanceof ScimError) return json(error.status, { error: error.scimType ?? 'error', message: error.message }, error.headers);
      throw error;
    }
  }

  // ---- dispatch ------------------------------------------------------------------------

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const target = new URL(req.url ?? '/', 'http://simulator.invalid');
    const path = target.pathname;
    if (path === ADMIN_PREFIX || path.startsWith(`${ADMIN_PREFIX}/`)) return handleAdmin(req, res, method, path);

    let resource: string;
    let id: string | null = null;
    const authRoute = Object.hasOwn(AUTH_ROUTES, path) ? AUTH_ROUTES[path] : undefined;
    const adminRoute = authRoute === undefined ? matchAdminRoute(path) : null;
    if (authRoute !== undefined) {
      resource = authRoute.resource;
    } else if (adminRoute !== null) {
      resource = adminRoute.resource;
    } else if (path === SCIM_PREFIX || path.startsWith(`${SCIM_PREFIX}/`)) {
      const segments = path.slice(SCIM_PREFIX.length + 1).split('/');
      if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
      resource = segments[0] ?? '';
      try {
        id = segments.length === 2 ? decodeURIComponent(segments[1] as string) : null;
      } catch {
        id = null;
      }
      if (segments.length > 2 || !Object.hasOwn(ROUTES, resource)) resource = 'unknown';
    } else {
      writeResponse(res, 404, errorBody(404, `no route ${path}; SCIM lives under ${SCIM_PREFIX}, the admin API under /incontactapi/services/v31.0, tokens at /oauth/token and /auth/token`), {}, SCIM_JSON);
      return;
    }

    const routeKey = `${method} ${resource}`;
    const write = isWriteRoute(method, resource);
    const ex: Exchange = {
      req,
      res,
      method,
      path,
      query: target.searchParams,
      resource,
      send(status, body, headers = {}, contentType = SCIM_JSON) {
        if (write && status >= 200 && status < 300 && faults.takeCrash(routeKey, 'after')) {
          stats.record(method, resource, path, 0);
          req.socket.destroy();
          return;
        }
        stats.record(method, resource, path, status);
        writeResponse(res, status, body, closing ? { ...headers, connection: 'close' } : headers, contentType);
      },
    };
    const isToken = authRoute !== undefined;
    /** The error body of this request's family: OAuth JSON, the admin API's, or SCIM's. */
    const sendError = (status: number, code: string, detail: string, headers: Record<string, string> = {}): void => {
      if (isToken) return ex.send(status, { error: code, error_description: detail }, headers, 'application/json');
      if (adminRoute !== null) return ex.send(status, adminErrorBody(adminRoute.family, code, detail), headers, 'application/json');
      return ex.send(status, errorBody(status, detail), headers);
    };

    const decision = faults.decide();
    if (decision.latencyMs > 0) {
      await delay(decision.latencyMs, req.socket);
      if (req.socket.destroyed) return;
    }
    switch (decision.outcome.kind) {
      case 'drop':
        stats.record(method, resource, path, 0);
        req.socket.destroy();
        return;
      case 'rateLimited': {
        const detail = 'too many requests: rate limit exceeded';
        const retryAfter = decision.outcome.retryAfterSeconds;
        const headers: Record<string, string> = retryAfter === null ? {} : { 'retry-after': String(retryAfter) };
        return sendError(429, isToken ? 'temporarily_unavailable' : 'TooManyRequests', detail, headers);
      }
      case 'error':
        return sendError(503, isToken ? 'temporarily_unavailable' : 'ServiceUnavailable', 'service unavailable (injected fault)', { 'retry-after': '1' });
      case 'pass':
        break;
    }
    const groupError = resource === 'Groups' && id !== null && authRoute === undefined && adminRoute === null ? faults.groupError(id) : null;
    if (groupError !== null) return sendError(groupError, 'error', `group ${JSON.stringify(id)} answers ${groupError} (injected fault)`);
    if (write && faults.takeCrash(routeKey, 'before')) {
      stats.record(method, resource, path, 0);
      req.socket.destroy();
      return;
    }

    try {
      if (hook !== null) {
        const answer = await hook({ method, path, query: target.searchParams, headers: req.headers });
        if (answer !== undefined && answer !== null) return ex.send(answer.status, answer.body, answer.headers ?? {});
      }
      if (authRoute !== undefined) {
        if (method !== authRoute.method) {
          return ex.send(405, { error: 'invalid_request', error_description: `use ${authRoute.method}` }, { allow: authRoute.method }, 'application/json');
        }
        return await handleAuth(ex);
      }
      if (adminRoute !== null) return await handleAdminApi(ex, adminRoute);
      const spec = Object.hasOwn(ROUTES, resource) && (resource !== 'Groups' || scimGroups) ? ROUTES[resource] : undefined;
      if (spec === undefined) throw new ScimError(404, `no SCIM endpoint ${path}`);
      const allowed = (id === null ? spec.collection : spec.item)?.filter((m) => m !== 'PATCH' || capabilities.patch);
      if (allowed === undefined) throw new ScimError(404, `no SCIM endpoint ${path}`);
      if (!allowed.includes(method)) {
        const why = method === 'PATCH' && id !== null && !capabilities.patch ? ' (this service provider does not support PATCH)' : '';
        throw new ScimError(405, `${method} is not allowed on ${path}${why}`, undefined, { allow: allowed.join(', ') });
      }
      await handleScim(ex, resource, id);
    } catch (error) {
      if (error instanceof AdminError) return sendError(error.status, error.code, error.message, error.headers);
      if (error instanceof ScimError && (isToken || adminRoute !== null)) return sendError(error.status, isToken ? 'invalid_request' : 'InvalidRequest', error.message, error.headers);
      if (error instanceof ScimError) return ex.send(error.status, error.toBody(), error.headers);
      console.error('simulator: unexpected error', error);
      sendError(500, isToken ? 'server_error' : 'InternalServerError', 'internal simulator error');
    }
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    dispatch(req, res).catch((error: unknown) => {
      console.error('simulator: unexpected error', error);
      writeResponse(res, 500, errorBody(500, 'internal simulator error'), {}, SCIM_JSON);
    });
  }

  return {
    async listen(listenOptions = {}) {
      if (server !== null) throw new Error('the simulator is already listening');
      const created = createServer({ keepAliveTimeout: 5_000 }, handle);
      server = created;
      closing = false;
      await new Promise<void>((resolve, reject) => {
        created.once('error', reject);
        created.listen(listenOptions.port ?? 0, listenOptions.host ?? '127.0.0.1', () => {
          created.off('error', reject);
          resolve();
        });
      });
      url = urlOf(created.address() as AddressInfo);
      return url;
    },
    async close() {
      const current = server;
      if (current === null) return;
      closing = true;
      hold?.release();
      const closed = new Promise<void>((resolve) => current.close(() => resolve()));
      current.closeIdleConnections();
      for (const entry of delayed) {
        clearTimeout(entry.timer);
        entry.socket.destroy();
        entry.resolve();
      }
      delayed.clear();
      const force = setTimeout(() => current.closeAllConnections(), 1_000);
      force.unref();
      await closed;
      clearTimeout(force);
      server = null;
    },
    get url() {
      if (url === '') throw new Error('the simulator is not listening; call listen() first');
      return url;
    },
    store,
    directory,
    stats,
    get faults() {
      return faults.faults;
    },
    capabilities,
    scimGroups,
    setFaults(patch) {
      faults.set(patch);
    },
    get behaviours() {
      return directory.behaviours;
    },
    setBehaviours(patch) {
      directory.setBehaviours(patch);
    },
    onRequest(next) {
      hook = next;
    },
    revokeTokens() {
      tokens.revokeAll();
    },
    holdNextWrite(holdOptions = {}) {
      return holdNextWriteOf(holdOptions.method ?? null, holdOptions.api ?? null);
    },
    get writeHold() {
      return hold;
    },
  };

  function holdNextWriteOf(method: HoldMethod | null, api: 'scim' | 'admin' | null): WriteHold {
    if (hold !== null && hold.state === 'armed') hold.release();
    hold = createHold(method, api);
    return hold;
  }
}
