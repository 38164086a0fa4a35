/** The CLI (src/cli.ts, as compiled for this test run) as a child process, as a user runs it; resolves when it exits. */
import { spawn, type ChildProcess } from 'node:child_process';
import { onTestFinished } from 'vitest';
import { entryArgs, ROOT } from './compiled-source.js';

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(args: readonly string[], options: { env?: Record<string, string>; stdin?: string } = {}): Promise<CliRun> {
  return startCli(args, options).done;
}

/** The CLI started: its process (to signal it) and its exit. */
export function startCli(args: readonly string[], options: { env?: Record<string, string>; stdin?: string } = {}): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn(process.execPath, [...entryArgs('cli'), ...args], {
    cwd: ROOT,
    // Only what the test gives: no CXONE_BASE_URL or DATA_DIR leaks in from the developer's shell.
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdin.end(options.stdin ?? '');
  const done = new Promise<CliRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}
