import { Client, Pool } from 'pg';
import { waitFor } from '../../tools/infra/proc';

/**
 * Waits until a coordinator's outbox holds nothing (of one transaction, when `key` is given).
 * Published rows are deleted in batches shortly after Kafka has them, which may be after the
 * transaction's end was committed, so an outbox read right after the end can still see them.
 */
export function outboxDrained(db: Client | Pool, schema: string, key?: string, timeoutMs = 10_000): Promise<true> {
  return waitFor(
    key ? `the outbox to hold nothing of transaction ${key}` : 'the outbox to be empty',
    async () => {
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.outbox WHERE $1::text IS NULL OR key = $1`, [
        key ?? null,
      ]);
      return rows[0].n === 0 ? true : undefined;
    },
    timeoutMs,
  );
}
