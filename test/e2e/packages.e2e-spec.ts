import { ChildProcess, spawn } from 'child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { healthy } from '../../tools/launcher/apps';
import { REPO_ROOT } from '../../tools/infra/paths';
import { run, RunResult, waitFor } from '../../tools/infra/proc';
import { TEST_KEYS } from '../support/auth';
import { freePort, RunningApp, startApp, stopAllApps } from '../support/processes';
import { testEnv } from '../support/test-env';

/**
 * What a team gets from `npm install`: the three packages are packed from this repository,
 * installed with their public dependencies into a project outside it (examples/nest-participant
 * copied to a temporary folder), and that project's NestJS participant, its script using
 * @ordo/client and the `ordo` CLI run sagas against the real coordinator, PostgreSQL and Kafka.
 */
jest.setTimeout(600_000);

const PACKAGES = ['protocol', 'participant', 'client'] as const;

interface Packed {
  name: string;
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

describe('the published packages, used from a project outside the repository', () => {
  let workdir: string;
  let project: string;
  let packed: Packed[];
  let coordinator: RunningApp;
  let participant: ChildProcess | undefined;
  let participantOutput = '';

  const inProject = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> =>
    run(cmd, args, { cwd: project, env: { ...process.env, ...env } });
  const ordo = (...args: string[]) =>
    inProject(join(project, 'node_modules/.bin/ordo'), ['--url', coordinator.url, ...args], { ORDO_API_KEY: TEST_KEYS.admin });
  const expectExit = (result: RunResult, code: number) => {
    if (result.code !== code) throw new Error(`exit ${result.code}, expected ${code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  };

  beforeAll(async () => {
    workdir = mkdtempSync(join(tmpdir(), 'ordo-packages-'));
    const pack = await run('npm', ['pack', ...PACKAGES.map((p) => `--workspace=libs/${p}`), '--pack-destination', workdir, '--json', '--silent'], {
      cwd: REPO_ROOT,
    });
    if (pack.code !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
    packed = JSON.parse(pack.stdout) as Packed[];
    for (const p of packed)
      console.log(
        `${p.filename}: ${(p.size / 1024).toFixed(1)} kB packed, ${(p.unpackedSize / 1024).toFixed(1)} kB unpacked, ${p.files.length} files`,
      );

    project = join(workdir, 'shipping');
    cpSync(join(REPO_ROOT, 'examples/nest-participant'), project, { recursive: true, filter: (src) => !/\/(node_modules|dist)$/.test(src) });
    // The tarballs stand in for the registry: the same names, resolved to the files just packed.
    const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
    const local = Object.fromEntries(packed.map((p) => [p.name, `file:../${p.filename}`]));
    Object.assign(manifest.dependencies, local);
    manifest.overrides = local;
    writeFileSync(join(project, 'package.json'), JSON.stringify(manifest, null, 2));
    const install = await inProject('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error']);
    if (install.code !== 0) throw new Error(`npm install failed: ${install.stderr}`);
    const build = await inProject('npm', ['run', 'build']);
    if (build.code !== 0) throw new Error(`the project does not build against the packages:\n${build.stdout}${build.stderr}`);

    coordinator = await startApp('coordinator');
    const { databaseUrl, kafkaBrokers, topicPrefix } = testEnv();
    const port = await freePort();
    participant = spawn(process.execPath, ['dist/src/main.js'], {
      cwd: project,
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: databaseUrl,
        KAFKA_BROKERS: kafkaBrokers,
        KAFKA_TOPIC_PREFIX: topicPrefix,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    participant.stdout!.on('data', (d) => (participantOutput += d));
    participant.stderr!.on('data', (d) => (participantOutput += d));
    await waitFor(
      'the shipping participant',
      async () => ((await healthy(port)) ? true : undefined),
      60_000,
      () => (participant!.exitCode !== null ? `exited with code ${participant!.exitCode}:\n${participantOutput}` : undefined),
    );
  });

  afterAll(async () => {
    if (participant && participant.exitCode === null) {
      const exited = new Promise((resolve) => participant!.once('exit', resolve));
      participant.kill('SIGTERM');
      await exited;
    }
    await stopAllApps();
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });

  it('packs built JavaScript and declarations only, each package without the others', () => {
    expect(packed.map((p) => p.name).sort()).toEqual(['@ordo/client', '@ordo/participant', '@ordo/protocol']);
    for (const p of packed) {
      const paths = p.files.map((f) => f.path);
      expect(paths).toEqual(expect.arrayContaining(['package.json', 'README.md']));
      expect(paths.filter((path) => /\.spec\.|(^|\/)test\/|(?<!\.d)\.ts$/.test(path))).toEqual([]);
      const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'libs', p.name.split('/')[1], 'package.json'), 'utf8'));
      expect(paths).toContain(manifest.main);
      expect(paths).toContain(manifest.types);
      expect(manifest.license).toBe('Apache-2.0');
    }
    const participantFiles = packed.find((p) => p.name === '@ordo/participant')!.files.map((f) => f.path);
    // The protocol comes as a dependency, not as a copy.
    expect(participantFiles.filter((path) => path.includes('protocol/'))).toEqual([]);
    expect(packed.find((p) => p.name === '@ordo/client')!.files.map((f) => f.path)).toContain('dist/cli/main.js');
  });

  it('applies a definition, starts and waits with the CLI, and lists the result', async () => {
    const apply = await ordo('definitions', 'apply', '-f', 'ship-order.json');
    expectExit(apply, 0);
    expect(apply.stdout).toMatch(/^ship-order v\d+ registered$/m);
    expectExit(await ordo('definitions', 'apply', '-f', 'ship-order.json'), 0);

    const start = await ordo('tx', 'start', 'ship-order', '--input', '{"parcel":"p-1"}', '--wait', '30s');
    expectExit(start, 0);
    const id = /^id\s+(\S+)$/m.exec(start.stdout)![1];
    expect(start.stdout).toMatch(/^status\s+completed$/m);

    const list = await ordo('--json', 'tx', 'list', '--definition', 'ship-order');
    expectExit(list, 0);
    const items = (JSON.parse(list.stdout) as { items: { id: string; status: string }[] }).items;
    expect(items).toContainEqual(expect.objectContaining({ id, status: 'completed' }));
    const table = await ordo('tx', 'list', '--definition', 'ship-order');
    expect(table.stdout).toMatch(new RegExp(`^${id}\\s+ship-order v\\d+\\s+completed`, 'm'));

    const refused = await ordo('tx', 'start', 'ship-order', '--input', '{"parcel":"oversized-1"}', '--wait', '30s');
    expectExit(refused, 3); // compensated
    expect(refused.stdout).toMatch(/^label\s+shipping\s+failed\s+execute\s+1\s+TOO_LARGE: no courier takes this parcel$/m);

    const events = await ordo('tx', 'events', id);
    expectExit(events, 0);
    expect(events.stdout).toMatch(/^\S+\s+transaction\.started\s+-\s+test-admin\s/m);
    expect(events.stdout).toMatch(/^\S+\s+step\.replied\s+label\s+-\s+\{.*"outcome":"success"/m);
  });

  it('shows two versions of a definition side by side with the CLI: their running transactions and the diff', async () => {
    const v1 = { ...(JSON.parse(readFileSync(join(project, 'ship-order.json'), 'utf8')) as { steps: object[] }), name: 'ship-order-versions' };
    const v2 = { ...v1, timeoutMs: 60_000, steps: [v1.steps[0]] };
    writeFileSync(join(project, 'v1.json'), JSON.stringify(v1));
    writeFileSync(join(project, 'v2.json'), JSON.stringify(v2));
    expectExit(await ordo('definitions', 'apply', '-f', 'v1.json'), 0);
    expectExit(await ordo('definitions', 'apply', '-f', 'v2.json'), 0);

    const diff = await ordo('definitions', 'diff', 'ship-order-versions', '1', '2');
    expectExit(diff, 0);
    expect(diff.stdout).toBe(
      [
        'ship-order-versions v1 → v2',
        '  ~ timeoutMs: 30000 → 60000',
        '  - step label',
        '      - action: "label"',
        '      - dependsOn: ["book"]',
        '      - id: "label"',
        '      - participant: "shipping"',
        '',
      ].join('\n'),
    );
    const show = await ordo('definitions', 'show', 'ship-order-versions');
    expectExit(show, 0);
    expect(show.stdout).toMatch(/^v2\s+\S+\s+test-admin\s+0$/m);
    expect(show.stdout).toMatch(/^v1\s+\S+\s+test-admin\s+0$/m);
  });

  it('shows, aborts, retries and resolves with the CLI, the exit code telling how each ended', async () => {
    const slow = await ordo('--json', 'tx', 'start', 'ship-order', '--input', '{"parcel":"slow-1"}');
    expectExit(slow, 0);
    const slowId = (JSON.parse(slow.stdout) as { id: string }).id;
    expectExit(await ordo('tx', 'abort', slowId, '--reason', 'customer cancelled'), 0);
    const aborted = await ordo('tx', 'show', slowId, '--wait', '30s');
    expectExit(aborted, 3); // compensated
    expect(aborted.stdout).toMatch(/^book\s+shipping\s+compensated\s/m);

    const stuck = await ordo('tx', 'start', 'ship-order', '--input', '{"parcel":"oversized-no-cancel"}', '--wait', '60s');
    expectExit(stuck, 4); // failed: the booking could not be cancelled
    const stuckId = /^id\s+(\S+)$/m.exec(stuck.stdout)![1];
    expect(stuck.stdout).toMatch(/^book\s+shipping\s+compensation_failed\s/m);
    expectExit(await ordo('tx', 'retry', stuckId), 0);
    expectExit(await ordo('tx', 'show', stuckId, '--wait', '60s'), 4); // the courier still cannot cancel
    const resolved = await ordo('tx', 'resolve', stuckId, 'book', '--outcome', 'compensated', '--note', 'cancelled by phone, OPS-7');
    expectExit(resolved, 0);
    expect(resolved.stdout).toMatch(/^status\s+compensated$/m);
    const history = await ordo('tx', 'events', stuckId, '--limit', '500');
    expect(history.stdout).toMatch(/^\S+\s+\S*resolve\S*\s+book\s+test-admin\s/m);
  });

  it('runs a checkout from code with @ordo/client, and the participant wrote through its barrier', async () => {
    const env = { ORDO_URL: coordinator.url, ORDO_API_KEY: TEST_KEYS.operator };
    const ok = await inProject(process.execPath, ['dist/scripts/checkout.js', 'p-2'], env);
    expectExit(ok, 0);
    const completed = JSON.parse(ok.stdout);
    expect(completed).toMatchObject({ status: 'completed', steps: { book: 'succeeded', label: 'succeeded' } });
    const refused = await inProject(process.execPath, ['dist/scripts/checkout.js', 'oversized-2'], env);
    expectExit(refused, 1);
    const compensated = JSON.parse(refused.stdout);
    expect(compensated).toMatchObject({ status: 'compensated', steps: { book: 'compensated', label: 'failed' } });

    const db = new Client({ connectionString: testEnv().databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query(`SELECT parcel, status FROM shipping.shipments WHERE parcel IN ('p-2', 'oversized-2') ORDER BY parcel`);
      expect(rows).toEqual([
        { parcel: 'oversized-2', status: 'cancelled' },
        { parcel: 'p-2', status: 'labelled' },
      ]);
      const barrier = await db.query(
        `SELECT tx_id, step_id, phase FROM shipping.ordo_barrier WHERE tx_id = ANY($1) ORDER BY tx_id = $2 DESC, step_id, phase`,
        [[completed.id, compensated.id], completed.id],
      );
      expect(barrier.rows.map((r) => `${r.tx_id === completed.id ? 'completed' : 'compensated'} ${r.step_id} ${r.phase}`)).toEqual([
        'completed book execute',
        'completed label execute',
        'compensated book compensate',
        'compensated book execute',
        'compensated label execute',
      ]);
    } finally {
      await db.end();
    }
  });

  it('exits 2 on a usage mistake and 1 on a refusal, with the reason', async () => {
    const usage = await ordo('tx', 'start', 'ship-order', '--input', 'not json');
    expectExit(usage, 2);
    expect(usage.stderr).toMatch(/--input is not JSON/);
    const refused = await ordo('tx', 'start', 'no-such-definition');
    expectExit(refused, 1);
    expect(refused.stderr).toMatch(/^ordo: DEFINITION_NOT_FOUND: /m);
  });
});
