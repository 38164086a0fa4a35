/**
 * The configuration table of docs/configuration.md, generated from the one schema
 * (src/config.ts ConfigSchema): every variable with its default as you would write it and
 * its description, in the schema's order, secrets marked. It cannot drift from the code:
 * `npm run docs:config` rewrites the table between its markers, and `npm run
 * docs:config:check` (in CI, .ci/run) fails when the committed table differs.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ConfigSchema } from '../src/config.js';

export const CONFIG_DOC = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
export const TABLE_START = '<!-- config:table:start (generated from src/config.ts by npm run docs:config; edit the schema, not this table) -->';
export const TABLE_END = '<!-- config:table:end -->';

interface Setting {
  readonly env: string;
  readonly kind?: string;
  readonly default?: unknown;
  readonly description?: string;
  readonly secret?: boolean;
}

const UNITS: readonly [string, number][] = [
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** Milliseconds as a duration the configuration reads back to the same value, in hours at most (5000 → 5s, 86400000 → 24h). */
function duration(ms: number): string {
  for (const [unit, size] of UNITS) if (ms > 0 && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** A default as it would be written in the environment; unset (optional without a default, an empty list or map): —. */
function envDefault(setting: Setting): string {
  const value = setting.default;
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return '—';
  if (setting.kind === 'durations' && Array.isArray(value)) return `\`${value.map((ms) => duration(ms as number)).join(',')}\``;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length === 0 ? '—' : `\`${JSON.stringify(value)}\``;
  return `\`${String(value)}\``;
}

/** Markdown table cells: a pipe would end the cell. */
const cell = (text: string) => text.replaceAll('|', '\\|');

export function configTable(): string {
  const settings = Object.values(ConfigSchema.properties) as unknown as Setting[];
  const rows = settings.map((s) => `| \`${s.env}\` | ${envDefault(s)} | ${cell(s.description ?? '')}${s.secret ? ' **Secret**: never logged or answered.' : ''} |`);
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** The page with its table replaced by the one the schema generates. */
export function withGeneratedTable(page: string): string {
  const start = page.indexOf(TABLE_START);
  const end = page.indexOf(TABLE_END);
  if (start === -1 || end === -1 || end < start) throw new Error(`docs/configuration.md has no table markers (${TABLE_START} … ${TABLE_END})`);
  return `${page.slice(0, start)}${TABLE_START}\n${configTable()}\n${page.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const page = await readFile(CONFIG_DOC, 'utf8');
  const generated = withGeneratedTable(page);
  if (process.argv.includes('--check')) {
    if (generated !== page) {
      process.stderr.write('docs:config: the table in docs/configuration.md differs from what src/config.ts generates.\nRun `npm run docs:config` and commit the result.\n');
      process.exit(1);
    }
    process.stdout.write('docs:config: docs/configuration.md matches src/config.ts\n');
  } else {
    await writeFile(CONFIG_DOC, generated);
    process.stdout.write('docs:config: wrote the table of docs/configuration.md\n');
  }
}
