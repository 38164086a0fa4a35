/**
 * One group as a resource: GET, PUT (RFC 7644 §3.5.1) and PATCH (§3.5.2) of /Groups/{id}.
 * Reads are conditional when the group is kept from an earlier read or write: the GET
 * carries If-None-Match with the ETag it had (§3.14), and a 304 reuses the group kept in
 * memory (./group-cache.ts). A write's answer stands in for the next read only when it has
 * everything that was sent, so a provider that answers with less cannot make the next full
 * replace drop attributes.
 */
import type { Readable } from 'node:stream';
import { UpstreamError } from '../../core/errors.js';
import type { GroupResource, GroupSnapshot } from '../../core/membership.js';
import type { GroupDirectory, WriteResult } from '../../core/ports.js';
import { SCIM_SCHEMAS } from '../../core/scim-schemas.js';
import { readGroupAnswer, readGroupBody, type GroupAnswer } from './group-body.js';
import type { GroupCache } from './group-cache.js';
import { unusable } from './scim-answers.js';
import type { BodyReader, ScimAnswer, ScimHttp, ScimRequest } from './scim-http.js';
import { GROUP_CORE_ATTRIBUTES, serializeGroupWrite, ShapeError } from './scim-resources.js';
import { BodyTooLargeError, headerValue } from './transport.js';

export type GroupResourceMethods = Pick<GroupDirectory, 'getGroup' | 'replaceGroup' | 'patchGroup'>;

export function createGroupResource(http: ScimHttp, groupCache: GroupCache): GroupResourceMethods {
  return {
    /** A conditional GET (If-None-Match) when the group is kept from an earlier read or write: 304 reuses it. */
    async getGroup(id, ctx, read): Promise<GroupSnapshot | null> {
      const what = 'SCIM GET /Groups/{id}';
      const kept = read?.fresh ? undefined : groupCache.get(id);
      const request: ScimRequest = {
        method: 'GET',
        path: `/Groups/${encodeURIComponent(id)}`,
        route: '/Groups/{id}',
        resource: 'Groups',
        ...(kept ? { headers: { 'if-none-match': kept.etag }, expect: [404, 304] } : { expect: [404] }),
      };
      let answer: ScimAnswer<GroupResource | null>;
      try {
        answer = await http.read(request, ctx, (body, limit, expectedBytes) => readGroupBody(body, limit, expectedBytes));
      } catch (error) {
        groupCache.delete(id);
        if (!(error instanceof ShapeError)) throw error;
        throw unusable(what, error.status ?? 200, error.message);
      }
      if (answer.status === 304 && kept) return { group: kept.group, etag: kept.etag };
      groupCache.delete(id);
      if (answer.status === 404) return null;
      const group = answer.body;
      if (!group) throw unusable(what, answer.status, 'the body is empty');
      if (group.id !== id) {
        throw new UpstreamError(`SCIM GET /Groups/{id} returned a group with another id`, {
          status: answer.status,
          detail: 'the id in the body differs from the id requested',
        });
      }
      const snapshot = { group, etag: answer.etag };
      groupCache.set(id, snapshot);
      return snapshot;
    },

    /** RFC 7644 §3.5.1 full replace; If-Match carries the ETag exactly as read (§3.14). Members go as value and type only. */
    async replaceGroup(write, ifMatch, ctx) {
      // Whatever happens, what was kept of this group may be out of date now.
      groupCache.delete(write.id);
      const answer = await http.read(
        {
          method: 'PUT',
          path: `/Groups/${encodeURIComponent(write.id)}`,
          route: '/Groups/{id}',
          resource: 'Groups',
          body: serializeGroupWrite(write),
          ...(ifMatch !== null && { headers: { 'if-match': ifMatch } }),
        },
        ctx,
        readWrittenGroup,
      );
      // The answer is the group as stored (RFC 7644 §3.5.1). It stands in for the next read
      // only if it has everything that was sent: a provider answering with less must not
      // make the next full replace drop attributes (or members).
      const result = writeResult(answer.body, answer.etag);
      if (result.group && holdsAll(result.group, write.extra, write.id)) groupCache.set(write.id, { group: result.group, etag: answer.etag });
      return result;
    },

    /**
     * RFC 7644 §3.5.2 PATCH of a group; each answer's ETag guards the next request (§3.14).
     * Never with `attributes` or `excludedAttributes`: a provider that applies the PatchOp
     * to that projection and writes it back would drop every member the PATCH does not name.
     * In the middle of a sequence (`withMembers: false`) the answer's members are stepped
     * over unparsed: only its version matters.
     */
    async patchGroup(id, operations, ifMatch, ctx, answer) {
      // What the patch applies to, when it is the group as last read here (a sequence's
      // first request); the answer stands in for the next read only measured against it.
      const before = groupCache.get(id);
      groupCache.delete(id);
      const withMembers = answer?.withMembers !== false;
      const written = await http.read(
        {
          method: 'PATCH',
          path: `/Groups/${encodeURIComponent(id)}`,
          route: '/Groups/{id}',
          resource: 'Groups',
          body: Buffer.from(JSON.stringify({ schemas: [SCIM_SCHEMAS.patchOp], Operations: operations }), 'utf8'),
          ...(ifMatch !== null && { headers: { 'if-match': ifMatch } }),
        },
        ctx,
        withMembers ? readWrittenGroup : readWrittenVersion,
      );
      const result = writeResult(written.body, written.etag);
      if (result.group && before && withMembers && holdsAll(result.group, before.group.extra, id)) groupCache.set(id, { group: result.group, etag: written.etag });
      return result;
    },
  };
}

