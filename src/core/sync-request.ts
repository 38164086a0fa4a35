/**
 * What a sync is asked and what it answers: the use case's contract with its callers (the
 * HTTP route, the CLI), and the runner they hold it by. syncGroup (./sync-group.ts)
 * implements it; src/composition builds the runner.
 */
import type { KeyedLock } from './keyed-lock.js';
import type { DesiredMembership, MemberRef, MembershipDelta } from './membership.js';
import type { MembershipBackendName, SyncStatus, WriteMode } from './outcome.js';

export interface SyncRequest {
  readonly groupId: string;
  /**
   * The members the group is to hold: all of them (a sync), or a delta (members to add and
   * to remove) applied to the group as read (a SCIM PATCH). Either way the sync reads the
   * group, plans, validates, writes, verifies and records in the same way; a delta only
   * changes what is desired, so its write is as small as the difference it makes.
   */
  readonly desired: DesiredMembership | MembershipDelta;
  readonly dryRun: boolean;
  /** The caller says the removal is meant: the mass-removal guard lets it through. */
  readonly allowMassRemoval?: boolean;
  readonly actor: string;
  readonly requestId: string;
  /** Aborts the sync wherever it is (deadline, shutdown): its reason is the answer. */
  readonly signal?: AbortSignal;
  /**
   * Fires when the caller went away (closed its connection). A sync still waiting behind
   * others of its group is then cancelled; one that started runs to its end, since a
   * write cut off halfway would leave the group part-way.
   */
  readonly callerGone?: AbortSignal;
  /**
   * The caller this sync acts for, when it is not `actor` itself: a drift heal (actor
   * drift-heal) re-applies the desired set of its owner, who stays its owner.
   */
  readonly onBehalfOf?: string;
  /**
   * Asked once the group's turn has come, before anything is read: false calls the sync off
   * (cancelled, nothing sent upstream). A drift heal asks whether the desired set it is
   * about to re-apply is still the group's, so that it never undoes a newer sync.
   */
  readonly stillWanted?: () => Promise<boolean>;
  /**
   * If-Match (RFC 7644 §3.14): the version of the group the caller last read (an entity-tag
   * list, or `*`). Where the backend's versions are ETags the provider checks on writes
   * (MembershipBackend.supportsEtags), it is compared in the group's turn with the version
   * the sync reads, and a mismatch ends the sync with version_mismatch, nothing written; the
   * write itself is guarded upstream by that same version, so a change landing between the
   * read and the write is refused by the provider, and the retry then finds the version
   * moved on (version_mismatch again, never a write over the other change). Ignored where
   * the backend has no ETags (acd-groups, teams).
   */
  readonly expectedVersion?: string;
}

export interface SyncResult {
  readonly syncId: string;
  readonly groupId: string;
  readonly status: SyncStatus;
  readonly added: readonly MemberRef[];
  readonly removed: readonly MemberRef[];
  readonly memberCount: number;
  readonly consistencyRate: number;
  readonly etag: string | null;
  /** How the membership was written; null when nothing was written. */
  readonly writeMode: WriteMode | null;
  readonly latencyMs: number;
  readonly upstreamRequests: number;
  /** The membership backend the sync ran through (MEMBERSHIP_BACKEND, or what `auto` chose). */
  readonly backend: MembershipBackendName;
  /**
   * Dry runs only (with the guard configured): whether the mass-removal guard would refuse
   * this request without dryRun (allowMassRemoval counts), and the numbers it judged.
   */
  readonly removalGuard?: { readonly wouldTrip: boolean; readonly removing: number; readonly of: number };
  /**
   * The group as the sync leaves it: its name and members as verified after an applied
   * write, or as read when unchanged; absent for a dry run. For callers that answer with the
   * group (the SCIM front door) without reading it again; POST /groups/{id}/sync does not
   * answer it.
   */
  readonly group?: { readonly displayName: string; readonly members: readonly MemberRef[] };
}

/**
 * The use case as its callers hold it: syncGroup bound to its ports and limits, under its
 * overall deadline.
 */
export interface SyncRunner {
  run(request: SyncRequest): Promise<SyncResult>;
  /** Cuts off every sync still running (the shutdown deadline passed); each is audited as interrupted. */
  interrupt(): void;
  /** Syncs running now. */
  readonly inFlight: number;
  /** The per-group queue of syncs: how many wait for a group, and a promise for when that many do. */
  readonly queue: Pick<KeyedLock, 'waiting' | 'whenWaiting'>;
  /**
   * Runs `work` in the group's turn, as a sync would run (the in-process queue, then the
   * lock across replicas), without being one: the drift scheduler's read. It never waits
   * behind syncs: `{ ran: false }` when a sync of the group runs or waits now. The signal
   * `work` gets aborts when a sync of the group comes to wait behind it (the work is to be
   * thrown away: it yields), when the lock across replicas is lost, or when `signal` does.
   */
  exclusive<T>(groupId: string, work: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<{ readonly ran: true; readonly value: T } | { readonly ran: false }>;
}

/** Why the signal of an exclusive() unit aborted when a sync of its group came to wait: the unit yields its turn. */
export class YieldedToSyncError extends Error {
  constructor(readonly groupId: string) {
    super(`a sync of group ${groupId} came while it was read; the read gave way`);
    this.name = 'YieldedToSyncError';
  }
}
