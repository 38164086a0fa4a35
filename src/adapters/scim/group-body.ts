/**
 * Reads a SCIM Group answer (GET, PUT or PATCH of /Groups/{id}) into a GroupResource.
 *
 * A small answer is read whole and given to JSON.parse. A large one (a 100,000-member group
 * is ~17 MB of JSON) is decoded as it arrives: the top-level `members` array is cut into
 * batches of whole elements at the commas between them, each batch parsed by JSON.parse and
 * turned into MemberRefs at once, and the rest of the body (the group's other attributes,
 * a few hundred bytes) is parsed at the end with the array left out. The answer then never
 * exists as one buffer, one string or one parse tree: only the members the sync keeps do,
 * and the garbage is a chunk's worth at a time. What JSON.parse refuses, this refuses too.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { GroupResource, MemberRef } from '../../core/membership.js';
import { parseGroup, parseGroupWith, parseJson, parseMember, ShapeError } from './scim-resources.js';
import { BodyTooLargeError, readBody } from './transport.js';

/** Answers of a known length under this are read whole: JSON.parse alone is faster. */
export const STREAMING_THRESHOLD_BYTES = 1024 * 1024;

/**
 * The group in a response body; null for an empty body. Throws ShapeError for a body that
 * is not JSON or not a group, BodyTooLargeError past `limit` bytes.
 */
export async function readGroupBody(body: Readable, limit: number, expectedBytes: number | undefined, thresholdBytes = STREAMING_THRESHOLD_BYTES): Promise<GroupResource | null> {
  return (await readGroupAnswer(body, limit, expectedBytes, { thresholdBytes }))?.group ?? null;
}

/** A group answer, and whether it holds the `members` attribute at all (an answer may leave it out). */
export interface GroupAnswer {
  readonly group: GroupResource;
  readonly hasMembers: boolean;
}

/**
 * Like readGroupBody, and says whether the body has `members`. `skipMembers`: the members
 * are not needed (only the group's version is), so the array is stepped over without
 * parsing its elements, and the group comes back with none.
 */
export async function readGroupAnswer(
  body: Readable,
  limit: number,
  expectedBytes: number | undefined,
  options: { readonly thresholdBytes?: number; readonly skipMembers?: boolean } = {},
): Promise<GroupAnswer | null> {
  const skipMembers = options.skipMembers ?? false;
  if (expectedBytes !== undefined && expectedBytes < (options.thresholdBytes ?? STREAMING_THRESHOLD_BYTES)) {
    const text = await readBody(body, limit, false, expectedBytes);
    if (text.trim() === '') return null;
    const json = parseJson(text);
    const members = (json as { members?: unknown } | null)?.members;
    const hasMembers = members !== undefined && members !== null;
    return { group: skipMembers ? parseGroupWith(json, []) : parseGroup(json), hasMembers };
  }
  const scanner = new GroupScanner(skipMembers);
  const decoder = new StringDecoder('utf8');
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw new BodyTooLargeError(limit);
      scanner.push(decoder.write(chunk));
    }
    scanner.push(decoder.end());
  } catch (error) {
    body.destroy();
    throw error;
  }
  return scanner.finish();
}

