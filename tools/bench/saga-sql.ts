/** StockService.reserve (StockRepository.reserve: stock taken and reservation recorded in one statement). */
const RESERVE_STOCK = `WITH taken AS (
    UPDATE inventory.products SET stock = stock - 1, updated_at = now() WHERE sku = 'B-:sku' AND stock >= 1 RETURNING sku)
  INSERT INTO inventory.reservations (tx_id, step_id, order_id, sku, qty) SELECT ':txid', 'reserve-stock', ':order_id', sku, 1 FROM taken
  RETURNING * \\gset reservation_`;

/** PaymentsService.charge (PaymentsRepository.charge: debit and charge in one statement). */
const CHARGE = `WITH debited AS (
    UPDATE payment.accounts SET balance = balance - 1, updated_at = now() WHERE id = 'b-:account' AND balance - frozen >= 1 RETURNING id)
  INSERT INTO payment.charges (tx_id, step_id, account_id, order_id, amount) SELECT ':txid', 'charge', id, ':order_id', 1 FROM debited
  RETURNING * \\gset charge_`;

/**
 * The SQL of one 2-step saga, transaction by transaction, as the coordinator and the two
 * participants send it: what the SQL floor (floors.ts) replays by pgbench. When the code's
 * SQL changes, change SAGA (and the fragments above it) to match; the script, and the
 * statement and commit counts the bench reports next to the measured ones, follow from it.
 */

export type Service = 'coordinator' | 'inventory' | 'payment';

/** Who sends a transaction of the floor: a service, or the harness (its own bookkeeping, counted for no service). */
export type Sender = Service | 'harness';

