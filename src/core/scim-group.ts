/**
 * The SCIM Group resource a full replace sends (RFC 7644 §3.5.1): the attributes carried
 * over from the read, then the ones the sync owns; each member as `value` and `type`. The adapter sends groupWriteJson of it,
 * and the audit trail hashes that same text, so both speak of the same payload.
 */
import { canonicalJson, sha256Hex } from './canonical-json.js';
import type { GroupWrite } from './ports.js';
import { SCIM_SCHEMAS } from './scim-schemas.js';

const OWNED = new Set(['schemas', 'id', 'displayName', 'members', 'meta']);

export function groupResourceForWrite(write: GroupWrite): Record<string, unknown> {
  const members = write.members.map((member) => ({ value: member.value, type: member.type }));
  return { ...carriedOver(write), members };
}

/** Everything but the members: the attributes carried over, then the ones the sync owns. */
function carriedOver(write: GroupWrite): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(write.extra)) if (!OWNED.has(key)) extra[key] = value;
  const schemas = Array.isArray(write.extra.schemas) ? write.extra.schemas : [SCIM_SCHEMAS.group];
  return { schemas, ...extra, id: write.id, displayName: write.displayName };
}

/**
 * A member's keys in canonical order; as JSON.stringify's property list it also leaves out
 * any other key. `display` is not sent: the provider computes it from the member resource.
 */
const MEMBER_KEYS = ['type', 'value'];
const digests = new WeakMap<GroupWrite, string>();

/**
 * The body of the full replace: canonicalJson(groupResourceForWrite(write)). The members,
 * plain strings, take one native JSON.stringify and no copy. The adapter sends exactly
 * this text, and its SHA-256 is kept for the audit record (groupWriteSha256), so a
 * 100,000-member body is serialised once and not held on to after it is sent.
 */
export function groupWriteJson(write: GroupWrite): string {
  const resource = carriedOver(write);
  const fields = [...Object.keys(resource).filter((key) => resource[key] !== undefined), 'members']
    .toSorted()
    .map((key) => `${JSON.stringify(key)}:${key === 'members' ? JSON.stringify(write.members, MEMBER_KEYS) : canonicalJson(resource[key])}`);
  const json = `{${fields.join(',')}}`;
  digests.set(write, sha256Hex(json));
  return json;
}

/** SHA-256 (hex) of groupWriteJson(write): from the serialisation already made when there was one. */
export function groupWriteSha256(write: GroupWrite): string {
  return digests.get(write) ?? sha256Hex(groupWriteJson(write));
}
