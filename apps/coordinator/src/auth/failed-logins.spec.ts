import { FailedLogins, LoginLimiter } from './failed-logins';

describe('FailedLogins', () => {
  it('blocks a tracker at the limit until its oldest failure leaves the window', () => {
    const logins = new FailedLogins(3, 60_000);
    [0, 10_000, 20_000].forEach((at) => logins.record('a', at));
    expect(logins.blockedFor('a', 30_000)).toBe(30_000);
    expect(logins.blockedFor('b', 30_000)).toBe(0);
    // The first failure has left the window: two remain, under the limit.
    expect(logins.blockedFor('a', 60_001)).toBe(0);
    expect(logins.record('a', 60_001)).toBe(3);
  });

  it('forgets the stalest trackers beyond its bound', () => {
    const logins = new FailedLogins(1, 60_000, 2);
    logins.record('a', 0);
    logins.record('b', 1);
    logins.record('c', 2);
    expect(logins.blockedFor('a', 3)).toBe(0);
    expect(logins.blockedFor('c', 3)).toBeGreaterThan(0);
  });
});

describe('LoginLimiter', () => {
  it('blocks one address and key after repeated failures, not the address with other keys', () => {
    const limiter = new LoginLimiter(3, 60_000);
    [0, 1, 2].forEach((at) => limiter.failed('10.0.0.1', 'wrong', at));
    expect(limiter.blockedFor('10.0.0.1', 'wrong', 3)).toBe(59_997);
    expect(limiter.blockedFor('10.0.0.1', 'other', 3)).toBe(0);
    expect(limiter.blockedFor('10.0.0.2', 'wrong', 3)).toBe(0);
  });

  it('blocks an address guessing many keys, except for the keys that succeeded from it', () => {
    const limiter = new LoginLimiter(3, 60_000);
    limiter.succeededWith('10.0.0.1', 'good');
    ['g1', 'g2', 'g3'].forEach((guess, at) => limiter.failed('10.0.0.1', guess, at));
    expect(limiter.blockedFor('10.0.0.1', 'g4', 3)).toBeGreaterThan(0);
    // A right guess made now would be refused too: a blocked address learns nothing.
    expect(limiter.blockedFor('10.0.0.1', 'another-valid', 3)).toBeGreaterThan(0);
    expect(limiter.blockedFor('10.0.0.1', 'good', 3)).toBe(0);
    expect(limiter.blockedFor('10.0.0.2', 'g4', 3)).toBe(0);
  });
});