/**
 * The answer to a write. The write went through: an unusable body must not turn it into
 * a failure, so it counts as no body (204 too), and the use case re-reads when it gets
 * no group back.
 */
const readWrittenGroup: BodyReader<GroupAnswer | null> = async (body, limit, expectedBytes) => {
  try {
    return await readGroupAnswer(body, limit, expectedBytes);
  } catch (error) {
    if (error instanceof ShapeError) return null;
    throw error;
  }
};

/**
 * The answer to a write whose members are not needed, only the group's version: with an
 * ETag header the body is drained unread (a 100,000-member answer is 17 MB); without one,
 * the group's attributes are read for meta.version, the members stepped over unparsed.
 */
const readWrittenVersion: BodyReader<GroupAnswer | null> = async (body, limit, expectedBytes, headers) => {
  if (headerValue(headers.etag) !== undefined) {
    await drain(body, limit);
    return null;
  }
  try {
    const answer = await readGroupAnswer(body, limit, expectedBytes, { skipMembers: true });
    return answer && { group: answer.group, hasMembers: false };
  } catch (error) {
    if (error instanceof ShapeError) return null;
    throw error;
  }
};

/** Reads a body to its end without keeping or decoding it; past `limit` bytes it fails like any other read. */
async function drain(body: Readable, limit: number): Promise<void> {
  let size = 0;
  for await (const part of body as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > limit) {
      body.destroy();
      throw new BodyTooLargeError(limit);
    }
  }
}

/** A write's answer for the use case: the group only when the answer holds its members; its version either way. */
function writeResult(answer: GroupAnswer | null | undefined, etag: string | null): WriteResult {
  if (answer && answer.hasMembers) return { group: answer.group, etag };
  const meta = answer?.group.meta;
  return { group: null, etag, version: meta?.version ?? meta?.lastModified ?? null };
}

/** The answer to a write is the group `id` and has every attribute of `extra` (nothing was dropped from it). */
function holdsAll(group: GroupResource, extra: Readonly<Record<string, unknown>>, id: string): boolean {
  return group.id === id && Object.keys(extra).every((key) => Object.hasOwn(group.extra, key) || GROUP_CORE_ATTRIBUTES.has(key));
}
