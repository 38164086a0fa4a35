/** The CXone adapter's public surface: sign-in and discovery, the admin API client, and the connection the composition root builds. */
export {
  ADMIN_MAX_BATCH,
  ADMIN_PAGE_SIZE,
  createAdminApiClient,
  DEFAULT_ADMIN_API_PATH,
  PagesChangedError,
  type AdminAgent,
  type AdminApiClient,
  type AdminApiOptions,
  type AdminGroup,
  type AgentsPage,
  type AgentsQuery,
  type BatchOutcome,
  type GroupAgents,
  type TeamChange,
} from './admin-api.js';
export { createCxoneConnection, type CxoneConnection, type CxoneConnectionOptions } from './connection.js';
export { CxoneSetupError } from './discovery.js';
export { createCxoneSignIn, CXONE_DEFAULT_ISSUER, type CxoneAuthMode, type CxoneSignIn, type CxoneSignInOptions } from './sign-in.js';
export { OutcomeUnknownError } from '../scim/scim-errors.js';
