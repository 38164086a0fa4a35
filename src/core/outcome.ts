/**
 * How a sync ends, and what it reports on its way: the words the use case, the ports, the
 * audit records and the metrics share. Each list is declared once here, and its type is
 * derived from it. The bottom of the core: this module imports nothing, so every other
 * module may import it without a cycle.
 */

/** The statuses of a sync that succeeded. */
export const SYNC_STATUSES = ['applied', 'unchanged', 'dry_run'] as const;
export type SyncStatus = (typeof SYNC_STATUSES)[number];

/** The statuses of a sync that failed: the code of the error it answered with. */
export const FAILURE_STATUSES = [
  'validation_failed',
  'conflict',
  'group_not_found',
  'upstream_error',
  'upstream_unavailable',
  'upstream_timeout',
  'internal_error',
  'interrupted',
  'write_not_applied',
  'group_busy',
  'queue_timeout',
  'cancelled',
  'rollback_failed',
  'removal_guard',
  'group_quarantined',
  'version_mismatch',
] as const;
export type FailureStatus = (typeof FAILURE_STATUSES)[number];

/** How a sync attempt ended: a success status, or the code of the error it answered with. */
export type SyncOutcomeStatus = SyncStatus | FailureStatus;
export const SYNC_OUTCOME_STATUSES: readonly SyncOutcomeStatus[] = [...SYNC_STATUSES, ...FAILURE_STATUSES];

const FAILURES: ReadonlySet<string> = new Set(FAILURE_STATUSES);

/** Whether an error code is also the status of the sync it ended (anything else is recorded as upstream_error). */
export function isFailureStatus(code: string): code is FailureStatus {
  return FAILURES.has(code);
}

/**
 * How a membership was written: one PUT (RFC 7644 §3.5.1) or PATCH requests (§3.5.2) to
 * SCIM `/Groups`, or batches of agents added to and removed from an ACD group through
 * CXone's admin API (`admin-api`).
 */
export type WriteMode = 'put' | 'patch' | 'admin-api';

/**
 * Where a group's members live upstream, and so which membership backend syncs them: RFC
 * 7644 `/Groups` (`scim-groups`), CXone's ACD groups through its admin API (`acd-groups`),
 * or CXone's teams (`teams`, one team per user).
 */
export const MEMBERSHIP_BACKENDS = ['scim-groups', 'acd-groups', 'teams'] as const;
export type MembershipBackendName = (typeof MEMBERSHIP_BACKENDS)[number];

/** What the attribute sync after an applied write did to one user's entitlements. */
export const ATTRIBUTE_OUTCOMES = ['updated', 'unchanged', 'not_managed', 'failed', 'user_not_found'] as const;
export type AttributeOutcome = (typeof ATTRIBUTE_OUTCOMES)[number];

export interface UserAttributeOutcome {
  readonly userId: string;
  /** How this sync changed the user's membership of the group. */
  readonly change: 'added' | 'removed';
  /** Whether the provider's `groups` agrees with the new membership; null when it sends no `groups`. */
  readonly groupsConsistent: boolean | null;
  readonly entitlements: AttributeOutcome;
  readonly entitlementsAdded?: readonly string[];
  readonly entitlementsRemoved?: readonly string[];
  readonly error?: string;
}

/** The attribute sync's report: the audit record's `attributes`, the user.attributes.synced event's data. */
export interface AttributeSyncReport {
  readonly users: readonly UserAttributeOutcome[];
  readonly checked: number;
  readonly groupsInconsistent: number;
  readonly entitlementsUpdated: number;
  readonly failed: number;
  readonly upstreamRequests: number;
}
