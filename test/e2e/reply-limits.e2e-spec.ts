import { randomBytes, randomUUID } from 'crypto';
import { Command, HEADERS, topicNames } from '@ordo/protocol';
import { CoordinatorApi, TERMINAL } from '../support/coordinator-api';
import { collect, json, testBus } from '../support/kafka';
import { RunningApp, startApp } from '../support/processes';
import { ReplyBody } from '@ordo/participant';
import { Answer, failure, success, TestParticipant } from '../support/test-participant';
import { testEnv } from '../support/test-env';

/**
 * Replies PostgreSQL cannot store, or over the protocol's caps, against a real coordinator:
 * each is dead-lettered with its reason, or (a long error message) cut and applied, and the
 * reply partition goes on. The world has ONE reply partition, so a blocked partition would
 * hold back every transaction: a marker saga started after each attack must complete.
 */
describe('reply limits', () => {
  const env = testEnv();
  const suffix = randomBytes(3).toString('hex');
  const world = { KAFKA_TOPIC_PREFIX: `${env.topicPrefix}reply-limits.`, KAFKA_TOPIC_PARTITIONS: '1', DATABASE_SCHEMA: `ordo_reply_limits` };
  const topics = topicNames(world.KAFKA_TOPIC_PREFIX);
  const participantName = `limits-${suffix}`;
  const EMOJI = '\ud83d\ude00';
  // Each transaction's input names what the participant answers; replies the coordinator
  // refuses are not kept at the participant's barrier (its table could not hold them all).
  const unkept = (reply: ReplyBody): Answer => ({ kind: 'unkept', then: reply });
  const answers: Record<string, (command: Command) => Answer> = {
    ok: () => success({ done: true }),
    surrogate: () => unkept(failure('HALF_EMOJI', `cut in the middle of an emoji ${EMOJI.slice(0, 1)}`)),
    long: () => failure('VERBOSE', EMOJI.repeat(5000)),
    'big-output': () => unkept(success({ blob: 'x'.repeat(70_000) })),
  };
  const participant = new TestParticipant({
    name: participantName,
    topicPrefix: world.KAFKA_TOPIC_PREFIX,
    behaviour: (command) => (command.phase === 'execute' ? answers[command.input.mode as string](command) : success()),
  });
  const definition = {
    name: `reply-limits-${suffix}`,
    type: 'saga',
    defaults: { timeoutMs: 1000, retry: { maxAttempts: 2, initialDelayMs: 50, multiplier: 2, maxDelayMs: 100 } },
    steps: [{ id: 'work', participant: participantName, action: 'work', compensation: 'undo' }],
  };
  const bus = testBus('e2e-reply-limits');
  let dead: Awaited<ReturnType<typeof collect>>;
  let coordinator: RunningApp;
  let api: CoordinatorApi;

  beforeAll(async () => {
    // The coordinator first: it creates the reply topic, with one partition.
    coordinator = await startApp('coordinator', world);
    api = new CoordinatorApi(coordinator.url);
    await api.register(definition);
    await participant.start();
    dead = await collect(bus, [topics.deadLetter(topics.replies)]);
  });

  afterAll(async () => {
    await dead?.close();
    await participant.stop();
    await bus.close();
  });

  const start = (mode: string) => api.start(definition.name, { mode });
  const deadLetterOf = (txId: string) => dead.waitFor((m) => m.key === txId);
  const reason = (message: { headers: Record<string, string> }) => message.headers[HEADERS.deadLetterReason];

  /** A saga started now completes in its normal time: the reply partition is not blocked. */
  async function markerCompletes(): Promise<void> {
    const started = Date.now();
    const marker = await api.waitFor((await start('ok')).id, TERMINAL, 15_000);
    expect(marker.status).toBe('completed');
    expect(Date.now() - started).toBeLessThan(15_000);
  }

  it('dead-letters a reply with an unpaired surrogate, which jsonb refuses, and the partition goes on', async () => {
    const { id } = await start('surrogate');
    const letter = await deadLetterOf(id);
    expect(reason(letter)).toBe('error.message must not contain an unpaired UTF-16 surrogate (U+D83D)');
    // The dead letter holds the bytes as sent: JSON's escape of the lone half.
    expect(letter.value!.toString()).toContain('emoji \\ud83d"');
    expect(json(letter)).toMatchObject({ txId: id, stepId: 'work', outcome: 'failure' });
    await markerCompletes();
    // Its replies never counted: the attempts timed out and the saga rolled back.
    const done = await api.waitFor(id, TERMINAL);
    expect(done.status).toBe('compensated');
    expect(done.steps[0].lastError?.code).toBe('TIMEOUT');
  });

  it('cuts a long error message at a character boundary and applies the reply', async () => {
    const done = await api.waitFor((await start('long')).id, TERMINAL);
    expect(done.status).toBe('compensated');
    const { code, message } = done.steps[0].lastError!;
    expect(code).toBe('VERBOSE');
    expect([...message]).toHaveLength(4096);
    expect(message.endsWith(`${EMOJI}… [cut from 5000 characters]`)).toBe(true);
    // Refused by the participant's reply, not rolled back by a timeout.
    const events = await api.events(done.id);
    expect(events.find((e) => e.type === 'step.replied')?.data.error).toEqual({ code, message });
    expect(events.filter((e) => e.type === 'step.timed_out')).toEqual([]);
  });

  it('dead-letters an output over MAX_REPLY_OUTPUT_BYTES and a stepId over 200 characters', async () => {
    const { id } = await start('big-output');
    expect(reason(await deadLetterOf(id))).toBe('output is 70011 bytes of JSON, more than the 65536 allowed');

    const txId = randomUUID();
    const reply = { txId, stepId: 's'.repeat(201), phase: 'execute', attempt: 1, outcome: 'success' };
    await bus.publish([{ topic: topics.replies, key: txId, value: JSON.stringify(reply) }]);
    expect(reason(await deadLetterOf(txId))).toBe('stepId must be at most 200 characters');
    await markerCompletes();
    expect(coordinator.process.exitCode).toBeNull();
  });
});
