/**
 * SIGINT and SIGTERM while a command syncs: the first aborts the work in flight (each
 * sync is then audited as it ended) and lets the command finish its report; a second
 * one exits at once. In a container the CLI may be PID 1, which gets no default handlers.
 */
import { SyncError } from '../core/errors.js';
import { EXIT } from './args.js';

/** Why a sync was cut off: audited as `interrupted`, like a sync the service cuts off at shutdown. */
export class CommandInterruptedError extends SyncError {
  readonly code = 'interrupted';
  constructor(signal: NodeJS.Signals) {
    super(`${signal} stopped the command and cut this sync off; it may be partly applied upstream: run it again`);
  }
}

export interface Interrupt {
  readonly signal: AbortSignal;
  /** The exit code owed to the signal that stopped the run, if one did. */
  exitCode(): number | undefined;
  dispose(): void;
}

export function onInterrupt(warn: (line: string) => void): Interrupt {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (received !== undefined) process.exit(signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
    received = signal;
    warn(`${signal}: stopping; syncs in flight are cut off and recorded, the rest are skipped (again to quit at once)`);
    controller.abort(new CommandInterruptedError(signal));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    exitCode: () => (received === undefined ? undefined : received === 'SIGINT' ? EXIT.sigint : EXIT.sigterm),
    dispose() {
      process.removeListener('SIGINT', handler);
      process.removeListener('SIGTERM', handler);
    },
  };
}
