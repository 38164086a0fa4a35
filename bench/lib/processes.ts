/**
 * Child processes of the benchmark (the simulator and the service) and what /proc says
 * about them. Every process started here is tracked, and `stopAll()` ends exactly those,
 * by pid: run.ts calls it in `finally` and on SIGINT/SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { parseProcStat, parseProcStatus, parseSystemStat, type ProcMemory, type SystemCpu } from './stats.js';

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** The last 64 KiB of stdout and stderr, for error messages. */
  output(): string;
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<string>;
}

const running = new Set<Child>();
const TAIL_BYTES = 64 * 1024;

/** A port that was free a moment ago on 127.0.0.1 (the service takes PORT, not port 0 plus a log line). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

export interface StartOptions {
  readonly name: string;
  /** Arguments to `node` (the current executable). */
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** Ready once stdout has a line matching this; the match is returned. */
  readonly readyLine?: RegExp;
  /** Ready once GET of this URL answers 200. */
  readonly readyUrl?: string;
  readonly timeoutMs?: number;
}

export async function startNode(options: StartOptions): Promise<{ child: Child; match: RegExpMatchArray | null }> {
  const proc = spawn(process.execPath, options.args, {
    cwd: options.cwd,
    // Only what the process needs plus PATH/HOME: no stray NODE_OPTIONS from the caller's shell.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`${options.name}: spawn failed`);
  let tail = '';
  const append = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
  };
  proc.stdout?.on('data', append);
  proc.stderr?.on('data', append);
  const exited = new Promise<string>((resolve) => proc.once('exit', (code, signal) => resolve(signal ?? String(code))));
  const child: Child = { name: options.name, process: proc, pid: proc.pid, output: () => tail, exited };
  running.add(child);
  void exited.then(() => running.delete(child));

  const timeoutMs = options.timeoutMs ?? 30_000;
  let match: RegExpMatchArray | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${options.name} did not become ready within ${timeoutMs} ms:\n${tail}`)), timeoutMs);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${options.name} exited (${code}) before it was ready:\n${tail}`));
      });
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      if (options.readyLine) {
        const pattern = options.readyLine;
        let buffered = '';
        const onData = (chunk: Buffer): void => {
          buffered += chunk.toString('utf8');
          const found = pattern.exec(buffered);
          if (found) {
            match = found;
            proc.stdout?.off('data', onData);
            done();
          }
        };
        proc.stdout?.on('data', onData);
      } else if (options.readyUrl) {
        const url = options.readyUrl;
        const poll = async (): Promise<void> => {
          for (let i = 0; i < Math.ceil(timeoutMs / 50); i++) {
            if (proc.exitCode !== null) return;
            try {
              const response = await fetch(url);
              await response.arrayBuffer();
              if (response.status === 200) return done();
            } catch {
              // not listening yet
            }
            await new Promise((r) => setTimeout(r, 50));
          }
        };
        void poll();
      } else {
        done();
      }
    });
  } catch (error) {
    await stop(child);
    throw error;
  }
  return { child, match };
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process has exited. */
/** The upstream a benchmarked service signs in to (the simulator, as a CXone tenant). */
export interface BenchUpstream {
  readonly url: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface BenchServiceOptions {
  readonly name: string;
  readonly cwd: string;
  /** Arguments to `node`: the entry point, and any flags before it. */
  readonly args: readonly string[];
  readonly upstream: BenchUpstream;
  /** On top of the common settings (WRITE_MODE, MEMBERSHIP_BACKEND, DATA_DIR, STORE, …). */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

/**
 * The service as every benchmark runs it: production mode on 127.0.0.1 and a free port,
 * signed in to `upstream`, one sync token made for the run, and no per-token inbound limit
 * (a benchmark is one caller sending far more than an identity provider would: the limit,
 * 600 a minute by default, would only measure itself). Ready when /healthz answers.
 */
export async function startBenchService(options: BenchServiceOptions): Promise<{ child: Child; baseUrl: string; token: string }> {
  const port = await freePort();
  const token = randomBytes(18).toString('hex');
  const { child } = await startNode({
    name: options.name,
    cwd: options.cwd,
    args: options.args,
    env: {
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      CXONE_BASE_URL: options.upstream.url,
      CXONE_CLIENT_ID: options.upstream.clientId,
      CXONE_CLIENT_SECRET: options.upstream.clientSecret,
      SYNC_API_TOKENS: `bench:${token}`,
      INBOUND_RATE_LIMIT: '0',
      ...options.env,
    },
    readyUrl: `http://127.0.0.1:${port}/healthz`,
    timeoutMs: options.timeoutMs,
  });
  return { child, baseUrl: `http://127.0.0.1:${port}`, token };
}

export async function stop(child: Child, graceMs = 5_000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => stop(child)));
}

/** Synchronous last resort (process 'exit'): SIGKILL whatever is still running. */
export function killAllNow(): void {
  for (const child of running) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  }
}

let clockTicks: number | undefined;

/** getconf CLK_TCK (100 on practically every Linux). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU time and memory of one process, from /proc. */
export class ProcMonitor {
  constructor(readonly pid: number) {}

  /** utime + stime so far, in milliseconds. */
  cpuMs(): number {
    return this.cpu().totalMs;
  }

  /**
   * CPU time so far in milliseconds: all threads (user, system = kernel, total), and the
   * main thread alone (/proc/<pid>/task/<pid>/stat), where JavaScript runs; the rest is
   * V8's GC and compiler threads and libuv's pool.
   */
  cpu(): { userMs: number; systemMs: number; totalMs: number; mainThreadMs: number } {
    const stat = parseProcStat(readFileSync(`/proc/${this.pid}/stat`, 'utf8'));
    const main = parseProcStat(readFileSync(`/proc/${this.pid}/task/${this.pid}/stat`, 'utf8'));
    const tick = 1000 / clockTicksPerSecond();
    return { userMs: stat.utimeTicks * tick, systemMs: stat.stimeTicks * tick, totalMs: stat.ticks * tick, mainThreadMs: main.ticks * tick };
  }

  memory(): ProcMemory {
    return parseProcStatus(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
  }

  /**
   * Resets VmHWM to the current RSS (proc(5), clear_refs value 5, Linux ≥ 4.0), so that a
   * scenario's peak is its own. false where the kernel or the container refuses.
   */
  resetPeak(): boolean {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      const { vmHwmKb, vmRssKb } = this.memory();
      return vmHwmKb <= vmRssKb * 1.05 + 1024;
    } catch {
      return false;
    }
  }
}

export function systemCpu(): SystemCpu {
  return parseSystemStat(readFileSync('/proc/stat', 'utf8'));
}
