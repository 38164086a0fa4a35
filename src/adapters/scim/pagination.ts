/**
 * Index-based pagination of SCIM list responses (RFC 7644 §3.4.2.4).
 *
 * Providers get this wrong in every direction, so totalResults is a hint, not a contract:
 * an empty page ends the list even when totalResults promises more; a page that repeats
 * only resources already seen (startIndex ignored) ends it too; when totalResults is too
 * low we still keep everything the pages held; and a hard cap on pages means a broken
 * provider can never keep us looping. Hitting the cap throws, since a silently truncated
 * list would make validation pass on partial data.
 */
import { UpstreamError } from '../../core/errors.js';
import { idOf, type ListPage } from './scim-resources.js';

export interface PaginateOptions {
  readonly pageSize: number;
  readonly maxPages: number;
  /** Names the list in errors: "SCIM GET /Groups". */
  readonly what: string;
}

/** Yields each page's new resources in order. `fetchPage` receives 1-based startIndex and count. */
export async function* paginate(
  fetchPage: (startIndex: number, count: number) => Promise<ListPage>,
  options: PaginateOptions,
): AsyncGenerator<readonly unknown[], void, undefined> {
  const seen = new Set<string>();
  let startIndex = 1;
  for (let pages = 0; ; pages += 1) {
    if (pages >= options.maxPages) {
      throw new UpstreamError(`${options.what} still had results after ${options.maxPages} pages; refusing to continue`, {
        status: 200,
        detail: `more than ${options.maxPages} pages`,
      });
    }
    const page = await fetchPage(startIndex, options.pageSize);
    if (page.resources.length === 0) return;
    const fresh = page.resources.filter((resource) => {
      const id = idOf(resource);
      if (id === undefined) return true;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    if (fresh.length === 0) return;
    yield fresh;
    startIndex += page.resources.length;
    const collected = startIndex - 1;
    if (page.totalResults !== undefined ? collected >= page.totalResults : page.resources.length < options.pageSize) return;
  }
}
