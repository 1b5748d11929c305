import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { consumerSpans, GroupCommit, IncomingMessage, inSpans, MESSAGE_BUS, MessageBus, OutgoingMessage, traceparentOf } from '@ordo/platform';
import { Command, deadLetter, HEADERS, MalformedMessage, parseCommand, Reply, storableText, topicNames } from '@ordo/protocol';
import { ReplyBody } from './barrier-rules';
import { FaultInjector } from './failure-injection';
import { HandlerRegistry } from './handler-registry';
import { ParticipantMetrics } from './participant-metrics';
import { ParticipantConfig } from './participant.config';
import { PARTICIPANT_OPTIONS, ParticipantOptions } from './participant.options';
import { PreparedTransactions } from './prepared-transactions';
import { SavepointPolicy } from './savepoint-policy';
import { commandFields, describeCommand, LOCK_CONFLICT, localTransactionFailed, runHandler, RunWithSavepoints } from './run-handler';
import { BarrierPass, BarrierTransaction } from './sql-barrier';

/**
 * Most commands in one local transaction. Each command's savepoint is a subtransaction;
 * past 64 of them a backend overflows PostgreSQL's subxid cache, which slows every
 * snapshot in the cluster. The margin leaves room for savepoints of the handlers' own.
 */
export const MAX_COMMANDS_PER_TRANSACTION = 48;

/** How long a handler in a group of commands waits for a row lock before it is run alone. */
const GROUP_LOCK_TIMEOUT_MS = 100;

/** A command in hand, by its place in the batch. */
interface Pending {
  index: number;
  command: Command;
}

/**
 * Receives this participant's commands a batch (one partition's) at a time. The commands
 * run behind the barrier in as few local transactions as possible (group commit, the
 * batches of partitions handled at once together): per
 * command a barrier claim and the business code; per transaction one statement storing the
 * replies and one COMMIT. A refusal or an error must undo only its own work: when a handler
 * does not succeed, the transaction rolls back and runs again with a savepoint around each
 * handler (the savepoint costs a round trip per command, so it is taken only when needed).
 * A transaction that fails as a whole is run again one command per transaction, so one
 * poison command cannot hold up its neighbours. Prepares declared to
 * run in a prepared transaction (prepared-transactions.ts) go their own way, in order.
 * A transaction's replies go out in one publish right after its COMMIT (not awaited: the
 * next transaction starts meanwhile); the batch's offsets are committed only once all are
 * published (MessageBus.subscribe), so a crash redelivers and the barrier answers again.
 */
@Injectable()
export class CommandConsumer {
  private readonly logger = new Logger(CommandConsumer.name);
  readonly topics;
  /** Whether a local transaction takes savepoints from the start: where handlers often fail. */
  private readonly savepoints = new SavepointPolicy();
  /**
   * The commands of the partitions handled at once (one fetch's batches arrive in the same
   * turn) in one local transaction, up to COMMAND_CONCURRENCY transactions at a time: at
   * moderate rates a partition's batch is mostly a single command, and a transaction per
   * partition paid BEGIN, COMMIT and the replies' statement for each. `together`: how many
   * commands shared the transaction.
   */
  private readonly localTransactions: GroupCommit<Command[], { replies: ReplyBody[]; together: number }>;

  constructor(
    @Inject(PARTICIPANT_OPTIONS) private readonly options: ParticipantOptions,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: HandlerRegistry,
    private readonly faults: FaultInjector,
    private readonly prepared: PreparedTransactions,
    private readonly metrics: ParticipantMetrics,
    private readonly config: ParticipantConfig,
  ) {
    this.topics = topicNames(config.KAFKA_TOPIC_PREFIX);
    this.localTransactions = new GroupCommit(
      async (groups) => {
        const replies = await this.inLocalTransactions(groups.flat());
        let at = 0;
        return groups.map((commands) => ({ replies: replies.slice(at, (at += commands.length)), together: replies.length }));
      },
      { max: MAX_COMMANDS_PER_TRANSACTION, size: (commands) => commands.length, concurrency: config.COMMAND_CONCURRENCY, gatherTurn: true },
    );
  }

  get commandTopic(): string {
    return this.topics.commands(this.options.name);
  }

