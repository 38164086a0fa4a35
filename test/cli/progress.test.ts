/** reconcile's progress: a bar redrawn in place on a terminal, plain lines elsewhere. */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { GroupOutcome } from '../../src/cli/outcome.js';
import { createProgress } from '../../src/cli/progress.js';

function stream(isTTY: boolean): Writable & { isTTY: boolean; columns: number; text: () => string } {
  let text = '';
  const s = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return Object.assign(s, { isTTY, columns: 100, text: () => text });
}

const applied: GroupOutcome = { groupId: 'g1', status: 'applied', syncId: 's1', added: 2, removed: 1, memberCount: 5, upstreamRequests: 3, latencyMs: 40 };
const failed: GroupOutcome = { groupId: 'g2', status: 'failed', added: 0, removed: 0, memberCount: 1, upstreamRequests: 1, latencyMs: 9, error: { code: 'group_not_found', message: 'group "g2" does not exist upstream' } };

describe('reconcile progress', () => {
  it('when stderr is not a terminal, then one plain line per finished group, no control characters', () => {
    const out = stream(false);
    const progress = createProgress(out, { total: 2 });
    progress.finished(applied);
    progress.finished(failed);
    progress.done();
    expect(out.text()).toBe('[1/2] applied   g1  +2 -1, 5 members, 40 ms\n[2/2] failed    g2  group_not_found: group "g2" does not exist upstream\n');
  });

  it('when stderr is a terminal, then a bar is redrawn in place, failures scroll above it, and it ends complete on its own line', () => {
    const out = stream(true);
    let now = 0;
    const progress = createProgress(out, { total: 2, now: () => now });
    progress.finished(applied);
    now = 1500;
    progress.finished(failed);
    progress.done();
    const text = out.text();
    expect(text.startsWith('\r\u001b[2K[░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░] 0/2')).toBe(true);
    expect(text).toContain('\r\u001b[2K✗ g2  group_not_found: group "g2" does not exist upstream\n');
    expect(text.endsWith('\r\u001b[2K[██████████████████████████████] 2/2  applied 1  failed 1  1.5 s\n')).toBe(true);
  });
});
