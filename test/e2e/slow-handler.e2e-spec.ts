import { randomBytes, randomUUID } from 'crypto';
import { InventoryWorld, startInventoryWorld } from '../support/inventory-world';
import { testEnv } from '../support/test-env';

/**
 * A handler slower than the Kafka consumer's session timeout (10 s) must not cost its
 * participant its group membership: kafkajs heartbeats only between batches, so such a
 * handler used to get the member expelled, its batch redelivered and handled slowly again,
 * over and over. The real inventory service runs one command for 14 s (failure injection's
 * latency) while other reservations go on; the slow one ends once, and the member never
 * has to rejoin.
 */
describe('a handler slower than the consumer session', () => {
  const suffix = randomBytes(3).toString('hex');
  const settings = { KAFKA_TOPIC_PREFIX: `${testEnv().topicPrefix}slow-handler.`, KAFKA_TOPIC_PARTITIONS: '4', FAULT_INJECTION: 'on' };
  const sku = `SLOW-${suffix}`;
  const definition = {
    name: `slow-reserve-${suffix}`,
    type: 'saga',
    timeoutMs: 60_000,
    // Without an input mapping the step gets the whole input, `_fault` included. The step
    // timeout is longer than the slow handler, so the coordinator does not send it twice.
    defaults: { timeoutMs: 30_000, retry: { maxAttempts: 1 } },
    steps: [{ id: 'reserve', participant: 'inventory', action: 'reserve', compensation: 'release' }],
  };
  let world: InventoryWorld;

  beforeAll(async () => {
    world = await startInventoryWorld({ env: settings, schema: 'ordo_slow_handler', definition, products: [{ sku, stock: 100 }] });
  });

  afterAll(() => world?.stop());

  it('keeps the member in its group while the handler runs; the other commands and the slow one complete, each once', async () => {
    const reserve = (extra: object = {}) => world.api.start(definition.name, { sku, qty: 1, orderId: randomUUID(), ...extra });
    const slow = await reserve({ _fault: { latencyMs: 14_000 } });
    const quick = await Promise.all(Array.from({ length: 6 }, () => reserve()));
    // Those on other partitions finish long before the slow one; those behind it on its
    // partition wait for it. All complete.
    for (const tx of quick) expect((await world.api.waitFor(tx.id, ['completed', 'compensated', 'failed'], 45_000)).status).toBe('completed');
    const ended = await world.api.waitFor(slow.id, ['completed', 'compensated', 'failed'], 45_000);
    expect(ended.status).toBe('completed');
    expect(ended.steps[0].attempt).toBe(1);
    // Each reservation took one unit of stock once: nothing was handled twice.
    const { rows } = await world.db.query<{ stock: number }>('SELECT stock FROM inventory.products WHERE sku = $1', [sku]);
    expect(rows[0].stock).toBe(100 - 7);
    // An expelled member finds out at its next heartbeat and rejoins; kafkajs says so at warn.
    expect(world.inventory.output()).not.toMatch(/not aware of this member|re-joining the group|rebalancing/i);
    // Nothing else to say at warn either: a start that warns hides the warnings that matter.
    expect(world.inventory.output()).not.toMatch(/LegacyRouteConverter|Limiting retries/);
  }, 90_000);
});
