import { nextWindowStart, RateWindow, reserve } from './rate-window';

const MINUTE = 60_000;
const t0 = 100 * MINUTE;

describe('rate window', () => {
  it('grants places until the minute is full, then none', () => {
    let window: RateWindow = { start: 0, sent: 0 };
    const grants: number[] = [];
    for (const wanted of [3, 4, 2]) {
      const taken = reserve(window, t0 + 10_000, wanted, 5);
      grants.push(taken.granted);
      window = taken.window;
    }
    expect(grants).toEqual([3, 2, 0]);
    expect(window).toEqual({ start: t0, sent: 5 });
  });

  it('starts every minute from nothing (fixed windows)', () => {
    expect(reserve({ start: t0, sent: 5 }, t0 + MINUTE + 1, 7, 5)).toEqual({ window: { start: t0 + MINUTE, sent: 5 }, granted: 5 });
  });

  it('grants nothing past the limit even if the limit was lowered below what was sent', () => {
    expect(reserve({ start: t0, sent: 9 }, t0 + 1, 3, 5)).toEqual({ window: { start: t0, sent: 9 }, granted: 0 });
  });

  it('puts a summary at the start of the next minute', () => {
    expect(nextWindowStart(t0)).toBe(t0 + MINUTE);
    expect(nextWindowStart(t0 + MINUTE - 1)).toBe(t0 + MINUTE);
  });
});
