import fc from 'fast-check';
import { JITTERS } from '../definition/definition';
import { backoffCeilingMs, BackoffPolicy, retryDelayMs } from './backoff';

const policy = (overrides: Partial<BackoffPolicy> = {}): BackoffPolicy => ({
  initialDelayMs: 100,
  multiplier: 2,
  maxDelayMs: 1000,
  jitter: 'none',
  ...overrides,
});

const arbPolicy = fc
  .record({
    initialDelayMs: fc.integer({ min: 0, max: 10_000 }),
    multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
    extraMs: fc.integer({ min: 0, max: 100_000 }),
    jitter: fc.constantFrom(...JITTERS),
  })
  .map(({ extraMs, ...rest }): BackoffPolicy => ({ ...rest, maxDelayMs: rest.initialDelayMs + extraMs }));
const arbAttempt = fc.integer({ min: 1, max: 2_000 });
const arbRandom = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('retryDelayMs', () => {
  it('grows exponentially up to the cap without jitter', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs(policy(), attempt, () => 0.5))).toEqual([100, 200, 400, 800, 1000]);
  });

  it('spreads full jitter over [0, ceiling] and equal jitter over [ceiling/2, ceiling]', () => {
    expect(retryDelayMs(policy({ jitter: 'full' }), 3, () => 0)).toBe(0);
    expect(retryDelayMs(policy({ jitter: 'full' }), 3, () => 0.999_999)).toBe(400);
    expect(retryDelayMs(policy({ jitter: 'equal' }), 3, () => 0)).toBe(200);
    expect(retryDelayMs(policy({ jitter: 'equal' }), 3, () => 0.999_999)).toBe(400);
  });

  it('survives huge attempt numbers and a zero initial delay', () => {
    expect(retryDelayMs(policy(), 10_000, () => 0.5)).toBe(1000);
    expect(retryDelayMs(policy({ initialDelayMs: 0, maxDelayMs: 50 }), 10_000, () => 0.5)).toBe(0);
  });

  it('is a whole number within [0, ceiling] and never above maxDelayMs', () => {
    fc.assert(
      fc.property(arbPolicy, arbAttempt, arbRandom, (p, attempt, r) => {
        const delay = retryDelayMs(p, attempt, () => r);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(backoffCeilingMs(p, attempt));
        expect(delay).toBeLessThanOrEqual(p.maxDelayMs);
      }),
    );
  });

  it('has a ceiling that never decreases from one attempt to the next', () => {
    fc.assert(
      fc.property(arbPolicy, arbAttempt, (p, attempt) => {
        expect(backoffCeilingMs(p, attempt + 1)).toBeGreaterThanOrEqual(backoffCeilingMs(p, attempt));
      }),
    );
  });

  it('respects the jitter floor', () => {
    fc.assert(
      fc.property(arbPolicy, arbAttempt, arbRandom, (p, attempt, r) => {
        const ceiling = backoffCeilingMs(p, attempt);
        const floor = { full: 0, equal: Math.ceil(ceiling / 2), none: ceiling }[p.jitter];
        expect(retryDelayMs(p, attempt, () => r)).toBeGreaterThanOrEqual(floor);
      }),
    );
  });
});
