/**
 * Failures per tracker in a sliding window: past `limit` failures within `windowMs` the
 * tracker is blocked until its oldest failure leaves the window.
 */
export class FailedLogins {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    /** Most trackers kept; the stalest are forgotten first, so memory stays bounded. */
    private readonly maxTrackers = 10_000,
  ) {}

  /** Records a failure; how many the tracker has in the window, this one included. */
  record(tracker: string, now: number): number {
    const recent = this.recent(tracker, now);
    recent.push(now);
    this.failures.delete(tracker);
    this.failures.set(tracker, recent);
    if (this.failures.size > this.maxTrackers) this.failures.delete(this.failures.keys().next().value!);
    return recent.length;
  }

  /** Milliseconds until the tracker may try again; 0 when it may now. */
  blockedFor(tracker: string, now: number): number {
    const recent = this.recent(tracker, now);
    return recent.length >= this.limit ? recent[recent.length - this.limit] + this.windowMs - now : 0;
  }

  private recent(tracker: string, now: number): number[] {
    return (this.failures.get(tracker) ?? []).filter((at) => at > now - this.windowMs);
  }
}

/**
 * Who may try to authenticate, counted per (client address, digest of the credential
 * presented), so that clients refused for one bad key never lock out other keys:
 * - a pair past the limit of failures is refused (a client retrying a wrong or revoked key);
 * - an address that presented more distinct wrong keys than the limit is refused whatever it
 *   sends (guessing), except the keys that already succeeded from it: clients established
 *   behind a shared address keep working while another client there floods bad keys.
 * Behind a proxy the address is the client's only with TRUST_PROXY set.
 */
export class LoginLimiter {
  private readonly pairs: FailedLogins;
  private readonly guesses: FailedLogins;
  /** (address, digest) pairs that authenticated, most recent last, bounded like the counts. */
  private readonly succeeded = new Map<string, true>();

  constructor(
    limit: number,
    windowMs: number,
    private readonly maxTrackers = 10_000,
  ) {
    this.pairs = new FailedLogins(limit, windowMs, maxTrackers);
    this.guesses = new FailedLogins(limit, windowMs, maxTrackers);
  }

  /** Milliseconds until `address` may present the credential of this digest; 0 when it may now. */
  blockedFor(address: string, digest: string, now: number): number {
    const pair = `${address} ${digest}`;
    if (this.succeeded.has(pair)) return 0;
    return Math.max(this.pairs.blockedFor(pair, now), this.guesses.blockedFor(address, now));
  }

  /** Records a refused credential; how many times this pair failed in the window. */
  failed(address: string, digest: string, now: number): number {
    const count = this.pairs.record(`${address} ${digest}`, now);
    // Only a credential new in the window counts as a guess: repeating one is not guessing.
    if (count === 1) this.guesses.record(address, now);
    return count;
  }

  succeededWith(address: string, digest: string): void {
    const pair = `${address} ${digest}`;
    this.succeeded.delete(pair);
    this.succeeded.set(pair, true);
    if (this.succeeded.size > this.maxTrackers) this.succeeded.delete(this.succeeded.keys().next().value!);
  }
}
