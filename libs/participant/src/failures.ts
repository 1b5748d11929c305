/**
 * A business refusal (out of stock, insufficient funds): the reply's outcome is `failure`.
 * On a forward phase it rolls the transaction back; on a phase that must succeed
 * (compensate, confirm, cancel, commit, abort) the coordinator retries it.
 */
export class BusinessFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BusinessFailure';
  }
}

/** A transient problem worth retrying (a dependency down, a lock timeout): outcome `retry`. */
export class TransientFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TransientFailure';
  }
}
