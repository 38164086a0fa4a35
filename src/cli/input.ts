/**
 * Input files of `sync` and `reconcile`, checked as strictly as the API checks a request
 * body (src/http/schemas/sync.ts) and reported with the line or JSON path of the problem:
 *
 * - sync --members: the body of POST /groups/{groupId}/sync (`{ "displayName"?, "members": [...] }`)
 *   or a bare array of members.
 * - reconcile --file, JSON: `[{ "groupId", "displayName"?, "members": [...] }]` or `{ "groups": [...] }`.
 *
 * In JSON, attribute names are case-insensitive and a member's `type` is optional, as in the
 * API (canonicalSyncBody, the route's own rules: an unknown attribute or one in two cases
 * is refused, `$ref` and a SCIM Group's schemas, id, externalId and meta are ignored).
 * - reconcile --file, CSV (RFC 4180): a header `group_id,member_id[,member_type]`, then one
 *   row per membership; member_type defaults to User; a row with an empty member_id names
 *   a group without adding a member (so a group can be emptied).
 */
import { readFile } from 'node:fs/promises';
import { canonicalSyncBody, GroupIdParams } from '../http/schemas/sync.js';
import type { DesiredMember, DesiredMembership, MemberRef } from '../core/membership.js';

export interface GroupInput {
  readonly groupId: string;
  readonly desired: DesiredMembership;
}

