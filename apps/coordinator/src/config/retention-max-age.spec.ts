import { DURATION_OR_OFF, maxAgeMs } from './retention-max-age';

describe('retention age', () => {
  it('reads durations with a unit', () => {
    expect(maxAgeMs('7d')).toBe(7 * 86_400_000);
    expect(maxAgeMs('12h')).toBe(12 * 3_600_000);
    expect(maxAgeMs('30m')).toBe(1_800_000);
    expect(maxAgeMs('90s')).toBe(90_000);
    expect(maxAgeMs('500ms')).toBe(500);
  });

  it('is off for 0, off, or a zero duration', () => {
    expect(maxAgeMs('0')).toBeNull();
    expect(maxAgeMs('off')).toBeNull();
    expect(maxAgeMs('0d')).toBeNull();
  });

  it('refuses what is not a duration', () => {
    for (const bad of ['7', '-1d', '1.5h', '7 d', 'week', '']) expect(DURATION_OR_OFF.test(bad)).toBe(false);
    expect(() => maxAgeMs('7')).toThrow();
  });
});
