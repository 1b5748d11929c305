import { afterAttempt, DeliveryPolicy } from './delivery-policy';

const policy: DeliveryPolicy = { maxAttempts: 4, backoff: { initialDelayMs: 1000, multiplier: 2, maxDelayMs: 5000, jitter: 'none' } };

describe('afterAttempt', () => {
  it('is sent once the receiver took it, whatever the attempt', () => {
    expect(afterAttempt(policy, 1, true, Math.random)).toEqual({ state: 'sent' });
    expect(afterAttempt(policy, 4, true, Math.random)).toEqual({ state: 'sent' });
  });

  it('retries after an exponential backoff, capped, then gives up once the attempts are spent', () => {
    const waits = [1, 2, 3].map((attempt) => afterAttempt(policy, attempt, false, () => 0.5));
    expect(waits).toEqual([1000, 2000, 4000].map((retryInMs) => ({ state: 'pending', retryInMs })));
    expect(afterAttempt({ ...policy, maxAttempts: 10 }, 5, false, () => 0.5)).toEqual({ state: 'pending', retryInMs: 5000 });
    expect(afterAttempt(policy, 4, false, () => 0.5)).toEqual({ state: 'dead' });
  });

  it('spreads retries with jitter so receivers coming back are not hit all at once', () => {
    const jittered: DeliveryPolicy = { ...policy, backoff: { ...policy.backoff, jitter: 'equal' } };
    expect(afterAttempt(jittered, 2, false, () => 0)).toEqual({ state: 'pending', retryInMs: 1000 });
    expect(afterAttempt(jittered, 2, false, () => 0.9999)).toEqual({ state: 'pending', retryInMs: 2000 });
  });
});
