/** Runs `pass` every `everyMs`, never two at once (a tick while one runs is skipped). */
export class Ticker {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly everyMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.pass().finally(() => (this.running = undefined));
    }, this.everyMs);
  }

  /** Stops ticking; resolves once the pass under way, if any, has ended. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
