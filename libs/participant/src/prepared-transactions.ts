/**
 * Two-phase commit in PostgreSQL prepared transactions, for prepare handlers declared
 * `@Prepare(action, { preparedTransaction: true })`.
 *
 * - prepare: the barrier row and the handler's writes are done in a local transaction that
 *   ends with `PREPARE TRANSACTION '<gid>'` instead of COMMIT. The work, its row locks and
 *   the barrier row now live in the database, not in this process: they survive its
 *   crash, and nobody sees the writes until the decision. A NO vote (business refusal) is
 *   committed as usual, barrier row and all, so a redelivery gets the same refusal.
 * - commit / abort: `COMMIT PREPARED` / `ROLLBACK PREPARED`, then the phase's barrier row in
 *   a local transaction of its own. The prepared transaction's own barrier row (committed
 *   with it, or rolled back with it) tells a redelivery what happened.
 *
 * The gid is `ordo:<consumer group>:<txId>:<stepId>`: unique in the cluster (prepared
 * transactions are cluster-wide), and it names the step, so in-doubt recovery
 * (in-doubt-recovery.ts) can ask the coordinator about it after a restart.
 *
 * A prepare answers success without output: a vote replayed from the database after a
 * restart could not carry it.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Command } from '@ordo/protocol';
import { BarrierRow, ReplyBody } from './barrier-rules';
import { FaultInjector } from './failure-injection';
import { CommandHandler } from './handler.decorators';
import { ParticipantConfig } from './participant.config';
import { PARTICIPANT_OPTIONS, ParticipantOptions } from './participant.options';
import { lockConflict, localTransactionFailed, runHandler } from './run-handler';
import { BarrierTransaction, readBarrierRow, StepRef } from './sql-barrier';

/** The decision a prepared transaction is finished by. */
export type PreparedOutcome = 'commit' | 'abort';

/** Who finished a prepared transaction: the decision's command, or in-doubt recovery asking the coordinator. */
export type FinishedBy = 'command' | 'recovery';

export const PREPARED_REPLY: ReplyBody = { outcome: 'success' };

/** PostgreSQL's limit on a gid, in bytes. */
const MAX_GID_LENGTH = 200;
/** The longest `:<txId>:<stepId>` (a uuid and a step id of at most 64 characters). */
const MAX_STEP_SUFFIX = 1 + 36 + 1 + 64;

const sqlLiteral = (text: string) => `'${text.replace(/'/g, "''")}'`;

export interface PreparedStep {
  step: StepRef;
  gid: string;
  preparedAt: Date;
  /** Its PostgreSQL transaction id. */
  xid: string;
  /** The tables it holds locks on. */
  relations: string[];
  /** Sessions waiting for it (for rows it locked). */
  waiters: number;
}

@Injectable()
export class PreparedTransactions {
  private readonly logger = new Logger(PreparedTransactions.name);
  private readonly gidPrefix: string;

  constructor(
    @Inject(PARTICIPANT_OPTIONS) options: ParticipantOptions,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: ParticipantConfig,
    private readonly faults: FaultInjector,
  ) {
    this.gidPrefix = `ordo:${config.KAFKA_TOPIC_PREFIX}${options.name}:`;
    if (Buffer.byteLength(this.gidPrefix) + MAX_STEP_SUFFIX > MAX_GID_LENGTH) {
      throw new Error(`KAFKA_TOPIC_PREFIX + participant name are too long for prepared transaction ids (${this.gidPrefix})`);
    }
  }

  gid(step: StepRef): string {
    return `${this.gidPrefix}${step.txId}:${step.stepId}`;
  }

  /** This participant's prepared transactions prepared at least `olderThanMs` ago, oldest first, with the locks they hold. */
  async list(olderThanMs: number): Promise<PreparedStep[]> {
    const rows: { gid: string; prepared: Date; xid: string; relations: string[]; waiters: number }[] = await this.dataSource.query(
      `SELECT p.gid, p.prepared, p.transaction::text AS xid,
         array(
           SELECT DISTINCT n.nspname || '.' || c.relname FROM pg_locks l
           JOIN pg_locks own ON own.virtualtransaction = l.virtualtransaction AND own.pid IS NULL
             AND own.locktype = 'transactionid' AND own.transactionid = p.transaction
           JOIN pg_class c ON c.oid = l.relation AND c.relkind IN ('r', 'p')
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE l.pid IS NULL AND l.locktype = 'relation' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           ORDER BY 1) AS relations,
         (SELECT count(*)::int FROM pg_locks w WHERE NOT w.granted AND w.locktype = 'transactionid' AND w.transactionid = p.transaction) AS waiters
       FROM pg_prepared_xacts p
       WHERE p.database = current_database() AND starts_with(p.gid, $1) AND p.prepared <= now() - make_interval(secs => $2)
       ORDER BY p.prepared`,
      [this.gidPrefix, olderThanMs / 1000],
    );
    return rows.map(({ gid, prepared, xid, relations, waiters }) => {
      const [txId, stepId] = gid.slice(this.gidPrefix.length).split(':');
      return { step: { txId, stepId }, gid, preparedAt: prepared, xid, relations, waiters };
    });
  }

