import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig, IncomingMessage, inSpans, MESSAGE_BUS, MessageBus, OutgoingMessage, SpanKind, traceparentOf, tracingActive } from '@ordo/platform';
import { Command, deadLetter, HEADERS, MalformedMessage, parseCommand, Reply, topicNames } from '@ordo/protocol';
import { ReplyBody } from './barrier-rules';
import { FaultInjector } from './failure-injection';
import { HandlerRegistry } from './handler-registry';
import { ParticipantMetrics } from './participant-metrics';
import { PARTICIPANT_OPTIONS, ParticipantOptions } from './participant.options';
import { PreparedTransactions } from './prepared-transactions';
import { commandFields, describeCommand, localTransactionFailed, runHandler } from './run-handler';
import { BarrierPass, BarrierTransaction } from './sql-barrier';

/**
 * Most commands in one local transaction. Each command's savepoint is a subtransaction;
 * past 64 of them a backend overflows PostgreSQL's subxid cache, which slows every
 * snapshot in the cluster. The margin leaves room for savepoints of the handlers' own.
 */
export const MAX_COMMANDS_PER_TRANSACTION = 48;

/** A command in hand, by its place in the batch. */
interface Pending {
  index: number;
  command: Command;
}

/**
 * Receives this participant's commands a batch (one partition's) at a time. The commands
 * run behind the barrier in as few local transactions as possible (group commit): per
 * command a barrier claim and a savepoint around the business code, so a refusal or an
 * error undoes only its own work; per transaction one statement storing the replies and
 * one COMMIT. A transaction that fails as a whole is run again one command per
 * transaction, so one poison command cannot hold up its neighbours. Prepares declared to
 * run in a prepared transaction (prepared-transactions.ts) go their own way, in order.
 * The replies (and the dead letters of malformed commands) go out in one publish after the
 * commits; the batch's offsets are committed only after that (MessageBus.subscribe), so a
 * crash redelivers and the barrier answers again.
 */
@Injectable()
export class CommandConsumer {
  private readonly logger = new Logger(CommandConsumer.name);
  readonly topics;

  constructor(
    @Inject(PARTICIPANT_OPTIONS) private readonly options: ParticipantOptions,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: HandlerRegistry,
    private readonly faults: FaultInjector,
    private readonly prepared: PreparedTransactions,
    private readonly metrics: ParticipantMetrics,
    private readonly config: AppConfig,
  ) {
    this.topics = topicNames(config.KAFKA_TOPIC_PREFIX);
  }

  get commandTopic(): string {
    return this.topics.commands(this.options.name);
  }

  async handleBatch(messages: IncomingMessage[]): Promise<void> {
    const started = performance.now();
    const out: OutgoingMessage[] = [];
    const received: { command: Command; message: IncomingMessage }[] = [];
    for (const message of messages) {
      try {
        received.push({ command: parseCommand(message.value, { maxBytes: this.config.MAX_MESSAGE_BYTES }), message });
      } catch (error) {
        if (!(error instanceof MalformedMessage)) throw error;
        this.logger.warn(`dead-lettering a malformed command: ${error.message}`);
        this.metrics.deadLettered();
        out.push(deadLetter(this.commandTopic, message, error.message, this.config.MAX_MESSAGE_BYTES));
      }
    }
    // One consumer span per command (none when tracing is off), child of the coordinator's
    // send; the reply carries it on.
    const spanOptions = tracingActive()
      ? received.map(({ command, message }) => ({
          name: `process ${this.commandTopic}`,
          kind: SpanKind.CONSUMER,
          parent: message.headers[HEADERS.traceparent] ?? null,
          attributes: { 'ordo.tx_id': command.txId, 'ordo.step_id': command.stepId, 'ordo.phase': command.phase, 'ordo.action': command.action },
        }))
      : [];
    const answers = await inSpans(spanOptions, async (spans) => {
      const answers = await this.answer(received.map((r) => r.command));
      received.forEach(({ command, message }, i) => {
        spans[i]?.setAttribute('ordo.outcome', answers[i].outcome);
        const traceparent = (spans[i] && traceparentOf(spans[i])) ?? message.headers[HEADERS.traceparent];
        out.push(this.reply(command, traceparent, answers[i]));
      });
      try {
        await this.bus.publish(out);
      } catch (error) {
        // Kafka is unreachable. Retriable, so kafkajs retries the batch and then restarts
        // the consumer, which redelivers it (its offsets were not committed); a
        // non-retriable error would stop the consumer for good.
        throw Object.assign(new Error(`replies not published: ${(error as Error).message}`), { retriable: true });
      }
      return answers;
    });
    const seconds = (performance.now() - started) / 1000;
    received.forEach(({ command }, i) => this.metrics.handled(command, answers[i].outcome, seconds));
  }

