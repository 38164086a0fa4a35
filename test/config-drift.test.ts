/** The drift settings (docs/consistency.md "Drift"): durations as WEBHOOK_RETRY_SCHEDULE writes them, a request budget, healing on or off. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const base = { SYNC_API_TOKENS: 'okta:okta-token-1234567' };

function failure(env: Record<string, string>): string {
  let caught: unknown;
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  return (caught as Error).message;
}

describe('drift settings', () => {
  it('when nothing is set, then every 15 minutes the groups synced in the last 7 days are read at 1 request a second, without healing', () => {
    const config = loadConfig(base);
    expect([config.driftInterval, config.driftWindow, config.driftMaxRps, config.driftHeal]).toEqual([900_000, 604_800_000, 1, 'off']);
  });

  it('when they are set with units, then they become milliseconds', () => {
    const config = loadConfig({ ...base, DRIFT_INTERVAL: '5m', DRIFT_WINDOW: '2d', DRIFT_MAX_RPS: '0.5', DRIFT_HEAL: 'on' });
    expect([config.driftInterval, config.driftWindow, config.driftMaxRps, config.driftHeal]).toEqual([300_000, 172_800_000, 0.5, 'on']);
  });

  it.each([
    [{ DRIFT_INTERVAL: '15' }, /^DRIFT_INTERVAL: is not a duration like 500ms, 5s, 5m, 2h or 1d; got "15"$/],
    [{ DRIFT_INTERVAL: '5m,10m' }, /^DRIFT_INTERVAL: is not a duration/],
    [{ DRIFT_INTERVAL: '10ms' }, /^DRIFT_INTERVAL: must be >= 1000/],
    [{ DRIFT_WINDOW: 'forever' }, /^DRIFT_WINDOW: is not a duration/],
    [{ DRIFT_MAX_RPS: '-1' }, /^DRIFT_MAX_RPS: must be >= 0/],
    [{ DRIFT_HEAL: 'yes' }, /^DRIFT_HEAL: /],
  ])('when %o, then the start stops with one line naming the variable', (env, message) => {
    expect(failure(env)).toMatch(message);
  });
});
