/**
 * V8's heap growth, set once at start. By default V8 lets the old generation grow to up
 * to 4x what survived the last full collection before it collects again: with the
 * ~70 MB a 100,000-member sync keeps alive while it runs, the process then passes 400 MB
 * although it never needs more than ~150 MB of heap. A factor of 1.5 keeps a
 * 100,000-member sync near 210-260 MB (2: 255-280 MB) for a few more incremental
 * collections, which cost little now that a repeated read of a large group is a 304.
 * An operator's own --heap-growing-percent (node flag or NODE_OPTIONS) is left alone.
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;

const OWN_SETTING = /^--heap[-_]growing[-_]percent(?:=|$)/;

/** The percentage to set, or null when the process was started with its own. */
export function heapGrowingPercent(execArgv: readonly string[], nodeOptions: string | undefined): number | null {
  const flags = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)];
  return flags.some((flag) => OWN_SETTING.test(flag)) ? null : HEAP_GROWING_PERCENT;
}

/** Applies heapGrowingPercent to this process; returns what it set (null: left as started). */
export function tuneHeapGrowth(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS): number | null {
  const percent = heapGrowingPercent(execArgv, nodeOptions);
  if (percent !== null) setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
