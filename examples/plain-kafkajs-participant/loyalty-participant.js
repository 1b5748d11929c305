#!/usr/bin/env node
'use strict';
/**
 * A loyalty-points participant for Ordo, written from the wire protocol alone
 * (docs/protocol.md): no NestJS, no Ordo SDK, only `kafkajs` and `pg`.
 *
 *   award  / execute     add `points` to customer `customerId` (refused for a blocked customer)
 *   revoke / compensate  take them back
 *
 * Every command runs behind the idempotency barrier, in one local PostgreSQL transaction
 * with the business change; the reply goes to the reply topic, and only then is the
 * consumer offset committed.
 */
const { randomUUID } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { Kafka, logLevel } = require('kafkajs');
const { Pool } = require('pg');

// ---- configuration ----------------------------------------------------------------------

const name = process.env.PARTICIPANT_NAME || 'loyalty';
const log = (line) => console.log(`[${name}] ${line}`);

function fail(line) {
  console.error(`[${name}] ${line}`);
  process.exit(1);
}

// The defaults are the local PostgreSQL and Kafka that `npm start` runs.
const config = {
  brokers: (process.env.KAFKA_BROKERS || '127.0.0.1:59092').split(','),
  prefix: process.env.KAFKA_TOPIC_PREFIX || '',
  partitions: Number(process.env.KAFKA_TOPIC_PARTITIONS || 8),
  // off: the platform team owns the topics; they must exist.
  createTopics: (process.env.KAFKA_CREATE_TOPICS || 'on') !== 'off',
  // Someone has to read a dead letter before it goes: 14 days, as Ordo's own.
  deadLetterRetentionMs: Number(process.env.KAFKA_DEAD_LETTER_RETENTION_MS || 14 * 86_400_000),
  databaseUrl: process.env.DATABASE_URL || 'postgres://ordo@127.0.0.1:54329/ordo',
  schema: process.env.DATABASE_SCHEMA || 'loyalty',
};
// The participant name becomes a topic name; the schema name is spliced into SQL.
if (!/^[a-z][a-z0-9-]{0,62}$/.test(name)) fail('PARTICIPANT_NAME must match ^[a-z][a-z0-9-]{0,62}$');
if (!/^[a-z_][a-z0-9_]{0,62}$/.test(config.schema)) fail('DATABASE_SCHEMA must match ^[a-z_][a-z0-9_]{0,62}$');
if (!Number.isInteger(config.partitions) || config.partitions < 1) fail('KAFKA_TOPIC_PARTITIONS must be a positive integer');

/**
 * TLS and SASL toward the brokers, from the settings Ordo's own processes read (docs/operations.md,
 * "Kafka security"): KAFKA_SSL=on with KAFKA_SSL_CA_FILE, and KAFKA_SSL_CERT_FILE +
 * KAFKA_SSL_KEY_FILE when the brokers require a client certificate; KAFKA_SASL_MECHANISM
 * (plain, scram-sha-256, scram-sha-512) with KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD or
 * KAFKA_SASL_PASSWORD_FILE. Files are read at start, so a bad path fails here, not later.
 */
