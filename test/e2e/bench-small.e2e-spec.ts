import { spawn, spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { cpus, tmpdir } from 'os';
import { join } from 'path';
import { REPO_ROOT } from '../../tools/infra/paths';
import { testEnv } from '../support/test-env';

/**
 * The small version of `npm run bench`: the whole harness at a scale of seconds per
 * scenario, on the run's PostgreSQL cluster and Kafka, writing into a temp folder. It
 * checks that every figure is produced, that the figures agree with each other and with the
 * floors measured in the same run, and that the SQL counts add up; never how good the
 * figures are: that is the full run's job.
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
    // The output's end says why it failed (a diff of the whole output would show only its start).
    if (code !== 0) throw new Error(`the bench exited with ${code}:\n${output.slice(-4000)}`);

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    type Usage = { cpuMsPerTx: Record<string, number>; systemCpuMsPerTx: number; rssMb: number };
    const usage = (u: Usage) => [
      u.cpuMsPerTx.coordinator,
      u.cpuMsPerTx.inventory,
      u.cpuMsPerTx.payment,
      u.cpuMsPerTx.PostgreSQL,
      u.systemCpuMsPerTx,
      u.rssMb,
    ];
    const throughput = (t: Usage & { rate: number; count: number; statuses: Record<string, number> }) => [
      t.rate,
      t.count,
      t.statuses.completed,
      ...usage(t),
    ];
    const idle = (l: { count: number; p50: number; p99: number; statuses: Record<string, number> }) => [
      l.p50,
      l.p99,
      l.statuses.completed === l.count ? 1 : 0,
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
      ...usage(saga2.halfLoad),
      ...idle(results.idle.saga2),
      ...idle(results.idle.dag4),
      saga2.quarterLoad.p50,
      saga2.quarterLoad.p99,
      ...throughput(results.dag4),
      ...throughput(results.tcc),
      ...throughput(results.twoPc),
      results.coordinator.peakRssMb,
      results.floors.kafka.p50,
      results.floors.kafka.p99,
      results.floors.idle.p50,
      results.floors.idle.p99,
      results.floors.halfLoad.p50,
      results.floors.halfLoad.p99,
      results.floors.halfLoad.usage.cpuMsPerTx.PostgreSQL,
      results.floors.sql.sagasPerSecond,
      results.floors.sql.commitsPerSaga,
      results.floors.sql.statementsPerSaga,
      results.floors.http.cpuMsPerRequest,
      results.pgbench.clients,
      results.pgbench.cpuMsPerTx,
    ];
    expect(figures.filter((n) => !(typeof n === 'number' && n > 0))).toEqual([]);
    // The figures against each other and against the floors measured in this run. Bounds
    // with room for a short run's noise, tight enough to catch a figure in the wrong unit
    // or from the wrong sample.
    const { kafka, sql: sqlFloor } = results.floors;
    expect(saga2.ratio).toBeCloseTo(saga2.saturated.rate / results.pgbench.tps, 6);
    // Nothing beats its own SQL run alone, nor messaging with nothing behind it.
    expect(saga2.saturated.rate).toBeLessThan(1.5 * sqlFloor.sagasPerSecond);
    expect(results.idle.saga2.p50).toBeGreaterThan(0.5 * kafka.p50);
    expect(results.idle.saga2.p50).toBeGreaterThan(0.5 * results.floors.idle.p50);
    // The idle floor times the coordinator's first two statements and each participant's
    // local transaction round trip by round trip: 1 + 5 + 1 + 5.
    expect(results.floors.idle.roundTrips).toBe(12);
    // Every idle saga's four messages were found, and its hops fit inside it.
    const { sagas, ...hops } = results.idle.saga2.hops as Record<string, number>;
    expect(sagas).toBe(results.idle.saga2.count);
    expect(Object.values(hops).filter((ms) => !(ms >= 0))).toEqual([]);
    expect(Object.values(hops).reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(results.idle.saga2.p99);
    // The 4-step DAG needs three rounds where the 2-step saga needs two.
    expect(results.idle.dag4.p50).toBeGreaterThan(results.idle.saga2.p50);
    // The HTTP stack alone is a part of what the coordinator spends per saga.
    expect(results.floors.http.cpuMsPerRequest).toBeLessThan(saga2.saturated.cpuMsPerTx.coordinator);
    // Where the coordinator's and the participants' CPU goes: measured wherever perf can
    // record (the bench's prerequisites install it; the tests' do not), else the reason names perf.
    expect(Object.keys(saga2.cpuSplits)).toEqual(['coordinator', 'inventory', 'payment']);
    type Split = { samples: number; shares: Record<string, number>; unavailable?: string };
    for (const split of Object.values<Split>(saga2.cpuSplits)) {
      if (spawnSync('perf', ['--version']).status === 0) {
        const shares = Object.values(split.shares);
        expect(split.samples).toBeGreaterThan(0);
        expect(shares.reduce((sum, share) => sum + share, 0)).toBeCloseTo(1, 6);
        // The saga's work runs through Ordo's code, its Kafka client and its PostgreSQL driver.
        expect([split.shares["Ordo's own code"], split.shares['Kafka client'], split.shares['PostgreSQL driver']].every((share) => share > 0)).toBe(
          true,
        );
      } else {
        expect(split.unavailable).toMatch(/perf/);
      }
    }
    // A pgbench transaction's CPU fits its TPS: the cores give no more than they have (the
    // margin: starting pgbench and its connections, which its TPS leaves out).
    expect(results.pgbench.cpuMsPerTx).toBeLessThan((1.5 * cpus().length * 1000) / results.pgbench.tps);
    // The floor at half load starts as many sagas at the same rate as the half-load run.
    expect([results.floors.halfLoad.rate, results.floors.halfLoad.rounds]).toEqual([saga2.halfLoad.targetRate, saga2.halfLoad.count]);
    expect(results.floors.halfLoad.p50).toBeLessThanOrEqual(results.floors.halfLoad.p99);
    // Half load is half the saturated rate, offered.
    expect(saga2.halfLoad.achievedRate).toBeLessThan(0.8 * saga2.saturated.rate);
    const { p50, p95, p99 } = saga2.halfLoad;
    expect([p50 <= p95, p95 <= p99, kafka.p50 <= kafka.p99, results.idle.saga2.p50 <= results.idle.saga2.p99]).toEqual([true, true, true, true]);
    expect(results.pgbench.sweep.map((p: { clients: number }) => p.clients)).toEqual([8, 16]);
    expect(results.pgbench.tps).toBe(Math.max(...results.pgbench.sweep.map((p: { tps: number }) => p.tps)));

    // Each participant runs one command per saga behind its insert-first barrier: per command
    // the handler's statement, per local transaction (shared by the commands of a fetch)
    // BEGIN, the claim, the replies and COMMIT; a savepoint only where a handler did not
    // succeed, which no bench command does; at most one commit per command. The coordinator writes each decision in one statement: the start's insert
    // and the replies' version-checked writes; nothing notifies. The harness's
    // queries count nowhere.
    const sql = saga2.saturated.sql.apps;
    const top = (app: string) => (sql[app].top as { query: string }[]).map((t) => t.query);
    expect(saga2.commandsPerSaga).toEqual({ coordinator: 0, inventory: 1, payment: 1 });
    for (const participant of ['inventory', 'payment']) {
      expect(sql[participant].statementsPerTx).toBeGreaterThan(1);
      expect(sql[participant].commitsPerTx).toBeGreaterThan(0);
      // At most one commit per command (a little more: a short run also counts health probes).
      expect(sql[participant].commitsPerTx).toBeLessThanOrEqual(1.25);
      expect(top(participant)).toContain('COMMIT');
      expect(top(participant)).not.toContain('SAVEPOINT ordo_handler');
      expect(top(participant).some((q) => q.startsWith('INSERT INTO ordo_barrier'))).toBe(true);
      expect(top(participant).filter((q) => q.includes('pg_advisory'))).toEqual([]);
    }
    expect(sql.coordinator.statementsPerTx).toBeGreaterThanOrEqual(1);
    expect(top('coordinator').some((q) => q.startsWith('WITH starts AS'))).toBe(true);
    expect(top('coordinator').some((q) => q.startsWith('WITH c AS'))).toBe(true);
    // Claims of timers and left-behind outbox rows skip locked rows; nothing waits for a lock.
    expect(top('coordinator').filter((q) => /pg_notify|FOR UPDATE(?! SKIP LOCKED)/.test(q))).toEqual([]);
    const queries = Object.values(sql).flatMap((a) => (a as { top: { query: string }[] }).top.map((t) => t.query));
    expect(queries.filter((q) => q.includes('updated_at FROM transactions WHERE id = ANY'))).toEqual([]);
    expect(results.targets.map((t: { name: string; met: unknown }) => typeof t.met)).toEqual(Array(results.targets.length).fill('boolean'));
    expect(results.targets.length).toBe(13);

    const docs = readFileSync(join(out, 'benchmarks.md'), 'utf8');
    expect(docs).toContain('<!-- bench:retention:start -->');
    expect(docs).toMatch(
      /<!-- bench:start -->[\s\S]*pgbench[\s\S]*Idle system[\s\S]*Statements per saga[\s\S]*p99[\s\S]*SQL alone[\s\S]*<!-- bench:end -->/,
    );
    expect(committed()).toEqual(before);
  }, 240_000);
});
