import { randomBytes, randomUUID } from 'crypto';
import { TERMINAL } from '../support/coordinator-api';
import { InventoryWorld, startInventoryWorld } from '../support/inventory-world';
import { outboxDrained } from '../support/outbox';
import { testEnv } from '../support/test-env';

/**
 * An input mapping can build a command far larger than the transaction's input (here the
 * same 200 KiB field three times: 600 KiB, over MAX_MESSAGE_BYTES' 512 KiB). Such a command
 * must never reach the outbox, where no publish could ever take it: its step fails with
 * COMMAND_TOO_LARGE, and the saga rolls back only what ran, on a real coordinator over
 * real PostgreSQL and Kafka, with the real inventory service for the step before it.
 */
describe('a command too large to send', () => {
  const env = { KAFKA_TOPIC_PREFIX: `${testEnv().topicPrefix}oversized.` };
  const suffix = randomBytes(3).toString('hex');
  const schema = 'ordo_oversized_command';

  const sku = `BIG-${suffix}`;
  const definition = {
    name: `oversized-${suffix}`,
    type: 'saga',
    steps: [
      {
        id: 'reserve',
        participant: 'inventory',
        action: 'reserve',
        compensation: 'release',
        input: { sku: '$.input.sku', qty: '$.input.qty', orderId: '$.input.orderId' },
      },
      {
        id: 'charge',
        participant: 'payment',
        action: 'charge',
        compensation: 'refund',
        dependsOn: ['reserve'],
        input: { a: '$.input.note', b: '$.input.note', c: '$.input.note' },
      },
    ],
  };
  let world: InventoryWorld;

  beforeAll(async () => {
    world = await startInventoryWorld({ env, schema, definition, products: [{ sku, stock: 10 }] });
  });

  afterAll(() => world?.stop());

  it('fails its step with COMMAND_TOO_LARGE without sending it, and undoes only what ran', async () => {
    const started = await world.api.start(definition.name, { sku, qty: 1, orderId: randomUUID(), note: 'n'.repeat(200 * 1024) });
    const ended = await world.api.waitFor(started.id, TERMINAL, 30_000);
    expect(ended.status).toBe('compensated');
    expect(ended.steps.find((s) => s.id === 'reserve')).toMatchObject({ status: 'compensated' });
    expect(ended.steps.find((s) => s.id === 'charge')).toMatchObject({ status: 'failed', attempt: 0, lastError: { code: 'COMMAND_TOO_LARGE' } });
    const types = (await world.api.events(started.id)).map((e) => e.type);
    expect(types).toContain('step.undeliverable');
    // Nothing stuck in the outbox, and the stock is back.
    await outboxDrained(world.db, schema, started.id);
    const stock = await world.db.query<{ stock: number }>('SELECT stock FROM inventory.products WHERE sku = $1', [sku]);
    expect(stock.rows[0].stock).toBe(10);
  }, 60_000);
});
