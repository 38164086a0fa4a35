/**
 * Which membership backend syncs the groups (MEMBERSHIP_BACKEND), and the backend itself.
 *
 * - A backend named in the setting is used as set. When the store keeps a different
 *   earlier choice of `auto`, a warning says so; the start goes on.
 * - `auto` reads the choice kept in the store (BackendChoiceStore: every process on the
 *   store makes the same one) and, when there is none, probes SCIM `/Groups`: 200 chooses
 *   `scim-groups`, 404 `acd-groups` (CXone as published); the first choice kept wins. Any
 *   other outcome (401, 403, 5xx, no answer) chooses nothing: the service is not ready,
 *   says why on /readyz, answers syncs 503 upstream_unavailable, and probes again: at the
 *   next sync (one probe at a time, shared by the syncs that wait for it), or at the next
 *   readiness check once `retryMs` has passed (/readyz is public: it must not drive probes).
 * - Once made, the choice never changes while the process runs.
 *
 * The sync runner is built before the choice is made (an unreachable upstream at start must
 * not stop the service): each sync asks for its backend, in its group's turn
 * (backendSource), and is audited like any other sync when there is none yet.
 */
import { CxoneSetupError, type AdminApiClient } from '../adapters/cxone/index.js';
import type { GroupsProbeAnswer } from '../adapters/scim/index.js';
import type { Config } from '../config.js';
import { TokenEndpointError, UpstreamError, UpstreamTimeoutError, UpstreamUnavailableError } from '../core/errors.js';
import type { MembershipBackendName } from '../core/outcome.js';
import type { AgentDirectory, AgentMapStore, AuditLog, BackendChoiceStore, Clock, GroupLockService, MembershipBackend, MembershipJournal, RequestContext, ScimDirectory, SyncedGroups } from '../core/ports.js';
import { createScimGroupsBackend } from '../core/scim-groups-backend.js';
import { createAcdGroupsBackend, recoverEntry, type RecoveryLog } from './acd-groups.js';
import { createAgentMap } from './agent-map.js';
import { createTeamsBackend } from './teams.js';

export type BackendSetting = Config['membershipBackend'];

/** How the backend in use was decided, or why none is yet. */
export type BackendSelection =
  | {
      readonly state: 'chosen';
      readonly name: MembershipBackendName;
      /** setting: MEMBERSHIP_BACKEND names it; kept: an earlier probe's choice, read from the store; probe: this process probed. */
      readonly by: 'setting' | 'kept' | 'probe';
    }
  | { readonly state: 'pending'; readonly reason: string };

/** Probes SCIM /Groups (ScimDirectoryAdapter.probeGroups). */
export type GroupsProbe = (ctx: RequestContext) => Promise<GroupsProbeAnswer>;

export interface SelectionLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

const SILENT: SelectionLog = { info() {}, warn() {} };

/** Before the first probe: what /readyz and the runner say until one has answered. */
export const NOT_PROBED_YET = 'SCIM /Groups has not been probed yet';

/**
 * The backend MEMBERSHIP_BACKEND says, or for `auto` the one kept in the store, else the one
 * a probe of SCIM /Groups finds (kept in the store: the first writer wins). Never throws: a
 * probe (or a store) that cannot tell is a pending selection with the reason, in words
 * that may be shown publicly (status codes, never URLs, addresses or provider text).
 */
