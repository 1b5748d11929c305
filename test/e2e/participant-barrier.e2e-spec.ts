import { randomBytes, randomUUID } from 'crypto';
import { Client } from 'pg';
import { Command, JsonObject, Phase, Reply, topicNames } from '@ordo/protocol';
import { collect, json, testBus } from '../support/kafka';
import { RunningApp, startApp } from '../support/processes';
import { testEnv } from '../support/test-env';

/**
 * The participant SDK's barrier at work in a real participant: the inventory process, its
 * real tables, commands published straight to its command topic and replies read from the
 * reply topic. No coordinator: the test plays it, including its duplicates, its late
 * commands and its patience with a participant that crashes.
 *
 * The topic prefix is this file's own, so its inventory instances are the only consumers
 * of its commands (a crash command must reach the instance this test expects to die).
 */
describe('participant barrier (inventory)', () => {
  const env = testEnv();
  // Failure injection on: tests crash the participant with `_fault`.
  const world = { KAFKA_TOPIC_PREFIX: `${env.topicPrefix}barrier.`, FAULT_INJECTION: 'on' };
  const topics = topicNames(world.KAFKA_TOPIC_PREFIX);
  const sku = `PB-${randomBytes(3).toString('hex')}`;
  const bus = testBus('e2e-barrier');
  const db = new Client({ connectionString: env.databaseUrl });
  let inventory: RunningApp;
  let replies: Awaited<ReturnType<typeof collect>>;

  /** The order each test transaction reserves for. */
  const orderIds = new Map<string, string>();
  const newTx = () => {
    const txId = randomUUID();
    orderIds.set(txId, randomUUID());
    return txId;
  };

  const command = (txId: string, phase: Phase, input: JsonObject, attempt = 1): Command => ({
    txId,
    stepId: 'reserve-stock',
    type: 'saga',
    phase,
    action: phase === 'execute' ? 'reserve' : 'release',
    attempt,
    input,
    deadline: new Date(Date.now() + 30_000).toISOString(),
  });
  const reserve = (txId: string, extra: JsonObject = {}, attempt = 1) =>
    command(txId, 'execute', { sku, qty: 2, orderId: orderIds.get(txId)!, ...extra }, attempt);
  const release = (txId: string) => command(txId, 'compensate', { sku, qty: 2, orderId: orderIds.get(txId)! });

  /** 2PC commands of buy-now's reserve-stock, which inventory prepares in a prepared transaction. */
  const twoPc = (txId: string, phase: 'prepare' | 'commit' | 'abort'): Command => ({
    ...command(txId, phase, { sku, qty: 2, orderId: orderIds.get(txId)! }),
    type: '2pc',
    action: 'reserve',
  });
  const prepared = async (txId: string) =>
    (
      await db.query<{ gid: string }>('SELECT gid FROM pg_prepared_xacts WHERE gid = $1', [
        `ordo:${world.KAFKA_TOPIC_PREFIX}inventory:${txId}:reserve-stock`,
      ])
    ).rows.length;

  const send = (...commands: Command[]) =>
    bus.publish(commands.map((c) => ({ topic: topics.commands('inventory'), key: c.txId, value: JSON.stringify(c) })));
  /** One produce, one key: the commands land in one partition and reach the participant as one batch. */
  const sendBatch = (...commands: Command[]) =>
    bus.publish(commands.map((c) => ({ topic: topics.commands('inventory'), key: commands[0].txId, value: JSON.stringify(c) })));
  const repliesTo = (txId: string, phase: Phase) =>
    replies.received.map((m) => json(m) as unknown as Reply).filter((r) => r.txId === txId && r.phase === phase);
  const awaitReplies = async (txId: string, phase: Phase, count: number, timeoutMs = 60_000): Promise<Reply[]> => {
    const until = Date.now() + timeoutMs;
    while (repliesTo(txId, phase).length < count) {
      if (Date.now() > until) throw new Error(`${count} replies to ${phase} of ${txId} expected, got ${repliesTo(txId, phase).length}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return repliesTo(txId, phase);
  };

  const stock = async () => (await db.query<{ stock: number }>('SELECT stock FROM inventory.products WHERE sku = $1', [sku])).rows[0].stock;
  const reservations = async (txId: string) =>
    (await db.query<{ id: string; qty: number; status: string }>('SELECT id, qty, status FROM inventory.reservations WHERE tx_id = $1', [txId])).rows;
  const barrierRows = async (txId: string) =>
    (await db.query<{ phase: string; origin: string }>('SELECT phase, origin FROM inventory.ordo_barrier WHERE tx_id = $1 ORDER BY phase', [txId]))
      .rows;

  /** Resolves when the process has exited, with its exit code. */
  const exited = (app: RunningApp) =>
    new Promise<number | null>((resolve) => {
      if (app.process.exitCode !== null || app.process.signalCode !== null) resolve(app.process.exitCode);
      else app.process.once('exit', (code) => resolve(code));
    });

  beforeAll(async () => {
    await db.connect();
    inventory = await startApp('inventory', world);
    await db.query('INSERT INTO inventory.products (sku, name, stock) VALUES ($1, $1, 100)', [sku]);
    replies = await collect(bus, [topics.replies]);
  });

  afterAll(async () => {
    await replies?.close();
    await bus.close();
    await db.end();
  });

  it('applies a duplicated command once and gives every delivery the same reply', async () => {
    const txId = newTx();
    const before = await stock();
    await send(reserve(txId), reserve(txId));
    const [first, second] = await awaitReplies(txId, 'execute', 2);
    expect(first).toEqual(second);
    expect(first).toMatchObject({ outcome: 'success', attempt: 1, output: { reservationId: expect.any(String) } });
    expect(await reservations(txId)).toEqual([{ id: first.output!.reservationId, qty: 2, status: 'active' }]);
    expect(await stock()).toBe(before - 2);

    // A later attempt (the coordinator timed out and retried) gets the stored reply too, with its own attempt number.
    await send(reserve(txId, {}, 2));
    const [, , third] = await awaitReplies(txId, 'execute', 3);
    expect(third).toEqual({ ...first, attempt: 2 });
    expect(await stock()).toBe(before - 2);
  });

  it('puts back what it reserved once, however often the release arrives', async () => {
    const txId = newTx();
    const before = await stock();
    await send(reserve(txId));
    await awaitReplies(txId, 'execute', 1);
    await send(release(txId), release(txId));
    const [first, second] = await awaitReplies(txId, 'compensate', 2);
    expect(first).toEqual(second);
    expect(first.outcome).toBe('success');
    expect(await reservations(txId)).toEqual([expect.objectContaining({ status: 'released' })]);
    expect(await stock()).toBe(before);
  });

  it('answers a release before its reserve as a null compensation and then refuses the hanging reserve', async () => {
    const txId = newTx();
    const before = await stock();
    await send(release(txId));
    const [released] = await awaitReplies(txId, 'compensate', 1);
    expect(released).toEqual({ txId, stepId: 'reserve-stock', phase: 'compensate', attempt: 1, outcome: 'success' });
    expect(await barrierRows(txId)).toEqual([
      { phase: 'compensate', origin: 'null_compensation' },
      { phase: 'execute', origin: 'fence' },
    ]);

    // The reserve arrives late, after its compensation: refused, with no effect.
    await send(reserve(txId));
    const [refused] = await awaitReplies(txId, 'execute', 1);
    expect(refused).toMatchObject({ outcome: 'failure', error: { code: 'ALREADY_COMPENSATED' } });
    expect(await reservations(txId)).toEqual([]);
    expect(await stock()).toBe(before);
  });

  it('2PC prepare in a prepared transaction: a duplicate votes yes again, the work stays invisible until commit, applied once', async () => {
    const txId = newTx();
    const before = await stock();
    await send(twoPc(txId, 'prepare'), twoPc(txId, 'prepare'));
    const votes = await awaitReplies(txId, 'prepare', 2);
    expect(votes.map((v) => v.outcome)).toEqual(['success', 'success']);
    expect(await prepared(txId)).toBe(1);
    // Prepared, not committed: nobody sees the reservation or the lower stock yet.
    expect(await reservations(txId)).toEqual([]);
    expect(await stock()).toBe(before);

    await send(twoPc(txId, 'commit'), twoPc(txId, 'commit'));
    const commits = await awaitReplies(txId, 'commit', 2);
    expect(commits.map((c) => c.outcome)).toEqual(['success', 'success']);
    expect(await prepared(txId)).toBe(0);
    expect(await reservations(txId)).toEqual([expect.objectContaining({ qty: 2, status: 'active' })]);
    expect(await stock()).toBe(before - 2);
    expect(await barrierRows(txId)).toEqual([
      { phase: 'commit', origin: 'handler' },
      { phase: 'prepare', origin: 'handler' },
    ]);
  });

  it('2PC abort before its prepare: a null abort fences the prepare, which is refused and prepares nothing', async () => {
    const txId = newTx();
    const before = await stock();
    await send(twoPc(txId, 'abort'));
    expect((await awaitReplies(txId, 'abort', 1))[0]).toMatchObject({ outcome: 'success' });
    expect(await barrierRows(txId)).toEqual([
      { phase: 'abort', origin: 'null_compensation' },
      { phase: 'prepare', origin: 'fence' },
    ]);
    await send(twoPc(txId, 'prepare'));
    expect((await awaitReplies(txId, 'prepare', 1))[0]).toMatchObject({ outcome: 'failure', error: { code: 'ALREADY_COMPENSATED' } });
    expect(await prepared(txId)).toBe(0);
    expect(await reservations(txId)).toEqual([]);
    expect(await stock()).toBe(before);
  });

  it('2PC abort after a prepare rolls the prepared transaction back and fences a late duplicate prepare', async () => {
    const txId = newTx();
    const before = await stock();
    await send(twoPc(txId, 'prepare'));
    await awaitReplies(txId, 'prepare', 1);
    await send(twoPc(txId, 'abort'), twoPc(txId, 'prepare'));
    expect((await awaitReplies(txId, 'abort', 1))[0]).toMatchObject({ outcome: 'success' });
    expect((await awaitReplies(txId, 'prepare', 2))[1]).toMatchObject({ outcome: 'failure', error: { code: 'ALREADY_COMPENSATED' } });
    expect(await prepared(txId)).toBe(0);
    expect(await barrierRows(txId)).toEqual([
      { phase: 'abort', origin: 'handler' },
      { phase: 'prepare', origin: 'fence' },
    ]);
    expect(await reservations(txId)).toEqual([]);
    expect(await stock()).toBe(before);
  });

  it('crashing after commit and before the reply: the redelivery after the restart gets the stored reply, no second effect', async () => {
    const txId = newTx();
    const before = await stock();
    await send(reserve(txId, { _fault: { crash: 'after-commit' } }));
    expect(await exited(inventory)).toBe(137);
    await inventory.stop();
    // The effect committed, but no reply went out.
    const [reservation] = await reservations(txId);
    expect(reservation).toMatchObject({ qty: 2, status: 'active' });
    expect(await stock()).toBe(before - 2);
    expect(repliesTo(txId, 'execute')).toEqual([]);

    inventory = await startApp('inventory', world);
    const [reply] = await awaitReplies(txId, 'execute', 1);
    expect(reply).toMatchObject({ outcome: 'success', output: { reservationId: reservation.id } });
    expect(await reservations(txId)).toEqual([reservation]);
    expect(await stock()).toBe(before - 2);
  });

  it('crashing before commit: nothing is applied, and the redelivery after the restart applies it exactly once', async () => {
    const txId = newTx();
    const before = await stock();
    await send(reserve(txId, { _fault: { crash: 'before-commit' } }));
    expect(await exited(inventory)).toBe(137);
    await inventory.stop();
    // The work died with the uncommitted local transaction, barrier row included.
    expect(await reservations(txId)).toEqual([]);
    expect(await barrierRows(txId)).toEqual([]);
    expect(await stock()).toBe(before);

    inventory = await startApp('inventory', world);
    const [reply] = await awaitReplies(txId, 'execute', 1);
    expect(reply).toMatchObject({ outcome: 'success', output: { reservationId: expect.any(String) } });
    expect(await reservations(txId)).toEqual([{ id: reply.output!.reservationId, qty: 2, status: 'active' }]);
    expect(await barrierRows(txId)).toEqual([{ phase: 'execute', origin: 'handler' }]);
    expect(await stock()).toBe(before - 2);
  });

  it('a batch in one local transaction: a success, a refusal and a handler that throws each keep or undo only their own work, and all are answered', async () => {
    const [ok, refused, throws, after] = [newTx(), newTx(), newTx(), newTx()];
    const before = await stock();
    // The reservation the throwing reserve will collide with (UNIQUE (tx_id, step_id)),
    // after it has taken its stock: the stock it took must come back.
    await db.query(`INSERT INTO inventory.reservations (tx_id, step_id, order_id, sku, qty) VALUES ($1, 'reserve-stock', $2, $3, 1)`, [
      throws,
      orderIds.get(throws),
      sku,
    ]);
    const withQty = (txId: string, qty: number) => command(txId, 'execute', { sku, qty, orderId: orderIds.get(txId)! });
    await sendBatch(reserve(ok), withQty(refused, 1_000_000), withQty(throws, 3), withQty(after, 1));
    expect((await awaitReplies(ok, 'execute', 1))[0]).toMatchObject({ outcome: 'success' });
    expect((await awaitReplies(refused, 'execute', 1))[0]).toMatchObject({ outcome: 'failure', error: { code: 'OUT_OF_STOCK' } });
    expect((await awaitReplies(throws, 'execute', 1))[0]).toMatchObject({ outcome: 'retry', error: { code: 'UNEXPECTED' } });
    expect((await awaitReplies(after, 'execute', 1))[0]).toMatchObject({ outcome: 'success' });
    expect(await stock()).toBe(before - 2 - 1);
    expect(await reservations(refused)).toEqual([]);
    expect(await reservations(throws)).toEqual([expect.objectContaining({ qty: 1 })]);
    // The kept rows got their replies in one statement of one transaction: the same xmin.
    const rows = await db.query<{ tx_id: string; xmin: string }>('SELECT tx_id, xmin::text FROM inventory.ordo_barrier WHERE tx_id = ANY($1)', [
      [ok, refused, throws, after],
    ]);
    expect(rows.rows.map((r) => r.tx_id).sort()).toEqual([ok, refused, after].sort());
    expect(new Set(rows.rows.map((r) => r.xmin)).size).toBe(1);
  });

  it('a command of a batch that meets a row lock held elsewhere runs alone once the lock is gone, and succeeds', async () => {
    const other = `${sku}-LOCKED`;
    await db.query('INSERT INTO inventory.products (sku, name, stock) VALUES ($1, $1, 10)', [other]);
    const [free, blocked] = [newTx(), newTx()];
    const holder = new Client({ connectionString: env.databaseUrl });
    await holder.connect();
    try {
      // Another transaction holds the product's row for longer than a group waits for a lock.
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM inventory.products WHERE sku = $1 FOR UPDATE', [other]);
      await sendBatch(reserve(free), command(blocked, 'execute', { sku: other, qty: 1, orderId: orderIds.get(blocked)! }));
      expect((await awaitReplies(free, 'execute', 1))[0]).toMatchObject({ outcome: 'success' });
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Not refused for the lock: still waiting, alone.
      expect(repliesTo(blocked, 'execute')).toEqual([]);
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    expect((await awaitReplies(blocked, 'execute', 1))[0]).toMatchObject({ outcome: 'success' });
    expect(await reservations(blocked)).toEqual([expect.objectContaining({ qty: 1, status: 'active' })]);
  });

  it('killed before committing a batch: after the restart every command of it is applied exactly once and answered', async () => {
    const txIds = [newTx(), newTx(), newTx(), newTx()];
    const before = await stock();
    const commands = txIds.map((txId, i) => reserve(txId, i === 2 ? { _fault: { crash: 'before-commit' } } : {}));
    await sendBatch(...commands);
    expect(await exited(inventory)).toBe(137);
    await inventory.stop();
    // The batch's work died with its one uncommitted transaction, the commands before the crashing one too.
    for (const txId of txIds) expect(await reservations(txId)).toEqual([]);
    expect(await stock()).toBe(before);

    inventory = await startApp('inventory', world);
    for (const txId of txIds) {
      const [reply] = await awaitReplies(txId, 'execute', 1);
      expect(reply).toMatchObject({ outcome: 'success', output: { reservationId: expect.any(String) } });
      expect(await reservations(txId)).toEqual([{ id: reply.output!.reservationId, qty: 2, status: 'active' }]);
    }
    expect(await stock()).toBe(before - 2 * txIds.length);
  });
});
