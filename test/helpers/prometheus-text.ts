/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests: it throws
 * on anything a Prometheus server would reject or misread (bad names, bad escapes,
 * duplicate series, a TYPE after its samples, families split apart, histograms whose
 * buckets are not cumulative or whose +Inf bucket disagrees with _count).
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  type: MetricType;
  help: string | undefined;
  readonly samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly string[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  if (text !== '' && !text.endsWith('\n')) throw new SyntaxError('the exposition must end with a line feed');
  const families = new Map<string, MetricFamily>();
  const finished = new Set<string>();
  const seriesSeen = new Set<string>();
  const typed = new Set<string>();
  let current: string | undefined;

  const familyOf = (name: string, line: number): MetricFamily => {
    if (current !== name) {
      if (current !== undefined) finished.add(current);
      if (finished.has(name)) throw new SyntaxError(`line ${line}: the samples of ${name} are not grouped together`);
      current = name;
    }
    let family = families.get(name);
    if (!family) {
      family = { name, type: 'untyped', help: undefined, samples: [] };
      families.set(name, family);
    }
    return family;
  };

  const lines = text.split('\n').slice(0, -1);
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    if (raw.startsWith('#')) {
      const match = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(raw);
      if (!match) return; // a plain comment
      const [, keyword, name = '', rest = ''] = match;
      if (!METRIC_NAME.test(name)) throw new SyntaxError(`line ${line}: invalid metric name ${JSON.stringify(name)}`);
      const family = familyOf(name, line);
      if (keyword === 'HELP') {
        if (family.help !== undefined) throw new SyntaxError(`line ${line}: a second HELP for ${name}`);
        family.help = unescapeHelp(rest, line);
      } else {
        if (!TYPES.includes(rest)) throw new SyntaxError(`line ${line}: unknown TYPE ${JSON.stringify(rest)}`);
        if (family.samples.length > 0) throw new SyntaxError(`line ${line}: TYPE of ${name} after its samples`);
        if (typed.has(name)) throw new SyntaxError(`line ${line}: a second TYPE for ${name}`);
        typed.add(name);
        family.type = rest as MetricType;
      }
      return;
    }
    const sample = parseSample(raw, line);
    const family = familyOf(familyName(sample.name, families), line);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).toSorted(([a], [b]) => a.localeCompare(b)))}`;
    if (seriesSeen.has(key)) throw new SyntaxError(`line ${line}: duplicate series ${raw}`);
    seriesSeen.add(key);
    family.samples.push(sample);
  });

  for (const family of families.values()) checkFamily(family);
  return families;
}

/** The value of one series, or undefined when it is absent. */
export function sampleValue(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const familyKey = familyName(name, families);
  const match = families.get(familyKey)?.samples.find(
    (s) => s.name === name && Object.keys(s.labels).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return match?.value;
}

/** A histogram's _bucket, _sum and _count samples belong to the family without the suffix. */
function familyName(sampleName: string, families: Map<string, MetricFamily>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sampleName.endsWith(suffix)) continue;
    const base = sampleName.slice(0, -suffix.length);
    const type = families.get(base)?.type;
    if (type === 'histogram' || (type === 'summary' && suffix !== '_bucket')) return base;
  }
  return sampleName;
}

function parseSample(raw: string, line: number): Sample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(raw);
  if (!nameMatch) throw new SyntaxError(`line ${line}: a sample must start with a metric name: ${raw}`);
  const name = nameMatch[0];
  let at = name.length;
  const labels: Record<string, string> = {};
  if (raw[at] === '{') {
    at += 1;
    for (;;) {
      if (raw[at] === '}') {
        at += 1;
        break;
      }
      const labelMatch = /^[^=]*/.exec(raw.slice(at));
      const labelName = labelMatch?.[0] ?? '';
      if (!LABEL_NAME.test(labelName)) throw new SyntaxError(`line ${line}: invalid label name ${JSON.stringify(labelName)}`);
      if (labelName in labels) throw new SyntaxError(`line ${line}: label ${labelName} repeated`);
      at += labelName.length;
      if (raw.slice(at, at + 2) !== '="') throw new SyntaxError(`line ${line}: expected =" after ${labelName}`);
      at += 2;
      let value = '';
      for (;;) {
        const ch = raw[at];
        if (ch === undefined) throw new SyntaxError(`line ${line}: unterminated label value`);
        at += 1;
        if (ch === '"') break;
        if (ch === '\\') {
          const next = raw[at];
          at += 1;
          if (next === '\\') value += '\\';
          else if (next === '"') value += '"';
          else if (next === 'n') value += '\n';
          else throw new SyntaxError(`line ${line}: invalid escape \\${next ?? ''} in a label value`);
        } else value += ch;
      }
      labels[labelName] = value;
      if (raw[at] === ',') at += 1;
      else if (raw[at] !== '}') throw new SyntaxError(`line ${line}: expected , or } after a label`);
    }
  }
  const rest = raw.slice(at);
  const valueMatch = /^[ \t]+(\S+)(?:[ \t]+(-?\d+))?[ \t]*$/.exec(rest);
  if (!valueMatch) throw new SyntaxError(`line ${line}: expected a value after the labels: ${raw}`);
  return { name, labels, value: parseValue(valueMatch[1] ?? '', line) };
}

