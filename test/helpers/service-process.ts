/**
 * The real service (src/main.ts, as compiled for this test run) as a child process on port 0, for process-level
 * tests: its address is read from the "cxone-scim-sync listening" log line, and it is
 * killed when the test finishes if it is still running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { onTestFinished } from 'vitest';
import { entryArgs, ROOT } from './compiled-source.js';

export interface Service {
  readonly url: string;
  readonly stderr: () => string;
  /** The JSON log lines written so far. */
  readonly logs: () => Record<string, unknown>[];
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
  /** Resolves when a log line matching `predicate` has been written (at once if one was). */
  waitForLog(predicate: (entry: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves with the exit code once the process has exited. */
  exited(): Promise<number | null>;
  readonly child: ChildProcess;
}

export function spawnService(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [...entryArgs('main')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** Starts the service and resolves with its address, read from the "cxone-scim-sync listening" log line. */
export async function startService(env: Record<string, string>): Promise<Service> {
  const child = spawnService(env);
  let stderr = '';
  const logs: Record<string, unknown>[] = [];
  const waiters: { predicate: (entry: Record<string, unknown>) => boolean; resolve: (entry: Record<string, unknown>) => void }[] = [];
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the service did not start within 20 s; stderr: ${stderr}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`the service exited (${code}) before listening; stderr: ${stderr}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; address?: string };
      logs.push(entry);
      for (const waiter of waiters.splice(0)) {
        if (waiter.predicate(entry)) waiter.resolve(entry);
        else waiters.push(waiter);
      }
      if (entry.msg === 'cxone-scim-sync listening' && entry.address) {
        clearTimeout(timer);
        resolve(entry.address);
      }
    });
  });
  return {
    url,
    child,
    stderr: () => stderr,
    logs: () => logs,
    async stop() {
      child.kill('SIGTERM');
      return exit;
    },
    exited: () => exit,
    waitForLog(predicate) {
      const seen = logs.find(predicate);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
  };
}

