import { spawnSync } from 'child_process';
import { join } from 'path';
import { REPO_ROOT } from '../../tools/infra/paths';

/**
 * The shipped Prometheus alert rules (deploy/prometheus/ordo-rules.yml) pass their own unit
 * tests under promtool (Debian package `prometheus`, installed by `npm test` as root).
 */
describe('Prometheus alert rules', () => {
  it('pass `promtool test rules`', () => {
    const run = spawnSync('promtool', ['test', 'rules', 'ordo-rules.test.yml'], { cwd: join(REPO_ROOT, 'deploy/prometheus'), encoding: 'utf8' });
    // On a failure, the expectation shows promtool's own account of it.
    expect({ status: run.status, error: run.error?.message, output: run.stdout + run.stderr }).toMatchObject({ status: 0, error: undefined });
  });
});
