/**
 * What a sync is asked and what it answers: the use case's contract with its callers (the
 * HTTP route, the CLI), and the runner they hold it by. syncGroup (./sync-group.ts)
 * implements it; src/composition builds the runner.
 */
import type { KeyedLock } from './keyed-lock.js';
import type { DesiredMembership, MemberRef } from './membership.js';
import type { MembershipBackendName, SyncStatus, WriteMode } from './outcome.js';

export interface SyncRequest {
  readonly groupId: string;
  readonly desired: DesiredMembership;
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
}
