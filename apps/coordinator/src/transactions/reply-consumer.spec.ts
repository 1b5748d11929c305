import { IncomingMessage, MessageBus, OutgoingMessage, SubscribeOptions } from '@ordo/platform';
import { HEADERS, Reply } from '@ordo/protocol';
import { AlertRecorder, DeadLetter } from '../alerts/alert-recorder';
import { CoordinatorConfig } from '../config/coordinator.config';
import { CoordinatorMetrics } from '../metrics/coordinator-metrics';
import { ReplyConsumer } from './reply-consumer';
import { ReplyTokens } from './reply-tokens';
import { TransactionEngine } from './transaction-engine';

const TX = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', '33333333-3333-4333-8333-333333333333'];

/** Tokens signed with a fixed secret, as the database would give it. */
async function tokensWith(config: CoordinatorConfig): Promise<ReplyTokens> {
  const tokens = new ReplyTokens({ query: async () => [{ value: 'test-secret' }] } as never, config);
  await tokens.onModuleInit();
  return tokens;
}
const signer = tokensWith(new CoordinatorConfig());

/** A reply to attempt 1 of `charge`, with its token unless `token` says otherwise (null: none). */
async function message(txId: string, offset: number, token?: string | null): Promise<IncomingMessage> {
  const attempt = { txId, stepId: 'charge', phase: 'execute', attempt: 1 } as const;
  const signed = token === undefined ? (await signer).sign(attempt) : (token ?? undefined);
  return {
    topic: 'ordo.replies',
    partition: 0,
    offset: String(offset),
    key: txId,
    value: Buffer.from(JSON.stringify({ ...attempt, outcome: 'success', output: {}, token: signed })),
    headers: {},
  };
}
const messages = () => Promise.all(TX.map((tx, i) => message(tx, i)));

/** A consumer wired to an in-memory bus and an engine whose writes fail as `fail` says. */
async function consumerWith(fail: (replies: Reply[]) => Error | undefined, config = new CoordinatorConfig()) {
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
  const alerted: DeadLetter[] = [];
  const alerts = { deadLettered: (letters: DeadLetter[]) => void alerted.push(...letters) } as unknown as AlertRecorder;
  const consumer = new ReplyConsumer(bus, engine, config, metrics, await tokensWith(config), alerts);
  await consumer.onApplicationBootstrap();
  return { handle: (messages: IncomingMessage[]) => handleBatch!(messages), applied, published, deadLettered, alerted };
}

const jsonbRefuses = Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' });

describe('ReplyConsumer: every reply judged on its own', () => {
  it('applies the rest of a batch when the database refuses one reply, and dead-letters that one with the reason', async () => {
    const system = await consumerWith((replies) => (replies.some((r) => r.txId === TX[1]) ? jsonbRefuses : undefined));
    await system.handle(await messages());
    expect(system.applied.sort()).toEqual([TX[0], TX[2]].sort());
    expect(system.deadLettered).toEqual(['unapplicable']);
    expect(system.published).toHaveLength(1);
    expect(system.published[0].key).toBe(TX[1]);
    expect(system.published[0].topic).toBe('ordo.replies.dlq');
    expect(system.published[0].headers![HEADERS.deadLetterReason]).toContain('unsupported Unicode escape sequence');
    expect(system.alerted).toEqual([{ reason: 'unapplicable', message: expect.stringContaining('unsupported Unicode'), txId: TX[1] }]);
  });

  it('fails the whole batch (Kafka redelivers it) when the failure is not the data’s, dead-lettering nothing', async () => {
    const unreachable = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const system = await consumerWith(() => unreachable);
    await expect(system.handle(await messages())).rejects.toThrow('ECONNREFUSED');
    expect(system.published).toEqual([]);
    expect(system.deadLettered).toEqual([]);
  });
});

describe('ReplyConsumer: replies bound to their command by its token', () => {
  it("applies a reply with its token and dead-letters one with another attempt's token or a made-up one", async () => {
    const system = await consumerWith(() => undefined);
    const otherAttempt = (await signer).sign({ txId: TX[1], stepId: 'charge', phase: 'execute', attempt: 2 });
    await system.handle([await message(TX[0], 0), await message(TX[1], 1, otherAttempt), await message(TX[2], 2, 'A'.repeat(22))]);
    expect(system.applied).toEqual([TX[0]]);
    expect(system.deadLettered).toEqual(['bad_token', 'bad_token']);
    expect(system.published.map((m) => [m.key, m.headers![HEADERS.deadLetterReason]])).toEqual([
      [TX[1], 'token does not match the command of this attempt'],
      [TX[2], 'token does not match the command of this attempt'],
    ]);
  });

  it('refuses a reply without a token unless REPLY_TOKENS=optional (protocol version 1 participants)', async () => {
    const required = await consumerWith(() => undefined);
    await required.handle([await message(TX[0], 0, null)]);
    expect(required.applied).toEqual([]);
    expect(required.published[0].headers![HEADERS.deadLetterReason]).toMatch(/^no token: replies must echo their command's token/);

    const optional = await consumerWith(() => undefined, Object.assign(new CoordinatorConfig(), { REPLY_TOKENS: 'optional' }));
    await optional.handle([await message(TX[0], 0, null), await message(TX[1], 1, 'A'.repeat(22))]);
    expect(optional.applied).toEqual([TX[0]]);
    expect(optional.deadLettered).toEqual(['bad_token']);
  });
});