  /** Runs a prepare: PREPARE TRANSACTION on a YES vote, an ordinary commit of a NO vote. */
  async prepare(command: Command, handler: CommandHandler): Promise<ReplyBody> {
    const gid = this.gid(command);
    // A redelivery, or the retry of a vote that was lost: the work is already prepared.
    if (await this.isPrepared(gid)) return PREPARED_REPLY;
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    // BEGIN by hand: TypeORM must not think a transaction is open once it is prepared.
    let open = false;
    try {
      await runner.query('BEGIN');
      open = true;
      // A hot row locked by another prepared transaction stays locked until that one's
      // decision, which may be queued behind this very command: wait a bounded time.
      await runner.query(`SET LOCAL lock_timeout = ${this.config.PREPARE_LOCK_TIMEOUT_MS}`);
      // The barrier claims its row first: a concurrent delivery of this prepare, or an abort
      // fencing it, waits on this row or finds it.
      const barrier = new BarrierTransaction(runner.manager);
      const { decision, reply } = await barrier.pass(command, async () => {
        const vote = await runHandler(handler, command, runner.manager, this.logger);
        return vote.outcome === 'success' ? PREPARED_REPLY : vote;
      });
      // Found before: a finished prepare (or its NO vote), or the fence of an abort that came first.
      if (decision !== 'run') return reply;
      if (reply.outcome === 'retry') return reply;
      await barrier.storeReplies();
      if (reply.outcome === 'success') {
        await this.faults.crashIfRequested('before-commit', command);
        await runner.query(`PREPARE TRANSACTION ${sqlLiteral(gid)}`);
        open = false;
        await this.faults.crashIfRequested('after-commit', command);
        return PREPARED_REPLY;
      }
      await runner.query('COMMIT');
      open = false;
      return reply;
    } catch (error) {
      return localTransactionFailed(error);
    } finally {
      if (open) await runner.query('ROLLBACK').catch(() => undefined);
      await runner.release();
    }
  }

  /**
   * Finishes the step's prepared transaction by the decision and records the phase in the
   * barrier. `command` is the decision's command (null from in-doubt recovery).
   */
  async finish(step: StepRef, outcome: PreparedOutcome, command: Command | null): Promise<ReplyBody> {
    const own = await readBarrierRow(this.dataSource.manager, { ...step, phase: outcome });
    if (own) return own.reply;
    const gid = this.gid(step);
    let ended = false;
    if (await this.isPrepared(gid)) {
      if (command) await this.faults.crashIfRequested('before-commit', command);
      ended = await this.endPrepared(gid, outcome);
    }
    try {
      return await this.dataSource.transaction((manager) => this.record(manager, step, outcome, ended, command ? 'command' : 'recovery'));
    } catch (error) {
      const conflict = lockConflict(error);
      if (conflict) return conflict;
      throw error;
    }
  }

  private async record(manager: EntityManager, step: StepRef, outcome: PreparedOutcome, ended: boolean, by: FinishedBy): Promise<ReplyBody> {
    // The fence below waits on a prepare still in progress elsewhere: bounded, then `retry`.
    await manager.query(`SET LOCAL lock_timeout = ${this.config.PREPARE_LOCK_TIMEOUT_MS}`);
    const barrier = new BarrierTransaction(manager);
    const origin: BarrierRow['origin'] = by === 'recovery' ? 'recovered' : 'handler';
    // Each decision's "business code" checks that the database agrees with it; a
    // disagreement is a failure of a phase that must succeed, so nothing is kept.
    const { reply } =
      outcome === 'commit'
        ? await barrier.pass(
            { ...step, phase: 'commit' },
            async () => {
              // The prepare's row is visible only once its prepared transaction committed.
              const prepare = await readBarrierRow(manager, { ...step, phase: 'prepare' });
              if (prepare?.origin !== 'handler' || prepare.reply.outcome !== 'success') {
                return this.disagree(step, 'PREPARED_WORK_LOST', 'the prepared work was rolled back or never prepared');
              }
              return PREPARED_REPLY;
            },
            origin,
          )
        : // A successful prepare's row that survived means its prepared transaction was
          // committed. Otherwise nothing is there to undo: this abort rolled the work back
          // (`ended`), or nothing was prepared (an abort before its prepare, or after a NO
          // vote): a null abort, whose claim fenced a late prepare.
          await barrier.pass(
            { ...step, phase: 'abort' },
            () => Promise.resolve(this.disagree(step, 'PREPARED_WORK_COMMITTED', 'the prepared work was already committed')),
            ended ? origin : undefined,
          );
    await barrier.storeReplies();
    return reply;
  }

  private async isPrepared(gid: string): Promise<boolean> {
    const found: unknown[] = await this.dataSource.query('SELECT 1 FROM pg_prepared_xacts WHERE gid = $1 AND database = current_database()', [gid]);
    return found.length > 0;
  }

  /** COMMIT / ROLLBACK PREPARED; false when another delivery (or recovery) ended it first. */
  private async endPrepared(gid: string, outcome: PreparedOutcome): Promise<boolean> {
    try {
      await this.dataSource.query(`${outcome === 'commit' ? 'COMMIT' : 'ROLLBACK'} PREPARED ${sqlLiteral(gid)}`);
      this.logger.debug(`${outcome === 'commit' ? 'committed' : 'rolled back'} prepared transaction ${gid}`);
      return true;
    } catch (error) {
      // undefined_object: no such prepared transaction any more.
      if ((error as { code?: string }).code === '42704') return false;
      throw error;
    }
  }

  /**
   * The decision and the database disagree: someone finished the prepared transaction the
   * other way by hand. Not stored: the coordinator retries, then marks the step for an
   * operator, who resolves it.
   */
  private disagree(step: StepRef, code: string, why: string): ReplyBody {
    const message = `${step.txId}/${step.stepId}: ${why}`;
    this.logger.error({ txId: step.txId, stepId: step.stepId, code, msg: `${code}: ${message}` });
    return { outcome: 'failure', error: { code, message } };
  }
}
