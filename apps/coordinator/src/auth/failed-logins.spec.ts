import { FailedLogins } from './failed-logins';

describe('FailedLogins', () => {
  it('blocks a client at the limit until its oldest failure leaves the window', () => {
    const logins = new FailedLogins(3, 60_000);
    [0, 10_000, 20_000].forEach((at) => logins.record('a', at));
    expect(logins.blockedFor('a', 30_000)).toBe(30_000);
    expect(logins.blockedFor('b', 30_000)).toBe(0);
    // The first failure has left the window: two remain, under the limit.
    expect(logins.blockedFor('a', 60_001)).toBe(0);
    expect(logins.record('a', 60_001)).toBe(3);
  });

  it('forgets the stalest clients beyond its bound', () => {
    const logins = new FailedLogins(1, 60_000, 2);
    logins.record('a', 0);
    logins.record('b', 1);
    logins.record('c', 2);
    expect(logins.blockedFor('a', 3)).toBe(0);
    expect(logins.blockedFor('c', 3)).toBeGreaterThan(0);
  });
});
