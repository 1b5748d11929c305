import { Pool } from 'pg';
import { percentile, TERMINAL } from '../bench/harness';

export interface Stall {
  /**
   * The longest any of the transactions went without progress after the moment: from it to
   * its first recorded event, or between two events, until its first end. A branch of a DAG
   * that waits on a dead instance shows even while another branch moves; so does a retry's
   * backoff, which records nothing while it waits.
   */
  longestWithoutProgressMs: number;
  /** p99 of the time from the moment to each one's first end. */
  p99ToEndMs: number;
}

/**
 * How a disruption at `since` (ms since the epoch) held up `ids`, the transactions running
 * then, read from the coordinator's history (events in `schema`) once they have all ended.
 * A history row carries the time its decision was taken, before its commit: a transaction
 * whose end was decided before `since` and committed after it was still seen running then,
 * but nothing held it up; it is left out.
 */
export async function stallAfter(db: Pick<Pool, 'query'>, schema: string, ids: string[], since: number): Promise<Stall> {
  // Up to each one's first end: what an operator does later (a replay of a failed one) is not the disruption's.
  const { rows: ends } = await db.query<{ tx_id: string; ended_at: Date }>(
    `SELECT tx_id::text, min(at) AS ended_at FROM ${schema}.events
     WHERE tx_id = ANY($1::uuid[]) AND type = 'transaction.status_changed' AND data->>'to' = ANY($2)
     GROUP BY tx_id`,
    [ids, TERMINAL],
  );
  if (ends.length !== ids.length) throw new Error(`${ids.length - ends.length} of ${ids.length} transactions recorded no end`);
  const held = ends.filter((e) => e.ended_at.getTime() > since).map((e) => e.tx_id);
  if (held.length === 0) return { longestWithoutProgressMs: 0, p99ToEndMs: 0 };
  const { rows } = await db.query<{ longest: number; ended: number }>(
    `SELECT max(gap)::float8 AS longest, (extract(epoch FROM max(at)) * 1000 - $2)::float8 AS ended
     FROM (SELECT e.tx_id, e.at,
                  extract(epoch FROM e.at - coalesce(lag(e.at) OVER (PARTITION BY e.tx_id ORDER BY e.at, e.id), to_timestamp($2 / 1000.0))) * 1000 AS gap
           FROM ${schema}.events e
           JOIN (SELECT tx_id, min(at) AS ended_at FROM ${schema}.events
                 WHERE tx_id = ANY($1::uuid[]) AND type = 'transaction.status_changed' AND data->>'to' = ANY($3)
                 GROUP BY tx_id) f ON f.tx_id = e.tx_id
           WHERE e.at > to_timestamp($2 / 1000.0) AND e.at <= f.ended_at) g
     GROUP BY tx_id`,
    [held, since, TERMINAL],
  );
  const toEnd = rows.map((r) => r.ended).sort((a, b) => a - b);
  return {
    longestWithoutProgressMs: Math.max(...rows.map((r) => r.longest)),
    p99ToEndMs: percentile(toEnd, 0.99),
  };
}
