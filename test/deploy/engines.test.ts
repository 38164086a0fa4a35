/**
 * The Node version the README promises is one every installed package accepts: `npm ci`
 * on it prints no EBADENGINE warning. A dependency update that raises a package's floor
 * above it fails here (pin it with package.json "overrides", or replace it).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
// npm's own range logic; fastify depends on it, so it is installed.
const semver = createRequire(join(ROOT, 'package.json'))('semver') as { satisfies(version: string, range: string): boolean; minVersion(range: string): { version: string } | null };

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> };

/** "Node.js 20.19 or newer" in the quick start, as a full version. */
function readmeNode(): string {
  const match = /^Node\.js (\d+)\.(\d+) or newer/m.exec(readme);
  expect(match, 'the README quick start names "Node.js <major>.<minor> or newer"').not.toBeNull();
  return `${match?.[1]}.${match?.[2]}.0`;
}

describe('deploy: Node engines', () => {
  it('when package.json states its engines, then its floor is the Node version the README names', () => {
    expect(manifest.engines.node).toBe('>=20.19');
    expect(semver.minVersion(manifest.engines.node)?.version).toBe(readmeNode());
  });

  it('when every package in package-lock.json is checked, then each engines.node range admits that Node version (npm ci prints no EBADENGINE)', () => {
    const node = readmeNode();
    const refused = Object.entries(lock.packages)
      .filter(([path]) => path !== '')
      .flatMap(([path, entry]) => {
        const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        return range !== undefined && !semver.satisfies(node, range) ? [`${path}@${entry.version} wants node ${range}`] : [];
      });
    expect(refused).toEqual([]);
  });
});