/** An input file that cannot be used; the message names the file and the line or field. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

const GROUP_ID = new RegExp((GroupIdParams.properties.groupId as unknown as { pattern: string }).pattern, 'u');
const MAX_ID_LENGTH = 256;
const MAX_VALUE_LENGTH = 1024;

/** Reads a file, or standard input for "-". */
export async function readInput(path: string, stdin: NodeJS.ReadableStream): Promise<string> {
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${path}: cannot be read (${code ?? (error instanceof Error ? error.message : String(error))})`);
  }
}

/** A group id as the API accepts it, or the reason it is not one. */
export function groupIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return `must be a string, got ${describe(id)}`;
  if (id.length === 0 || id.length > MAX_ID_LENGTH) return `must be 1 to ${MAX_ID_LENGTH} characters`;
  if (!GROUP_ID.test(id)) return `${JSON.stringify(id)} is not a valid group id (no "/", no control characters, not "." or "..")`;
  return undefined;
}

// ---------------------------------------------------------------------------------- JSON

function parseJson(name: string, text: string): unknown {
  try {
    return JSON.parse(stripBom(text));
  } catch (error) {
    const source = stripBom(text);
    const at = jsonErrorOffset(source);
    const message = (error instanceof Error ? error.message : String(error)).replace(/(,| in JSON).*$/s, '');
    throw new InputError(`${name}: not valid JSON (${lineAndColumn(source, at)}): ${message}`);
  }
}

/**
 * Where JSON.parse gave up: its messages say so only on some Node versions, so a small
 * RFC 8259 scanner finds the offset of the first character that cannot continue the text.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i] as string)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const expect = (ch: string) => (text[i] === ch ? i++ : fail());
  const string = () => {
    expect('"');
    for (;;) {
      const ch = text[i];
      if (ch === undefined || ch < ' ') fail();
      i++;
      if (ch === '"') return;
      if (ch === '\\') {
        if (text[i] === 'u') {
          i++;
          for (let k = 0; k < 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail();
            i++;
          }
        } else if ('"\\/bfnrt'.includes(text[i] ?? 'x')) i++;
        else fail();
      }
    }
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        string();
        ws();
        expect(':');
        value();
        ws();
        if (text[i] === ',') i++;
        else return void expect('}');
      }
    }
    if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else return void expect(']');
      }
    }
    if (ch === '"') return string();
    for (const literal of ['true', 'false', 'null']) if (text.startsWith(literal, i)) return void (i += literal.length);
    const number = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (number) return void (i += number[0].length);
    fail();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (offset) {
    if (typeof offset === 'number') return offset;
    throw offset;
  }
  return text.length;
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function member(value: unknown, at: string): DesiredMember {
  if (!isObject(value)) throw new InputError(`${at}: must be an object like {"value": "…", "type": "User"}, got ${describe(value)}`);
  const { value: id, type, display } = value;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_VALUE_LENGTH) {
    throw new InputError(`${at}.value: must be a string of 1 to ${MAX_VALUE_LENGTH} characters, got ${describe(id)}`);
  }
  if (type !== undefined && type !== 'User' && type !== 'Group') throw new InputError(`${at}.type: must be one of "User", "Group", got ${describe(type)}`);
  if (display !== undefined && (typeof display !== 'string' || display.length > MAX_VALUE_LENGTH)) {
    throw new InputError(`${at}.display: must be a string of at most ${MAX_VALUE_LENGTH} characters, got ${describe(display)}`);
  }
  return { value: id, ...(type === undefined ? {} : { type }), ...(display === undefined ? {} : { display }) };
}

/**
 * `body` (a sync body) with attribute names in canonical case, as the API reads it; a
 * problem is refused at `at` (the place of the body in the file) and the path within it.
 */
function canonical(body: unknown, at: string, maxMembers: number, bareArray = false): unknown {
  const result = canonicalSyncBody(body, maxMembers);
  if (result.ok) return result.body;
  const path = result.problem.at.slice(bareArray ? 1 : 0).map((step) => (typeof step === 'number' ? `[${step}]` : `.${step}`)).join('');
  throw new InputError(`${at}${path}: ${result.problem.message}`);
}

function members(value: unknown, at: string, maxMembers: number): DesiredMember[] {
  if (!Array.isArray(value)) throw new InputError(`${at}: must be an array of members, got ${describe(value)}`);
  if (value.length > maxMembers) throw new InputError(`${at}: ${value.length} members, more than MAX_MEMBERS (${maxMembers})`);
  return value.map((m, i) => member(m, `${at}[${i}]`));
}

function displayName(value: unknown, at: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VALUE_LENGTH) {
    throw new InputError(`${at}: must be a string of 1 to ${MAX_VALUE_LENGTH} characters, got ${describe(value)}`);
  }
  return value;
}

/** sync --members: the sync request body, or a bare array of members. */
export function parseMembersFile(name: string, text: string, maxMembers: number): DesiredMembership {
  const parsed = parseJson(name, text);
  if (Array.isArray(parsed)) {
    const { members: list } = canonical({ members: parsed }, name, maxMembers, true) as { members: unknown };
    return { members: members(list, name, maxMembers) };
  }
  if (!isObject(parsed)) throw new InputError(`${name}: expected {"members": [...]} or an array of members, got ${describe(parsed)}`);
  const json = canonical(parsed, name, maxMembers) as Record<string, unknown>;
  const title = displayName(json.displayName, `${name}: displayName`);
  const list = members(json.members, `${name}: members`, maxMembers);
  return title === undefined ? { members: list } : { displayName: title, members: list };
}

function groupsFromJson(name: string, text: string, maxMembers: number): GroupInput[] {
  const json = parseJson(name, text);
  const list = isObject(json) && 'groups' in json ? json.groups : json;
  const prefix = list === json ? '' : 'groups';
  if (!Array.isArray(list)) throw new InputError(`${name}: expected an array of groups or {"groups": [...]}, got ${describe(list)}`);
  return list.map((group, i): GroupInput => {
    const at = `${name}: ${prefix}[${i}]`;
    if (!isObject(group)) throw new InputError(`${at}: must be an object like {"groupId": "…", "members": [...]}, got ${describe(group)}`);
    const problem = groupIdProblem(group.groupId);
    if (problem) throw new InputError(`${at}.groupId: ${problem}`);
    const { groupId, ...body } = group;
    const desired = canonical(body, at, maxMembers) as Record<string, unknown>;
    const title = displayName(desired.displayName, `${at}.displayName`);
    const list2 = members(desired.members, `${at}.members`, maxMembers);
    return { groupId: groupId as string, desired: title === undefined ? { members: list2 } : { displayName: title, members: list2 } };
  });
}

// ----------------------------------------------------------------------------------- CSV

interface CsvRecord {
  readonly line: number;
  readonly fields: string[];
}

/** RFC 4180: comma separated, fields optionally in double quotes ("" inside is a quote), CRLF or LF; `line` is where a record starts. */
export function parseCsv(name: string, text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const source = stripBom(text);
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let start = 1;
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (source[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"') {
      if (field !== '' || wasQuoted) throw new InputError(`${name}: line ${line}: a quote inside an unquoted field (quote the whole field and double the quote)`);
      quoted = true;
      wasQuoted = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      wasQuoted = false;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && source[i + 1] === '\n') i++;
      fields.push(field);
      if (!(fields.length === 1 && fields[0] === '' && !wasQuoted)) records.push({ line: start, fields });
      fields = [];
      field = '';
      wasQuoted = false;
      line++;
      start = line;
    } else {
      if (wasQuoted) throw new InputError(`${name}: line ${line}: text after a closing quote`);
      field += ch;
    }
  }
  if (quoted) throw new InputError(`${name}: line ${start}: a quoted field is never closed`);
  fields.push(field);
  if (!(fields.length === 1 && fields[0] === '' && !wasQuoted)) records.push({ line: start, fields });
  return records;
}

const CSV_COLUMNS = ['group_id', 'member_id', 'member_type'] as const;

function groupsFromCsv(name: string, text: string, maxMembers: number): GroupInput[] {
  const [header, ...rows] = parseCsv(name, text);
  if (!header) throw new InputError(`${name}: empty; expected a header line group_id,member_id[,member_type]`);
  const columns = header.fields.map((f) => f.trim().toLowerCase());
  const index = new Map<string, number>();
  columns.forEach((column, i) => {
    if (!(CSV_COLUMNS as readonly string[]).includes(column)) {
      throw new InputError(`${name}: line ${header.line}: unknown column ${JSON.stringify(header.fields[i])}; the header is group_id,member_id[,member_type]`);
    }
    if (index.has(column)) throw new InputError(`${name}: line ${header.line}: column ${column} appears twice`);
    index.set(column, i);
  });
  for (const column of ['group_id', 'member_id']) {
    if (!index.has(column)) throw new InputError(`${name}: line ${header.line}: no ${column} column; the header is group_id,member_id[,member_type]`);
  }
  const cell = (row: CsvRecord, column: string): string => {
    const i = index.get(column);
    return i === undefined ? '' : (row.fields[i] ?? '').trim();
  };
  const groups = new Map<string, MemberRef[]>();
  for (const row of rows) {
    const at = `${name}: line ${row.line}`;
    if (row.fields.length !== columns.length) throw new InputError(`${at}: ${row.fields.length} fields, but the header has ${columns.length}`);
    const groupId = cell(row, 'group_id');
    const problem = groupIdProblem(groupId);
    if (problem) throw new InputError(`${at}: group_id ${groupId === '' ? 'is empty' : problem}`);
    const list = groups.get(groupId) ?? [];
    groups.set(groupId, list);
    const value = cell(row, 'member_id');
    const type = cell(row, 'member_type') || 'User';
    if (value === '') {
      if (cell(row, 'member_type') !== '') throw new InputError(`${at}: member_type without a member_id`);
      continue;
    }
    if (value.length > MAX_VALUE_LENGTH) throw new InputError(`${at}: member_id is longer than ${MAX_VALUE_LENGTH} characters`);
    if (type !== 'User' && type !== 'Group') throw new InputError(`${at}: member_type must be User or Group, got ${JSON.stringify(type)}`);
    list.push({ value, type });
    if (list.length > maxMembers) throw new InputError(`${at}: group ${groupId} has more than MAX_MEMBERS (${maxMembers}) members`);
  }
  return [...groups].map(([groupId, list]) => ({ groupId, desired: { members: list } }));
}

// ------------------------------------------------------------------------------- reconcile

export type InputFormat = 'json' | 'csv';

/** The format: as given, else by the file's extension, else by its first character. */
export function detectFormat(path: string, text: string, given: string | undefined): InputFormat {
  if (given === 'json' || given === 'csv') return given;
  if (/\.json$/i.test(path)) return 'json';
  if (/\.csv$/i.test(path)) return 'csv';
  const first = stripBom(text).trimStart()[0];
  return first === '[' || first === '{' ? 'json' : 'csv';
}

/** The groups of a reconcile input file, each group at most once. */
export function parseReconcileFile(name: string, text: string, format: InputFormat, maxMembers: number): GroupInput[] {
  const groups = format === 'json' ? groupsFromJson(name, text, maxMembers) : groupsFromCsv(name, text, maxMembers);
  const seen = new Set<string>();
  for (const [i, group] of groups.entries()) {
    if (seen.has(group.groupId)) throw new InputError(`${name}: group ${group.groupId} is listed twice (again at [${i}]); list each group once with its whole membership`);
    seen.add(group.groupId);
  }
  if (groups.length === 0) throw new InputError(`${name}: no groups`);
  return groups;
}

function stripBom(text: string): string {
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}
