import fc from 'fast-check';
import { EffectiveAdaptiveTimeout } from '../definition/definition';
import { adaptiveTimeoutMs } from './adaptive-timeout';
import { EMPTY_REPLY_TIMES, estimateReplyTime, observeReplyTime, ReplyTimeWindow } from './reply-time-window';

const arbPolicy: fc.Arbitrary<EffectiveAdaptiveTimeout> = fc
  .record({
    minMs: fc.integer({ min: 1, max: 2_000 }),
    spanMs: fc.integer({ min: 0, max: 20_000 }),
    percentile: fc.oneof(fc.constantFrom(50, 90, 95, 99, 99.9, 100), fc.double({ min: 50, max: 100, noNaN: true })),
    factor: fc.double({ min: 1.01, max: 10, noNaN: true }),
  })
  .map(({ minMs, spanMs, percentile, factor }) => ({ minMs, maxMs: minMs + spanMs, percentile, factor }));

const arbSettings = fc
  .record({ size: fc.integer({ min: 1, max: 50 }), minSamples: fc.integer({ min: 1, max: 50 }) })
  .map(({ size, minSamples }) => ({ size, minSamples: Math.min(size, minSamples) }));

const arbTimes = fc.array(fc.integer({ min: 0, max: 60_000 }), { maxLength: 120 });

const fed = (times: readonly number[], size: number, from: ReplyTimeWindow = EMPTY_REPLY_TIMES): ReplyTimeWindow =>
  times.reduce((window, ms) => observeReplyTime(window, ms, size), from);

const inForce = (policy: EffectiveAdaptiveTimeout, window: ReplyTimeWindow, minSamples: number): number =>
  adaptiveTimeoutMs(policy, estimateReplyTime(window, policy.percentile, minSamples));

describe('adaptive timeouts (properties)', () => {
  it('the window is the latest `size` times, and a percentile is one of them, at its nearest rank', () => {
    fc.assert(
      fc.property(arbTimes, arbSettings, fc.double({ min: 0, max: 100, noNaN: true }), (times, { size, minSamples }, percentile) => {
        const window = fed(times, size);
        const latest = times.slice(-size);
        expect(window.recent).toEqual(latest);
        expect(window.sorted).toEqual([...latest].sort((a, b) => a - b));
        const estimate = estimateReplyTime(window, percentile, minSamples);
        if (latest.length < minSamples || latest.length === 0) return expect(estimate).toBeNull();
        const rank = Math.max(1, Math.ceil((percentile / 100) * latest.length));
        expect(estimate).toEqual({ percentileMs: window.sorted[rank - 1], samples: latest.length });
      }),
    );
  });

  it('the timeout in force is always within [minMs, maxMs], and maxMs without enough data', () => {
    fc.assert(
      fc.property(arbPolicy, arbTimes, arbSettings, (policy, times, { size, minSamples }) => {
        const window = fed(times, size);
        const timeout = inForce(policy, window, minSamples);
        expect(timeout).toBeGreaterThanOrEqual(policy.minMs);
        expect(timeout).toBeLessThanOrEqual(policy.maxMs);
        expect(Number.isInteger(timeout)).toBe(true);
        if (Math.min(times.length, size) < minSamples) expect(timeout).toBe(policy.maxMs);
      }),
    );
  });

  it('is monotone: slower replies never shorten it', () => {
    fc.assert(
      fc.property(
        arbPolicy,
        arbSettings,
        fc.array(fc.tuple(fc.integer({ min: 0, max: 30_000 }), fc.integer({ min: 0, max: 30_000 })), { maxLength: 100 }),
        (policy, { size, minSamples }, pairs) => {
          const faster = fed(
            pairs.map(([time]) => time),
            size,
          );
          const slower = fed(
            pairs.map(([time, extra]) => time + extra),
            size,
          );
          expect(inForce(policy, slower, minSamples)).toBeGreaterThanOrEqual(inForce(policy, faster, minSamples));
        },
      ),
    );
  });

  it('a dead participant (only timeouts) pushes it up to maxMs within a bounded number of attempts, never past it', () => {
    fc.assert(
      fc.property(arbPolicy, arbTimes, arbSettings, (policy, history, { size, minSamples }) => {
        let window = fed(history, size);
        let previous = 0;
        const generations = Math.ceil(Math.log(policy.maxMs / policy.minMs) / Math.log(policy.factor)) + 1;
        const bound = size * generations + minSamples;
        for (let attempt = 0; attempt <= bound; attempt++) {
          const timeout = inForce(policy, window, minSamples);
          expect(timeout).toBeLessThanOrEqual(policy.maxMs);
          // Once the window is made of timeouts only, each timeout is at least the last.
          if (attempt >= size) expect(timeout).toBeGreaterThanOrEqual(previous);
          previous = timeout;
          // A timeout counts as a reply time of its own length.
          window = observeReplyTime(window, timeout, size);
        }
        expect(previous).toBe(policy.maxMs);
      }),
      { numRuns: 200 },
    );
  });

  it('a slow but steady participant is never timed out: replies within a factor of each other always come in time', () => {
    fc.assert(
      fc.property(
        arbPolicy,
        arbSettings,
        fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 1, maxLength: 150 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (policy, { size, minSamples }, spreads, level) => {
          // Reply times in [fastest, factor × fastest), below maxMs.
          const fastest = Math.floor(level * (policy.maxMs - 1));
          const slowest = Math.max(fastest, Math.min(Math.ceil(policy.factor * fastest) - 1, policy.maxMs - 1));
          const times = spreads.map((spread) => fastest + Math.floor(spread * (slowest - fastest + 1)));
          let window = EMPTY_REPLY_TIMES;
          for (const ms of times) {
            expect(ms).toBeLessThan(inForce(policy, window, minSamples));
            window = observeReplyTime(window, ms, size);
          }
        },
      ),
    );
  });
});
