interface Waiting<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit without a timer: items submitted while a run is in flight go together in the
 * next run (at most `maxItems`), so concurrent callers share one round trip while a lone
 * caller waits for nobody. `run` answers the items of a group in order. When it fails for a
 * group of several, each item runs again alone, so one caller's bad item fails that caller only.
 */
export class GroupCommit<I, O> {
  private waiting: Waiting<I, O>[] = [];
  private running = false;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly maxItems = Number.POSITIVE_INFINITY,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length > 0) {
        const group = this.waiting.splice(0, this.maxItems);
        try {
          const answers = await this.run(group.map((w) => w.item));
          group.forEach((w, i) => w.resolve(answers[i]));
        } catch (error) {
          if (group.length === 1) {
            group[0].reject(error);
            continue;
          }
          for (const w of group) await this.run([w.item]).then(([answer]) => w.resolve(answer), w.reject);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
