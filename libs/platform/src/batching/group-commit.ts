interface Waiting<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (error: unknown) => void;
}

export interface GroupLimits<I> {
  /** The most a group holds, as the sum of its items' sizes (a larger item goes alone). */
  max?: number;
  /** An item's share of `max`; 1 unless given. */
  size?: (item: I) => number;
  /** Runs in flight at once; 1 unless given. */
  concurrency?: number;
  /**
   * Whether a run waits for the end of the current turn of the event loop (setImmediate), so
   * that items submitted in the same turn (one Kafka fetch's batches, handled at once) go
   * together from the first run on. No timer: the turn ends as soon as its work does.
   */
  gatherTurn?: boolean;
}

/**
 * Group commit without a timer: items submitted while the runs allowed (`concurrency`) are in
 * flight go together in the next run (at most `max`), so concurrent callers share one round
 * trip while a lone caller waits for nobody. `run` answers the items of a group in order.
 * When it fails for a group of several, each item runs again alone, so one caller's bad item
 * fails that caller only.
 */
export class GroupCommit<I, O> {
  private waiting: Waiting<I, O>[] = [];
  private inFlight = 0;
  private turnScheduled = false;
  private readonly max: number;
  private readonly size: (item: I) => number;
  private readonly concurrency: number;
  private readonly gatherTurn: boolean;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    limits: GroupLimits<I> = {},
  ) {
    this.max = limits.max ?? Number.POSITIVE_INFINITY;
    this.size = limits.size ?? (() => 1);
    this.concurrency = limits.concurrency ?? 1;
    this.gatherTurn = limits.gatherTurn ?? false;
  }

  submit(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.gatherTurn) return this.startRuns();
      if (this.turnScheduled) return;
      this.turnScheduled = true;
      setImmediate(() => {
        this.turnScheduled = false;
        this.startRuns();
      });
    });
  }

  private startRuns(): void {
    while (this.waiting.length > 0 && this.inFlight < this.concurrency) {
      const group = this.nextGroup();
      this.inFlight++;
      void this.runGroup(group).finally(() => {
        this.inFlight--;
        this.startRuns();
      });
    }
  }

  private async runGroup(group: Waiting<I, O>[]): Promise<void> {
    try {
      const answers = await this.run(group.map((w) => w.item));
      group.forEach((w, i) => w.resolve(answers[i]));
    } catch (error) {
      if (group.length === 1) return group[0].reject(error);
      for (const w of group) await this.run([w.item]).then(([answer]) => w.resolve(answer), w.reject);
    }
  }

  /** The waiting items, oldest first, while they fit in `max` (always at least one). */
  private nextGroup(): Waiting<I, O>[] {
    let total = this.size(this.waiting[0].item);
    let count = 1;
    while (count < this.waiting.length && total + this.size(this.waiting[count].item) <= this.max) {
      total += this.size(this.waiting[count].item);
      count++;
    }
    return this.waiting.splice(0, count);
  }
}
