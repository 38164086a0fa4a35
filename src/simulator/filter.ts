/**
 * The filter subset the simulator understands (RFC 7644 §3.4.2.2): `attr eq value` clauses
 * joined by `or`, with case-insensitive attribute names and operators. The same parser
 * reads the value filters of PATCH paths (`members[value eq "…"]`, RFC 7644 §3.5.2).
 * Everything else is refused with 400 invalidFilter rather than misread.
 */
import { ScimError } from './scim-error.js';

export type FilterValue = string | number | boolean | null;

export interface EqClause {
  /** As written (case preserved); callers resolve it against their schema. */
  readonly attr: string;
  readonly value: FilterValue;
}

/** A disjunction of equality clauses. */
export type OrFilter = readonly EqClause[];

export interface AttrPath {
  /** A top-level attribute name as written, or an extension schema URN. */
  readonly attr: string;
  readonly sub: string | null;
}

export const ENTERPRISE_USER_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
/** NICE's user extension (team, loginAuthenticator), as calljacob/nice-cxone-api src/services/userhub/CxoneScimService.ts has it. */
export const NICE_USER_URN = 'urn:ietf:params:scim:schemas:extension:nice:2.0:User';
const EXTENSION_URNS = [ENTERPRISE_USER_URN, NICE_USER_URN];

const NAME = /^[A-Za-z$][\w$-]*$/;
/** An extension's attribute path: `attr` or `attr.sub` (e.g. the NICE extension's `team.value`). */
const EXTENSION_PATH = /^[A-Za-z$][\w$-]*(\.[A-Za-z$][\w$-]*)?$/;
const ATTR_PATH = /^(urn:[\w.:-]+:)?[A-Za-z$][\w$-]*(\.[A-Za-z$][\w$-]*)?$/;
const UNSUPPORTED_OPERATORS = new Set(['ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'pr']);

function invalid(detail: string): ScimError {
  return ScimError.of('invalidFilter', detail);
}

/**
 * Splits `name`, `name.sub`, `urn:…:User:name.sub` or an extension's `urn:…:2.0:User:attr`
 * (RFC 7644 §3.10; for extensions `attr` may be `attr.sub`). Returns null when the text is
 * no attribute path.
 */
export function parseAttrPath(text: string, coreUrn: string): AttrPath | null {
  const lower = text.toLowerCase();
  let rest = text;
  if (lower.startsWith('urn:')) {
    const core = `${coreUrn.toLowerCase()}:`;
    if (!lower.startsWith(core)) {
      for (const urn of EXTENSION_URNS) {
        const prefix = urn.toLowerCase();
        if (lower === prefix) return { attr: urn, sub: null };
        if (lower.startsWith(`${prefix}:`)) {
          const sub = text.slice(prefix.length + 1);
          return EXTENSION_PATH.test(sub) ? { attr: urn, sub } : null;
        }
      }
      return null;
    }
    rest = text.slice(core.length);
  }
  const dot = rest.indexOf('.');
  const attr = dot === -1 ? rest : rest.slice(0, dot);
  const sub = dot === -1 ? null : rest.slice(dot + 1);
  if (!NAME.test(attr) || (sub !== null && !NAME.test(sub))) return null;
  return { attr, sub };
}

export function parseFilter(text: string): OrFilter {
  const clauses: EqClause[] = [];
  let pos = 0;
  const skipSpace = (): boolean => {
    const start = pos;
    while (pos < text.length && (text[pos] === ' ' || text[pos] === '\t')) pos++;
    return pos > start;
  };
  const readWord = (): string => {
    const start = pos;
    while (pos < text.length && !' \t()[]"'.includes(text[pos] as string)) pos++;
    return text.slice(start, pos);
  };

  skipSpace();
  if (pos === text.length) throw invalid('the filter is empty');
  for (;;) {
    if (text[pos] === '(' || text[pos] === '[') throw invalid('grouping is not supported: use attr eq "value" clauses joined by or');
    const attr = readWord();
    if (attr.toLowerCase() === 'not') throw invalid('"not" is not supported');
    if (!ATTR_PATH.test(attr)) {
      throw invalid(`expected an attribute name at position ${pos - attr.length + 1}, found ${JSON.stringify(attr || text.slice(pos, pos + 10))}`);
    }
    if (!skipSpace()) throw invalid(`expected an operator after ${JSON.stringify(attr)}`);
    const operator = readWord().toLowerCase();
    if (operator !== 'eq') {
      throw invalid(UNSUPPORTED_OPERATORS.has(operator) ? `operator "${operator}" is not supported; only eq is` : `unknown operator ${JSON.stringify(operator)}`);
    }
    if (!skipSpace()) throw invalid(`expected a value after ${JSON.stringify(`${attr} eq`)}`);
    clauses.push({ attr, value: readValue() });
    const spaced = skipSpace();
    if (pos === text.length) return clauses;
    const join = readWord().toLowerCase();
    if (join === 'and') throw invalid('"and" is not supported; only "or" joins clauses');
    if (join !== 'or' || !spaced || !skipSpace()) throw invalid(`unexpected ${JSON.stringify(text.slice(pos - join.length, pos + 10) || text[pos])} at position ${pos - join.length + 1}`);
  }

  function readValue(): FilterValue {
    if (text[pos] !== '"') {
      const word = readWord();
      if (word === 'true') return true;
      if (word === 'false') return false;
      if (word === 'null') return null;
      if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(word)) return Number(word);
      throw invalid(`expected a value (a "quoted string", true, false, null or a number), found ${JSON.stringify(word || text.slice(pos, pos + 10))}`);
    }
    const start = pos;
    pos++;
    let out = '';
    for (;;) {
      if (pos >= text.length) throw invalid(`unterminated string starting at position ${start + 1}`);
      const ch = text[pos] as string;
      pos++;
      if (ch === '"') return out;
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const escaped = text[pos];
      pos++;
      switch (escaped) {
        case '"':
        case '\\':
        case '/':
          out += escaped;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = text.slice(pos, pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw invalid(`bad \\u escape at position ${pos - 1}`);
          out += String.fromCharCode(Number.parseInt(hex, 16));
          pos += 4;
          break;
        }
        default:
          throw invalid(`bad escape \\${escaped ?? ''} at position ${pos - 1}`);
      }
    }
  }
}

/** Compares a filter value with an attribute value: strings exactly, or ignoring case when asked. */
export function valueMatches(actual: unknown, expected: FilterValue, ignoreCase: boolean): boolean {
  if (typeof expected === 'string' && typeof actual === 'string') {
    return ignoreCase ? actual.toLowerCase() === expected.toLowerCase() : actual === expected;
  }
  if (expected === null) return actual === null || actual === undefined;
  return actual === expected;
}

/** Whether one element of a multi-valued attribute matches a value filter (`value eq "x" or type eq "work"`). */
export function elementMatches(element: unknown, filter: OrFilter): boolean {
  if (typeof element !== 'object' || element === null) return false;
  const record = element as Record<string, unknown>;
  return filter.some((clause) => {
    const key = Object.keys(record).find((k) => k.toLowerCase() === clause.attr.toLowerCase());
    // `value` identifies the element and is compared exactly; descriptive sub-attributes ignore case.
    return valueMatches(key === undefined ? undefined : record[key], clause.value, clause.attr.toLowerCase() !== 'value');
  });
}
