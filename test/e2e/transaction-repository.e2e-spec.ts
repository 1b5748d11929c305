import { randomBytes, randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { StepState, TransactionState } from '../../apps/coordinator/src/engine';
import { TransactionRecord } from '../../apps/coordinator/src/transactions/persistence/transaction-record';
import { TransactionRepository } from '../../apps/coordinator/src/transactions/persistence/transaction.repository';
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
 * The repository on the real migrations: what one decision wrote is what the next one,
 * waiting for its lock, reads back, row and steps together.
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
    await dataSource.query(`INSERT INTO definitions (name, version, type, body, body_hash) VALUES ('d', 1, 'saga', '{}', 'x')`);
    repository = new TransactionRepository(dataSource);
  });

  afterAll(async () => {
    await dataSource?.query(`DROP SCHEMA "${schema}" CASCADE`);
    await dataSource?.destroy();
  });

  it("gives a locker that waited the committed decision's steps, not the ones from before its wait", async () => {
    const before: TransactionState = {
      status: 'running',
      startedAt: Date.now(),
      deadline: null,
      rollback: null,
      steps: { a: step('running', 'reply'), b: step('pending', null) },
    };
    const record: TransactionRecord = {
      id: randomUUID(),
      definitionName: 'd',
      definitionVersion: 1,
      type: 'saga',
      input: {},
      idempotencyKey: null,
      traceparent: null,
      createdAt: new Date(),
      updatedAt: new Date(),
      layout: [
        { id: 'a', participant: 'p' },
        { id: 'b', participant: 'q' },
      ],
      state: before,
    };
    await dataSource.transaction((manager) => repository.insert(manager, record, null));

    const after: TransactionState = { ...before, steps: { a: step('succeeded', null), b: step('running', 'reply') } };
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let firstLocked!: () => void;
    const locked = new Promise<void>((resolve) => (firstLocked = resolve));
    // The first decision locks, writes its state and holds its transaction open...
    const first = dataSource.transaction(async (manager) => {
      const [current] = (await repository.lock(manager, [record.id])).values();
      await repository.update(manager, [{ before: current, after, nextDueAt: null }]);
      firstLocked();
      await held;
    });
    await locked;
    // ...while the second waits for the lock, and gets it once the first has committed.
    const second = dataSource.transaction(async (manager) => (await repository.lock(manager, [record.id])).get(record.id)!);
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    await first;
    const seen = await second;

    expect(seen.state.steps).toEqual(after.steps);
    expect((await repository.findById(record.id))!.state.steps).toEqual(after.steps);
  });
});
