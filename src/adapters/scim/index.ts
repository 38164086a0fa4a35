/** The SCIM adapter's public surface: what the composition root and the metrics adapter use. */
export { createCxoneDirectory, type CxoneDirectory, type CxoneDirectoryOptions } from './cxone-directory.js';
export { CXONE_DEFAULTS } from './defaults.js';
export { createRedactor, REDACTED, type Redactor } from './redactor.js';
export { DEFAULT_RETRY, type RetryOptions } from './retry-policy.js';
export { createScimDirectory, type GroupsProbeAnswer, type ScimDirectoryAdapter, type ScimDirectoryOptions } from './scim-directory.js';
export { createTokenSource, type TokenAuthMethod, type TokenSource, type TokenSourceOptions } from './token-source.js';
export type { RetryReason, UpstreamObserver, UpstreamRequestEvent, UpstreamResource } from './upstream-observer.js';
