/**
 * MEMBERSHIP_BACKEND and the teams settings: which backend syncs memberships, and what the
 * teams backend needs. A bad or missing value stops the start with one line naming it.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('MEMBERSHIP_BACKEND', () => {
  it('when nothing is set, then it is auto, with no fallback team and no moving from other teams', () => {
    const config = loadConfig({});
    expect(config.membershipBackend).toBe('auto');
    expect(config.teamsFallbackTeamId).toBeUndefined();
    expect(config.teamsMoveFromOther).toBe(false);
    expect(config.cxoneAdminApiPath).toBe('/incontactapi/services/v31.0');
  });

  it('when it names a backend, then that one is taken; anything else stops the start naming the variable', () => {
    for (const name of ['auto', 'scim-groups', 'acd-groups'] as const) expect(loadConfig({ MEMBERSHIP_BACKEND: name }).membershipBackend).toBe(name);
    expect(() => loadConfig({ MEMBERSHIP_BACKEND: 'groups' })).toThrow(ConfigError);
    expect(() => loadConfig({ MEMBERSHIP_BACKEND: 'groups' })).toThrow(/^MEMBERSHIP_BACKEND: /);
  });

  it('when MEMBERSHIP_BACKEND=teams without TEAMS_FALLBACK_TEAM_ID, then the start stops with one line naming it', () => {
    expect(() => loadConfig({ MEMBERSHIP_BACKEND: 'teams' })).toThrow(ConfigError);
    expect(() => loadConfig({ MEMBERSHIP_BACKEND: 'teams' })).toThrow(/^TEAMS_FALLBACK_TEAM_ID: required when MEMBERSHIP_BACKEND=teams/);
    const config = loadConfig({ MEMBERSHIP_BACKEND: 'teams', TEAMS_FALLBACK_TEAM_ID: '4711', TEAMS_MOVE_FROM_OTHER: 'true' });
    expect(config).toMatchObject({ membershipBackend: 'teams', teamsFallbackTeamId: 4711, teamsMoveFromOther: true });
  });

  it('when TEAMS_FALLBACK_TEAM_ID or TEAMS_MOVE_FROM_OTHER is malformed, then the start stops naming it', () => {
    expect(() => loadConfig({ TEAMS_FALLBACK_TEAM_ID: 'team-1' })).toThrow(/^TEAMS_FALLBACK_TEAM_ID: /);
    expect(() => loadConfig({ TEAMS_FALLBACK_TEAM_ID: '0' })).toThrow(/^TEAMS_FALLBACK_TEAM_ID: /);
    expect(() => loadConfig({ TEAMS_MOVE_FROM_OTHER: 'maybe' })).toThrow(/^TEAMS_MOVE_FROM_OTHER: /);
  });
});

describe('MEMBERSHIP_BACKEND and the backends the core knows', () => {
  it('when listed, then the setting offers auto and exactly the backends of MEMBERSHIP_BACKENDS', async () => {
    const { MEMBERSHIP_BACKENDS } = await import('../src/core/outcome.js');
    const { describeConfig } = await import('../src/config.js');
    for (const name of MEMBERSHIP_BACKENDS) expect(loadConfig({ MEMBERSHIP_BACKEND: name, TEAMS_FALLBACK_TEAM_ID: '1' }).membershipBackend).toBe(name);
    expect(describeConfig().find((s) => s.env === 'MEMBERSHIP_BACKEND')?.default).toBe('"auto"');
  });
});
