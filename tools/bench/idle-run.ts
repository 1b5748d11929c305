import { sleep } from '../infra/proc';
import { EndWatcher, percentile } from './harness';
import { startAndWait, System, tally, Workload } from './system';

export interface IdleLatency {
  count: number;
  /** Pause between one transaction's end and the next one's start, ms. */
  pauseMs: number;
  /** created_at → terminal updated_at, as the coordinator stored them, ms. */
  p50: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
}

/**
 * The latency of a transaction on an idle system: `count` transactions one at a time, each
 * started `pauseMs` after the previous one ended, so no batch, queue or poll of another is in
 * the way. Each is timed by the coordinator's own timestamps: from the row's created_at
 * (stored when the start request was accepted) to its updated_at at the terminal status,
 * so neither the HTTP request nor the bench's end polling counts.
 */
export async function idleRun(system: System, workload: Workload, count: number, pauseMs: number): Promise<IdleLatency> {
  const watcher = new EndWatcher(system.db);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  try {
    for (let n = 0; n < count; n++) {
      const ended = await startAndWait(system, watcher, workload);
      latencies.push(ended.at - ended.createdAt);
      tally(statuses, ended.status);
      await sleep(pauseMs);
    }
  } finally {
    await watcher.close();
  }
  latencies.sort((a, b) => a - b);
  return { count, pauseMs, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies.at(-1)!, statuses };
}