function kafkaSecurity(env) {
  const on = (setting, fallback) => {
    const value = env[setting] || fallback;
    if (!['on', 'off', 'true', 'false'].includes(value)) fail(`${setting} must be on or off`);
    return value === 'on' || value === 'true';
  };
  const read = (setting) => {
    if (!env[setting]) return undefined;
    try {
      return readFileSync(env[setting]);
    } catch (error) {
      return fail(`${setting}: cannot read ${env[setting]} (${error.code})`);
    }
  };
  const security = {};
  if (on('KAFKA_SSL', 'off')) {
    if (!env.KAFKA_SSL_CERT_FILE !== !env.KAFKA_SSL_KEY_FILE) fail('KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together');
    const verifyHostname = on('KAFKA_SSL_VERIFY_HOSTNAME', 'on');
    security.ssl = {
      ca: read('KAFKA_SSL_CA_FILE'),
      cert: read('KAFKA_SSL_CERT_FILE'),
      key: read('KAFKA_SSL_KEY_FILE'),
      rejectUnauthorized: on('KAFKA_SSL_REJECT_UNAUTHORIZED', 'on'),
      ...(!verifyHostname && { checkServerIdentity: () => undefined }),
    };
  }
  const mechanism = env.KAFKA_SASL_MECHANISM;
  if (mechanism) {
    if (!['plain', 'scram-sha-256', 'scram-sha-512'].includes(mechanism)) fail('KAFKA_SASL_MECHANISM must be plain, scram-sha-256 or scram-sha-512');
    if (mechanism === 'plain' && !security.ssl) fail('KAFKA_SASL_MECHANISM=plain sends the password in clear: needs KAFKA_SSL=on');
    if (!env.KAFKA_SASL_USERNAME) fail('KAFKA_SASL_USERNAME is required with KAFKA_SASL_MECHANISM');
    if (!env.KAFKA_SASL_PASSWORD === !env.KAFKA_SASL_PASSWORD_FILE) fail('set one of KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE');
    const password =
      env.KAFKA_SASL_PASSWORD ||
      read('KAFKA_SASL_PASSWORD_FILE')
        .toString('utf8')
        .replace(/\r?\n$/, '');
    security.sasl = { mechanism, username: env.KAFKA_SASL_USERNAME, password };
  }
  return security;
}

const commandTopic = `${config.prefix}${name}.commands`;
const topics = {
  commands: commandTopic,
  replies: `${config.prefix}ordo.replies`,
  deadLetters: `${commandTopic}.dlq`,
};
// All instances of one participant share one consumer group, so each command goes to one of them.
const groupId = `${config.prefix}${name}`;

// ---- the protocol's vocabulary ----------------------------------------------------------

const TX_TYPES = ['saga', 'tcc', '2pc'];
const PHASES = ['execute', 'compensate', 'try', 'confirm', 'cancel', 'prepare', 'commit', 'abort'];
const FORWARD_PHASES = ['execute', 'try', 'prepare'];
/** The forward phase each compensating phase undoes. */
const FORWARD_OF = { compensate: 'execute', cancel: 'try', abort: 'prepare' };

const success = (output) => (output ? { outcome: 'success', output } : { outcome: 'success' });
const failure = (code, message) => ({ outcome: 'failure', error: { code, message } });
const retry = (code, message) => ({ outcome: 'retry', error: { code, message } });

/**
 * Whether a reply ends its phase, so the barrier keeps it: `success`, or `failure` of a
 * forward phase. A `retry`, or a `failure` of a phase that must succeed (the coordinator
 * retries it), rolls everything back so the next attempt runs the business code again.
 */
const isFinal = (phase, outcome) => outcome === 'success' || (outcome === 'failure' && FORWARD_PHASES.includes(phase));

class MalformedCommand extends Error {}

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNonEmptyString = (v) => typeof v === 'string' && v !== '';

/** A command value checked against libs/protocol/schemas/command.schema.json. */
function parseCommand(value) {
  if (value === null) throw new MalformedCommand('value is empty');
  let body;
  try {
    body = JSON.parse(value.toString('utf8'));
  } catch {
    throw new MalformedCommand('value is not JSON');
  }
  if (!isObject(body)) throw new MalformedCommand('value is not a JSON object');
  const problems = [
    ...['txId', 'stepId', 'action'].filter((f) => !isNonEmptyString(body[f])).map((f) => `${f} must be a non-empty string`),
    TX_TYPES.includes(body.type) ? null : `type must be one of ${TX_TYPES.join(', ')}`,
    PHASES.includes(body.phase) ? null : `phase must be one of ${PHASES.join(', ')}`,
    Number.isInteger(body.attempt) && body.attempt >= 1 ? null : 'attempt must be an integer >= 1',
    isObject(body.input) ? null : 'input must be an object',
    typeof body.deadline === 'string' && !Number.isNaN(Date.parse(body.deadline)) ? null : 'deadline must be a date-time',
  ].filter(Boolean);
  if (problems.length > 0) throw new MalformedCommand(problems.join('; '));
  return body;
}

