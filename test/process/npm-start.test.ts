/**
 * Process-level: `npm start` as an operator (or a process manager) runs it. A signal sent
 * to npm must reach the server itself, so that stopping npm stops the service; a server
 * left running would keep the port and DATA_DIR.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, expect, it, onTestFinished } from 'vitest';
import { tempDir } from '../helpers/temp-dir.js';

const ROOT = new URL('../../', import.meta.url).pathname;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every process below `pid` (Linux /proc): npm's script shell and the server. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (parent: number) => {
    for (const [child, ppid] of parents) {
      if (ppid !== parent) continue;
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

describe('npm start', () => {
  it('when npm is sent SIGTERM, then the server receives it, stops gracefully and nothing is left running', { timeout: 120_000 }, async () => {
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', DATA_DIR: tempDir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let started: number[] = [];
    onTestFinished(() => {
      if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
      for (const pid of started) if (alive(pid)) process.kill(pid, 'SIGKILL');
    });
    let stderr = '';
    npm.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = once(npm, 'exit');
    const closed = once(npm, 'close');
    const lines: Record<string, unknown>[] = [];
    const address = await new Promise<string>((resolve, reject) => {
      npm.once('exit', (code) => reject(new Error(`npm start exited (${code}) before listening: ${stderr}`)));
      createInterface({ input: npm.stdout }).on('line', (line) => {
        if (!line.startsWith('{')) return;
        const entry = JSON.parse(line) as { msg?: string; address?: string };
        lines.push(entry);
        if (entry.msg === 'cxone-scim-sync listening') resolve(entry.address as string);
      });
    });
    started = descendants(npm.pid as number);
    expect(started.length).toBeGreaterThan(0);
    expect((await fetch(`${address}/healthz`)).status).toBe(200);

    npm.kill('SIGTERM');
    await exited;
    // npm waits for its script's process: once npm is gone, so is the server, unless it was orphaned.
    expect(started.filter(alive)).toEqual([]);
    await expect(fetch(`${address}/healthz`)).rejects.toThrow('fetch failed');
    await closed; // every line the server wrote has been read
    expect(lines.some((l) => l.msg === 'shutting down: no new requests, in-flight syncs may finish' && l.signal === 'SIGTERM')).toBe(true);
  });
});