export async function selectMembershipBackend(
  config: Pick<Config, 'membershipBackend'>,
  probe: GroupsProbe,
  store: BackendChoiceStore,
  log: SelectionLog = SILENT,
  ctx: RequestContext = { stats: { upstreamRequests: 0 } },
  /** Told what made a probe fail (for the log: it may name URLs and addresses). */
  onProbeError?: (error: unknown) => void,
): Promise<BackendSelection> {
  const setting = config.membershipBackend;
  if (setting !== 'auto') {
    let kept: MembershipBackendName | undefined;
    try {
      kept = await store.get();
    } catch (error) {
      log.warn({ err: error }, 'the kept membership backend choice could not be read; using MEMBERSHIP_BACKEND as set');
    }
    if (kept !== undefined && kept !== setting) {
      log.warn(
        { membershipBackend: setting, keptChoice: kept },
        `MEMBERSHIP_BACKEND=${setting} is used as set, although MEMBERSHIP_BACKEND=auto chose ${kept} earlier on this store (groups synced then are in ${kept}); the kept choice stays for a later return to auto`,
      );
    }
    return { state: 'chosen', name: setting, by: 'setting' };
  }
  let kept: MembershipBackendName | undefined;
  try {
    kept = await store.get();
  } catch (error) {
    log.warn({ err: error }, 'the kept membership backend choice could not be read');
    return { state: 'pending', reason: 'the kept choice could not be read from the store (see the service log)' };
  }
  if (kept !== undefined) return { state: 'chosen', name: kept, by: 'kept' };
  let answer: GroupsProbeAnswer;
  try {
    answer = await probe(ctx);
  } catch (error) {
    onProbeError?.(error);
    const reason = probeFailure(error);
    log.warn({ err: error, reason }, 'MEMBERSHIP_BACKEND=auto: no membership backend chosen yet');
    return { state: 'pending', reason };
  }
  if (answer === 'no-scim') {
    const reason = 'SCIM GET /Groups and GET /Users both answered 404: SCIM is not where CXONE_SCIM_PATH says; fix it, or set MEMBERSHIP_BACKEND';
    log.warn({ reason }, 'MEMBERSHIP_BACKEND=auto: no membership backend chosen yet');
    return { state: 'pending', reason };
  }
  const found: MembershipBackendName = answer === 'groups' ? 'scim-groups' : 'acd-groups';
  let chosen: MembershipBackendName;
  try {
    chosen = await store.choose(found);
  } catch (error) {
    log.warn({ err: error, found }, 'the membership backend choice could not be kept in the store');
    return { state: 'pending', reason: 'the choice could not be kept in the store (see the service log)' };
  }
  if (chosen !== found) log.warn({ found, chosen }, `MEMBERSHIP_BACKEND=auto: this probe found ${found}, but ${chosen} was kept first on this store; using ${chosen}`);
  else log.info({ membershipBackend: chosen, scimGroups: answer === 'groups' ? 200 : 404 }, `MEMBERSHIP_BACKEND=auto chose ${chosen}`);
  return { state: 'chosen', name: chosen, by: chosen === found ? 'probe' : 'kept' };
}

const OAUTH_ERRORS: ReadonlySet<string> = new Set(['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope']);

/** Why a probe could not tell, for /readyz and the 503 of a sync: status codes and the OAuth error code only. */
export function probeFailure(error: unknown): string {
  const next = '200 chooses scim-groups, 404 acd-groups; probing again';
  // A refused token: thrown as is, or (429, 503) as the cause of UpstreamUnavailableError.
  const signIn = error instanceof TokenEndpointError ? error : error instanceof Error && error.cause instanceof TokenEndpointError ? error.cause : undefined;
  if (signIn !== undefined) {
    // Only an error code RFC 6749 §5.2 defines: anything else the endpoint sent may echo a secret.
    const oauth = signIn.oauthError !== undefined && OAUTH_ERRORS.has(signIn.oauthError) ? ` ${signIn.oauthError}` : '';
    return `the sign-in failed (the token endpoint answered ${signIn.status}${oauth}), so SCIM /Groups could not be probed; probing again`;
  }
  if (error instanceof CxoneSetupError) return 'the CXone API could not be discovered, so SCIM /Groups could not be probed; probing again';
  if (error instanceof UpstreamTimeoutError) return `SCIM GET /Groups did not answer in time (${next})`;
  const status = error instanceof UpstreamError ? error.status : error instanceof UpstreamUnavailableError ? error.status : undefined;
  if (status !== undefined && status > 0) return `SCIM GET /Groups answered ${status} (${next})`;
  return `SCIM GET /Groups got no answer (${next})`;
}

