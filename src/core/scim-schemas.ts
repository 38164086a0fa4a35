/**
 * The schema URNs of RFC 7643 and RFC 7644 this service sends, in one place: the core
 * builds Group resources with them, the SCIM adapter PatchOp requests. (Answers are read
 * by their attributes, never by their `schemas`.)
 */
export const SCIM_SCHEMAS = {
  /** RFC 7643 §4.2. */
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  /** RFC 7644 §3.5.2. */
  patchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
} as const;
