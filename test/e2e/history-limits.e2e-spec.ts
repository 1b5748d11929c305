import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { topicNames } from '@ordo/protocol';
import { CoordinatorApi, EventPage, TERMINAL } from '../support/coordinator-api';
import { testBus } from '../support/kafka';
import { startApp } from '../support/processes';
import { TestParticipant } from '../support/test-participant';
import { testEnv } from '../support/test-env';

/**
 * A transaction's history against a real coordinator: replies it ignores cannot grow it
 * without bound nor make a finished transaction look younger to retention, and it is read
 * page by page.
 */
describe('history limits', () => {
  const env = testEnv();
  const suffix = randomBytes(3).toString('hex');
  const schema = 'ordo_history_limits';
  const world = { KAFKA_TOPIC_PREFIX: `${env.topicPrefix}history-limits.`, DATABASE_SCHEMA: schema };
  const topics = topicNames(world.KAFKA_TOPIC_PREFIX);
  const participantName = `history-${suffix}`;
  const participant = new TestParticipant({ name: participantName, topicPrefix: world.KAFKA_TOPIC_PREFIX });
  const definition = {
    name: `history-limits-${suffix}`,
    type: 'saga',
    steps: ['a', 'b', 'c', 'd'].map((id, i, ids) => ({
      id,
      participant: participantName,
      action: id,
      compensation: `undo-${id}`,
      ...(i > 0 ? { dependsOn: [ids[i - 1]] } : {}),
    })),
  };
  const bus = testBus('e2e-history-limits');
  const db = new Client({ connectionString: env.databaseUrl });
  let api: CoordinatorApi;

  beforeAll(async () => {
    await db.connect();
    api = new CoordinatorApi((await startApp('coordinator', world)).url);
    await api.register(definition);
    await participant.start();
  });

  afterAll(async () => {
    await participant.stop();
    await bus.close();
    await db.end();
  });

  const page = (id: string, query: string) => api.request<EventPage>('GET', `/transactions/${id}/events${query}`);

  it('records the first 20 ignored replies, counts the rest, and keeps updated_at and finished_at', async () => {
    const done = await api.waitFor((await api.start(definition.name, {})).id, TERMINAL);
    expect(done.status).toBe('completed');
    const row = async () =>
      (await db.query(`SELECT updated_at, finished_at, ignored_replies FROM ${schema}.transactions WHERE id = $1`, [done.id])).rows[0];
    const before = await row();

    // 30 replies to a finished transaction: late duplicates, as a replaying participant sends them.
    const { token } = participant.received(done.id).find((entry) => entry.stepId === 'a')!;
    const reply = { txId: done.id, stepId: 'a', phase: 'execute', attempt: 1, outcome: 'success', output: {}, token };
    await bus.publish(Array.from({ length: 30 }, () => ({ topic: topics.replies, key: done.id, value: JSON.stringify(reply) })));
    const until = Date.now() + 30_000;
    while ((await api.get(done.id)).ignoredReplies < 30 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));

    const after = await api.get(done.id);
    expect(after.ignoredReplies).toBe(30);
    const ignored = (await api.events(done.id)).filter((e) => e.type === 'step.reply_ignored');
    expect(ignored).toHaveLength(20);
    expect(ignored[0].data).toMatchObject({ stepId: 'a', reason: 'transaction_finished' });
    // Neither the last progress nor retention's age moved.
    expect(await row()).toEqual({ ...before, ignored_replies: 30 });
    expect(after.updatedAt).toBe(done.updatedAt);
  });

  it('pages through the history oldest first with limit and cursor', async () => {
    const { id } = await api.waitFor((await api.start(definition.name, {})).id, TERMINAL);
    const whole = await api.events(id);
    expect(whole.length).toBeGreaterThan(12);

    const pages: EventPage[] = [];
    let cursor = '';
    do {
      const { status, body } = await page(id, `?limit=5${cursor ? `&cursor=${cursor}` : ''}`);
      expect(status).toBe(200);
      pages.push(body);
      cursor = body.nextCursor ?? '';
    } while (cursor);
    expect(pages.slice(0, -1).every((p) => p.items.length === 5)).toBe(true);
    expect(pages.flatMap((p) => p.items)).toEqual(whole);
    expect(whole.map((e) => BigInt(e.id))).toEqual([...whole.map((e) => BigInt(e.id))].sort((x, y) => (x < y ? -1 : 1)));
    expect(whole[0].type).toBe('transaction.started');

    // The default page holds 50; without a cursor, the history starts from its first entry.
    const first = await page(id, '');
    expect(first.body.items).toEqual(whole.slice(0, 50));
  });

  it('answers bad paging with 400, and an unknown transaction with 404', async () => {
    const { id } = await api.start(definition.name, {});
    expect((await page(id, '?cursor=not-a-cursor')).body).toEqual({
      error: { code: 'INVALID_CURSOR', message: 'cursor is not one this API returned' },
    });
    expect((await page(id, '?limit=0')).status).toBe(400);
    expect((await page(id, '?limit=501')).status).toBe(400);
    expect((await page('00000000-0000-4000-8000-000000000000', '')).body).toMatchObject({ error: { code: 'TRANSACTION_NOT_FOUND' } });
  });
});
