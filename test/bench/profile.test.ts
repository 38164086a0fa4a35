import { describe, expect, it } from 'vitest';
import { moduleOf, summarizeProfile, type CpuProfile } from '../../bench/lib/profile.js';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0 });

// root → main (src/core/plan.js) → parse (node_modules/undici) ; root → (idle) ; root → (garbage collector)
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 4, 5] },
    { id: 2, callFrame: frame('planMembership', 'file:///app/bench/.build/src/core/plan.js', 5), children: [3] },
    { id: 3, callFrame: frame('parse', 'file:///app/node_modules/undici/lib/x.js', 9) },
    { id: 4, callFrame: frame('(idle)') },
    { id: 5, callFrame: frame('(garbage collector)') },
  ],
  startTime: 0,
  endTime: 10_000,
  // each sample's time is the delta before the next one: 2 ms, 3 ms, 4 ms, 1 ms
  samples: [2, 3, 4, 5, 2],
  timeDeltas: [0, 2000, 3000, 4000, 1000],
};

describe('bench CPU profile summary', () => {
  it('when a profile is summarised, then self time, idle, GC and inclusive time of src/ functions come out', () => {
    const summary = summarizeProfile(profile);
    expect(summary.totalMs).toBe(10);
    expect(summary.idleMs).toBe(4);
    expect(summary.gcMs).toBe(1);
    expect(summary.bySelf).toEqual([
      { key: 'parse undici:10', ms: 3 },
      { key: 'planMembership src/core/plan.js:6', ms: 2 },
      { key: '(garbage collector)', ms: 1 },
    ]);
    expect(summary.byModule.map((e) => e.key)).toEqual(['undici', 'src/core/plan.js', '(garbage collector)']);
    expect(summary.byTotal).toEqual([{ key: 'planMembership src/core/plan.js:6', ms: 5 }]);
  });

  it('when a URL is shortened, then packages, src files and node internals are named by module', () => {
    expect(moduleOf('file:///w/node_modules/@fastify/ajv-compiler/index.js')).toBe('@fastify/ajv-compiler');
    expect(moduleOf('file:///w/bench/.build/src/adapters/scim/scim-http.js')).toBe('src/adapters/scim/scim-http.js');
    expect(moduleOf('node:internal/streams/readable')).toBe('node:internal/streams');
    expect(moduleOf('')).toBe('(native)');
  });
});
