/** How much each local transaction weighs in the average: about the last ten count. */
const WEIGHT = 0.1;

/**
 * Above this share of recent transactions with a handler that did not succeed, savepoints
 * from the start are cheaper: a miss reruns its whole transaction, a savepoint costs one
 * statement per command (about a third of a command's statements).
 */
const THRESHOLD = 0.25;

/**
 * Whether a participant's next local transaction takes a savepoint around each handler from
 * the start. Without them, a handler that does not succeed (a refusal, an error, a lock
 * conflict) rolls the transaction back and it runs again with them: a rare miss costs that
 * rerun and nothing after it, while a workload where handlers often fail takes savepoints
 * straight away, for as long as they keep failing.
 */
export class SavepointPolicy {
  /** Exponentially weighted share of recent transactions with a handler that did not succeed. */
  private failing = 0;

  wanted(): boolean {
    return this.failing > THRESHOLD;
  }

  /** A local transaction ended; `handlerFailed` when one of its handlers did not succeed. */
  observe(handlerFailed: boolean): void {
    this.failing += WEIGHT * ((handlerFailed ? 1 : 0) - this.failing);
  }
}