  /** The replies to `commands`, in order. */
  private async answer(commands: Command[]): Promise<ReplyBody[]> {
    const answers: ReplyBody[] = new Array(commands.length);
    let group: Pending[] = [];
    const flush = async () => {
      for (const [i, reply] of (await this.inLocalTransactions(group)).entries()) answers[group[i].index] = reply;
      group = [];
    };
    for (const [index, command] of commands.entries()) {
      // Failure injection (tests, demos): added latency, or a `retry` answer in place of
      // handling the command. Off unless configured or asked for in the command.
      const injected = await this.faults.beforeHandling(command);
      if (injected) {
        answers[index] = injected;
      } else if (this.registry.usesPreparedTransaction(command.action) && ['prepare', 'commit', 'abort'].includes(command.phase)) {
        // The action's 2PC phases run through a PostgreSQL prepared transaction: the
        // registry holds its prepare handler, and the SDK answers commit and abort itself.
        // The group before it commits first, so the partition's order holds.
        await flush();
        answers[index] = await this.inPreparedTransaction(command);
      } else if (!this.registry.find(command.action, command.phase)) {
        answers[index] = {
          outcome: 'failure',
          error: { code: 'UNKNOWN_ACTION', message: `${this.options.name} has no handler for ${command.action}/${command.phase}` },
        };
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
  private async inLocalTransactions(pending: Pending[]): Promise<ReplyBody[]> {
    if (pending.length === 0) return [];
    const commands = pending.map((p) => p.command);
    try {
      return await this.inLocalTransaction(commands);
    } catch (error) {
      if (commands.length > 1) {
        this.logger.warn(`a local transaction of ${commands.length} commands failed (${(error as Error).message}); running them one by one`);
      }
    }
    const replies: ReplyBody[] = [];
    for (const command of commands) {
      try {
        replies.push(...(await this.inLocalTransaction([command])));
      } catch (error) {
        this.logger.error({ ...commandFields(command), msg: `${describeCommand(command)} failed in its local transaction: ${(error as Error).message}` });
        replies.push(localTransactionFailed(error));
      }
    }
    return replies;
  }

  /** The commands behind the barrier, with their business code, in one local transaction. */
  private async inLocalTransaction(commands: Command[]): Promise<ReplyBody[]> {
    const passes = await this.dataSource.transaction(async (manager) => {
      const barrier = new BarrierTransaction(manager);
      const passes: BarrierPass[] = [];
      for (const command of commands) {
        const handler = this.registry.find(command.action, command.phase)!;
        passes.push(await barrier.pass(command, () => runHandler(handler, command, manager, this.logger)));
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
    return passes.map((p) => p.reply);
  }

  private reply(command: Command, traceparent: string | undefined, answer: ReplyBody): OutgoingMessage {
    const reply: Reply = { txId: command.txId, stepId: command.stepId, phase: command.phase, attempt: command.attempt, ...answer };
    return {
      topic: this.topics.replies,
      key: command.txId,
      value: JSON.stringify(reply),
      headers: { [HEADERS.messageId]: randomUUID(), ...(traceparent ? { [HEADERS.traceparent]: traceparent } : {}) },
    };
  }
}
