/** The statuses of a sync that succeeded. */
export type SyncStatus = 'applied' | 'unchanged' | 'dry_run';
