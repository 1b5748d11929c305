/**
 * kafkajs 2.2.4 (its last release) re-arms a timer on every broker connection forever: once
 * nothing is pending, `RequestQueue.scheduleCheckPendingRequests` computes a negative delay
 * (`throttledUntil` is -1) and calls `setTimeout` with it, i.e. every millisecond
 * (tulios/kafkajs#1556, fix proposed in #1667, never released). Measured here: each Ordo
 * process woke about 1,000 times a second per connection doing nothing, 0.05–0.08 of a core
 * per app at idle, and under load those wake-ups competed with the real work on 2 cores.
 *
 * The replacement schedules a check only when a request waits: for the broker's throttle
 * time, or CHECK_PENDING_REQUESTS_INTERVAL (10 ms) as before. Nothing else needs the timer:
 * every response checks the queue again, and a request that cannot go out at once is queued
 * through `push`, which schedules. Applied once, only to the version it was written for.
 */
const PATCHED_VERSION = '2.2.4';
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

interface RequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

function scheduleCheckPendingRequests(this: RequestQueue): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const throttledFor = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    throttledFor > 0 ? throttledFor : CHECK_PENDING_REQUESTS_INTERVAL,
  );
}

let applied = false;

/** Replaces kafkajs' request-queue scheduling (see above); true when the fix is in force. */
export function fixKafkajsIdleLoop(): boolean {
  if (applied) return true;
  // require, not import: the version is read, and the internals reached, only when this runs.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== PATCHED_VERSION) return false;
  const RequestQueueClass = require('kafkajs/src/network/requestQueue') as { prototype: RequestQueue };
  /* eslint-enable @typescript-eslint/no-require-imports */
  RequestQueueClass.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  applied = true;
  return true;
}