// ---- the database: business table and barrier table -------------------------------------

// Every connection resolves unqualified table names in the participant's schema.
const pool = new Pool({ connectionString: config.databaseUrl, options: `-c search_path=${config.schema}` });

async function createTables() {
  await inTransaction(async (db) => {
    // Instances starting together would race on CREATE ... IF NOT EXISTS: take turns.
    await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${config.schema}.setup`]);
    await db.query(`CREATE SCHEMA IF NOT EXISTS "${config.schema}"`);
    await db.query(`
      CREATE TABLE IF NOT EXISTS loyalty_accounts (
        customer_id text    PRIMARY KEY,
        points      integer NOT NULL DEFAULT 0,
        blocked     boolean NOT NULL DEFAULT false
      )`);
    // The barrier table exactly as docs/protocol.md gives it.
    await db.query(`
      CREATE TABLE IF NOT EXISTS ordo_barrier (
        tx_id      text        NOT NULL,
        step_id    text        NOT NULL,
        phase      text        NOT NULL,
        origin     text        NOT NULL CHECK (origin IN ('handler', 'null_compensation', 'fence')),
        outcome    text        CHECK (outcome IN ('success', 'failure')),
        output     jsonb,
        error      jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tx_id, step_id, phase)
      )`);
    return { commit: true };
  });
}

/**
 * Runs `work(db)` in one transaction; `work` says whether to commit. On an error the
 * connection is discarded, which rolls back whatever the transaction did.
 */
async function inTransaction(work) {
  const db = await pool.connect();
  try {
    await db.query('BEGIN');
    const { commit, value } = await work(db);
    await db.query(commit ? 'COMMIT' : 'ROLLBACK');
    db.release();
    return value;
  } catch (error) {
    db.release(error);
    throw error;
  }
}

// ---- the business code --------------------------------------------------------------------

/** Handlers by `<action>/<phase>`. Each runs inside the barrier's transaction and returns a reply. */
const HANDLERS = {
  'award/execute': award,
  'revoke/compensate': revoke,
};

async function award(db, { customerId, points }) {
  if (!isNonEmptyString(customerId) || !Number.isInteger(points) || points <= 0) {
    return failure('INVALID_INPUT', 'input needs customerId (a string) and points (a positive integer)');
  }
  // One statement: opens the account on its first award, adds to it otherwise, and does
  // nothing for a blocked customer (no row comes back), so a refusal changes nothing.
  const { rows } = await db.query(
    `INSERT INTO loyalty_accounts (customer_id, points) VALUES ($1, $2)
     ON CONFLICT (customer_id) DO UPDATE SET points = loyalty_accounts.points + EXCLUDED.points
     WHERE NOT loyalty_accounts.blocked
     RETURNING points`,
    [customerId, points],
  );
  if (rows.length === 0) return failure('CUSTOMER_BLOCKED', `customer ${customerId} is blocked`);
  return success({ customerId, awarded: points, balance: rows[0].points });
}

/**
 * Undoes an award. A compensation must not be refused: the balance may go below zero if
 * the points were spent meanwhile, and a customer blocked since the award loses them too.
 * The barrier calls it only after a successful award, with the award's input.
 */
async function revoke(db, { customerId, points }) {
  const { rows } = await db.query('UPDATE loyalty_accounts SET points = points - $2 WHERE customer_id = $1 RETURNING points', [customerId, points]);
  // Only someone deleting the account by hand gets here; `failure` keeps the coordinator retrying.
  if (rows.length === 0) return failure('ACCOUNT_MISSING', `customer ${customerId} has no account`);
  return success({ customerId, revoked: points, balance: rows[0].points });
}

// ---- the barrier ------------------------------------------------------------------------

const ALREADY_COMPENSATED = {
  code: 'ALREADY_COMPENSATED',
  message: 'this step was already compensated; the late request is refused',
};

function storedReply(row) {
  return { outcome: row.outcome, ...(row.output && { output: row.output }), ...(row.error && { error: row.error }) };
}

/**
 * The barrier of docs/protocol.md, step by step, inside the caller's transaction `db`.
 * Returns what it decided (for the log) and the reply; the caller commits only a final one.
 */
async function passBarrier(db, command, handler) {
  const { txId, stepId, phase } = command;
  const rowOf = async (rowPhase) =>
    (
      await db.query('SELECT origin, outcome, output, error FROM ordo_barrier WHERE tx_id = $1 AND step_id = $2 AND phase = $3', [
        txId,
        stepId,
        rowPhase,
      ])
    ).rows[0];

  // 1. Claim the command's own row. A concurrent delivery of the same command waits here
  //    until the first one's transaction ends. A row already there holds the reply given
  //    before: a duplicate, or — written as a fence by the compensation — a hanging request.
  const claimed = await db.query(`INSERT INTO ordo_barrier (tx_id, step_id, phase, origin) VALUES ($1, $2, $3, 'handler') ON CONFLICT DO NOTHING`, [
    txId,
    stepId,
    phase,
  ]);
  if (claimed.rowCount === 0) {
    const own = await rowOf(phase);
    return { barrier: own.origin === 'fence' ? 'hanging' : 'duplicate', reply: storedReply(own) };
  }

  // 2. A compensating phase fences its forward phase. If the fence is new, the forward
  //    phase never ran (and will be refused if it comes late); if the forward phase did not
  //    succeed, it changed nothing. Either way there is nothing to undo: a null compensation.
  const forward = FORWARD_OF[phase];
  if (forward) {
    const fenced = await db.query(
      `INSERT INTO ordo_barrier (tx_id, step_id, phase, origin, outcome, error) VALUES ($1, $2, $3, 'fence', 'failure', $4)
       ON CONFLICT DO NOTHING`,
      [txId, stepId, forward, JSON.stringify(ALREADY_COMPENSATED)],
    );
    if (fenced.rowCount === 1 || (await rowOf(forward)).outcome !== 'success') {
      await db.query(`UPDATE ordo_barrier SET origin = 'null_compensation', outcome = 'success' WHERE tx_id = $1 AND step_id = $2 AND phase = $3`, [
        txId,
        stepId,
        phase,
      ]);
      return { barrier: 'null_compensation', reply: success() };
    }
  }

  // 3. Run the business code in this transaction and keep a final reply with the row.
  const reply = await handler(db, command.input);
  if (isFinal(phase, reply.outcome)) {
    await db.query('UPDATE ordo_barrier SET outcome = $4, output = $5, error = $6 WHERE tx_id = $1 AND step_id = $2 AND phase = $3', [
      txId,
      stepId,
      phase,
      reply.outcome,
      reply.output ? JSON.stringify(reply.output) : null,
      reply.error ? JSON.stringify(reply.error) : null,
    ]);
  }
  return { barrier: 'ran', reply };
}

const describe = (c) => `${c.action}/${c.phase} of ${c.txId}/${c.stepId} (attempt ${c.attempt})`;

/** Decides the reply to a command: barrier, business code and stored reply in one local transaction. */
async function answer(command) {
  const handler = HANDLERS[`${command.action}/${command.phase}`];
  if (!handler) {
    return { barrier: 'none', reply: failure('UNKNOWN_ACTION', `${name} has no handler for ${command.action}/${command.phase}`) };
  }
  try {
    return await inTransaction(async (db) => {
      const result = await passBarrier(db, command, handler);
      return { commit: isFinal(command.phase, result.reply.outcome), value: result };
    });
  } catch (error) {
    // Database trouble or a bug: nothing was kept, so another attempt may well succeed.
    log(`${describe(command)} failed in its local transaction: ${error.stack}`);
    return { barrier: 'rolled back', reply: retry('LOCAL_TRANSACTION_FAILED', error.message) };
  }
}

// ---- Kafka --------------------------------------------------------------------------------

const kafka = new Kafka({
  clientId: groupId,
  brokers: config.brokers,
  ...kafkaSecurity(process.env),
  logLevel: logLevel.WARN,
  // One plain line per kafkajs warning instead of its JSON (it retries what it warns about).
  logCreator:
    () =>
    ({ log: entry }) =>
      log(`kafkajs: ${entry.message}${entry.error ? ` (${entry.error})` : ''}`),
});
// Idempotent with acks from all in-sync replicas: a reply is durable once `send` resolves.
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
// A fetch returns as soon as a command arrives; maxWaitTimeInMs only bounds an idle fetch,
// which a graceful stop waits for (kafkajs' default: 5 s).
const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 500 });

/** Header values arrive as Buffers (an array of them if the header is repeated). */
function header(message, headerName) {
  const value = message.headers?.[headerName];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

async function createTopics() {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = Object.values(topics).filter((topic) => !existing.has(topic));
    if (missing.length > 0 && !config.createTopics) fail(`Kafka topics missing: ${missing.join(', ')} (KAFKA_CREATE_TOPICS=off)`);
    // A topic another process created meanwhile is fine: kafkajs then resolves to false.
    if (missing.length > 0) {
      const retention = (topic) => (topic === topics.deadLetters ? [{ name: 'retention.ms', value: String(config.deadLetterRetentionMs) }] : []);
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic, numPartitions: config.partitions, configEntries: retention(topic) })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}

function sendReply(command, message, body) {
  // `attempt` and `token` are the command's own, also when the barrier replays a reply stored
  // for an earlier attempt: the coordinator takes a reply only with its command's token.
  const { txId, stepId, phase, attempt, token } = command;
  const reply = { txId, stepId, phase, attempt, token, ...body };
  const traceparent = header(message, 'traceparent');
  return producer.send({
    topic: topics.replies,
    acks: -1,
    messages: [
      {
        key: command.txId,
        value: JSON.stringify(reply),
        headers: { 'ordo-message-id': randomUUID(), ...(traceparent && { traceparent }) },
      },
    ],
  });
}

/** The command unchanged — same key, value and headers — plus the reason. No reply: nothing in it can be trusted. */
function deadLetter(message, reason) {
  return producer.send({
    topic: topics.deadLetters,
    acks: -1,
    messages: [{ key: message.key, value: message.value, headers: { ...message.headers, 'ordo-dead-letter-reason': reason } }],
  });
}

/** Answers one command, or dead-letters it if it does not parse. */
async function handle(message) {
  let command;
  try {
    command = parseCommand(message.value);
  } catch (error) {
    if (!(error instanceof MalformedCommand)) throw error;
    log(`dead-lettering a malformed command: ${error.message}`);
    return deadLetter(message, error.message);
  }
  const { barrier, reply } = await answer(command);
  await sendReply(command, message, reply);
  log(`${describe(command)}: ${reply.outcome}${reply.error ? ` ${reply.error.code}` : ''} (barrier: ${barrier})`);
}

async function onMessage({ topic, partition, message }) {
  await handle(message);
  // Only now, with the local transaction committed and the reply (or dead letter)
  // acknowledged, is the command done. A crash before this line redelivers it, and the
  // barrier answers it again. A throw above skips the commit too: kafkajs redelivers.
  await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
}

// ---- start and stop -----------------------------------------------------------------------

let stopping = null;

/** Finishes the command in hand (disconnect waits for it), leaves the group, then closes. */
function stop(signal) {
  stopping ??= (async () => {
    log(`${signal}: stopping`);
    await consumer.disconnect();
    await producer.disconnect();
    await pool.end();
    log('stopped');
  })();
  return stopping;
}

async function main() {
  await createTables();
  await createTopics();
  await producer.connect();
  consumer.on(consumer.events.GROUP_JOIN, () => log(`consuming ${topics.commands} (group ${groupId})`));
  // A consumer that kafkajs gives up on would stop consuming silently: exit, so a supervisor restarts us.
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) fail(`the consumer stopped: ${payload.error.message}`);
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.commands], fromBeginning: true });
  await consumer.run({ autoCommit: false, eachMessage: onMessage });
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () =>
    stop(signal).then(
      () => process.exit(0),
      (error) => fail(`stopping failed: ${error.stack}`),
    ),
  );
}

main().catch((error) => fail(`start failed: ${error.stack}`));
