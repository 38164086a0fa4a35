/**
 * Command-line plumbing shared by the subcommands: exit codes, the error that carries one,
 * node:util parseArgs with usage errors worded for people, and where output goes.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Exit codes; 74 and 78 are the service's own (sysexits EX_IOERR, EX_CONFIG). */
export const EXIT = {
  ok: 0,
  /** A sync failed, a group failed, or the audit chain is broken. */
  failed: 1,
  /** Bad options or a bad input file. */
  usage: 2,
  /** reconcile: the mass-removal guard held back at least one group (the summary lists them). */
  guarded: 3,
  storage: 74,
  config: 78,
  /** Stopped by SIGINT / SIGTERM (128 + the signal number). */
  sigint: 130,
  sigterm: 143,
} as const;

/** Ends the command with `message` on stderr and `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/** Where a command writes and what it reads from its surroundings: process.* in production. */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stdin: NodeJS.ReadableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const processIo: Io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** parseArgs, strict, with every option also answering --help; problems become UsageErrors naming the command. */
export function parseOptions<const O extends OptionSpec>(command: string, args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/s, ''), command);
  }
}

/** The value of a required string option, or a usage error naming it. */
export function required(command: string, name: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`, command);
  return value;
}

/** A whole number within bounds, or a usage error naming the option. */
export function integerOption(command: string, name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}; got ${JSON.stringify(value)}`, command);
  }
  return Number(value);
}
