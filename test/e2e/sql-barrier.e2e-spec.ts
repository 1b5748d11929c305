import { randomBytes, randomUUID } from 'crypto';
import { setTimeout as sleep } from 'timers/promises';
import { DataSource, EntityManager } from 'typeorm';
import { Phase } from '@ordo/protocol';
import { BarrierPass, BarrierTransaction, OrdoBarrier1763700000000, ReplyBody } from '@ordo/participant';
import { testEnv } from '../support/test-env';

/**
 * The SDK's SQL barrier itself on the e2e PostgreSQL, in a schema of this file's own:
 * deliveries racing on one key, and commands of one local transaction (a group-committed
 * batch) that must see each other's answers.
 */
describe('SQL barrier (insert first)', () => {
  const env = testEnv();
  const schema = `sql_barrier_${randomBytes(4).toString('hex')}`;
  const db = new DataSource({ type: 'postgres', url: env.databaseUrl, extra: { options: `-c search_path=${schema}`, max: 4 } });

  /** The business effect: one row per time the business code ran and kept its work. */
  const effects = async (txId: string) =>
    (await db.query<{ phase: string }[]>('SELECT phase FROM effects WHERE tx_id = $1 ORDER BY n', [txId])).map((r) => r.phase);

  const key = (txId: string, phase: Phase) => ({ txId, stepId: 'step', phase });

  /** Business code that records its effect and answers `reply`. */
  const business = (manager: EntityManager, txId: string, phase: Phase, reply: ReplyBody) => async () => {
    await manager.query('INSERT INTO effects (tx_id, phase) VALUES ($1, $2)', [txId, phase]);
    return reply;
  };

  /** Commands passed in order in one local transaction, as a batch is (several: claimed together first). */
  const group = (commands: { txId: string; phase: Phase; reply: ReplyBody }[]) =>
    db.transaction(async (manager) => {
      const barrier = new BarrierTransaction(manager);
      if (commands.length > 1)
        await barrier.claimAll(
          commands.map((c) => key(c.txId, c.phase)),
          100,
        );
      const passes: BarrierPass[] = [];
      for (const { txId, phase, reply } of commands) passes.push(await barrier.pass(key(txId, phase), business(manager, txId, phase, reply)));
      await barrier.storeReplies();
      return passes;
    });
  const batch = (txId: string, commands: { phase: Phase; reply: ReplyBody }[]) => group(commands.map((c) => ({ txId, ...c })));

  const ok = (id: string): ReplyBody => ({ outcome: 'success', output: { id } });

  beforeAll(async () => {
    await db.initialize();
    await db.query(`CREATE SCHEMA ${schema}`);
    const runner = db.createQueryRunner();
    await new OrdoBarrier1763700000000().up(runner);
    await runner.release();
    await db.query('CREATE TABLE effects (n serial PRIMARY KEY, tx_id text NOT NULL, phase text NOT NULL)');
  });

  afterAll(async () => {
    await db.query(`DROP SCHEMA ${schema} CASCADE`);
    await db.destroy();
  });

  it('two deliveries of one command at the same instant: the second waits on the key, the effect happens once, both answers are equal', async () => {
    const txId = randomUUID();
    let runs = 0;
    const deliver = () =>
      db.transaction(async (manager) => {
        const barrier = new BarrierTransaction(manager);
        const pass = await barrier.pass(key(txId, 'execute'), async () => {
          const reply = await business(manager, txId, 'execute', ok(`run-${++runs}`))();
          // Hold the key until the other delivery is seen blocked on it.
          for (let waited = 0; ; waited += 20) {
            const blocked = await db.query(
              `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO ordo_barrier%'`,
            );
            if (blocked.length > 0) break;
            if (waited > 10_000) throw new Error('the other delivery never blocked on the barrier key');
            await sleep(20);
          }
          return reply;
        });
        await barrier.storeReplies();
        return pass;
      });
    const passes = await Promise.all([deliver(), deliver()]);
    expect(passes.map((p) => p.decision).sort()).toEqual(['duplicate', 'run']);
    expect(passes[0].reply).toEqual(passes[1].reply);
    expect(passes[0].reply).toEqual(ok('run-1'));
    expect(await effects(txId)).toEqual(['execute']);
  });

  it('in one transaction, a duplicate gets the first answer and a compensation undoes the forward phase passed before it', async () => {
    const txId = randomUUID();
    const passes = await batch(txId, [
      { phase: 'execute', reply: ok('first') },
      { phase: 'execute', reply: ok('second') },
      { phase: 'compensate', reply: { outcome: 'success' } },
    ]);
    expect(passes).toEqual([
      { decision: 'run', reply: ok('first') },
      { decision: 'duplicate', reply: ok('first') },
      { decision: 'run', reply: { outcome: 'success' } },
    ]);
    expect(await effects(txId)).toEqual(['execute', 'compensate']);
    // Stored with the rows: a later delivery replays them.
    expect((await batch(txId, [{ phase: 'execute', reply: ok('late') }]))[0]).toEqual({ decision: 'duplicate', reply: ok('first') });
  });

  it('in one transaction, a compensation before its forward phase is null and fences it; a refused forward phase leaves nothing to undo', async () => {
    const fenced = randomUUID();
    const passes = await batch(fenced, [
      { phase: 'compensate', reply: { outcome: 'success' } },
      { phase: 'execute', reply: ok('late') },
    ]);
    expect(passes.map((p) => [p.decision, p.reply.outcome])).toEqual([
      ['null_compensation', 'success'],
      ['hanging', 'failure'],
    ]);
    expect(await effects(fenced)).toEqual([]);

    const refused = randomUUID();
    const refusal: ReplyBody = { outcome: 'failure', error: { code: 'NO', message: 'no' } };
    expect(
      (
        await batch(refused, [
          { phase: 'execute', reply: refusal },
          { phase: 'compensate', reply: { outcome: 'success' } },
        ])
      ).map((p) => p.decision),
    ).toEqual(['run', 'null_compensation']);
  });

  it('a group of distinct steps claims its rows in one statement: a step answered before replays, a new one runs, an early compensation fences', async () => {
    const [answered, fresh, early] = [randomUUID(), randomUUID(), randomUUID()];
    await batch(answered, [{ phase: 'execute', reply: ok('before') }]);
    const passes = await group([
      { txId: answered, phase: 'execute', reply: ok('again') },
      { txId: fresh, phase: 'execute', reply: ok('fresh') },
      { txId: early, phase: 'compensate', reply: { outcome: 'success' } },
    ]);
    expect(passes).toEqual([
      { decision: 'duplicate', reply: ok('before') },
      { decision: 'run', reply: ok('fresh') },
      { decision: 'null_compensation', reply: { outcome: 'success' } },
    ]);
    expect([await effects(answered), await effects(fresh), await effects(early)]).toEqual([['execute'], ['execute'], []]);
    // Every claimed row holds its answer, none the placeholder; the fence refuses the late forward phase.
    const rows = await db.query<{ tx_id: string; origin: string; code: string | null }[]>(
      `SELECT tx_id, origin, reply -> 'error' ->> 'code' AS code FROM ordo_barrier WHERE tx_id = ANY($1)`,
      [[answered, fresh, early]],
    );
    expect(rows.filter((r) => r.code === 'IN_PROGRESS')).toEqual([]);
    expect(
      rows
        .filter((r) => r.origin === 'handler')
        .map((r) => r.tx_id)
        .sort(),
    ).toEqual([answered, fresh].sort());
    expect((await batch(early, [{ phase: 'execute', reply: ok('late') }]))[0].decision).toBe('hanging');
  });

  it('in one transaction, an answer that is not final releases the claim: the next delivery runs again', async () => {
    const txId = randomUUID();
    const passes = await batch(txId, [
      { phase: 'execute', reply: { outcome: 'retry' } },
      { phase: 'execute', reply: ok('again') },
    ]);
    expect(passes).toEqual([
      { decision: 'run', reply: { outcome: 'retry' } },
      { decision: 'run', reply: ok('again') },
    ]);
  });
});
