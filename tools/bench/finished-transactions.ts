import { Client } from 'pg';

export interface FinishedBatch {
  /** Schema holding the coordinator's tables. */
  schema: string;
  /** The definition the rows claim to run (it must be registered). */
  definition: { name: string; version: number; steps: { id: string; participant: string }[] };
  count: number;
  /** History rows per transaction. */
  eventsPerTransaction: number;
  /** The newest row was last updated this long ago; each older one 10 ms before the next. */
  finishedAgoMs: number;
  /** Makes the rows' ids differ from those of another batch. */
  seed: string;
  /**
   * Finished rows unless told (nine in ten `completed`, one `compensated`); `running` rows are
   * due a day from now, so the coordinator leaves them alone.
   */
  status?: 'completed' | 'compensated' | 'failed' | 'running';
  /** The rows' tags: an SQL jsonb expression of `g`, the row's number (1 … count); none unless told. */
  tags?: string;
}

/**
 * Bulk-inserts `count` transactions with their steps and history, in SQL (generate_series),
 * in chunks so no statement runs for long. Ids are md5(seed, n), so timers and events can be
 * generated without reading the transactions back.
 */
export async function insertFinishedTransactions(databaseUrl: string, batch: FinishedBatch, log: (line: string) => void = () => undefined) {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`SET search_path = "${batch.schema}"`);
    const chunk = 100_000;
    for (let from = 1; from <= batch.count; from += chunk) {
      await insertChunk(client, batch, from, Math.min(batch.count, from + chunk - 1));
      log(`inserted ${Math.min(batch.count, from + chunk - 1)} of ${batch.count}`);
    }
  } finally {
    await client.end();
  }
}

async function insertChunk(client: Client, batch: FinishedBatch, from: number, to: number) {
  const { definition, seed } = batch;
  const status = batch.status ? `'${batch.status}'` : `CASE WHEN g % 10 = 0 THEN 'compensated' ELSE 'completed' END`;
  const rows = `generate_series(${from}, ${to}) g,
    LATERAL (SELECT md5($1 || g)::uuid AS id, ${status} AS status,
      now() - ($2::bigint + ($3::bigint - g) * 10) * interval '1 ms' AS at) r`;
  await client.query('BEGIN');
  await client.query(
    `INSERT INTO transactions (id, definition_name, definition_version, type, status, input, started_at, deadline, rollback,
       created_at, updated_at, finished_at, tags, steps)
     SELECT r.id, $4, $5, 'saga', r.status, jsonb_build_object('n', g), r.at - interval '1 s', r.at + interval '29 s',
       CASE WHEN r.status = 'compensated' THEN '{"kind":"step_failed","stepId":"${definition.steps.at(-1)!.id}"}'::jsonb END,
       r.at - interval '1 s', r.at, CASE WHEN r.status IN ('completed', 'compensated') THEN r.at END, ${batch.tags ?? 'NULL::jsonb'},
       (SELECT jsonb_agg(jsonb_build_object('step_id', s.id, 'participant', s.participant,
          'status', CASE r.status WHEN 'compensated' THEN 'compensated' WHEN 'failed' THEN 'compensation_failed'
            WHEN 'running' THEN 'pending' ELSE 'succeeded' END,
          'phase', CASE WHEN r.status IN ('compensated', 'failed') THEN 'compensate' ELSE 'execute' END,
          'attempt', 1, 'attempts_left', 4, 'waiting_for', NULL, 'due_at', NULL, 'output', '{}'::jsonb, 'last_error', NULL)
          ORDER BY s.position)
        FROM unnest($6::text[], $7::text[]) WITH ORDINALITY AS s(id, participant, position))
     FROM ${rows}`,
    [
      seed,
      batch.finishedAgoMs,
      batch.count,
      definition.name,
      definition.version,
      definition.steps.map((s) => s.id),
      definition.steps.map((s) => s.participant),
    ],
  );
  await client.query(`INSERT INTO timers (tx_id, due_at) SELECT r.id, now() + interval '1 day' FROM ${rows} WHERE r.status = 'running'`, [
    seed,
    batch.finishedAgoMs,
    batch.count,
  ]);
  await client.query(
    `INSERT INTO events (tx_id, type, step_id, data, at)
     SELECT r.id, e.type, e.step_id, jsonb_build_object('type', e.type, 'stepId', e.step_id, 'phase', 'execute', 'attempt', 1,
       'outcome', 'success'), r.at - (e.k * interval '1 ms')
     FROM ${rows}, generate_series(1, $4::int) k,
       LATERAL (SELECT k, CASE WHEN k = 1 THEN 'transaction.started' WHEN k = $4 THEN 'transaction.status_changed'
         ELSE 'step.replied' END AS type, ($5::text[])[1 + k % array_length($5::text[], 1)] AS step_id) e`,
    [seed, batch.finishedAgoMs, batch.count, batch.eventsPerTransaction, definition.steps.map((s) => s.id)],
  );
  await client.query('COMMIT');
}
