/**
 * Input files of `sync` and `reconcile`, checked as strictly as the API checks a request
 * body (src/http/schemas/sync.ts) and reported with the line or JSON path of the problem:
 *
 * - sync --members: the body of POST /groups/{groupId}/sync (`{ "displayName"?, "members": [...] }`)
 *   or a bare array of members.
 * - reconcile --file, JSON: `[{ "groupId", "displayName"?, "members": [...] }]` or `{ "groups": [...] }`.
 *
 * In JSON, a body is read exactly as the route reads it: canonicalSyncBody first (attribute
 * names are case-insensitive, an unknown attribute or one in two cases is refused, `$ref` and
 * a SCIM Group's schemas, id, externalId and meta are ignored), then the route's own schema
 * (syncBodySchema: types, lengths, the allowed member types, MAX_MEMBERS), whose first
 * problem is put in words here. A group id is checked against the route's GroupIdParams.
 * - reconcile --file, CSV (RFC 4180): a header `group_id,member_id[,member_type]`, then one
 *   row per membership; member_type defaults to User; a row with an empty member_id names
 *   a group without adding a member (so a group can be emptied).
 */
import { readFile } from 'node:fs/promises';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import type { DesiredMembership, MemberRef, MemberType } from '../core/membership.js';
import { canonicalSyncBody, GroupIdParams, syncBodySchema } from '../http/schemas/sync.js';

export interface GroupInput {
  readonly groupId: string;
  readonly desired: DesiredMembership;
}

/** An input file that cannot be used; the message names the file and the line or field. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** The route's schemas, as far as a message needs to name their limits. */
interface SchemaNode {
  readonly type?: string;
  readonly enum?: readonly unknown[];
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly properties?: Record<string, SchemaNode>;
  readonly items?: SchemaNode;
}

const GROUP_ID_SCHEMA = GroupIdParams.properties.groupId as unknown as SchemaNode & TSchema;
/** A member as the route's body schema has it (the limits do not depend on MAX_MEMBERS). */
const MEMBER_SCHEMA = (syncBodySchema(1) as unknown as SchemaNode).properties?.members?.items as SchemaNode;
const MEMBER_VALUE_MAX = MEMBER_SCHEMA.properties?.value?.maxLength as number;
const MEMBER_TYPES = MEMBER_SCHEMA.properties?.type?.enum as readonly MemberType[];

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
  const { minLength = 0, maxLength = Infinity } = GROUP_ID_SCHEMA;
  if (id.length < minLength || id.length > maxLength) return `must be ${minLength} to ${maxLength} characters`;
  if (!Value.Check(GROUP_ID_SCHEMA, id)) return `${JSON.stringify(id)} is not a valid group id (no "/", no control characters, not "." or "..")`;
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

type Path = readonly (string | number)[];

/** `.members[0].type`: a path within a body, as the messages write it. */
function render(path: Path): string {
  return path.map((step) => (typeof step === 'number' ? `[${step}]` : `.${step}`)).join('');
}

/**
 * A sync body as the route reads it (canonicalSyncBody, then syncBodySchema), or the
 * first problem, where `place` puts it in the file: `place(path)` is the text before
 * the message, given the path of the problem within the body.
 */
function readBody(body: unknown, maxMembers: number, place: (path: Path) => string): DesiredMembership {
  const canonical = canonicalSyncBody(body, maxMembers);
  if (!canonical.ok) throw new InputError(`${place(canonical.problem.at)}: ${canonical.problem.message}`);
  const problem = schemaProblem(canonical.body, maxMembers);
  if (problem) throw new InputError(`${place(problem.at)}: ${problem.message}`);
  const { displayName, members } = canonical.body as DesiredMembership;
  return displayName === undefined ? { members } : { displayName, members };
}

const schemas = new Map<number, TSchema>();

/** The first problem the route's body schema finds (too many members first, as the route answers 413 for them), in words. */
function schemaProblem(body: unknown, maxMembers: number): { at: Path; message: string } | undefined {
  let schema = schemas.get(maxMembers);
  if (!schema) schemas.set(maxMembers, (schema = syncBodySchema(maxMembers)));
  const errors = [...Value.Errors(schema, body)];
  const first = errors.find((e) => e.keyword === 'maxItems' && e.instancePath === '/members') ?? errors[0];
  if (!first) return undefined;
  const at: (string | number)[] = first.instancePath === '' ? [] : first.instancePath.slice(1).split('/').map((step) => (/^\d+$/.test(step) ? Number(step) : step.replaceAll('~1', '/').replaceAll('~0', '~')));
  if (first.keyword === 'required') at.push(...((first.params as { requiredProperties?: string[] }).requiredProperties ?? []).slice(0, 1));
  let node = schema as unknown as SchemaNode;
  let value: unknown = body;
  for (const step of at) {
    node = (typeof step === 'number' ? node.items : node.properties?.[step]) ?? {};
    value = (value as Record<string | number, unknown> | undefined)?.[step];
  }
  const got = `got ${describe(value)}`;
  if (first.keyword === 'maxItems') return { at, message: `${(value as unknown[]).length} members, more than MAX_MEMBERS (${maxMembers})` };
  if (node.type === 'array') return { at, message: `must be an array of members, ${got}` };
  if (node.type === 'object') return { at, message: `must be an object like {"value": "…", "type": "User"}, ${got}` };
  if (node.enum) return { at, message: `must be one of ${node.enum.map((v) => JSON.stringify(v)).join(', ')}, ${got}` };
  if (node.type === 'string') {
    const length = node.minLength ? `${node.minLength} to ${node.maxLength}` : `at most ${node.maxLength}`;
    return { at, message: `must be a string of ${length} characters, ${got}` };
  }
  return { at, message: `${first.message}, ${got}` };
}

/** sync --members: the sync request body, or a bare array of members. */
export function parseMembersFile(name: string, text: string, maxMembers: number): DesiredMembership {
  const parsed = parseJson(name, text);
  if (Array.isArray(parsed)) {
    // The members of a bare array are placed by their index alone: m.json[0].type.
    return readBody({ members: parsed }, maxMembers, (path) => (path.length <= 1 ? name : `${name}${render(path.slice(1))}`));
  }
  if (!isObject(parsed)) throw new InputError(`${name}: expected {"members": [...]} or an array of members, got ${describe(parsed)}`);
  return readBody(parsed, maxMembers, (path) => (path.length === 0 || typeof path[0] === 'number' ? `${name}${render(path)}` : `${name}: ${render(path).slice(1)}`));
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
    return { groupId: groupId as string, desired: readBody(body, maxMembers, (path) => `${at}${render(path)}`) };
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
    if (value.length > MEMBER_VALUE_MAX) throw new InputError(`${at}: member_id is longer than ${MEMBER_VALUE_MAX} characters`);
    if (!(MEMBER_TYPES as readonly string[]).includes(type)) throw new InputError(`${at}: member_type must be ${MEMBER_TYPES.join(' or ')}, got ${JSON.stringify(type)}`);
    list.push({ value, type: type as MemberType });
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
