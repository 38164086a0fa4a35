/**
 * `serve --help` shows the membership backend setting and, when it can tell without asking
 * the upstream, the backend the service will use: the one MEMBERSHIP_BACKEND names, or under
 * auto the choice kept in DATA_DIR; before any probe it says what the start will do.
 */
import { describe, expect, it } from 'vitest';
import { backendHelp, serveHelp } from '../../src/cli/commands/serve.js';
import { openSqliteStore } from '../../src/adapters/storage/sqlite-store.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli } from '../helpers/run-cli.js';

describe('serve --help: the membership backend', () => {
  it('when listed, then the settings table has MEMBERSHIP_BACKEND, TEAMS_FALLBACK_TEAM_ID and TEAMS_MOVE_FROM_OTHER', () => {
    const help = serveHelp();
    expect(help).toMatch(/MEMBERSHIP_BACKEND +Where group memberships are written.*\(default "auto"\)/);
    expect(help).toContain('TEAMS_FALLBACK_TEAM_ID');
    expect(help).toContain('TEAMS_MOVE_FROM_OTHER');
  });

  it('when auto and nothing was probed yet in DATA_DIR, then it says none is chosen and what the start will do', async () => {
    const dataDir = tempDir();
    const text = await backendHelp({ DATA_DIR: `${dataDir}/not-created-yet` });
    expect(text).toContain('MEMBERSHIP_BACKEND=auto: none chosen yet (nothing kept in DATA_DIR)');
    expect(text).toContain('probes SCIM GET /Groups: 200 chooses scim-groups, 404 acd-groups');
  });

  it('when auto and an earlier probe kept a choice in DATA_DIR, then it names that backend', async () => {
    const dataDir = tempDir();
    const store = openSqliteStore({ dataDir });
    await store.backendChoice.choose('acd-groups');
    store.close();
    expect(await backendHelp({ DATA_DIR: dataDir })).toContain('MEMBERSHIP_BACKEND=auto: acd-groups, chosen by an earlier probe and kept in DATA_DIR');
  });

  it('when set, then it names that backend; a different kept choice is mentioned', async () => {
    const dataDir = tempDir();
    const store = openSqliteStore({ dataDir });
    await store.backendChoice.choose('acd-groups');
    store.close();
    const text = await backendHelp({ DATA_DIR: dataDir, MEMBERSHIP_BACKEND: 'scim-groups' });
    expect(text).toContain('MEMBERSHIP_BACKEND=scim-groups: scim-groups, as set (no probe)');
    expect(text).toContain('auto chose acd-groups earlier');
  });

  it('when the configuration does not load, then it says why instead of a backend', async () => {
    expect(await backendHelp({ MEMBERSHIP_BACKEND: 'teams' })).toContain('TEAMS_FALLBACK_TEAM_ID: required when MEMBERSHIP_BACKEND=teams');
  });

  it('when run as a command, then the help ends with the backend section and exits 0', async () => {
    const dataDir = tempDir();
    const run = await runCli(['serve', '--help'], { env: { DATA_DIR: dataDir, MEMBERSHIP_BACKEND: 'acd-groups' } });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Membership backend:');
    expect(run.stdout).toContain('MEMBERSHIP_BACKEND=acd-groups: acd-groups, as set (no probe)');
  });
});
