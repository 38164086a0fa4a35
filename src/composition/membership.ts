/**
 * Which membership backend syncs the groups (MEMBERSHIP_BACKEND), and the backend itself.
 *
 * - A backend named in the setting is used as set. When the store keeps a different
 *   earlier choice of `auto`, a warning says so; the start goes on.
 * - `auto` reads the choice kept in the store (BackendChoiceStore: every process on the
 *   store makes the same one) and, when there is none, probes SCIM `/Groups`: 200 chooses
 *   `scim-groups`, 404 `acd-groups` (CXone as published); the first choice kept wins. Any
 *   other outcome (401, 403, 5xx, no answer) chooses nothing: the service is not ready,
 *   says why on /readyz, answers syncs 503 upstream_unavailable, and probes again at the
 *   next readiness check or sync once `retryMs` has passed.
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
import type { BackendChoiceStore, Clock, MembershipBackend, RequestContext, ScimDirectory } from '../core/ports.js';
import { createScimGroupsBackend } from '../core/scim-groups-backend.js';

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

/** Why a probe could not tell, for /readyz and the 503 of a sync: status codes and the OAuth error code only. */
export function probeFailure(error: unknown): string {
  const next = '200 chooses scim-groups, 404 acd-groups; probing again';
  if (error instanceof TokenEndpointError) {
    const oauth = error.oauthError !== undefined && /^[\w.-]{1,64}$/.test(error.oauthError) ? ` ${error.oauthError}` : '';
    return `the sign-in failed (the token endpoint answered ${error.status}${oauth}), so SCIM /Groups could not be probed; probing again`;
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
   * ones when `retryMs` passed since the last try. One try at a time: callers share it.
   */
  resolve(): Promise<BackendSelection>;
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
  const attempt = async (): Promise<BackendSelection> => {
    lastTry = options.clock.monotonic();
    const ctx: RequestContext = { signal: AbortSignal.timeout(options.probeTimeoutMs), stats: { upstreamRequests: 0 } };
    const made = await selectMembershipBackend(options.config, options.probe, options.store, options.log, ctx);
    // Once chosen, never changed while the process runs.
    if (!settled) selection = made;
    if (made.state === 'chosen') settled = true;
    return selection;
  };
  return {
    setting,
    current: () => selection,
    resolve() {
      if (settled) return Promise.resolve(selection);
      if (inflight) return inflight;
      if (lastTry !== undefined && options.clock.monotonic() - lastTry < options.retryMs) return Promise.resolve(selection);
      inflight = attempt().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
  };
}

/** What the backends are built from. */
export interface MembershipBackendDeps {
  readonly config: Pick<Config, 'maxGroupDepth' | 'writeMode' | 'patchMaxOperations'>;
  /** SCIM: the scim-groups backend's groups, and every backend's users. */
  readonly directory: ScimDirectory;
  /** CXone's admin API (acd-groups, teams). */
  readonly adminApi?: AdminApiClient;
}

/** The backend of that name. Throws when this build does not include it. */
export function createMembershipBackend(name: MembershipBackendName, deps: MembershipBackendDeps): MembershipBackend {
  switch (name) {
    case 'scim-groups':
      return createScimGroupsBackend({ directory: deps.directory, maxDepth: deps.config.maxGroupDepth, writeMode: deps.config.writeMode, patchMaxOperations: deps.config.patchMaxOperations });
    case 'acd-groups':
      // wired at merge: createAcdGroupsBackend (./acd-groups.ts)
      throw new Error('the acd-groups membership backend is not available in this build');
    case 'teams':
      // wired at merge: createTeamsBackend (./teams.ts)
      throw new Error('the teams membership backend is not available in this build');
  }
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
    const selection = await selector.resolve();
    if (selection.state === 'pending') {
      throw new UpstreamUnavailableError(`no membership backend is chosen yet (MEMBERSHIP_BACKEND=auto): ${selection.reason}`, retryAfterSeconds);
    }
    built ??= build(selection.name);
    return built;
  };
}
