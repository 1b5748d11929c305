import { randomUUID } from 'crypto';
import { Command, HEADERS, Phase, topicNames } from '@ordo/protocol';
import { waitFor } from '../../tools/infra/proc';
import { collect, json, testBus } from '../support/kafka';
import {
  failCompensationFirst,
  failForward,
  TestBarrier,
  replyTwice,
  retryFirst,
  script,
  silentFirst,
  staleReplyFirst,
  success,
  TestParticipant,
  when,
} from '../support/test-participant';
import { testEnv } from '../support/test-env';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/**
 * The coordinator's e2e tests rely on the test participant, so its own contract is checked
 * here against the real broker: commands published straight on its command topic, replies
 * read from the reply topic.
 */
describe('test participant', () => {
  const topics = topicNames(testEnv().topicPrefix);
  const bus = testBus('e2e-test-participant');
  const plain = new TestParticipant({ name: 'tp-plain' });
  const scripted = new TestParticipant({
    name: 'tp-scripted',
    behaviour: script(
      failForward('refuse', 'OUT_OF_STOCK'),
      retryFirst('flaky', 'execute', 1),
      silentFirst('slow', 'execute'),
      staleReplyFirst('slow', 'execute'),
      replyTwice('chatty', 'execute'),
      failCompensationFirst('stubborn', 1),
      when({ stepId: 'reserve', phase: 'try' }, success({ reservation: 'r-1' })),
    ),
  });
  let replies: Awaited<ReturnType<typeof collect>>;

  beforeAll(async () => {
    await Promise.all([plain.start(), scripted.start()]);
    replies = await collect(bus, [topics.replies]);
  });

  afterAll(async () => {
    await replies?.close();
    await Promise.all([plain.stop(), scripted.stop()]);
    await bus.close();
  });

  const command = (txId: string, stepId: string, phase: Phase, attempt = 1): Command => ({
    txId,
    stepId,
    type: phase === 'try' || phase === 'confirm' || phase === 'cancel' ? 'tcc' : 'saga',
    phase,
    action: `${phase}-${stepId}`,
    attempt,
    input: { sku: 'A-1' },
    deadline: new Date(Date.now() + 30_000).toISOString(),
  });

  /** Publishes in order; one key, so the participant receives them in this order. */
  const send = (participant: TestParticipant, ...commands: Command[]) =>
    bus.publish(
      commands.map((c) => ({
        topic: participant.commandTopic,
        key: c.txId,
        value: JSON.stringify(c),
        headers: { [HEADERS.traceparent]: TRACEPARENT },
      })),
    );

  /** Waits for `count` replies of the transaction and returns every one received by then. */
  const repliesOf = async (txId: string, count: number) => {
    const of = () => replies.received.filter((m) => m.key === txId);
    await waitFor(`${count} replies for ${txId}`, async () => (of().length >= count ? true : undefined), 30_000);
    return of();
  };

  const bodies = async (txId: string, count: number) => (await repliesOf(txId, count)).map(json);

  it('answers a command on the reply topic, keyed by txId, with the trace context and a message id', async () => {
    const txId = randomUUID();
    await send(plain, command(txId, 'create-order', 'execute'));
    const [reply] = await repliesOf(txId, 1);
    expect(json(reply)).toEqual({ txId, stepId: 'create-order', phase: 'execute', attempt: 1, outcome: 'success' });
    expect(reply.headers[HEADERS.traceparent]).toBe(TRACEPARENT);
    expect(reply.headers[HEADERS.messageId]).toMatch(/^[0-9a-f-]{36}$/);
    expect(plain.count(txId, 'create-order', 'execute')).toEqual({ deliveries: 1, effects: 1 });
  });

  it('applies a redelivered command once and answers every delivery alike, later attempts included', async () => {
    const txId = randomUUID();
    const execute = command(txId, 'charge', 'execute');
    await send(plain, execute, execute, { ...execute, attempt: 2 });
    const [first, second, third] = await bodies(txId, 3);
    expect(second).toEqual(first);
    expect(third).toEqual({ ...first, attempt: 2 });
    expect(plain.count(txId, 'charge', 'execute')).toEqual({ deliveries: 3, effects: 1 });
    expect(plain.received(txId).map((e) => e.barrier)).toEqual(['run', 'duplicate', 'duplicate']);
  });

  it('compensates an executed step once, after its execute', async () => {
    const txId = randomUUID();
    await send(plain, command(txId, 'reserve', 'execute'), command(txId, 'reserve', 'compensate'), command(txId, 'reserve', 'compensate'));
    expect((await bodies(txId, 3)).map((r) => r.outcome)).toEqual(['success', 'success', 'success']);
    expect(plain.effects(txId).map((e) => e.phase)).toEqual(['execute', 'compensate']);
  });

  it('turns the compensation of a step that never executed into a null compensation', async () => {
    const txId = randomUUID();
    const cancel = command(txId, 'hold', 'cancel');
    await send(plain, cancel, cancel);
    const [first, second] = await bodies(txId, 2);
    expect(first).toEqual({ txId, stepId: 'hold', phase: 'cancel', attempt: 1, outcome: 'success' });
    expect(second).toEqual(first);
    expect(plain.received(txId).map((e) => e.barrier)).toEqual(['null_compensation', 'duplicate']);
    expect(plain.effects(txId)).toEqual([]);
  });

  it('refuses a hanging execute that arrives after its compensation, with no effect', async () => {
    const txId = randomUUID();
    await send(plain, command(txId, 'ship', 'compensate'), command(txId, 'ship', 'execute'));
    const [, refused] = await bodies(txId, 2);
    expect(refused).toMatchObject({ phase: 'execute', outcome: 'failure', error: { code: 'ALREADY_COMPENSATED' } });
    expect(plain.received(txId).map((e) => e.barrier)).toEqual(['null_compensation', 'hanging']);
    expect(plain.effects(txId)).toEqual([]);
  });

  describe('scripts', () => {
    it('refuses a forward phase with a code, and then needs no compensation', async () => {
      const txId = randomUUID();
      await send(scripted, command(txId, 'refuse', 'execute'), command(txId, 'refuse', 'compensate'));
      const [refused, compensated] = await bodies(txId, 2);
      expect(refused).toMatchObject({ outcome: 'failure', error: { code: 'OUT_OF_STOCK' } });
      expect(compensated).toMatchObject({ outcome: 'success' });
      expect(scripted.received(txId).map((e) => e.barrier)).toEqual(['run', 'null_compensation']);
      expect(scripted.effects(txId)).toEqual([]);
    });

    it('answers retry for the first attempts, then runs the next attempt for real', async () => {
      const txId = randomUUID();
      await send(scripted, command(txId, 'flaky', 'execute', 1), command(txId, 'flaky', 'execute', 2));
      expect((await bodies(txId, 2)).map((r) => [r.attempt, r.outcome])).toEqual([
        [1, 'retry'],
        [2, 'success'],
      ]);
      expect(scripted.count(txId, 'flaky', 'execute')).toEqual({ deliveries: 2, effects: 1 });
    });

    it('stays silent on attempt 1, then sends a stale reply for it before answering attempt 2', async () => {
      const txId = randomUUID();
      await send(scripted, command(txId, 'slow', 'execute', 1), command(txId, 'slow', 'execute', 2));
      expect((await bodies(txId, 2)).map((r) => [r.attempt, r.outcome])).toEqual([
        [1, 'failure'],
        [2, 'success'],
      ]);
      expect(scripted.received(txId).map((e) => e.reply?.outcome ?? 'silent')).toEqual(['silent', 'success']);
    });

    it('publishes a reply twice with one message id', async () => {
      const txId = randomUUID();
      await send(scripted, command(txId, 'chatty', 'execute'));
      const [first, second] = await repliesOf(txId, 2);
      expect(json(second)).toEqual(json(first));
      expect(second.headers[HEADERS.messageId]).toBe(first.headers[HEADERS.messageId]);
      expect(scripted.count(txId, 'chatty', 'execute')).toEqual({ deliveries: 1, effects: 1 });
    });

    it('fails a compensation for its first attempts without storing the failure', async () => {
      const txId = randomUUID();
      await send(
        scripted,
        command(txId, 'stubborn', 'execute'),
        command(txId, 'stubborn', 'compensate', 1),
        command(txId, 'stubborn', 'compensate', 2),
      );
      expect((await bodies(txId, 3)).map((r) => r.outcome)).toEqual(['success', 'failure', 'success']);
      expect(scripted.effects(txId).map((e) => `${e.phase}#${e.attempt}`)).toEqual(['execute#1', 'compensate#2']);
    });

    it('answers with a scripted output, and replays it to a redelivered try', async () => {
      const txId = randomUUID();
      await send(scripted, command(txId, 'reserve', 'try'), command(txId, 'reserve', 'try'));
      const [first, second] = await bodies(txId, 2);
      expect(first).toMatchObject({ phase: 'try', outcome: 'success', output: { reservation: 'r-1' } });
      expect(second).toEqual(first);
    });
  });

  it('a restarted instance sharing the barrier neither repeats an effect nor loses one cut short by the crash', async () => {
    const txId = randomUUID();
    const barrier = new TestBarrier();
    const first = new TestParticipant({
      name: 'tp-crash',
      barrier,
      behaviour: script(when({ stepId: 'held' }, { kind: 'delay', ms: 60_000, then: success() })),
    });
    await first.start();
    await send(first, command(txId, 'done', 'execute'), command(txId, 'held', 'execute'));
    await repliesOf(txId, 1);
    await first.stop();

    // A new consumer group reads the topic from the beginning: `done` again, and `held`.
    const second = new TestParticipant({ name: 'tp-crash', barrier, log: first.log });
    await second.start();
    try {
      const done = (await bodies(txId, 3)).filter((r) => r.stepId === 'done');
      expect(done).toHaveLength(2);
      expect(done[1]).toEqual(done[0]);
      expect(second.effects(txId).map((e) => e.stepId)).toEqual(['done', 'held']);
      expect(second.received(txId).map((e) => `${e.stepId}:${e.barrier}`)).toEqual(['done:run', 'done:duplicate', 'held:run']);
    } finally {
      await second.stop();
    }
  });
});
