/**
 * Failed authentication attempts per client, in a sliding window: past `limit` failures
 * within `windowMs` the client is refused (429) until its oldest failure leaves the window,
 * whatever credential it tries, so keys cannot be guessed at speed.
 */
export class FailedLogins {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    /** Most clients tracked; the stalest are forgotten first, so memory stays bounded. */
    private readonly maxClients = 10_000,
  ) {}

  /** Records a failure; how many the client has in the window, this one included. */
  record(client: string, now: number): number {
    const recent = this.recent(client, now);
    recent.push(now);
    this.failures.delete(client);
    this.failures.set(client, recent);
    if (this.failures.size > this.maxClients) this.failures.delete(this.failures.keys().next().value!);
    return recent.length;
  }

  /** Milliseconds until the client may try again; 0 when it may now. */
  blockedFor(client: string, now: number): number {
    const recent = this.recent(client, now);
    return recent.length >= this.limit ? recent[recent.length - this.limit] + this.windowMs - now : 0;
  }

  private recent(client: string, now: number): number[] {
    return (this.failures.get(client) ?? []).filter((at) => at > now - this.windowMs);
  }
}
