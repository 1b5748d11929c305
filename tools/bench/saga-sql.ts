/** StockService.reserve (StockRepository.take, reserve). */
const RESERVE_STOCK = `WITH taken AS (
    UPDATE inventory.products SET stock = stock - 1, updated_at = now() WHERE sku = 'B-:sku' AND stock >= 1 RETURNING 1)
  SELECT 1 FROM taken;
INSERT INTO inventory.reservations (tx_id, step_id, order_id, sku, qty) VALUES (':txid', 'reserve-stock', ':order_id', 'B-:sku', 1) RETURNING * \\gset reservation_`;

/** PaymentsService.charge (PaymentsRepository.debit, charge). */
const CHARGE = `WITH debited AS (
    UPDATE payment.accounts SET balance = balance - 1, updated_at = now() WHERE id = 'b-:account' AND balance - frozen >= 1 RETURNING 1)
  SELECT 1 FROM debited;
INSERT INTO payment.charges (tx_id, step_id, account_id, order_id, amount) VALUES (':txid', 'charge', 'b-:account', ':order_id', 1) RETURNING * \\gset charge_`;

/**
 * The SQL of one 2-step saga, transaction by transaction, as the coordinator and the two
 * participants send it: what the SQL floor (floors.ts) replays by pgbench. When the code's
 * SQL changes, change SAGA (and the fragments above it) to match; the script, and the
 * statement and commit counts the bench reports next to the measured ones, follow from it.
 */

export type Service = 'coordinator' | 'inventory' | 'payment';

/** One database transaction: `statements` in BEGIN … COMMIT, or each statement committing on its own. */
export interface SqlTransaction {
  service: Service;
  /** The code that sends it. */
  code: string;
  block: boolean;
  /** Each as pgbench runs it: a `\gset` (pgbench's, storing the row in variables) ends it instead of a semicolon. */
  statements: string[];
}

/** Splits SQL text into statements: each ends with a semicolon or a \gset at the end of a line. */
function statements(sql: string): string[] {
  return sql
    .trim()
    .split(/(?<=;)\s*$|(?<=\\gset\s*\w*)$/m)
    .map((statement) => statement.trim().replace(/;$/, ''))
    .filter((statement) => statement.length > 0);
}

function explicit(service: Service, code: string, sql: string): SqlTransaction {
  return { service, code, block: true, statements: statements(sql) };
}

function autocommit(service: Service, code: string, sql: string): SqlTransaction {
  return { service, code, block: false, statements: statements(sql) };
}

/** Products and accounts the sagas spread over, as in the bench: no hot row serialises them. */
export const ROWS = 1000;
export const DEFINITION = 'bench-saga2';

/** TransactionRepository.lock: the transaction's row locked, then loaded with its steps (SELECT_WITH_STEPS). */
const LOCK_AND_LOAD = `SELECT id FROM ordo.transactions WHERE id = ANY('{:txid}'::uuid[]) ORDER BY id FOR UPDATE;
SELECT id, definition_name, definition_version, type, status, input, started_at, deadline, rollback,
    idempotency_key, traceparent, decision, created_at, updated_at, (SELECT coalesce(json_agg(json_build_object('step_id', s.step_id,
    'participant', s.participant, 'status', s.status, 'phase', s.phase, 'attempt', s.attempt, 'attempts_left', s.attempts_left,
    'waiting_for', s.waiting_for, 'due_at', s.due_at, 'output', s.output, 'last_error', s.last_error) ORDER BY s.position), '[]')
    FROM ordo.steps s WHERE s.tx_id = t.id) AS steps
  FROM ordo.transactions t WHERE id = ANY('{:txid}'::uuid[]) ORDER BY id;`;

/** TransactionRepository.update's row update, up to its values (the steps' upsert follows in the same statement). */
const UPDATE_TRANSACTIONS = `UPDATE ordo.transactions t SET status = c.status, started_at = c.started_at, deadline = c.deadline,
    rollback = c.rollback, next_due_at = c.next_due_at, decision = c.decision, updated_at = now()`;

/** The steps upsert (stepsUpsert in transaction.repository.ts), around its values. */
const STEPS_UPSERT_INTO = `INSERT INTO ordo.steps (tx_id, step_id, participant, status, phase, attempt, attempts_left, waiting_for, due_at,
    output, last_error, position, updated_at)`;
