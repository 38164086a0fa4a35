/**
 * The SCIM Group resource a full replace sends (RFC 7644 §3.5.1): the attributes carried
 * over from the read, then the ones the sync owns. The adapter serialises exactly this,
 * and the audit trail hashes it, so both speak of the same payload.
 */
import type { GroupWrite } from './ports.js';

export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const OWNED = new Set(['schemas', 'id', 'displayName', 'members', 'meta']);

export function groupResourceForWrite(write: GroupWrite): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(write.extra)) if (!OWNED.has(key)) extra[key] = value;
  const schemas = Array.isArray(write.extra.schemas) ? write.extra.schemas : [GROUP_SCHEMA];
  const members = write.members.map((member) =>
    member.display === undefined ? { value: member.value, type: member.type } : { value: member.value, type: member.type, display: member.display },
  );
  return { schemas, ...extra, id: write.id, displayName: write.displayName, members };
}
