/**
 * Observer hooks the SCIM adapter calls for metrics. Every hook is optional; a throwing
 * observer never breaks a sync. `resource` is a fixed label, never an id.
 */

/** SCIM resources (capitalised), CXone admin API resources (lower case: `/agents`, `/agents/{id}/groups`, `/groups`, `/groups/{id}/agents`), sign-in. */
export type UpstreamResource = 'Users' | 'Groups' | 'ServiceProviderConfig' | 'agents' | 'agent_groups' | 'groups' | 'group_agents' | 'oauth' | 'discovery' | 'other';

/** conflict: a write lost a race (412, 428, or a 409 that is not a uniqueness clash); the sync re-reads and re-plans. */
export type RetryReason = 'rate_limited' | 'server_error' | 'network' | 'conflict' | 'unauthorized';

export interface UpstreamRequestEvent {
  readonly method: string;
  readonly resource: UpstreamResource;
  readonly status: number | 'network' | 'timeout';
  readonly durationMs: number;
}

export interface UpstreamObserver {
  onRequest?(event: UpstreamRequestEvent): void;
  onRetry?(reason: RetryReason): void;
  onTokenFetch?(outcome: 'success' | 'failure'): void;
}

/** Wraps an observer so that each hook exists and swallows its own exceptions. */
export function safeObserver(observer: UpstreamObserver | undefined): Required<UpstreamObserver> {
  const guard =
    <A extends unknown[]>(hook: ((...args: A) => void) | undefined) =>
    (...args: A): void => {
      if (!hook) return;
      try {
        hook.apply(observer, args);
      } catch {
        // Metrics must never change the outcome of a sync.
      }
    };
  return {
    onRequest: guard(observer?.onRequest),
    onRetry: guard(observer?.onRetry),
    onTokenFetch: guard(observer?.onTokenFetch),
  };
}
