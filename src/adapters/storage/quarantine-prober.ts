/**
 * The quarantine prober: reads each quarantined group through the membership backend when
 * its probe falls due (QUARANTINE_BACKOFF), on the injected clock (tests never sleep). It
 * sleeps until the next probe is due, at most `pollMs` (a group quarantined by another
 * replica, or by a sync here, is picked up by then). With several replicas on PostgreSQL
 * only the one holding the runner lock probes; the others ask for it again when the next
 * probe falls due (or at the poll), but no sooner than `retryMs`: a probe already due is
 * the holder's to run, and asking again at once would open a PostgreSQL session a
 * millisecond until it has. So a holder that dies is replaced by the time the next probe is
 * due, or `retryMs` after it. The same replica runs the upkeep (held changes that expire:
 * ../../core/held-changes.ts) at the start of every round, so that their events go out
 * within `pollMs` of their time.
 */
import { runDueProbes, type ProbeDeps } from '../../core/quarantine.js';
import type { RunnerLock } from './postgres/runner-lock.js';

export interface ProberLog {
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface QuarantineProberOptions extends ProbeDeps {
  readonly lock: RunnerLock;
  readonly log: ProberLog;
  /** The longest sleep between two looks at the store. Default 30 s. */
  readonly pollMs?: number;
  /** Probes per round. Default 20. */
  readonly batch?: number;
  /** The shortest wait of a replica without the runner lock before it asks again. Default 1 s. */
  readonly retryMs?: number;
  /**
   * Other upkeep of the same replica, run at the start of every round (the expiry of held
   * changes): what it throws is logged, and the probes run all the same.
   */
  readonly upkeep?: () => Promise<unknown>;
}

export interface QuarantineProber {
  /** One round: the probes due now, if this process holds the runner lock. Resolves with how many ran. */
  runOnce(): Promise<number>;
  start(): void;
  /** Stops the loop, waits for a round in progress and gives the lock back. */
  stop(): Promise<void>;
}

export function createQuarantineProber(options: QuarantineProberOptions): QuarantineProber {
  const pollMs = options.pollMs ?? 30_000;
  const batch = options.batch ?? 20;
  const retryMs = Math.min(pollMs, options.retryMs ?? 1_000);
  const controller = new AbortController();
  let loop: Promise<void> | undefined;

  /** How many probes ran; null: another replica holds the runner lock. */
  async function round(): Promise<number | null> {
    if (!(await options.lock.tryHold())) return null;
    if (options.upkeep) {
      try {
        await options.upkeep();
      } catch (error) {
        options.log.error({ err: error }, 'quarantine prober: its upkeep (the expiry of held changes) failed; it runs again at the next round');
      }
    }
    if (options.policy.after <= 0) return 0;
    const ran = await runDueProbes(options, batch, controller.signal);
    if (ran > 0) options.log.info({ probes: ran }, 'quarantine: probed quarantined groups');
    return ran;
  }

  async function sleepMs(): Promise<number> {
    const next = await options.store.nextProbeAt().catch(() => null);
    if (next === null) return pollMs;
    return Math.min(pollMs, Math.max(0, next - options.clock.now()));
  }

  return {
    runOnce: async () => (await round()) ?? 0,
    start() {
      if (loop || (options.policy.after <= 0 && options.upkeep === undefined)) return;
      loop = (async () => {
        while (!controller.signal.aborted) {
          let ran: number | null = 0;
          try {
            ran = await round();
          } catch (error) {
            options.log.error({ err: error }, 'quarantine probes failed; they run again at the next round');
          }
          try {
            // A full batch: more may be due now. Not the holder: the holder runs what is due.
            const floor = ran === null ? retryMs : 1;
            await options.clock.sleep(ran !== null && ran >= batch ? 0 : Math.max(floor, await sleepMs()), controller.signal);
          } catch {
            return;
          }
        }
      })();
    },
    async stop() {
      controller.abort();
      await loop;
      await options.lock.close();
    },
  };
}
