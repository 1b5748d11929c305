import { EffectiveRetryPolicy } from '../definition/definition';
import { freshAttempts, holdUntil, isDue, isScheduled, matchReply, refill, retryLater, sendAttempt } from './attempts';

const policy: EffectiveRetryPolicy = {
  maxAttempts: 2,
  initialDelayMs: 100,
  multiplier: 2,
  maxDelayMs: 1000,
  jitter: 'none',
};

describe('attempts', () => {
  const fresh = freshAttempts('execute', policy.maxAttempts);

  it('sends numbered attempts, each with its timeout', () => {
    const first = sendAttempt(fresh, 500, 1_000);
    expect(first).toEqual({ phase: 'execute', attempt: 1, attemptsLeft: 1, waitingFor: 'reply', dueAt: 1_500 });
    expect(isDue(first, 1_499)).toBe(false);
    expect(isDue(first, 1_500)).toBe(true);
  });

  it('matches only the reply to the attempt it waits for', () => {
    const sent = sendAttempt(sendAttempt(fresh, 500, 0), 500, 0);
    expect(matchReply(sent, 'execute', 2)).toBe('current');
    expect(matchReply(sent, 'execute', 1)).toBe('attempt_mismatch');
    expect(matchReply(sent, 'compensate', 2)).toBe('phase_mismatch');
    expect(matchReply({ ...sent, waitingFor: null, dueAt: null }, 'execute', 2)).toBe('not_awaited');
  });

  it('schedules a retry with backoff until the budget is spent', () => {
    const first = sendAttempt(fresh, 500, 0);
    expect(retryLater(first, policy, 600, () => 0)).toMatchObject({ waitingFor: 'backoff', dueAt: 700 });
    const second = sendAttempt(first, 500, 700);
    expect(retryLater(second, policy, 1_300, () => 0)).toBeNull();
  });

  it('holds the next attempt back without using the budget, and tells what is scheduled', () => {
    const held = holdUntil(fresh, 900);
    expect(held).toEqual({ ...fresh, waitingFor: 'hold', dueAt: 900 });
    expect(isDue(held, 900)).toBe(true);
    expect(matchReply(sendAttempt(held, 500, 900), 'execute', 1)).toBe('current');
    expect([held, retryLater(sendAttempt(fresh, 500, 0), policy, 0, () => 0)!].every(isScheduled)).toBe(true);
    expect([fresh, sendAttempt(fresh, 500, 0)].some(isScheduled)).toBe(false);
  });

  it('refills the budget without reusing attempt numbers', () => {
    const spent = sendAttempt(sendAttempt(fresh, 500, 0), 500, 0);
    const refilled = sendAttempt(refill(spent, policy.maxAttempts), 500, 0);
    expect(refilled).toMatchObject({ attempt: 3, attemptsLeft: 1 });
  });
});