const STEPS_UPSERT_ON_CONFLICT = `  ON CONFLICT (tx_id, step_id) DO UPDATE SET status = excluded.status, phase = excluded.phase,
    attempt = excluded.attempt, attempts_left = excluded.attempts_left, waiting_for = excluded.waiting_for,
    due_at = excluded.due_at, output = excluded.output, last_error = excluded.last_error, updated_at = now()`;

/** OutboxWriter.enqueue: a step's first command into the outbox, notifying the relay in the same statement. */
const enqueue = (participant: Service, stepId: string, action: string, input: string) => `WITH queued AS (INSERT INTO ordo.outbox (topic, key, payload, headers)
  SELECT * FROM unnest('{${participant}.commands}'::text[], '{:txid}'::text[], ARRAY['{"txId":":txid","stepId":"${stepId}","type":"saga","phase":"execute","action":"${action}","attempt":1,"input":${input},"deadline":"2030-01-01T00:00:05.000Z"}']::text[],
    ARRAY['{"ordo-message-id":":txid/${stepId}/execute/1"}']::jsonb[]) RETURNING 1)
  SELECT pg_notify('ordo_outbox', '') WHERE EXISTS (SELECT FROM queued);`;

/**
 * OutboxRelay.publishBatch: claim, (publish), delete. The claim is narrowed to this saga's row
 * (key = txid) so that concurrent pgbench clients, each playing a relay, do not claim one
 * another's rows; the real relay deletes exactly the ids it claimed, as here.
 */
const relay = (): SqlTransaction => explicit('coordinator', 'OutboxRelay.publishBatch', `
SELECT id, topic, key, payload, headers FROM ordo.outbox WHERE key = ':txid' ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED \\gset outbox_
DELETE FROM ordo.outbox WHERE id = ANY('{:outbox_id}'::bigint[]);`);

/**
 * One participant step behind the SDK's barrier, in its local transaction
 * (command-consumer.ts handleInTransaction → sql-barrier.ts passBarrier: advisory lock,
 * loadCommandRows; run-handler.ts: savepoint; the handler; storeBarrierWrites).
 */
const behindBarrier = (schema: 'inventory' | 'payment', stepId: string, handler: string, reply: string): SqlTransaction =>
  explicit(schema, `the SDK around the ${stepId} handler`, `
SELECT pg_advisory_xact_lock(hashtext(':txid/${stepId}'));
SELECT phase, origin, reply FROM ${schema}.ordo_barrier WHERE tx_id = ':txid' AND step_id = '${stepId}' AND phase = ANY('{execute}');
SAVEPOINT ordo_handler;
${handler}
INSERT INTO ${schema}.ordo_barrier (tx_id, step_id, phase, origin, reply) VALUES (':txid', '${stepId}', 'execute', 'handler',
    '${reply}')
  ON CONFLICT DO NOTHING;`);

/**
 * The SQL of one 2-step saga (reserve-stock at inventory, then charge at payment), as the
 * coordinator and the two participants send it, in the order they send it. The text of each
 * statement is the code's; where the code binds parameters, literals of the same shape
 * stand in (pgbench's simple protocol substitutes :variables even inside quotes). Names are
 * schema-qualified because one pgbench connection plays all three services.
 *
 * Left out, as they do not run once per saga: the participant gate's in-flight count
 * (countAwaitingReply, at most once per IN_FLIGHT_REFRESH_MS per coordinator) and the
 * definition cache's lookups of a pinned version (cached for the life of the process).
 * The relay is counted once per command: a batch of one, as at low load; under load it
 * claims up to OUTBOX_BATCH_SIZE rows at once, so this floor charges the relay in full.
 */
