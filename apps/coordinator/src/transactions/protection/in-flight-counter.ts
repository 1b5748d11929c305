interface Tally {
  /** Commands awaiting a reply in the database when it was last counted … */
  counted: number;
  /** … at this instant (when the count query started). */
  countedAt: number;
  /** Admitted by this instance in database transactions still open. */
  reserved: number;
  /** When this instance's commands committed, while a count may not include them yet. */
  committedAt: number[];
  /** When replies and timeouts this instance applied ended commands, while a count may still include them. */
  endedAt: number[];
}

/**
 * How many commands each participant has awaiting a reply, across all instances: a count
 * from the database, trusted for `refreshMs`, corrected by what this instance did since
 * that the count cannot show: commands admitted (committed or not yet) and commands ended
 * by a reply or a timeout. Exact with one instance; with several, it misses what the
 * others did since the last count.
 */
export class InFlightCounter {
  private readonly tallies = new Map<string, Tally>();

  constructor(private readonly refreshMs: number) {}

  /** The participants whose count is missing or older than `refreshMs` at `now`. */
  stale(participants: Iterable<string>, now: number): string[] {
    return [...new Set(participants)].filter((participant) => {
      const tally = this.tallies.get(participant);
      return tally === undefined || now - tally.countedAt >= this.refreshMs;
    });
  }

  /** The participants never counted yet. */
  uncounted(participants: Iterable<string>): string[] {
    return [...new Set(participants)].filter((participant) => (this.tallies.get(participant)?.countedAt ?? -Infinity) === -Infinity);
  }

  /**
   * Takes in the counts of a query sent at `countedAt` and answered at `answeredAt`; a
   * participant it did not return has none. Its snapshot was taken somewhere in between, so
   * each doubt counts a command more, never less: a commit stamped since it was sent is
   * added (maybe twice), an end stamped before it answered is taken as seen (maybe not).
   */
  update(participants: readonly string[], counts: ReadonlyMap<string, number>, countedAt: number, answeredAt: number): void {
    for (const participant of participants) {
      const tally = this.tally(participant);
      // A slower query that started earlier knows less than the one already taken in.
      if (countedAt < tally.countedAt) continue;
      tally.counted = counts.get(participant) ?? 0;
      tally.countedAt = countedAt;
      tally.committedAt = tally.committedAt.filter((at) => at >= countedAt);
      tally.endedAt = tally.endedAt.filter((at) => at > answeredAt);
    }
  }

  count(participant: string): number {
    const tally = this.tallies.get(participant);
    if (tally === undefined) return 0;
    // Below zero only when this instance ended commands of others that the count missed.
    return Math.max(0, tally.counted + tally.reserved + tally.committedAt.length - tally.endedAt.length);
  }

  /** A command admitted in a database transaction still open. */
  reserve(participant: string): void {
    this.tally(participant).reserved++;
  }

  /** The transaction that reserved `count` commands ended; `release` them before counting what it committed. */
  release(participant: string, count: number): void {
    this.tally(participant).reserved -= count;
  }

  /** A command committed (as an outbox row) at `at`. */
  committed(participant: string, at: number): void {
    this.tally(participant).committedAt.push(at);
  }

  /** A command stopped awaiting its reply (answered or timed out) in a transaction committed at `at`. */
  ended(participant: string, at: number): void {
    this.tally(participant).endedAt.push(at);
  }

  private tally(participant: string): Tally {
    let tally = this.tallies.get(participant);
    if (!tally) {
      tally = { counted: 0, countedAt: -Infinity, reserved: 0, committedAt: [], endedAt: [] };
      this.tallies.set(participant, tally);
    }
    return tally;
  }
}