export interface BackendSelector {
  readonly setting: BackendSetting;
  /** The selection as it stands, without probing. */
  current(): BackendSelection;
  /**
   * The selection, after making it if none is made yet: the first call always tries, later
   * ones when `retryMs` passed since the last try (readiness checks: public, so spaced). One
   * try at a time: callers share it.
   */
  resolve(): Promise<BackendSelection>;
  /** Like resolve, but tries again whenever no try is in flight (a sync: authenticated, and about to go upstream anyway). */
  resolveNow(): Promise<BackendSelection>;
  /** What made the last probe fail, for the log only; undefined once chosen. */
  lastProbeError(): unknown;
}

export interface BackendSelectorOptions {
  readonly config: Pick<Config, 'membershipBackend'>;
  readonly probe: GroupsProbe;
  readonly store: BackendChoiceStore;
  readonly clock: Clock;
  /** Least time between two tries while none is chosen (READINESS_CACHE_MS). */
  readonly retryMs: number;
  /** How long one try may take, retries of the probe included. */
  readonly probeTimeoutMs: number;
  readonly log?: SelectionLog;
}

export function createBackendSelector(options: BackendSelectorOptions): BackendSelector {
  const setting = options.config.membershipBackend;
  let selection: BackendSelection = setting === 'auto' ? { state: 'pending', reason: NOT_PROBED_YET } : { state: 'chosen', name: setting, by: 'setting' };
  let settled = false;
  let lastTry: number | undefined;
  let inflight: Promise<BackendSelection> | undefined;
  let probeError: unknown;
  const start = (): Promise<BackendSelection> => {
    inflight = attempt().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };
  const attempt = async (): Promise<BackendSelection> => {
    lastTry = options.clock.monotonic();
    const ctx: RequestContext = { signal: AbortSignal.timeout(options.probeTimeoutMs), stats: { upstreamRequests: 0 } };
    probeError = undefined;
    const made = await selectMembershipBackend(options.config, options.probe, options.store, options.log, ctx, (error) => {
      probeError = error;
    });
    // Once chosen, never changed while the process runs.
    if (!settled) selection = made;
    if (made.state === 'chosen') settled = true;
    return selection;
  };
  return {
    setting,
    current: () => selection,
    lastProbeError: () => (settled ? undefined : probeError),
    resolve() {
      if (settled) return Promise.resolve(selection);
      if (inflight) return inflight;
      if (lastTry !== undefined && options.clock.monotonic() - lastTry < options.retryMs) return Promise.resolve(selection);
      return start();
    },
    resolveNow() {
      if (settled) return Promise.resolve(selection);
      return inflight ?? start();
    },
  };
}

/** What the CXone backends (acd-groups, teams) keep in the store and write their records to. */
export interface CxoneStores {
  readonly agentMap: AgentMapStore;
  readonly journal: MembershipJournal;
  readonly syncedGroups: SyncedGroups;
  /** Where the recovery of an interrupted write records it (the store). */
  readonly audit: AuditLog;
}

/** What the backends are built from. */
export interface MembershipBackendDeps {
  readonly config: Pick<Config, 'maxGroupDepth' | 'writeMode' | 'patchMaxOperations' | 'teamsFallbackTeamId' | 'teamsMoveFromOther'>;
  /** SCIM: the scim-groups backend's groups, and every backend's users. */
  readonly directory: ScimDirectory;
  /** CXone's admin API (acd-groups, teams). */
  readonly adminApi?: AdminApiClient;
  /** The process's agent map (acd-groups, teams): one per process, shared by every sync. */
  readonly agents?: AgentDirectory;
  /** The store's parts the CXone backends need (acd-groups, teams). */
  readonly stores?: CxoneStores;
  readonly clock?: Clock;
}

