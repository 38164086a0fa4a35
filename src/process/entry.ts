/** Whether a module is the program node was started with, so that it can both run as one and be imported (by cli.ts). */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function isEntryModule(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(fileURLToPath(moduleUrl)) === realpathSync(entry);
  } catch {
    return false;
  }
}
