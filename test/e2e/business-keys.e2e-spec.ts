import { randomBytes } from 'crypto';
import { insertFinishedTransactions } from '../../tools/bench/finished-transactions';
import { CoordinatorApi, TxView } from '../support/coordinator-api';
import { startApp } from '../support/processes';
import { testEnv } from '../support/test-env';

interface Tagged extends TxView {
  tags: Record<string, string>;
}

interface ErrorBody {
  error: { code: string; details: { path: string; message: string }[] };
}

/**
 * Business keys against a real coordinator: tags given at the start are shown with the
 * transaction, and the list and the counts find transactions by one tag or several.
 */
describe('business keys', () => {
  const env = testEnv();
  const suffix = randomBytes(3).toString('hex');
  const world = { KAFKA_TOPIC_PREFIX: `${env.topicPrefix}business-keys.`, DATABASE_SCHEMA: 'ordo_business_keys' };
  const definition = {
    name: `business-keys-${suffix}`,
    type: 'saga',
    steps: [{ id: 'a', participant: `keys-${suffix}`, action: 'a', compensation: 'undo-a' }],
  };
  // Unique per run: the schema outlives a run of the suite.
  const ada = `ada-${suffix}`;
  let api: CoordinatorApi;

  beforeAll(async () => {
    api = new CoordinatorApi((await startApp('coordinator', world)).url);
    await api.register(definition);
  });

  const start = (tags?: unknown) => api.request<Tagged & ErrorBody>('POST', '/transactions', { definition: definition.name, input: {}, tags });
  const list = (query: string) => api.request<{ items: Tagged[]; nextCursor: string | null }>('GET', `/transactions?${query}`);
  const tag = (key: string, value: string) => `tag=${encodeURIComponent(`${key}:${value}`)}`;

  it('keeps the tags given at the start, shows them, and finds transactions by one tag or all of several', async () => {
    const first = await start({ orderId: `o-1-${suffix}`, customer: ada });
    const second = await start({ orderId: `o-2-${suffix}`, customer: ada, 'ship.to': 'Zürich: Bahnhofstrasse 1' });
    const other = await start({ orderId: `o-3-${suffix}`, customer: `bob-${suffix}` });
    const untagged = await start();
    for (const response of [first, second, other, untagged]) expect(response.status).toBe(201);
    expect(first.body.tags).toEqual({ orderId: `o-1-${suffix}`, customer: ada });
    expect(untagged.body.tags).toEqual({});
    expect((await api.request<Tagged>('GET', `/transactions/${second.body.id}`)).body.tags).toEqual({
      orderId: `o-2-${suffix}`,
      customer: ada,
      'ship.to': 'Zürich: Bahnhofstrasse 1',
    });

    const ids = async (query: string) => {
      const { status, body } = await list(query);
      expect(status).toBe(200);
      return body.items.map((t) => t.id);
    };
    expect(await ids(tag('orderId', `o-1-${suffix}`))).toEqual([first.body.id]);
    // Newest first, as without tags; a value may hold ':'.
    expect(await ids(tag('customer', ada))).toEqual([second.body.id, first.body.id]);
    expect(await ids(tag('ship.to', 'Zürich: Bahnhofstrasse 1'))).toEqual([second.body.id]);
    expect(await ids(`${tag('customer', ada)}&${tag('orderId', `o-2-${suffix}`)}`)).toEqual([second.body.id]);
    // All must match: two values of one key match nothing, and so does a tag of another customer.
    expect(await ids(`${tag('orderId', `o-1-${suffix}`)}&${tag('orderId', `o-2-${suffix}`)}`)).toEqual([]);
    expect(await ids(`${tag('customer', ada)}&${tag('orderId', `o-3-${suffix}`)}`)).toEqual([]);
    // With the other filters, and page by page.
    expect(await ids(`${tag('customer', ada)}&definition=${definition.name}&status=running`)).toEqual([second.body.id, first.body.id]);
    const page = await list(`${tag('customer', ada)}&limit=1`);
    expect(page.body.items.map((t) => t.id)).toEqual([second.body.id]);
    expect(await ids(`${tag('customer', ada)}&limit=1&cursor=${page.body.nextCursor}`)).toEqual([first.body.id]);

    const counts = await api.request<{ total: number; counts: Record<string, number> }>('GET', `/transactions/counts?${tag('customer', ada)}`);
    expect(counts.body).toMatchObject({ total: 2, counts: { running: 2 } });
  });

  it('counts exactly up to 5,000 matches and says "more than" beyond, each status a lower bound', async () => {
    const region = (name: string) => `jsonb_build_object('region', '${name}-${suffix}')`;
    const insert = (seed: string, count: number, tags: string) =>
      insertFinishedTransactions(env.databaseUrl, {
        schema: world.DATABASE_SCHEMA,
        definition: { name: definition.name, version: 1, steps: [{ id: 'a', participant: `keys-${suffix}` }] },
        count,
        eventsPerTransaction: 1,
        finishedAgoMs: 60_000,
        seed: `${seed}-${suffix}`,
        tags,
      });
    await insert('exact', 5_000, region('exact'));
    await insert('over', 5_001, region('over'));
    const counts = (name: string) =>
      api.request<{ total: number; capped: boolean; counts: Record<string, number> }>(
        'GET',
        `/transactions/counts?${tag('region', `${name}-${suffix}`)}`,
      );
    // Nine in ten of the inserted rows are completed, one in ten compensated.
    expect((await counts('exact')).body).toEqual({
      total: 5_000,
      capped: false,
      counts: { running: 0, compensating: 0, completed: 4_500, compensated: 500, failed: 0 },
    });
    const over = (await counts('over')).body;
    expect({ total: over.total, capped: over.capped }).toEqual({ total: 5_000, capped: true });
    expect(Object.values(over.counts).reduce((a, b) => a + b, 0)).toBe(5_000);
    expect(over.counts.completed).toBeLessThanOrEqual(4_501);
    expect(over.counts.compensated).toBeLessThanOrEqual(500);
  });

  it('refuses bad tags with 400 VALIDATION_FAILED, naming the problem', async () => {
    const refusals: [unknown, RegExp][] = [
      [{ '9lives': 'x' }, /key "9lives"/],
      [{ 'order id': 'x' }, /key "order id"/],
      [{ orderId: 'x'.repeat(201) }, /orderId must be a string of 1 to 200/],
      [{ orderId: '' }, /orderId must be a string of 1 to 200/],
      [{ orderId: 7 }, /orderId must be a string/],
      [{ orderId: 'a\tb' }, /without control characters/],
      [Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])), /at most 16 tags/],
      [['orderId'], /must be an object of string values/],
    ];
    for (const [tags, message] of refusals) {
      const { status, body } = await start(tags);
      expect({ tags, status, code: body.error?.code }).toEqual({ tags, status: 400, code: 'VALIDATION_FAILED' });
      expect(body.error.details).toEqual([{ path: 'tags', message: expect.stringMatching(message) }]);
    }
    expect(await start({ ['k'.repeat(63)]: 'x'.repeat(200) })).toMatchObject({ status: 201 });

    for (const query of [
      'tag=orderId',
      'tag=9x:1',
      `tag=orderId:${'x'.repeat(201)}`,
      Array.from({ length: 17 }, (_, i) => tag(`k${i}`, 'v')).join('&'),
    ]) {
      for (const path of ['/transactions', '/transactions/counts']) {
        const { status, body } = await api.request<ErrorBody>('GET', `${path}?${query}`);
        expect({ path, query: query.slice(0, 40), status, code: body.error.code }).toEqual({
          path,
          query: query.slice(0, 40),
          status: 400,
          code: 'VALIDATION_FAILED',
        });
        expect(body.error.details[0].path).toBe('tag');
      }
    }
  });
});
