import { IncomingMessage, MessageBus, OutgoingMessage, SubscribeOptions } from '@ordo/platform';
import { HEADERS, Reply } from '@ordo/protocol';
import { CoordinatorConfig } from '../config/coordinator.config';
import { CoordinatorMetrics } from '../metrics/coordinator-metrics';
import { ReplyConsumer } from './reply-consumer';
import { TransactionEngine } from './transaction-engine';

const TX = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', '33333333-3333-4333-8333-333333333333'];

const message = (txId: string, offset: number): IncomingMessage => ({
  topic: 'ordo.replies',
  partition: 0,
  offset: String(offset),
  key: txId,
  value: Buffer.from(JSON.stringify({ txId, stepId: 'charge', phase: 'execute', attempt: 1, outcome: 'success', output: {} })),
  headers: {},
});

/** A consumer wired to an in-memory bus and an engine whose writes fail as `fail` says. */
async function consumerWith(fail: (replies: Reply[]) => Error | undefined) {
  let handleBatch: SubscribeOptions['handleBatch'] | undefined;
  const published: OutgoingMessage[] = [];
  const bus = {
    ensureTopics: async () => undefined,
    subscribe: async (options: SubscribeOptions) => {
      handleBatch = options.handleBatch;
      return { close: async () => undefined };
    },
    publish: async (messages: OutgoingMessage[]) => void published.push(...messages),
  } as unknown as MessageBus;
  const applied: string[] = [];
  const engine = {
    applyReplies: async (replies: Reply[]) => {
      const error = fail(replies);
      if (error) throw error;
      applied.push(...replies.map((r) => r.txId));
      return [];
    },
  } as unknown as TransactionEngine;
  const deadLettered: string[] = [];
  const metrics = { deadLettered: (reason: string) => deadLettered.push(reason) } as unknown as CoordinatorMetrics;
  const consumer = new ReplyConsumer(bus, engine, new CoordinatorConfig(), metrics);
  await consumer.onApplicationBootstrap();
  return { handle: (messages: IncomingMessage[]) => handleBatch!(messages), applied, published, deadLettered };
}

const jsonbRefuses = Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' });

describe('ReplyConsumer: every reply judged on its own', () => {
  it('applies the rest of a batch when the database refuses one reply, and dead-letters that one with the reason', async () => {
    const system = await consumerWith((replies) => (replies.some((r) => r.txId === TX[1]) ? jsonbRefuses : undefined));
    await system.handle(TX.map((tx, i) => message(tx, i)));
    expect(system.applied.sort()).toEqual([TX[0], TX[2]].sort());
    expect(system.deadLettered).toEqual(['unapplicable']);
    expect(system.published).toHaveLength(1);
    expect(system.published[0].key).toBe(TX[1]);
    expect(system.published[0].topic).toBe('ordo.replies.dlq');
    expect(system.published[0].headers![HEADERS.deadLetterReason]).toContain('unsupported Unicode escape sequence');
  });

  it('fails the whole batch (Kafka redelivers it) when the failure is not the data’s, dead-lettering nothing', async () => {
    const unreachable = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const system = await consumerWith(() => unreachable);
    await expect(system.handle(TX.map((tx, i) => message(tx, i)))).rejects.toThrow('ECONNREFUSED');
    expect(system.published).toEqual([]);
    expect(system.deadLettered).toEqual([]);
  });
});
