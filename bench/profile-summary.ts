/**
 * Summarises a V8 .cpuprofile (node --cpu-prof; `npm run bench -- --profile service`):
 * self time by function and by module, and total (inclusive) time of the project's own
 * functions, so that a missed target can be traced to where the time goes.
 *
 *   npx tsx bench/profile-summary.ts bench/results/profiles/service-put-1000.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import { summarizeProfile, type CpuProfile } from './lib/profile.js';

const args = process.argv.slice(2);
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
const files = args.filter((arg, i) => !arg.startsWith('--') && (topIndex < 0 || i !== topIndex + 1));
if (files.length === 0) {
  process.stderr.write('usage: npx tsx bench/profile-summary.ts <file.cpuprofile>… [--top N]\n');
  process.exit(2);
}

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const summary = summarizeProfile(profile);
  const pct = (ms: number) => `${((ms / summary.totalMs) * 100).toFixed(1).padStart(5)}%`;
  const line = (ms: number, label: string) => `${ms.toFixed(0).padStart(8)} ms ${pct(ms)}  ${label}`;
  const out: string[] = [`${file}: ${summary.totalMs.toFixed(0)} ms sampled (${summary.idleMs.toFixed(0)} ms idle, ${summary.gcMs.toFixed(0)} ms GC)`];
  out.push('', 'self time by module:', ...summary.byModule.slice(0, top).map((e) => line(e.ms, e.key)));
  out.push('', 'self time by function:', ...summary.bySelf.slice(0, top).map((e) => line(e.ms, e.key)));
  out.push('', 'total time of project functions (src/, inclusive):', ...summary.byTotal.slice(0, top).map((e) => line(e.ms, e.key)));
  process.stdout.write(`${out.join('\n')}\n\n`);
}
