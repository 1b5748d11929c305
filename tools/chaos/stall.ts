import { Pool } from 'pg';
import { TERMINAL } from '../bench/harness';

export interface Stall {
  /**
   * The longest any of the transactions went without progress after the moment: from it to
   * its first recorded event, or between two events, until its end. A branch of a DAG that
   * waits on a dead instance shows even while another branch moves.
   */
  longestWithoutProgressMs: number;
  /** p99 of the time from the moment to each one's end. */
  p99ToEndMs: number;
}

/**
 * How a disruption at `since` (ms since the epoch) held up `ids`, the transactions running
 * then, read from the coordinator's history (events in `schema`) once they have all ended.
 */
export async function stallAfter(db: Pick<Pool, 'query'>, schema: string, ids: string[], since: number): Promise<Stall> {
  if (ids.length === 0) return { longestWithoutProgressMs: 0, p99ToEndMs: 0 };
  const { rows } = await db.query<{ longest: number; ended: number }>(
    `SELECT max(gap)::float8 AS longest,
            max(ended)::float8 AS ended
     FROM (SELECT tx_id,
                  extract(epoch FROM at - coalesce(lag(at) OVER (PARTITION BY tx_id ORDER BY at, id), to_timestamp($2 / 1000.0))) * 1000 AS gap,
                  CASE WHEN type = 'transaction.status_changed' AND data->>'to' = ANY($3) THEN extract(epoch FROM at) * 1000 - $2 END AS ended
           FROM ${schema}.events WHERE tx_id = ANY($1::uuid[]) AND at > to_timestamp($2 / 1000.0)) g
     GROUP BY tx_id`,
    [ids, since, TERMINAL],
  );
  if (rows.length !== ids.length) throw new Error(`${ids.length - rows.length} of ${ids.length} transactions recorded nothing after the moment`);
  const toEnd = rows.map((r) => r.ended).sort((a, b) => a - b);
  return {
    longestWithoutProgressMs: Math.max(...rows.map((r) => r.longest)),
    p99ToEndMs: toEnd[Math.floor(0.99 * (toEnd.length - 1))],
  };
}
