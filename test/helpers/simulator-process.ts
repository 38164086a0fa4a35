/**
 * The stand-alone CXone SCIM simulator (src/simulator/main.ts, as compiled for this test run) as a child process
 * on port 0, for tests where several service processes share one upstream. Its address is
 * read from its startup line; it is killed when the test finishes if it is still running.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { onTestFinished } from 'vitest';
import { entryArgs, ROOT } from './compiled-source.js';

export interface SimulatorProcess {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** A call to the admin API under /_simulator, answered as JSON (undefined for an empty body). */
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  stop(): Promise<void>;
}

export async function startSimulatorProcess(env: Record<string, string> = {}): Promise<SimulatorProcess> {
  const child = spawn(process.execPath, [...entryArgs('simulator/main')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', SIMULATOR_PORT: '0', SIMULATOR_HOST: '127.0.0.1', SIM_SCIM_GROUPS: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the simulator did not start within 20 s; stderr: ${stderr}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`the simulator exited (${code}) before listening; stderr: ${stderr}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const match = /listening on (http:\/\/[^\s]+) /.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
  });
  return {
    url,
    async admin(method, path, body) {
      const res = await fetch(`${url}/_simulator${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
