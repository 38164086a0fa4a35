import type { SyncMetrics, SyncObservation } from '../../src/core/ports.js';

/** Keeps every observation, for assertions. */
export class RecordingMetrics implements SyncMetrics {
  readonly observations: SyncObservation[] = [];
  observeSync(observation: SyncObservation): void {
    this.observations.push(observation);
  }
}