/** The backend of that name. Throws when a part it needs is not given (a wiring error, not a user's). */
export function createMembershipBackend(name: MembershipBackendName, deps: MembershipBackendDeps): MembershipBackend {
  switch (name) {
    case 'scim-groups':
      return createScimGroupsBackend({ directory: deps.directory, maxDepth: deps.config.maxGroupDepth, writeMode: deps.config.writeMode, patchMaxOperations: deps.config.patchMaxOperations });
    case 'acd-groups': {
      const { adminApi, agents, stores } = cxoneParts(name, deps);
      return createAcdGroupsBackend({ adminApi, agents, journal: stores.journal, audit: stores.audit, clock: deps.clock });
    }
    case 'teams': {
      const { adminApi, agents, stores } = cxoneParts(name, deps);
      const fallbackTeamId = deps.config.teamsFallbackTeamId;
      // The configuration refuses MEMBERSHIP_BACKEND=teams without it; auto never chooses teams.
      if (fallbackTeamId === undefined) throw new Error('the teams membership backend needs TEAMS_FALLBACK_TEAM_ID');
      return createTeamsBackend({ adminApi, agents, journal: stores.journal, syncedGroups: stores.syncedGroups, audit: stores.audit, fallbackTeamId, moveFromOther: deps.config.teamsMoveFromOther, clock: deps.clock });
    }
  }
}

function cxoneParts(name: MembershipBackendName, deps: MembershipBackendDeps): { adminApi: AdminApiClient; agents: AgentDirectory; stores: CxoneStores } {
  if (deps.adminApi === undefined || deps.agents === undefined || deps.stores === undefined) {
    throw new Error(`the ${name} membership backend needs CXone's admin API, the agent map and the store`);
  }
  return { adminApi: deps.adminApi, agents: deps.agents, stores: deps.stores };
}

/** The backend of each sync, as the sync runner asks for it (SyncRunnerPorts.backend). */
export type BackendSource = (ctx: RequestContext) => Promise<MembershipBackend>;

/**
 * The backend of each sync: the selector's choice (made first if need be), built once. While
 * none is chosen, the sync fails with 503 upstream_unavailable saying why.
 */
export function backendSource(selector: BackendSelector, build: (name: MembershipBackendName) => MembershipBackend, retryAfterSeconds: number): BackendSource {
  let built: MembershipBackend | undefined;
  return async () => {
    const selection = await selector.resolveNow();
    if (selection.state === 'pending') {
      throw new UpstreamUnavailableError(`no membership backend is chosen yet (MEMBERSHIP_BACKEND=auto): ${selection.reason}`, retryAfterSeconds);
    }
    built ??= build(selection.name);
    return built;
  };
}

/** The upstream as the backends need it: SCIM (with the probe) and the admin API on one connection. */
export interface MembershipUpstream extends ScimDirectory {
  probeGroups(ctx: RequestContext): Promise<GroupsProbeAnswer>;
  ping(ctx: RequestContext): Promise<void>;
  readonly adminApi: AdminApiClient;
}

/** The membership backend of one process, wired: the selector, the runner's source, the readiness check and what /readyz shows. */
export interface ProcessMembership {
  readonly selector: BackendSelector;
  /** SyncRunnerPorts.backend. */
  readonly source: BackendSource;
  /**
   * The upstream check of /readyz: the choice is made (or tried again), then what the
   * backend in use needs answers: SCIM /ServiceProviderConfig under scim-groups; a sign-in
   * and the cheapest admin-API read (`GET /agents?top=1&fields=agentId`) under acd-groups
   * and teams, since CXone publishes no /ServiceProviderConfig.
   */
  check(): Promise<void>;
  /** The backend for /readyz and `serve --help`. */
  status(): BackendStatusView;
  /**
   * At start, before syncs are taken: finishes every admin-API write a crash (or a failed
   * undo) left open in the store's journal (acd-groups: completed or rolled back, audited;
   * teams: rolled back, as the team's next sync would), each under the group's lock across
   * replicas when one is given, so that a sync still running in another replica finishes its
   * own. Never throws: what cannot be finished now is logged and stays open for the group's
   * next sync.
   */
  recoverOpenWrites(log: RecoveryLog, signal?: AbortSignal, groupLock?: GroupLockService): Promise<void>;
}

/** The backend as /readyz shows it (src/http/routes/health.ts BackendStatus). */
export interface BackendStatusView {
  readonly setting: BackendSetting;
  readonly name: MembershipBackendName | null;
  readonly chosenBy?: 'setting' | 'kept' | 'probe';
  readonly reason?: string;
}

export function statusView(setting: BackendSetting, selection: BackendSelection): BackendStatusView {
  return selection.state === 'chosen' ? { setting, name: selection.name, chosenBy: selection.by } : { setting, name: null, reason: selection.reason };
}