/** As Prometheus reads it (Go's strconv.ParseFloat): NaN and Inf in any case; prom-client writes "Nan". */
function parseValue(text: string, line: number): number {
  const special = text.toLowerCase();
  if (special === '+inf' || special === 'inf' || special === '+infinity' || special === 'infinity') return Number.POSITIVE_INFINITY;
  if (special === '-inf' || special === '-infinity') return Number.NEGATIVE_INFINITY;
  if (special === 'nan') return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new SyntaxError(`line ${line}: invalid value ${JSON.stringify(text)}`);
  return Number(text);
}

function unescapeHelp(text: string, line: number): string {
  return text.replace(/\\(.?)/g, (_, ch: string) => {
    if (ch === '\\') return '\\';
    if (ch === 'n') return '\n';
    throw new SyntaxError(`line ${line}: invalid escape \\${ch} in HELP`);
  });
}

function checkFamily(family: MetricFamily): void {
  const { name, type, samples } = family;
  for (const sample of samples) {
    if (type === 'counter' && !(sample.value >= 0)) throw new SyntaxError(`${name}: a counter must not be negative`);
    if (type !== 'histogram' && type !== 'summary' && sample.name !== name) throw new SyntaxError(`${sample.name} does not belong to ${name}`);
  }
  if (type !== 'histogram') return;
  const series = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const sample of samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).toSorted(([a], [b]) => a.localeCompare(b)));
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (sample.name === `${name}_bucket`) {
      if (le === undefined) throw new SyntaxError(`${name}_bucket without an le label`);
      entry.buckets.push([parseValue(le, 0), sample.value]);
    } else if (sample.name === `${name}_count`) entry.count = sample.value;
    else if (sample.name === `${name}_sum`) entry.sum = sample.value;
    else throw new SyntaxError(`${sample.name} is not a sample of histogram ${name}`);
  }
  for (const [key, { buckets, count, sum }] of series) {
    if (count === undefined || sum === undefined) throw new SyntaxError(`${name}${key}: histogram without _count or _sum`);
    const sorted = buckets.toSorted((a, b) => a[0] - b[0]);
    if (sorted.at(-1)?.[0] !== Number.POSITIVE_INFINITY) throw new SyntaxError(`${name}${key}: no +Inf bucket`);
    if (sorted.at(-1)?.[1] !== count) throw new SyntaxError(`${name}${key}: the +Inf bucket differs from _count`);
    for (let i = 1; i < sorted.length; i++) {
      if ((sorted[i]?.[1] ?? 0) < (sorted[i - 1]?.[1] ?? 0)) throw new SyntaxError(`${name}${key}: buckets are not cumulative`);
    }
  }
}
