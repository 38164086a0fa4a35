/** Aggregation of a V8 CPU profile (the .cpuprofile JSON of `node --cpu-prof`). Pure. */

export interface CpuProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number; readonly columnNumber: number };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly CpuProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface Entry {
  readonly key: string;
  readonly ms: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  readonly gcMs: number;
  readonly bySelf: Entry[];
  readonly byModule: Entry[];
  /** Inclusive time of functions under src/ (each function counted once per stack). */
  readonly byTotal: Entry[];
}

/** Where a script lives, shortened: `undici/lib/…`, `src/core/plan.js`, `node:internal/…`. */
export function moduleOf(url: string): string {
  if (url === '') return '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    const name = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    return `${name ?? url}`;
  }
  const src = url.lastIndexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url;
}

function frameKey(node: CpuProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName === '' ? '(anonymous)' : functionName;
  return url === '' ? name : `${name} ${moduleOf(url)}:${lineNumber + 1}`;
}

const sorted = (map: Map<string, number>): Entry[] =>
  [...map.entries()].map(([key, ms]) => ({ key, ms })).toSorted((a, b) => b.ms - a.ms || a.key.localeCompare(b.key));

export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  // Self time per node: from samples and timeDeltas when present (exact), else hitCount × mean interval.
  const selfMs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0 && deltas.length === samples.length) {
    // timeDeltas[i] is the time before sample i; attribute it to the sample after it.
    for (let i = 0; i < samples.length; i++) {
      const next = deltas[i + 1] ?? 0;
      selfMs.set(samples[i] as number, (selfMs.get(samples[i] as number) ?? 0) + Math.max(0, next) / 1000);
    }
  } else {
    const hits = profile.nodes.reduce((acc, n) => acc + (n.hitCount ?? 0), 0);
    const interval = hits === 0 ? 0 : (profile.endTime - profile.startTime) / 1000 / hits;
    for (const node of profile.nodes) selfMs.set(node.id, (node.hitCount ?? 0) * interval);
  }

  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  let totalMs = 0;
  let idleMs = 0;
  let gcMs = 0;
  const bySelf = new Map<string, number>();
  const byModule = new Map<string, number>();
  const byTotal = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    if (node === undefined || ms === 0) continue;
    totalMs += ms;
    const name = node.callFrame.functionName;
    if (name === '(idle)') {
      idleMs += ms;
      continue;
    }
    if (name === '(garbage collector)') gcMs += ms;
    const key = frameKey(node);
    bySelf.set(key, (bySelf.get(key) ?? 0) + ms);
    const mod = name.startsWith('(') ? name : moduleOf(node.callFrame.url);
    byModule.set(mod, (byModule.get(mod) ?? 0) + ms);
    // Inclusive time: every distinct src/ frame on this node's stack gets the sample once.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at) as CpuProfileNode;
      if (!moduleOf(frame.callFrame.url).startsWith('src/')) continue;
      const k = frameKey(frame);
      if (seen.has(k)) continue;
      seen.add(k);
      byTotal.set(k, (byTotal.get(k) ?? 0) + ms);
    }
  }
  return { totalMs, idleMs, gcMs, bySelf: sorted(bySelf), byModule: sorted(byModule), byTotal: sorted(byTotal) };
}