  async handleBatch(messages: IncomingMessage[]): Promise<void> {
    const started = performance.now();
    const deadLetters: OutgoingMessage[] = [];
    const received: { command: Command; message: IncomingMessage }[] = [];
    for (const message of messages) {
      try {
        received.push({ command: parseCommand(message.value, { maxBytes: this.config.MAX_MESSAGE_BYTES }), message });
      } catch (error) {
        if (!(error instanceof MalformedMessage)) throw error;
        this.logger.warn(`dead-lettering a malformed command: ${error.message}`);
        this.metrics.deadLettered();
        deadLetters.push(deadLetter(this.commandTopic, message, error.message, this.config.MAX_MESSAGE_BYTES));
      }
    }
    // Each command's span is a child of the coordinator's send; the reply carries it on.
    const spanOptions = consumerSpans(this.commandTopic, received, ({ command, message: { headers } }) => ({
      headers,
      attributes: { 'ordo.tx_id': command.txId, 'ordo.step_id': command.stepId, 'ordo.phase': command.phase, 'ordo.action': command.action },
    }));
    const answers = await inSpans(spanOptions, async (spans) => {
      // Replies go out as soon as their transaction has committed, not at the end of the
      // batch: a vote that waited for the rest of the batch would keep its prepared
      // transaction's locks (and the commands queued behind them) waiting too.
      const published: Promise<Error | null>[] = [];
      const publish = (messages: OutgoingMessage[]) => {
        if (messages.length > 0)
          published.push(
            this.bus.publish(messages).then(
              () => null,
              (error: Error) => error,
            ),
          );
      };
      publish(deadLetters);
      const answers = await this.answer(
        received.map((r) => r.command),
        (indices, replies) =>
          publish(
            indices.map((i, n) => {
              const { command, message } = received[i];
              spans[i]?.setAttribute('ordo.outcome', replies[n].outcome);
              return this.reply(command, (spans[i] && traceparentOf(spans[i])) ?? message.headers[HEADERS.traceparent], replies[n]);
            }),
          ),
      );
      const failed = (await Promise.all(published)).find((error) => error !== null);
      // Kafka is unreachable. Retriable, so kafkajs retries the batch and then restarts the
      // consumer, which redelivers it (its offsets were not committed); a non-retriable error
      // would stop the consumer for good.
      if (failed) throw Object.assign(new Error(`replies not published: ${failed.message}`), { retriable: true });
      return answers;
    });
    const seconds = (performance.now() - started) / 1000;
    received.forEach(({ command }, i) => this.metrics.handled(command, answers[i].outcome, seconds));
  }

  /** The replies to `commands`, in order; `answered` gets them as their transactions commit. */
  private async answer(commands: Command[], answered: (indices: number[], replies: ReplyBody[]) => void): Promise<ReplyBody[]> {
    const answers = new Array<ReplyBody>(commands.length);
    const settle = (indices: number[], replies: ReplyBody[]) => {
      indices.forEach((index, n) => (answers[index] = replies[n]));
      answered(indices, replies);
    };
    let group: Pending[] = [];
    const flush = async () => {
      const pending = group;
      group = [];
      if (pending.length === 0) return;
      const { replies, together } = await this.localTransactions.submit(pending.map((p) => p.command));
      // A command that waited longer than GROUP_LOCK_TIMEOUT_MS for a row another transaction
      // holds was rolled back (its own work only). Once the others are answered, it runs
      // again alone, where it waits as long as it must.
      const conflicted = together > 1 ? pending.filter((_, i) => replies[i].error?.code === LOCK_CONFLICT) : [];
      const done = pending.flatMap((p, i) => (conflicted.includes(p) ? [] : [{ index: p.index, reply: replies[i] }]));
      settle(
        done.map((d) => d.index),
        done.map((d) => d.reply),
      );
      for (const { index, command } of conflicted) settle([index], [await this.alone(command)]);
    };
    for (const [index, command] of commands.entries()) {
      // Failure injection (tests, demos): added latency, or a `retry` answer in place of
      // handling the command. Off unless configured or asked for in the command.
      const injected = await this.faults.beforeHandling(command);
      if (injected) {
        settle([index], [injected]);
      } else if (this.registry.usesPreparedTransaction(command.action) && ['prepare', 'commit', 'abort'].includes(command.phase)) {
        // The action's 2PC phases run through a PostgreSQL prepared transaction: the
        // registry holds its prepare handler, and the SDK answers commit and abort itself.
        // The group before it commits first, so the partition's order holds.
        await flush();
        settle([index], [await this.inPreparedTransaction(command)]);
      } else if (!this.registry.find(command.action, command.phase)) {
        settle(
          [index],
          [
            {
              outcome: 'failure',
              error: { code: 'UNKNOWN_ACTION', message: `${this.options.name} has no handler for ${command.action}/${command.phase}` },
            },
          ],
        );
      } else {
        group.push({ index, command });
        if (group.length === MAX_COMMANDS_PER_TRANSACTION) await flush();
      }
    }
    await flush();
    return answers;
  }