const INVALID = 'the body is not valid JSON';
/** Stands in for the streamed array when the rest is parsed; a later duplicate "members" replaces it, as in JSON.parse. */
const PLACEHOLDER = '-0';
/** The characters that matter outside strings: where a string starts, nesting, separators. */
const HEAD_TOKENS = /["{}[\]:,]/g;
const ARRAY_TOKENS = /["{}[\],]/g;
const NON_SPACE = /[^ \t\n\r]/g;
const ONLY_SPACE = /^[ \t\n\r]*$/;

/**
 * Follows the body's structure just enough to find the top-level `members` array and
 * the boundaries of its elements: strings (with escapes), nesting and commas.
 */
class GroupScanner {
  private phase: 'head' | 'value' | 'members' | 'tail' = 'head';
  /** Text not consumed yet; in the head phase, the whole head so far. */
  private pending = '';
  private pos = 0;
  private depth = 0;
  /** Where the string being scanned opened, or -1 outside strings. */
  private stringStart = -1;
  /** The last string closed at depth 1 and where it ended, while it may still be a key. */
  private lastString: { start: number; end: number } | null = null;
  /** In the members phase: the last comma between elements, or -1. */
  private lastComma = -1;
  private head = '';
  private readonly members: MemberRef[] = [];
  private batches = 0;

  push(text: string): void {
    if (text === '') return;
    this.pending += text;
    if (this.phase === 'head' || this.phase === 'value') this.scanHead();
    if (this.phase === 'members') this.scanMembers();
  }

  constructor(private readonly skipMembers = false) {}

  finish(): GroupAnswer | null {
    if (this.phase === 'head' || this.phase === 'value') {
      // No top-level members array: an ordinary (small) body.
      if (this.pending.trim() === '') return null;
      const json = parseJson(this.pending);
      const members = (json as { members?: unknown } | null)?.members;
      return { group: this.skipMembers ? parseGroupWith(json, []) : parseGroup(json), hasMembers: members !== undefined && members !== null };
    }
    if (this.phase === 'members') throw new ShapeError(INVALID);
    const rest = parseJson(`${this.head}${PLACEHOLDER}${this.pending}`);
    const members = (rest as { members?: unknown } | null)?.members;
    if (Object.is(members, -0)) return { group: parseGroupWith(rest, this.members), hasMembers: true };
    return { group: this.skipMembers ? parseGroupWith(rest, []) : parseGroup(rest), hasMembers: members !== undefined && members !== null };
  }

  /**
   * Moves past the string that opened at `stringStart`, to just after its closing quote
   * (one not escaped by an odd run of backslashes); false when that is not in the text yet.
   */
  private skipString(): boolean {
    const text = this.pending;
    for (let q = text.indexOf('"', Math.max(this.pos, this.stringStart + 1)); q !== -1; q = text.indexOf('"', q + 1)) {
      let slashes = 0;
      while (text.charCodeAt(q - 1 - slashes) === 92 /* \ */) slashes++;
      if (slashes % 2 === 0) {
        this.stringStart = -1;
        this.pos = q + 1;
        return true;
      }
    }
    this.pos = text.length;
    return false;
  }

  private scanHead(): void {
    const text = this.pending;
    for (;;) {
      if (this.stringStart >= 0) {
        const start = this.stringStart;
        if (!this.skipString()) return;
        this.lastString = this.depth === 1 ? { start, end: this.pos } : null;
        continue;
      }
      if (this.phase === 'value') {
        // After `"members":`, is the value an array?
        NON_SPACE.lastIndex = this.pos;
        const next = NON_SPACE.exec(text);
        if (next === null) {
          this.pos = text.length;
          return;
        }
        this.phase = 'head';
        if (next[0] === '[') {
          this.head = text.slice(0, next.index);
          this.pending = text.slice(next.index + 1);
          this.pos = 0;
          this.depth = 0;
          this.phase = 'members';
          return;
        }
      }
      HEAD_TOKENS.lastIndex = this.pos;
      const token = HEAD_TOKENS.exec(text);
      if (token === null) {
        this.pos = text.length;
        return;
      }
      const at = token.index;
      this.pos = at + 1;
      const char = token[0];
      if (char === '"') {
        this.stringStart = at;
        continue;
      }
      const key = this.lastString;
      this.lastString = null;
      if (char === ':') {
        if (this.depth === 1 && key !== null && ONLY_SPACE.test(text.slice(key.end, at)) && parseJson(text.slice(key.start, key.end)) === 'members') {
          this.phase = 'value';
        }
      } else if (char === '{' || char === '[') this.depth++;
      else if (char === '}' || char === ']') this.depth--;
    }
  }

  private scanMembers(): void {
    const text = this.pending;
    for (;;) {
      if (this.stringStart >= 0) {
        if (!this.skipString()) break;
        continue;
      }
      ARRAY_TOKENS.lastIndex = this.pos;
      const token = ARRAY_TOKENS.exec(text);
      if (token === null) {
        this.pos = text.length;
        break;
      }
      const at = token.index;
      this.pos = at + 1;
      const char = token[0];
      if (char === '"') this.stringStart = at;
      else if (char === '{' || char === '[') this.depth++;
      else if (char === '}') this.depth--;
      else if (char === ',') {
        if (this.depth === 0) this.lastComma = at;
      } else if (this.depth > 0) this.depth--;
      else {
        // The array's own closing bracket.
        this.parseBatch(text.slice(0, at), true);
        this.pending = text.slice(at + 1);
        this.pos = 0;
        this.phase = 'tail';
        return;
      }
    }
    if (this.lastComma >= 0) {
      this.parseBatch(text.slice(0, this.lastComma), false);
      const cut = this.lastComma + 1;
      this.pending = text.slice(cut);
      this.pos -= cut;
      if (this.stringStart >= 0) this.stringStart -= cut;
      this.lastComma = -1;
    }
  }

  /** Whole elements, separated by commas; `last` when the array's bracket follows them. */
  private parseBatch(elements: string, last: boolean): void {
    if (this.skipMembers) return;
    if (ONLY_SPACE.test(elements)) {
      // `[]` is fine; an empty element after a comma (`[a,]`, `[a,,b]`) is not.
      if (last && this.batches === 0) return;
      throw new ShapeError(INVALID);
    }
    const parsed = parseJson(`[${elements}]`) as unknown[];
    const offset = this.members.length;
    for (let i = 0; i < parsed.length; i++) this.members.push(parseMember(parsed[i], offset + i));
    this.batches++;
  }
}
