import { AdaptiveTimeout, EffectiveAdaptiveTimeout, ResolvedDefinition } from '../definition/definition';
import { historyOf, sagaDefinition, SagaRun } from '../test/saga-harness';
import { Effect } from '../transaction/effects';
import { ReplyTimes } from '../transaction/inputs';
import { TransactionState } from '../transaction/transaction-state';
import { awaitedAttempt } from '../transaction/awaited-attempt';
import { EMPTY_REPLY_TIMES, estimateReplyTime, observeReplyTime, ReplyTimeWindow } from './reply-time-window';

const POLICY: AdaptiveTimeout = { minMs: 100, maxMs: 5000, percentile: 99, factor: 2 };
const [WINDOW, MIN_SAMPLES] = [20, 10];

/** The shell's part, as the coordinator plays it: one window, fed by what each decision ended. */
class ObservedReplyTimes implements ReplyTimes {
  window: ReplyTimeWindow = EMPTY_REPLY_TIMES;

  estimate(_participant: string, policy: EffectiveAdaptiveTimeout) {
    return estimateReplyTime(this.window, policy.percentile, MIN_SAMPLES);
  }

  learn(before: TransactionState, effects: readonly Effect[], now: number, definition: ResolvedDefinition): void {
    for (const event of historyOf(effects)) {
      if (event.type !== 'step.replied' && event.type !== 'step.timed_out') continue;
      const attempt = awaitedAttempt(before, definition, event);
      if (!attempt) continue;
      const ms = event.type === 'step.replied' ? now - attempt.sentAt : attempt.timeoutMs;
      this.window = observeReplyTime(this.window, ms, WINDOW);
    }
  }
}

const definition = sagaDefinition([{ id: 'a', adaptiveTimeout: POLICY, retry: { maxAttempts: 4 } }]);

/**
 * One saga of one step against a participant that answers each attempt after `latencyMs`
 * (null: never); returns the timeout of each attempt sent and how many timed out.
 */
function runOne(times: ObservedReplyTimes, latencyMs: number | null, now: number): { timeouts: number[]; timedOut: number; saga: SagaRun } {
  const saga = new SagaRun(definition, {}, now);
  saga.replyTimes = times;
  const apply = (act: () => void) => {
    const before = saga.state;
    act();
    times.learn(before, saga.effects, saga.now, definition);
  };
  apply(() => saga.start());
  const timeouts: number[] = [];
  let timedOut = 0;
  while (saga.state.status === 'running') {
    const step = saga.step('a');
    if (step.waitingFor === 'reply') {
      timeouts.push(step.dueAt! - saga.now);
      if (latencyMs !== null && saga.now + latencyMs < step.dueAt!) {
        saga.now += latencyMs;
        apply(() => saga.reply('a', 'success'));
        continue;
      }
      timedOut++;
    }
    apply(() => saga.untilDue());
  }
  return { timeouts, timedOut, saga };
}

describe('a step with an adaptive timeout', () => {
  it('waits maxMs before any reply time is known, then factor × the percentile, kept on the step and named by a timeout', () => {
    const saga = new SagaRun(definition);
    saga.start();
    expect(saga.step('a')).toMatchObject({ waitingFor: 'reply', dueAt: 1_000_000 + 5000, timeoutMs: 5000 });
    expect(saga.effects).toContainEqual(expect.objectContaining({ kind: 'send', deadline: 1_000_000 + 5000 }));

    const known = new SagaRun(definition);
    known.replyTimes = { estimate: () => ({ percentileMs: 240, samples: 20 }) };
    known.start();
    expect(known.step('a')).toMatchObject({ dueAt: 1_000_000 + 480, timeoutMs: 480 });
    known.after(480);
    expect(known.step('a').lastError).toEqual({ code: 'TIMEOUT', message: 'no reply to execute attempt 1 within 480 ms' });

    const fast = new SagaRun(definition);
    fast.replyTimes = { estimate: () => ({ percentileMs: 3, samples: 20 }) };
    fast.start();
    expect(fast.step('a').timeoutMs).toBe(POLICY.minMs);
  });

  it('keeps nothing more on the state of a step with a fixed timeout', () => {
    const saga = new SagaRun(sagaDefinition([{ id: 'a', timeoutMs: 700 }]));
    saga.replyTimes = {
      estimate: () => {
        throw new Error('a fixed timeout asks for no reply time');
      },
    };
    saga.start();
    expect(saga.step('a')).toEqual(expect.not.objectContaining({ timeoutMs: expect.anything() }));
    expect(saga.step('a').dueAt).toBe(1_000_000 + 700);
  });

  it('never retries a slow but healthy participant, where a fixed timeout below its reply time would every time', () => {
    const times = new ObservedReplyTimes();
    const runs = Array.from({ length: 40 }, (_, n) => runOne(times, 800, 1_000_000 + n * 10_000));
    expect(runs.map((run) => run.timedOut)).toEqual(Array(40).fill(0));
    expect(runs.every((run) => run.saga.state.status === 'completed')).toBe(true);
    // maxMs until MIN_SAMPLES replies are known, then 2 × 800 ms.
    expect(runs.map((run) => run.timeouts[0])).toEqual([...Array(MIN_SAMPLES).fill(5000), ...Array(40 - MIN_SAMPLES).fill(1600)]);
  });

  it('notices a dead participant after 2 × its usual reply time, then waits longer on each attempt, never past maxMs', () => {
    const times = new ObservedReplyTimes();
    for (let n = 0; n < 30; n++) runOne(times, 120, 1_000_000 + n * 10_000);
    const dead = runOne(times, null, 2_000_000);
    expect(dead.timedOut).toBe(4);
    // The step gave up: the rollback has begun (its compensation waits for the participant too).
    expect(dead.saga.state.status).toBe('compensating');
    // Each timeout counts as a reply time that long: the p99 of the window climbs with them.
    expect(dead.timeouts).toEqual([240, 480, 960, 1920]);
    const stillDead = Array.from({ length: 10 }, (_, n) => runOne(times, null, 3_000_000 + n * 100_000));
    expect(Math.max(...stillDead.flatMap((run) => run.timeouts))).toBe(POLICY.maxMs);
  });
});
