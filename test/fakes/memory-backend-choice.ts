import type { BackendChoiceStore } from '../../src/core/ports.js';
import type { MembershipBackendName } from '../../src/core/outcome.js';

/** The kept backend choice in memory, as the SQLite store keeps it: the first writer wins. Share one between two services to play replicas on one store. */
export class MemoryBackendChoiceStore implements BackendChoiceStore {
  chosen: MembershipBackendName | undefined;
  /** Calls of get() and choose(), in order. */
  readonly calls: string[] = [];

  constructor(chosen?: MembershipBackendName) {
    this.chosen = chosen;
  }

  async get(): Promise<MembershipBackendName | undefined> {
    this.calls.push('get');
    return this.chosen;
  }

  async choose(name: MembershipBackendName): Promise<MembershipBackendName> {
    this.calls.push(`choose ${name}`);
    this.chosen ??= name;
    return this.chosen;
  }
}
