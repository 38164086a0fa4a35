/**
 * Progress of a reconcile run on stderr: a bar redrawn in place on a terminal, one plain
 * line per finished group otherwise (CI logs, pipes), so stdout keeps only the summary.
 */
import { reason, type GroupOutcome } from './outcome.js';

export interface Progress {
  finished(outcome: GroupOutcome): void;
  /** The last word: leaves the bar (if any) complete on its own line. */
  done(): void;
}

export interface ProgressOptions {
  readonly total: number;
  /** Milliseconds, monotonic. */
  readonly now?: () => number;
}

type Stream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export function createProgress(stream: Stream, options: ProgressOptions): Progress {
  return stream.isTTY === true ? barProgress(stream, options) : lineProgress(stream, options);
}

function lineProgress(stream: Stream, { total }: ProgressOptions): Progress {
  let count = 0;
  const width = String(total).length;
  return {
    finished(outcome) {
      count++;
      const detail =
        outcome.error !== undefined
          ? reason(outcome.error)
          : outcome.status === 'skipped'
            ? 'not started'
            : `+${outcome.added} -${outcome.removed}, ${outcome.memberCount} member${outcome.memberCount === 1 ? '' : 's'}, ${outcome.latencyMs} ms`;
      stream.write(`[${String(count).padStart(width)}/${total}] ${outcome.status.padEnd(9)} ${outcome.groupId}  ${detail}\n`);
    },
    done() {},
  };
}

const BAR_WIDTH = 30;

function barProgress(stream: Stream, { total, now = () => performance.now() }: ProgressOptions): Progress {
  const started = now();
  const counts = new Map<string, number>();
  let count = 0;
  const render = () => {
    const filled = total === 0 ? BAR_WIDTH : Math.round((count / total) * BAR_WIDTH);
    const tally = [...counts].map(([status, n]) => `${status} ${n}`).join('  ');
    const seconds = ((now() - started) / 1000).toFixed(1);
    const line = `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${count}/${total}  ${tally}  ${seconds} s`;
    const columns = stream.columns !== undefined && stream.columns >= 40 ? stream.columns : 120;
    stream.write(`\r\u001b[2K${line.length > columns - 1 ? line.slice(0, columns - 1) : line}`);
  };
  const timer = setInterval(render, 250);
  timer.unref();
  render();
  return {
    finished(outcome) {
      count++;
      counts.set(outcome.status, (counts.get(outcome.status) ?? 0) + 1);
      // Failures scroll up above the bar, so they can be read while the run goes on.
      if (outcome.error !== undefined) stream.write(`\r\u001b[2K✗ ${outcome.groupId}  ${reason(outcome.error)}\n`);
      render();
    },
    done() {
      clearInterval(timer);
      render();
      stream.write('\n');
    },
  };
}