export interface ProcessMembershipOptions {
  readonly config: Pick<Config, 'membershipBackend' | 'maxGroupDepth' | 'writeMode' | 'patchMaxOperations' | 'readinessCacheMs' | 'upstreamTimeoutMs' | 'teamsFallbackTeamId' | 'teamsMoveFromOther'>;
  readonly upstream: MembershipUpstream;
  readonly store: BackendChoiceStore;
  /** What the CXone backends keep (the store); without it, only scim-groups can be built. */
  readonly cxone?: CxoneStores;
  readonly clock: Clock;
  readonly log?: SelectionLog;
}

export function createProcessMembership({ config, upstream, store, cxone, clock, log }: ProcessMembershipOptions): ProcessMembership {
  // One agent map per process, made at the first CXone backend's first use and loaded from the store then.
  let agents: AgentDirectory | undefined;
  const agentMap = (): AgentDirectory | undefined => {
    if (cxone === undefined) return undefined;
    agents ??= createAgentMap(upstream.adminApi, cxone.agentMap);
    return agents;
  };
  const build = (name: MembershipBackendName) => createMembershipBackend(name, { config, directory: upstream, adminApi: upstream.adminApi, agents: agentMap(), stores: cxone, clock });
  const selector = createBackendSelector({
    config,
    probe: (ctx) => upstream.probeGroups(ctx),
    store,
    clock,
    retryMs: config.readinessCacheMs,
    probeTimeoutMs: 3 * config.upstreamTimeoutMs,
    log,
  });
  const source = backendSource(selector, build, Math.max(1, Math.ceil(config.readinessCacheMs / 1000)));
  return {
    selector,
    source,
    async check() {
      const selection = await selector.resolve();
      if (selection.state === 'pending') {
        const cause = selector.lastProbeError();
        const why = cause instanceof Error ? ` (${cause.message})` : '';
        throw new Error(`no membership backend is chosen yet: ${selection.reason}${why}`, { cause });
      }
      const ctx: RequestContext = { stats: { upstreamRequests: 0 } };
      if (selection.name === 'scim-groups') await upstream.ping(ctx);
      else await upstream.adminApi.listAgents({ top: 1, fields: ['agentId'] }, ctx);
    },
    status: () => statusView(selector.setting, selector.current()),
    async recoverOpenWrites(recoveryLog, signal, groupLock) {
      if (cxone === undefined) return;
      const ctx: RequestContext = { signal, stats: { upstreamRequests: 0 } };
      try {
        const open = await cxone.journal.openEntries();
        const groups = new Map(open.map((entry) => [`${entry.backend}\u0000${entry.groupId}`, { backend: entry.backend, groupId: entry.groupId }]));
        for (const { backend, groupId } of groups.values()) {
          if (backend === 'teams' && config.teamsFallbackTeamId === undefined) {
            recoveryLog.error({ groupId }, 'an interrupted team write is open, but TEAMS_FALLBACK_TEAM_ID is not set: it stays open until the teams backend runs again');
            continue;
          }
          // Under the group's lock across replicas: an entry of a sync still running in another replica waits for that sync (which closes it).
          const held = await groupLock?.acquire(groupId, signal);
          try {
            if (backend === 'acd-groups') {
              const parts = { adminApi: upstream.adminApi, agents: agentMap() as AgentDirectory, journal: cxone.journal, audit: cxone.audit, clock };
              for (const entry of await cxone.journal.openEntries({ backend, groupId })) await recoverEntry(parts, entry, recoveryLog, ctx);
            } else if (backend === 'teams') {
              if ((await cxone.journal.openEntries({ backend, groupId })).length === 0) continue;
              await build('teams').prepare?.(groupId, ctx);
              recoveryLog.info({ groupId }, 'an interrupted team write was finished');
            }
          } finally {
            await held?.release();
          }
        }
      } catch (error) {
        recoveryLog.error({ err: error }, 'interrupted admin-API writes could not all be finished at start; the next sync of each group finishes its own first');
      }
    },
  };
}