export const SAGA: SqlTransaction[] = [
  // The extra columns are the harness's: the ids the API client and the coordinator would
  // make up (randomUUID), and the clock, in one round trip.
  autocommit('coordinator', 'start: TransactionsService.start → DefinitionCatalog.get → DefinitionRepository.find (the latest version)', `
SELECT name, version, type, body, created_at, gen_random_uuid() AS txid, gen_random_uuid() AS order_id,
  (extract(epoch FROM now()) * 1000)::bigint AS now_ms
  FROM ordo.definitions WHERE name = '${DEFINITION}' ORDER BY version DESC LIMIT 1 \\gset`),
  explicit('coordinator', 'start: TransactionEngine.startInSpan → TransactionRepository.insert (row and steps in one statement), writeEffects (appendEvents; OutboxWriter.enqueue, its pg_notify in the same statement)', `
WITH inserted AS (INSERT INTO ordo.transactions (id, definition_name, definition_version, type, status, input, started_at, deadline,
    rollback, next_due_at, idempotency_key, traceparent, created_at, updated_at)
  VALUES (':txid', '${DEFINITION}', 1, 'saga', 'running',
    '{"orderId": ":order_id", "sku": "B-:sku", "qty": 1, "accountId": "b-:account", "amount": 1}',
    now(), now() + interval '30 s', NULL, now() + interval '5 s', NULL, NULL, now(), now())
  ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING id), steps AS (
${STEPS_UPSERT_INTO}
  SELECT *, now() FROM unnest('{:txid,:txid}'::uuid[], '{reserve-stock,charge}'::text[], '{inventory,payment}'::text[],
    '{running,pending}'::text[], '{execute,execute}'::text[], '{1,0}'::int[], '{4,5}'::int[],
    ARRAY['reply', NULL]::text[], ARRAY[now() + interval '5 s', NULL]::timestamptz[], '{NULL,NULL}'::jsonb[],
    '{NULL,NULL}'::jsonb[], '{0,1}'::smallint[]) AS changed WHERE EXISTS (SELECT FROM inserted)
${STEPS_UPSERT_ON_CONFLICT})
  SELECT id FROM inserted;
INSERT INTO ordo.events (tx_id, type, step_id, actor, data, at)
  SELECT * FROM unnest('{:txid,:txid,:txid}'::uuid[],
    '{transaction.started,step.status_changed,step.dispatched}'::text[], ARRAY[NULL, 'reserve-stock', 'reserve-stock']::text[],
    '{NULL,NULL,NULL}'::text[], ARRAY[
      '{"type":"transaction.started","deadline": :now_ms}',
      '{"type":"step.status_changed","stepId":"reserve-stock","from":"pending","to":"running"}',
      '{"type":"step.dispatched","stepId":"reserve-stock","phase":"execute","attempt":1,"deadline": :now_ms}']::jsonb[],
    ARRAY[now(), now(), now()]::timestamptz[]);
${enqueue('inventory', 'reserve-stock', 'reserve', '{"sku":"B-:sku","qty":1,"orderId":":order_id"}')}`),
  relay(),
  behindBarrier('inventory', 'reserve-stock', RESERVE_STOCK, '{"outcome":"success","output":{"reservationId":":reservation_id"}}'),
  explicit('coordinator', 'its reply: TransactionEngine.applyReplies → TransactionRepository.lock (lock, then load), persist (the transactions row and the two changed steps), writeEffects (appendEvents; enqueue of the charge command, notifying in the same statement)', `
${LOCK_AND_LOAD}
WITH updated AS (${UPDATE_TRANSACTIONS}
  FROM unnest('{:txid}'::uuid[], '{running}'::text[], ARRAY[now()]::timestamptz[], ARRAY[now() + interval '30 s']::timestamptz[],
    '{NULL}'::jsonb[], ARRAY[now() + interval '5 s']::timestamptz[], '{NULL}'::text[])
    AS c (id, status, started_at, deadline, rollback, next_due_at, decision)
  WHERE t.id = c.id RETURNING 1)
${STEPS_UPSERT_INTO}
  SELECT *, now() FROM unnest('{:txid,:txid}'::uuid[], '{reserve-stock,charge}'::text[], '{inventory,payment}'::text[],
    '{succeeded,running}'::text[], '{execute,execute}'::text[], '{1,1}'::int[], '{4,4}'::int[],
    ARRAY[NULL, 'reply']::text[], ARRAY[NULL, now() + interval '5 s']::timestamptz[],
    ARRAY['{"reservationId":":reservation_id"}', NULL]::jsonb[], '{NULL,NULL}'::jsonb[], '{0,1}'::smallint[])
${STEPS_UPSERT_ON_CONFLICT};
INSERT INTO ordo.events (tx_id, type, step_id, actor, data, at)
  SELECT * FROM unnest('{:txid,:txid,:txid,:txid}'::uuid[],
    '{step.replied,step.status_changed,step.status_changed,step.dispatched}'::text[],
    '{reserve-stock,reserve-stock,charge,charge}'::text[], '{NULL,NULL,NULL,NULL}'::text[], ARRAY[
      '{"type":"step.replied","stepId":"reserve-stock","phase":"execute","attempt":1,"outcome":"success"}',
      '{"type":"step.status_changed","stepId":"reserve-stock","from":"running","to":"succeeded"}',
      '{"type":"step.status_changed","stepId":"charge","from":"pending","to":"running"}',
      '{"type":"step.dispatched","stepId":"charge","phase":"execute","attempt":1,"deadline": :now_ms}']::jsonb[],
    ARRAY[now(), now(), now(), now()]::timestamptz[]);
${enqueue('payment', 'charge', 'charge', '{"accountId":"b-:account","amount":1,"orderId":":order_id"}')}`),
  relay(),
  behindBarrier('payment', 'charge', CHARGE, '{"outcome":"success","output":{"chargeId":":charge_id"}}'),
  // The saga completes (no pivot step, so no transaction.committed event) and sends nothing.
  explicit('coordinator', 'the final reply: applyReplies as above, no outbox row', `
${LOCK_AND_LOAD}
WITH updated AS (${UPDATE_TRANSACTIONS}
  FROM unnest('{:txid}'::uuid[], '{completed}'::text[], ARRAY[now()]::timestamptz[], ARRAY[now() + interval '30 s']::timestamptz[],
    '{NULL}'::jsonb[], '{NULL}'::timestamptz[], '{NULL}'::text[])
    AS c (id, status, started_at, deadline, rollback, next_due_at, decision)
  WHERE t.id = c.id RETURNING 1)
${STEPS_UPSERT_INTO}
  SELECT *, now() FROM unnest('{:txid}'::uuid[], '{charge}'::text[], '{payment}'::text[], '{succeeded}'::text[],
    '{execute}'::text[], '{1}'::int[], '{4}'::int[], '{NULL}'::text[], '{NULL}'::timestamptz[],
    ARRAY['{"chargeId":":charge_id"}']::jsonb[], '{NULL}'::jsonb[], '{1}'::smallint[])
${STEPS_UPSERT_ON_CONFLICT};
INSERT INTO ordo.events (tx_id, type, step_id, actor, data, at)
  SELECT * FROM unnest('{:txid,:txid,:txid}'::uuid[], '{step.replied,step.status_changed,transaction.status_changed}'::text[],
    ARRAY['charge', 'charge', NULL]::text[], '{NULL,NULL,NULL}'::text[], ARRAY[
      '{"type":"step.replied","stepId":"charge","phase":"execute","attempt":1,"outcome":"success"}',
      '{"type":"step.status_changed","stepId":"charge","from":"running","to":"succeeded"}',
      '{"type":"transaction.status_changed","from":"running","to":"completed"}']::jsonb[],
    ARRAY[now(), now(), now()]::timestamptz[]);`),
];

/** The pgbench script: SAGA's transactions in order, each under a comment naming its code. */
export function sagaScript(): string {
  const render = (statement: string) => (/\\gset\s*\w*$/.test(statement) ? statement : `${statement};`);
  return [
    `\\set sku random(1, ${ROWS})`,
    `\\set account random(1, ${ROWS})`,
    ...SAGA.map((tx) =>
      [`\n-- ${tx.service}: ${tx.code}`, ...(tx.block ? ['BEGIN', ...tx.statements, 'COMMIT'] : tx.statements).map(render)].join('\n'),
    ),
  ].join('\n');
}

/** Statements (BEGIN and COMMIT included, as pg_stat_statements counts them) and commits per saga, by service. */
export function sagaCounts(): Record<Service, { statements: number; commits: number }> {
  const counts = { coordinator: { statements: 0, commits: 0 }, inventory: { statements: 0, commits: 0 }, payment: { statements: 0, commits: 0 } };
  for (const tx of SAGA) {
    counts[tx.service].statements += tx.statements.length + (tx.block ? 2 : 0);
    counts[tx.service].commits += tx.block ? 1 : tx.statements.length;
  }
  return counts;
}
