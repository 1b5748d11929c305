import { randomBytes, randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { StepState, TransactionState } from '../../apps/coordinator/src/engine';
import { TransactionRecord } from '../../apps/coordinator/src/transactions/persistence/transaction-record';
import { DecisionWrite, TransactionRepository } from '../../apps/coordinator/src/transactions/persistence/transaction.repository';
import { TimingRollupRepository } from '../../apps/coordinator/src/stats/timing-rollup.repository';
import { coordinatorMigrations } from '../../migrations/coordinator';
import { testEnv } from '../support/test-env';

const step = (status: StepState['status'], waitingFor: StepState['waitingFor']): StepState => ({
  status,
  phase: 'execute',
  attempt: 1,
  attemptsLeft: 3,
  waitingFor,
  dueAt: null,
  output: null,
  lastError: null,
});

/**
 * The repository on the real migrations: a decision is written in one statement, and only
 * over the version it was taken on — a stale decision writes nothing, not even its history
 * or its commands, also when it meets the other writer's row lock.
 */
describe('transaction repository', () => {
  const schema = `repo_${randomBytes(4).toString('hex')}`;
  let dataSource: DataSource;
  let repository: TransactionRepository;

  beforeAll(async () => {
    dataSource = await new DataSource({
      type: 'postgres',
      url: testEnv().databaseUrl,
      schema,
      migrations: coordinatorMigrations,
      migrationsTableName: 'migrations',
      extra: { max: 4, options: `-c search_path=${schema}` },
    }).initialize();
    await dataSource.query(`CREATE SCHEMA "${schema}"`);
    await dataSource.runMigrations({ transaction: 'each' });
    repository = new TransactionRepository(dataSource);
  });

  afterAll(async () => {
    await dataSource?.query(`DROP SCHEMA "${schema}" CASCADE`);
    await dataSource?.destroy();
  });

  const before: TransactionState = {
    status: 'running',
    paused: null,
    startedAt: Date.now(),
    deadline: null,
    rollback: null,
    steps: { a: step('running', 'reply'), b: step('pending', null) },
  };

  const newRecord = (idempotencyKey: string | null = null, startedBy = 'ann'): TransactionRecord => ({
    id: randomUUID(),
    definitionName: 'd',
    definitionVersion: 1,
    type: 'saga',
    input: { n: 1 },
    idempotencyKey,
    tags: null,
    startedBy,
    traceparent: null,
    createdAt: new Date(),
    updatedAt: new Date(),
    version: 0,
    ignoredReplies: 0,
    layout: [
      { id: 'a', participant: 'p' },
      { id: 'b', participant: 'q' },
    ],
    state: before,
  });

  /** A decision on `record` that sends one command and records one event. */
  const decision = (record: TransactionRecord, after: TransactionState, nextDueAt: number | null, stepId = 'a'): DecisionWrite => ({
    before: record,
    after,
    nextDueAt,
    events: [{ event: { type: 'step.status_changed', stepId, from: 'pending', to: 'running' }, at: Date.now() }],
    messages: [
      {
        topic: 'q.commands',
        key: record.id,
        value: `{"stepId":"${stepId}"}`,
        headers: { 'ordo-message-id': `${record.id}/${stepId}/${record.version}` },
      },
    ],
    ignoredReplies: 0,
    changed: true,
  });

  const count = async (sql: string, id: string) => (await dataSource.query(sql, [id]))[0].count as number;
  const outboxRows = (id: string) => count('SELECT count(*)::int AS count FROM outbox WHERE key = $1', id);
  const eventRows = (id: string) => count('SELECT count(*)::int AS count FROM events WHERE tx_id = $1', id);

  it('inserts a transaction with its steps, timer, history and commands in one statement', async () => {
    const record = newRecord();
    const result = await repository.insert([decision(record, before, Date.now() + 60_000)]);
    expect([...result.written]).toEqual([[record.id, 0]]);
    expect(result.queued).toHaveLength(1);
    expect(result.queued[0]).toMatchObject({ topic: 'q.commands', key: record.id });
    const loaded = (await repository.load([record.id])).get(record.id)!;
    expect(loaded.state.steps).toEqual(before.steps);
    expect(loaded.layout).toEqual(record.layout);
    expect(loaded.version).toBe(0);
    expect(await outboxRows(record.id)).toBe(1);
    expect(await eventRows(record.id)).toBe(1);
    expect(await count('SELECT count(*)::int AS count FROM timers WHERE tx_id = $1', record.id)).toBe(1);
  });

  it('writes nothing for a second start with the same idempotency key by the same caller', async () => {
    const key = `key-${randomUUID()}`;
    const first = newRecord(key);
    expect((await repository.insert([decision(first, before, null)])).written.has(first.id)).toBe(true);
    const second = newRecord(key);
    const again = await repository.insert([decision(second, before, null)]);
    expect([again.written.size, again.queued.length]).toEqual([0, 0]);
    expect(await outboxRows(second.id)).toBe(0);
    expect(await eventRows(second.id)).toBe(0);
    // Another caller's equal key is another key.
    const other = newRecord(key, 'bob');
    expect((await repository.insert([decision(other, before, null)])).written.has(other.id)).toBe(true);
    expect((await repository.findByIdempotencyKey('ann', key))?.id).toBe(first.id);
    expect((await repository.findByIdempotencyKey('bob', key))?.id).toBe(other.id);
  });

  it('inserts concurrent starts in one statement, each with its own effects, one per idempotency key', async () => {
    const key = `key-${randomUUID()}`;
    const [plain, keyed, sameKey, othersKey] = [newRecord(), newRecord(key), newRecord(key), newRecord(key, 'bob')];
    const result = await repository.insert([
      decision(plain, before, Date.now() + 60_000),
      decision(keyed, before, null),
      decision(sameKey, before, null),
      decision(othersKey, before, null),
    ]);
    // Of the two starts with one caller's key, one is written (which one is the statement's choice).
    const winner = result.written.has(keyed.id) ? keyed : sameKey;
    const loser = winner === keyed ? sameKey : keyed;
    const written = [plain.id, winner.id, othersKey.id].sort();
    expect([...result.written.keys()].sort()).toEqual(written);
    expect(result.queued.map((m) => m.key).sort()).toEqual(written);
    for (const id of written) expect([await outboxRows(id), await eventRows(id)]).toEqual([1, 1]);
    expect([await outboxRows(loser.id), await eventRows(loser.id)]).toEqual([0, 0]);
    const timers = (id: string) => count('SELECT count(*)::int AS count FROM timers WHERE tx_id = $1', id);
    expect([await timers(plain.id), await timers(winner.id)]).toEqual([1, 0]);
    expect((await repository.findByIdempotencyKey('ann', key))?.id).toBe(winner.id);
    expect((await repository.findByIdempotencyKey('bob', key))?.id).toBe(othersKey.id);
  });

  it('refuses a decision taken on a stale version, with its history and commands', async () => {
    const record = newRecord();
    await repository.insert([decision(record, before, null)]);
    const loaded = (await repository.load([record.id])).get(record.id)!;
    const after: TransactionState = { ...before, steps: { a: step('succeeded', null), b: step('running', 'reply') } };

    const won = await repository.write([decision(loaded, after, null, 'b')]);
    expect([...won.written]).toEqual([[record.id, 1]]);
    const lost = await repository.write([decision(loaded, { ...before, status: 'compensating' }, null, 'a')]);
    expect(lost.written.size).toBe(0);
    expect(lost.queued).toEqual([]);

    const now = (await repository.load([record.id])).get(record.id)!;
    expect(now.version).toBe(1);
    expect(now.state.status).toBe('running');
    expect(now.state.steps).toEqual(after.steps);
    expect(await outboxRows(record.id)).toBe(2);
    expect(await eventRows(record.id)).toBe(2);
  });

  it('refuses a stale decision that waited for the row lock of a writer that then committed', async () => {
    const record = newRecord();
    await repository.insert([decision(record, before, null)]);
    const loaded = (await repository.load([record.id])).get(record.id)!;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let updated!: () => void;
    const locked = new Promise<void>((resolve) => (updated = resolve));
    // Another writer changes the row and holds its transaction open...
    const other = dataSource.transaction(async (manager) => {
      await manager.query('UPDATE transactions SET version = version + 1 WHERE id = $1', [record.id]);
      updated();
      await held;
    });
    await locked;
    // ...while the decision taken on the old version waits for its lock.
    const stale = repository.write([decision(loaded, { ...before, status: 'compensating' }, Date.now())]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    await other;
    expect((await stale).written.size).toBe(0);
    expect((await repository.load([record.id])).get(record.id)!.state.status).toBe('running');
    expect(await outboxRows(record.id)).toBe(1);
  });

  it('counts ignored replies, and a write that changed nothing leaves updated_at and finished_at as they were', async () => {
    const record = newRecord();
    await repository.insert([decision(record, before, null)]);
    const finished = { ...before, status: 'completed' as const };
    await repository.write([decision((await repository.load([record.id])).get(record.id)!, finished, null)]);
    const times = async () =>
      (await dataSource.query('SELECT updated_at, finished_at, ignored_replies FROM transactions WHERE id = $1', [record.id]))[0];
    const first = await times();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const loaded = (await repository.load([record.id])).get(record.id)!;
    const unchanged = { ...decision(loaded, loaded.state, null), events: [], messages: [], ignoredReplies: 3, changed: false };
    expect([...(await repository.write([unchanged])).written]).toEqual([[record.id, 2]]);
    const second = await times();
    expect(second).toEqual({ ...first, ignored_replies: 3 });
    expect((await repository.load([record.id])).get(record.id)!.ignoredReplies).toBe(3);
  });

  const databaseNow = async () => ((await dataSource.query('SELECT now() AS now'))[0].now as Date).getTime();

  it('hands a due timer to one claimer until its lease runs out, and a written decision sets it anew', async () => {
    const record = newRecord();
    await repository.insert([decision(record, before, (await databaseNow()) - 1000)]);
    const claims = await Promise.all([repository.claimDue(1000, 800), repository.claimDue(1000, 800)]);
    expect(claims.flatMap((claim) => claim.ids).filter((id) => id === record.id)).toHaveLength(1);
    expect((await repository.claimDue(1000, 800)).ids).not.toContain(record.id);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await repository.claimDue(1000, 800)).ids).toContain(record.id);

    const loaded = (await repository.load([record.id])).get(record.id)!;
    await repository.write([decision(loaded, { ...before, status: 'completed' }, null)]);
    expect(await count('SELECT count(*)::int AS count FROM timers WHERE tx_id = $1', record.id)).toBe(0);
    expect(await count('SELECT count(*)::int AS count FROM transactions WHERE id = $1 AND finished_at IS NOT NULL', record.id)).toBe(1);
  });

  it("claims by the database's clock, whatever the process's, and answers with the database's time", async () => {
    const due = newRecord();
    const later = newRecord();
    const dbNow = await databaseNow();
    await repository.insert([decision(due, before, dbNow - 10)]);
    await repository.insert([decision(later, before, dbNow + 60_000)]);
    // This process's clock an hour ahead: only what the database finds due is claimed.
    const clock = jest.spyOn(Date, 'now').mockReturnValue(dbNow + 3_600_000);
    try {
      const { ids, now } = await repository.claimDue(10_000, 5000);
      expect(ids).toContain(due.id);
      expect(ids).not.toContain(later.id);
      expect(Math.abs(now! - dbNow)).toBeLessThan(5000);
      const [{ lease }] = await dataSource.query('SELECT extract(epoch FROM due_at - now()) * 1000 AS lease FROM timers WHERE tx_id = $1', [due.id]);
      expect(Number(lease)).toBeGreaterThan(4000);
      expect(Number(lease)).toBeLessThanOrEqual(5000);
    } finally {
      clock.mockRestore();
    }
  });

  it('adds rollup rows to those stored, a series without timings (only failures) included', async () => {
    const rollup = new TimingRollupRepository(dataSource);
    const bucketStart = Math.floor(Date.now() / 60_000) * 60_000;
    const failedOnly = {
      definitionName: 'd',
      stepId: 'a',
      phase: 'execute',
      bucketSeconds: 60,
      bucketStart,
      count: 1,
      failures: 1,
      needsOperator: 0,
      retries: 0,
    };
    const row = { ...failedOnly, duration: [], durationRange: null, total: [], totalRange: null };
    // The second add meets the first's row: two empty histograms must stay empty, not NULL.
    await dataSource.transaction((manager) => rollup.add(manager, [row]));
    await dataSource.transaction((manager) => rollup.add(manager, [row]));
    await dataSource.transaction((manager) => rollup.add(manager, [{ ...row, duration: [0, 2], durationRange: { min: 3, max: 4 } }]));
    const [stored] = await rollup.rows(60, new Date(bucketStart), 'd');
    expect(stored).toMatchObject({ count: 3, failures: 3, duration: [0, 2], durationRange: { min: 3, max: 4 }, total: [] });
  });

  it('takes an end with its history in event order (ids across a power of ten), without the events the timeline passes over', async () => {
    const rollup = new TimingRollupRepository(dataSource);
    const record = newRecord();
    await repository.insert([decision(record, before, null)]);
    await dataSource.query('DELETE FROM ended_transactions');
    // Ids across a power of ten (99,999,999 then 100,000,000): sorted as text, the longer would come first.
    const history: [number, object][] = [
      [7, { type: 'transaction.started' }],
      [8, { type: 'step.dispatched', stepId: 'a', phase: 'execute', attempt: 1 }],
      [9, { type: 'step.replied', stepId: 'a', phase: 'execute', attempt: 1, outcome: 'retry' }],
      [10, { type: 'step.status_changed', stepId: 'a', from: 'running', to: 'pending' }],
      [11, { type: 'step.dispatched', stepId: 'a', phase: 'execute', attempt: 2 }],
      [12, { type: 'step.replied', stepId: 'a', phase: 'execute', attempt: 2, outcome: 'success' }],
      [13, { type: 'transaction.status_changed', from: 'running', to: 'completed' }],
    ];
    const ids = history.map(([id]) => id + 99_999_990);
    await dataSource.query(
      `INSERT INTO events (id, tx_id, type, data, at) SELECT id, $1, data ->> 'type', data, now() FROM unnest($2::bigint[], $3::jsonb[]) AS x (id, data)`,
      [record.id, ids, history.map(([, data]) => JSON.stringify(data))],
    );
    await dataSource.query('INSERT INTO ended_transactions (event_id, tx_id) VALUES ($1, $2)', [ids.at(-1), record.id]);
    const [ended] = await dataSource.transaction((manager) => rollup.takeEnded(manager, 10));
    expect(ended.definitionName).toBe('d');
    expect(ended.history.map((e) => e.event.type)).toEqual([
      'transaction.started',
      'step.dispatched',
      'step.replied',
      'step.dispatched',
      'step.replied',
      'transaction.status_changed',
    ]);
    expect(ended.endIndex).toBe(5);
  });

  it('sets aside the oldest end waiting for the rollup, and only that one', async () => {
    const rollup = new TimingRollupRepository(dataSource);
    const [older, newer] = [randomUUID(), randomUUID()];
    // Ends the other tests' transactions queued do not belong here.
    await dataSource.query('DELETE FROM ended_transactions');
    await dataSource.query('INSERT INTO ended_transactions (event_id, tx_id) VALUES ($1, $2), ($3, $4)', [9_000_002, newer, 9_000_001, older]);
    expect(await rollup.setAsideOldest()).toBe(older);
    expect(await dataSource.query('SELECT tx_id FROM ended_transactions')).toEqual([{ tx_id: newer }]);
    expect(await rollup.setAsideOldest()).toBe(newer);
    expect(await rollup.setAsideOldest()).toBeNull();
  });

  it('writes a batch of decisions through the primary key, reading none of the other transactions', async () => {
    // Thousands of rows, as a busy coordinator has: a join that reads every one of them (a
    // scan of the table, or of all its primary key) costs more as they grow.
    const records = Array.from({ length: 3000 }, () => newRecord());
    for (let i = 0; i < records.length; i += 500) await repository.insert(records.slice(i, i + 500).map((r) => decision(r, before, null)));
    await dataSource.query('ANALYZE transactions');
    const after: TransactionState = { ...before, steps: { a: step('succeeded', null), b: step('running', 'reply') } };
    const batch = records.slice(0, 64);
    // One connection, so the counts this session flushes are the write's.
    const single = await new DataSource({ ...dataSource.options, extra: { max: 1, options: `-c search_path=${schema}` } }).initialize();
    try {
      const rowsRead = async () => {
        await single.query('SELECT pg_stat_force_next_flush()');
        await single.query('SELECT pg_stat_clear_snapshot()');
        const [row] = await single.query(
          `SELECT seq_tup_read + coalesce(idx_tup_fetch, 0) AS n FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'transactions'`,
          [schema],
        );
        return Number(row.n);
      };
      const read = await rowsRead();
      const written = await new TransactionRepository(single).write(batch.map((r) => decision(r, after, null, 'b')));
      expect(written.written.size).toBe(batch.length);
      // Each row of the batch, perhaps twice (a re-check of its version); not the table.
      expect((await rowsRead()) - read).toBeLessThanOrEqual(2 * batch.length);
    } finally {
      await single.destroy();
    }
  });
});
