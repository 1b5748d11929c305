import { spawn } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { REPO_ROOT } from '../../tools/infra/paths';
import { testEnv } from '../support/test-env';

/**
 * The small version of `npm run bench`: the whole harness at a scale of seconds per
 * scenario, on the run's PostgreSQL cluster and Kafka, writing into a temp folder. It
 * checks that every figure is produced, never how good it is: that is the full run's job.
 */
describe('npm run bench, small', () => {
  const out = mkdtempSync(join(tmpdir(), 'ordo-bench-'));
  const committed = () => ['bench/results.json', 'docs/benchmarks.md'].map((file) => readFileSync(join(REPO_ROOT, file), 'utf8'));

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('measures pgbench and every workload, and writes its figures where told', async () => {
    const before = committed();
    const { databaseUrl, kafkaBrokers } = testEnv();
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/tools/bench/bench.js'), '--scale=small', `--out=${out}`], {
      env: { ...process.env, DATABASE_URL: databaseUrl, KAFKA_BROKERS: kafkaBrokers },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect({ code, output }).toMatchObject({ code: 0 });

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    const throughput = (t: { rate: number; count: number; cpuMsPerTx: number; rssMb: number; statuses: Record<string, number> }) => [
      t.rate,
      t.count,
      t.cpuMsPerTx,
      t.rssMb,
      t.statuses.completed,
    ];
    const { saga2 } = results;
    const figures = [
      results.pgbench.tps,
      ...throughput(saga2.saturated),
      saga2.ratio,
      saga2.halfLoad.achievedRate,
      saga2.halfLoad.p50,
      saga2.halfLoad.p95,
      saga2.halfLoad.p99,
      saga2.halfLoad.cpuMsPerTx,
      saga2.quarterLoad.p50,
      saga2.quarterLoad.p99,
      ...throughput(results.dag4),
      ...throughput(results.tcc),
      ...throughput(results.twoPc),
      results.coordinator.peakRssMb,
      results.floors.kafka.p50,
      results.floors.kafka.p99,
      results.floors.sql.sagasPerSecond,
      results.floors.sql.transactionsPerSaga,
      results.floors.sql.statementsPerSaga,
    ];
    expect(figures.filter((n) => !(typeof n === 'number' && n > 0))).toEqual([]);
    expect(results.targets.map((t: { name: string; met: unknown }) => typeof t.met)).toEqual(['boolean', 'boolean', 'boolean', 'boolean']);

    const docs = readFileSync(join(out, 'benchmarks.md'), 'utf8');
    expect(docs).toContain('<!-- bench:retention:start -->');
    expect(docs).toMatch(/<!-- bench:start -->[\s\S]*pgbench[\s\S]*p99[\s\S]*SQL alone[\s\S]*<!-- bench:end -->/);
    expect(committed()).toEqual(before);
  }, 120_000);
});