  private async inPreparedTransaction(command: Command): Promise<ReplyBody> {
    try {
      if (command.phase === 'prepare') return await this.prepared.prepare(command, this.registry.find(command.action, 'prepare')!);
      return await this.prepared.finish(command, command.phase as 'commit' | 'abort', command);
    } catch (error) {
      this.logger.error({ ...commandFields(command), msg: `${describeCommand(command)} failed: ${(error as Error).message}` });
      return localTransactionFailed(error);
    }
  }

  /** The commands in one local transaction; if that fails as a whole, in one each. */
  private async inLocalTransactions(commands: Command[]): Promise<ReplyBody[]> {
    try {
      return await this.savepointsIfNeeded(commands);
    } catch (error) {
      if (commands.length > 1) {
        this.logger.warn(`a local transaction of ${commands.length} commands failed (${(error as Error).message}); running them one by one`);
      }
    }
    const replies: ReplyBody[] = [];
    for (const command of commands) replies.push(await this.alone(command));
    return replies;
  }

  /**
   * Without savepoints first (unless handlers have often failed lately); when a handler does
   * not succeed, all again with them.
   */
  private async savepointsIfNeeded(commands: Command[]): Promise<ReplyBody[]> {
    if (this.savepoints.wanted()) {
      const passes = await this.inLocalTransaction(commands, true);
      this.savepoints.observe(passes.some((p) => p.decision === 'run' && p.reply.outcome !== 'success'));
      return passes.map((p) => p.reply);
    }
    try {
      const passes = await this.inLocalTransaction(commands, false);
      this.savepoints.observe(false);
      return passes.map((p) => p.reply);
    } catch (error) {
      if (!(error instanceof RunWithSavepoints)) throw error;
      this.metrics.ranAgainWithSavepoints();
      this.savepoints.observe(true);
      return (await this.inLocalTransaction(commands, true)).map((p) => p.reply);
    }
  }

  /** One command in a local transaction of its own; its failure is its reply. */
  private async alone(command: Command): Promise<ReplyBody> {
    try {
      return (await this.inLocalTransaction([command], true))[0].reply;
    } catch (error) {
      this.logger.error({
        ...commandFields(command),
        msg: `${describeCommand(command)} failed in its local transaction: ${(error as Error).message}`,
      });
      return localTransactionFailed(error);
    }
  }

  /** The commands behind the barrier, with their business code, in one local transaction. */
  private async inLocalTransaction(commands: Command[], savepoints: boolean): Promise<BarrierPass[]> {
    const passes = await this.dataSource.transaction(async (manager) => {
      // Commands sharing a transaction hold their row locks until its COMMIT, so two groups
      // can wait on each other (PostgreSQL finds a deadlock only after deadlock_timeout, 1 s
      // by default): a handler of a group waits a short while, then runs again alone.
      const barrier = new BarrierTransaction(manager);
      // Several commands: their barrier rows claimed in one statement, which also sets the lock timeout.
      if (commands.length > 1) await barrier.claimAll(commands, GROUP_LOCK_TIMEOUT_MS);
      const passes: BarrierPass[] = [];
      for (const command of commands) {
        const handler = this.registry.find(command.action, command.phase)!;
        passes.push(await barrier.pass(command, () => runHandler(handler, command, manager, this.logger, savepoints)));
      }
      await barrier.storeReplies();
      // Failure injection: may exit here, with the work done but not committed.
      for (const command of commands) await this.faults.crashIfRequested('before-commit', command);
      return passes;
    });
    // Failure injection: may exit here, committed but not answered; the redelivery
    // after the restart finds the barrier rows.
    for (const command of commands) await this.faults.crashIfRequested('after-commit', command);
    for (const pass of passes) this.metrics.barrierDecided(pass.decision);
    return passes;
  }

  private reply(command: Command, traceparent: string | undefined, answer: ReplyBody): OutgoingMessage {
    // An error's text comes from anywhere (a driver, a cut string): made storable, so the
    // coordinator does not refuse the whole reply for it.
    const error = answer.error && { code: storableText(answer.error.code), message: storableText(answer.error.message) };
    const { txId, stepId, phase, attempt, token } = command;
    const reply: Reply = { txId, stepId, phase, attempt, ...answer, ...(error && { error }), ...(token !== undefined && { token }) };
    return {
      topic: this.topics.replies,
      key: command.txId,
      value: JSON.stringify(reply),
      headers: { [HEADERS.messageId]: randomUUID(), ...(traceparent ? { [HEADERS.traceparent]: traceparent } : {}) },
    };
  }
}