/** One database transaction: `statements` in BEGIN … COMMIT, or each statement committing on its own. */
export interface SqlTransaction {
  service: Sender;
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

function explicit(service: Sender, code: string, sql: string): SqlTransaction {
  return { service, code, block: true, statements: statements(sql) };
}

function autocommit(service: Sender, code: string, sql: string): SqlTransaction {
  return { service, code, block: false, statements: statements(sql) };
}

/** Products and accounts the sagas spread over, as in the bench: no hot row serialises them. */
export const ROWS = 1000;
export const DEFINITION = 'bench-saga2';

/** A step as the transaction row stores it (stepRows in transaction.repository.ts). */
const step = (id: string, participant: Service, status: string, attempt: number, waiting: boolean, output: string | null) =>
  `{"step_id":"${id}","participant":"${participant}","status":"${status}","phase":"execute","attempt":${attempt},` +
  `"attempts_left":4,"waiting_for":${waiting ? '"reply"' : 'null'},"due_at": ${waiting ? ':now_ms' : 'null'},` +
  `"output":${output ?? 'null'},"last_error":null}`;

/** A JSON array of rows, as the code binds one (jsonb_to_recordset's parameter). */
const rows = (objects: string[]) => `'[${objects.join(', ')}]'::jsonb`;

/** The history and outbox CTEs of a decision's statement (effectsCtes), with the rows it writes. */
function effects(
  written: string,
  events: [type: string, stepId: string | null, data: string][],
  command?: [participant: Service, stepId: string, action: string, input: string],
) {
  const history = events.map(
    ([type, stepId, data]) =>
      `{"tx_id": ":txid", "type": "${type}", "step_id": ${stepId === null ? 'null' : `"${stepId}"`}, "actor": null, "data": ${data}, "at": ":now_ts"}`,
  );
  // The command as the outbox stores it: its JSON text, a string in the row's JSON.
  const payload = (c: NonNullable<typeof command>) =>
    JSON.stringify(
      `{"txId":":txid","stepId":"${c[1]}","type":"saga","phase":"execute","action":"${c[2]}","attempt":1,"input":${c[3]},"deadline":"2030-01-01T00:00:05.000Z"}`,
    );
  const outbox = command
    ? [
        `{"topic": "${command[0]}.commands", "key": ":txid", "payload": ${payload(command)}, "headers": {"ordo-message-id": ":txid/${command[1]}/execute/1"}}`,
      ]
    : [];
  return `history AS (
    INSERT INTO ordo.events (tx_id, type, step_id, actor, data, at)
    SELECT e.* FROM jsonb_to_recordset(${rows(history)})
      AS e (tx_id uuid, type text, step_id text, actor text, data jsonb, at timestamptz)
    WHERE e.tx_id IN (SELECT id FROM ${written})),
  queued AS (
    INSERT INTO ordo.outbox (topic, key, payload, headers)
    SELECT o.* FROM jsonb_to_recordset(${rows(outbox)}) AS o (topic text, key text, payload text, headers jsonb)
    WHERE o.key::uuid IN (SELECT id FROM ${written})
    RETURNING id, key, headers ->> 'ordo-message-id' AS message_id)
  SELECT w.id, w.version, q.id AS outbox_id, q.message_id FROM ${written} w LEFT JOIN queued q ON q.key = w.id::text;`;
}

/** TransactionRepository.write (UPDATE): one decision, conditional on the version loaded. */
const decide = (version: number, status: string, steps: string[], due: boolean, written: string) => `WITH c AS (
    SELECT * FROM jsonb_to_recordset(${rows([
      `{"id": ":txid", "version": ${version}, "status": "${status}", "started_at": ":now_ts", "deadline": ":deadline_ts", "rollback": null, ` +
        `"decision": null, "steps": [${steps.join(',')}], "due_at": ${due ? '":due_ts"' : 'null'}, "ignored": 0, "changed": true, "paused": null}`,
    ])})
      AS c (id uuid, version int, status text, started_at timestamptz, deadline timestamptz, rollback jsonb, decision text,
        steps jsonb, due_at timestamptz, ignored int, changed boolean, paused jsonb)
    ORDER BY id),
  written AS (
    UPDATE ordo.transactions t SET version = t.version + 1, status = c.status, started_at = c.started_at,
      deadline = c.deadline, rollback = c.rollback, decision = c.decision, steps = c.steps, paused = c.paused,
      updated_at = CASE WHEN c.changed THEN now() ELSE t.updated_at END, ignored_replies = t.ignored_replies + c.ignored,
      finished_at = CASE WHEN c.status IN ('completed', 'compensated') THEN coalesce(t.finished_at, now()) END
    FROM c WHERE t.id = ANY('{:txid}'::uuid[]) AND t.id = c.id AND t.version = c.version
    RETURNING t.id, t.version, c.due_at),
  due AS (
    INSERT INTO ordo.timers (tx_id, due_at) SELECT id, due_at FROM written WHERE due_at IS NOT NULL
    ON CONFLICT (tx_id) DO UPDATE SET due_at = excluded.due_at),
  idle AS (DELETE FROM ordo.timers WHERE tx_id IN (SELECT id FROM written WHERE due_at IS NULL)),
  ${written}`;

/**
 * OutboxRelay's batched delete of published rows. It runs every 50 ms for everything
 * published meanwhile; here it is charged in full, once per saga, for both of its commands.
 */
const DELETE_PUBLISHED = `DELETE FROM ordo.outbox WHERE key = ':txid';`;

/**
 * One participant step behind the SDK's barrier, in its local transaction, as a batch of
 * one command (at saturation BEGIN, the replies' UPDATE and COMMIT are shared by a batch):
 * command-consumer.ts inLocalTransaction → sql-barrier.ts BarrierTransaction (the claim,
 * insert first; storeReplies), run-handler.ts (the handler; a savepoint only when a handler
 * did not succeed, which no saga of the bench does).
 */
const behindBarrier = (schema: 'inventory' | 'payment', stepId: string, handler: string, reply: string): SqlTransaction =>
  explicit(
    schema,
    `the SDK around the ${stepId} handler`,
    `
INSERT INTO ${schema}.ordo_barrier (tx_id, step_id, phase, origin, reply) VALUES (':txid', '${stepId}', 'execute', 'handler',
    '{"outcome":"retry","error":{"code":"IN_PROGRESS","message":"not answered yet"}}')
  ON CONFLICT DO NOTHING RETURNING 1;
${handler}
UPDATE ${schema}.ordo_barrier b SET origin = r.origin, reply = r.reply
  FROM unnest('{:txid}'::text[], '{${stepId}}'::text[], '{execute}'::text[], '{handler}'::text[], ARRAY['${reply}']::jsonb[])
    AS r (tx_id, step_id, phase, origin, reply)
  WHERE b.tx_id = r.tx_id AND b.step_id = r.step_id AND b.phase = r.phase;`,
  );

/**
 * The SQL of one 2-step saga (reserve-stock at inventory, then charge at payment), as the
 * coordinator and the two participants send it, in the order they send it. The text of each
 * statement is the code's; where the code binds parameters, literals of the same shape
 * stand in (pgbench's simple protocol substitutes :variables even inside quotes). Names are
 * schema-qualified because one pgbench connection plays all three services.
 *
 * Left out, as they do not run once per saga: the participant gate's in-flight count
 * (countAwaitingReply, at most once per IN_FLIGHT_REFRESH_MS per coordinator) and the
 * definition cache's lookups (a pinned version is cached for the life of the process, the
 * latest for a second). The outbox delete is charged once per saga, though the relay
 * deletes everything published in 50 ms in one statement, so this floor charges it in full.
 */
export const SAGA: SqlTransaction[] = [
  // The extra columns are the harness's: the ids the API client and the coordinator would
  // make up (randomUUID), and the clock, in one round trip. The coordinator itself reads the
  // latest definition version at most once a second (DefinitionsService.findVersion).
  autocommit(
    'harness',
    'the ids and the clock of this saga',
    `
SELECT gen_random_uuid() AS txid, gen_random_uuid() AS order_id, (extract(epoch FROM now()) * 1000)::bigint AS now_ms,
  now()::text AS now_ts, (now() + interval '30 s')::text AS deadline_ts, (now() + interval '5 s')::text AS due_ts \\gset`,
  ),
  autocommit(
    'coordinator',
    'start: TransactionEngine.insertStarts → TransactionRepository.insert (row with its steps, timer, history and the first command in one statement; concurrent starts share it, here one alone)',
    `
WITH starts AS (
    SELECT * FROM jsonb_to_recordset(${rows([
      `{"id": ":txid", "definition_name": "${DEFINITION}", "definition_version": 1, "type": "saga", "status": "running", ` +
        `"input": {"orderId": ":order_id", "sku": "B-:sku", "qty": 1, "accountId": "b-:account", "amount": 1}, "started_at": ":now_ts", ` +
        `"deadline": ":deadline_ts", "rollback": null, "idempotency_key": null, "traceparent": null, "created_at": ":now_ts", ` +
        `"steps": [${step('reserve-stock', 'inventory', 'running', 1, true, null)},${step('charge', 'payment', 'pending', 0, false, null)}], ` +
        `"started_by": "bench", "tags": null, "due_at": ":due_ts", "paused": null}`,
    ])})
      AS s (id uuid, definition_name text, definition_version int, type text, status text, input jsonb, started_at timestamptz,
        deadline timestamptz, rollback jsonb, idempotency_key text, traceparent text, created_at timestamptz, steps jsonb,
        started_by text, tags jsonb, due_at timestamptz, paused jsonb)
    ORDER BY idempotency_key),
  inserted AS (
    INSERT INTO ordo.transactions (id, definition_name, definition_version, type, status, input, started_at, deadline,
      rollback, idempotency_key, traceparent, created_at, updated_at, steps, started_by, tags, paused)
    SELECT id, definition_name, definition_version, type, status, input, started_at, deadline,
      rollback, idempotency_key, traceparent, created_at, created_at, steps, started_by, tags, paused FROM starts
    ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id, version),
  due AS (
    INSERT INTO ordo.timers (tx_id, due_at)
    SELECT s.id, s.due_at FROM starts s JOIN inserted i ON i.id = s.id WHERE s.due_at IS NOT NULL),
  ${effects(
    'inserted',
    [
      ['transaction.started', null, '{"type":"transaction.started","deadline": :now_ms,"actor":"bench"}'],
      ['step.status_changed', 'reserve-stock', '{"type":"step.status_changed","stepId":"reserve-stock","from":"pending","to":"running"}'],
      ['step.dispatched', 'reserve-stock', '{"type":"step.dispatched","stepId":"reserve-stock","phase":"execute","attempt":1,"deadline": :now_ms}'],
    ],
    ['inventory', 'reserve-stock', 'reserve', '{"sku":"B-:sku","qty":1,"orderId":":order_id"}'],
  )}`,
  ),
  behindBarrier('inventory', 'reserve-stock', RESERVE_STOCK, '{"outcome":"success","output":{"reservationId":":reservation_id"}}'),
  autocommit(
    'coordinator',
    'its reply: TransactionEngine.applyReplies → TransactionRepository.write (row, timer, history and the charge command in one statement; the state comes from RecentTransactions, not a read)',
    `
${decide(
  0,
  'running',
  [
    step('reserve-stock', 'inventory', 'succeeded', 1, false, '{"reservationId":":reservation_id"}'),
    step('charge', 'payment', 'running', 1, true, null),
  ],
  true,
  effects(
    'written',
    [
      ['step.replied', 'reserve-stock', '{"type":"step.replied","stepId":"reserve-stock","phase":"execute","attempt":1,"outcome":"success"}'],
      ['step.status_changed', 'reserve-stock', '{"type":"step.status_changed","stepId":"reserve-stock","from":"running","to":"succeeded"}'],
      ['step.status_changed', 'charge', '{"type":"step.status_changed","stepId":"charge","from":"pending","to":"running"}'],
      ['step.dispatched', 'charge', '{"type":"step.dispatched","stepId":"charge","phase":"execute","attempt":1,"deadline": :now_ms}'],
    ],
    ['payment', 'charge', 'charge', '{"accountId":"b-:account","amount":1,"orderId":":order_id"}'],
  ),
)}`,
  ),
  behindBarrier('payment', 'charge', CHARGE, '{"outcome":"success","output":{"chargeId":":charge_id"}}'),
  // The saga completes (no pivot step, so no transaction.committed event) and sends nothing.
  autocommit(
    'coordinator',
    'the final reply: write as above, no command',
    `
${decide(
  1,
  'completed',
  [
    step('reserve-stock', 'inventory', 'succeeded', 1, false, '{"reservationId":":reservation_id"}'),
    step('charge', 'payment', 'succeeded', 1, false, '{"chargeId":":charge_id"}'),
  ],
  false,
  effects('written', [
    ['step.replied', 'charge', '{"type":"step.replied","stepId":"charge","phase":"execute","attempt":1,"outcome":"success"}'],
    ['step.status_changed', 'charge', '{"type":"step.status_changed","stepId":"charge","from":"running","to":"succeeded"}'],
    ['transaction.status_changed', null, '{"type":"transaction.status_changed","from":"running","to":"completed"}'],
  ]),
)}`,
  ),
  autocommit('coordinator', 'OutboxRelay: the batched delete of published commands', DELETE_PUBLISHED),
];

/** What a transaction sends, one statement a round trip: BEGIN and COMMIT around a block. */
export const sent = (tx: SqlTransaction): string[] => (tx.block ? ['BEGIN', ...tx.statements, 'COMMIT'] : tx.statements);

/** The pgbench script: SAGA's transactions in order, each under a comment naming its code. */
export function sagaScript(): string {
  const render = (statement: string) => (/\\gset\s*\w*$/.test(statement) ? statement : `${statement};`);
  return [
    `\\set sku random(1, ${ROWS})`,
    `\\set account random(1, ${ROWS})`,
    ...SAGA.map((tx) => [`\n-- ${tx.service}: ${tx.code}`, ...sent(tx).map(render)].join('\n')),
  ].join('\n');
}

/** Statements (BEGIN and COMMIT included, as pg_stat_statements counts them) and commits per saga, by service. */
export function sagaCounts(): Record<Service, { statements: number; commits: number }> {
  const counts = { coordinator: { statements: 0, commits: 0 }, inventory: { statements: 0, commits: 0 }, payment: { statements: 0, commits: 0 } };
  for (const tx of SAGA) {
    if (tx.service === 'harness') continue;
    counts[tx.service].statements += sent(tx).length;
    counts[tx.service].commits += tx.block ? 1 : tx.statements.length;
  }
  return counts;
}
