import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig, inSpan, MESSAGE_BUS, MessageBus, SpanKind, traceparentOf } from '@ordo/platform';
import { Command, deadLetter, HEADERS, MalformedMessage, parseCommand, Reply, topicNames } from '@ordo/protocol';
import { isFinalReply, ReplyBody } from './barrier-rules';
import { FaultInjector } from './failure-injection';
import { HandlerRegistry } from './handler-registry';
import { ParticipantMetrics } from './participant-metrics';
import { PARTICIPANT_OPTIONS, ParticipantOptions } from './participant.options';
import { PreparedTransactions } from './prepared-transactions';
import { commandFields, describeCommand, localTransactionFailed, runHandler } from './run-handler';
import { passBarrier } from './sql-barrier';

/** Carries a non-final reply out of the local transaction, which it rolls back. */
class RollbackWith extends Error {
  constructor(readonly reply: ReplyBody) {
    super('rolled back');
  }
}

/**
 * Receives this participant's commands: each runs behind the barrier, in one local
 * transaction with the business code (or, for prepares declared so, in a prepared
 * transaction: prepared-transactions.ts), and is answered on the reply topic once that
 * transaction has committed. Malformed commands go to the dead-letter topic with the
 * reason and are skipped.
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

  /** `value`: the message's bytes as received (null for a tombstone). */
  async receive(value: Buffer | null, headers: Record<string, string>, key: string | null): Promise<void> {
    let command: Command;
    try {
      command = parseCommand(value, { maxBytes: this.config.MAX_MESSAGE_BYTES });
    } catch (error) {
      if (!(error instanceof MalformedMessage)) throw error;
      this.logger.warn(`dead-lettering a malformed command: ${error.message}`);
      this.metrics.deadLettered();
      await this.bus.publish([deadLetter(this.commandTopic, { key, value, headers }, error.message, this.config.MAX_MESSAGE_BYTES)]);
      return;
    }
    // The consumer span hangs under the coordinator's send; the reply carries this span on.
    const options = {
      kind: SpanKind.CONSUMER,
      parent: headers[HEADERS.traceparent] ?? null,
      attributes: { 'ordo.tx_id': command.txId, 'ordo.step_id': command.stepId, 'ordo.phase': command.phase, 'ordo.action': command.action },
    };
    await inSpan(`process ${this.commandTopic}`, options, async (span) => {
      const started = performance.now();
      const answer = await this.handle(command);
      span.setAttribute('ordo.outcome', answer.outcome);
      try {
        await this.reply(command, traceparentOf(span) ?? headers[HEADERS.traceparent], answer);
      } catch (error) {
        // Kafka is unreachable. Retriable, so kafkajs retries the message and then restarts
        // the consumer, which redelivers it (its offset was not committed); a non-retriable
        // error would stop the consumer for good.
        throw Object.assign(new Error(`reply not published: ${(error as Error).message}`), { retriable: true });
      }
      this.metrics.handled(command, answer.outcome, (performance.now() - started) / 1000);
    });
  }

  private async handle(command: Command): Promise<ReplyBody> {
    // Failure injection (tests, demos): added latency, or a `retry` answer in place of
    // handling the command. Off unless configured or asked for in the command.
    const injected = await this.faults.beforeHandling(command);
    if (injected) return injected;
    try {
      // The action's 2PC phases run through a PostgreSQL prepared transaction: the
      // registry holds its prepare handler, and the SDK answers commit and abort itself.
      if (this.registry.usesPreparedTransaction(command.action)) {
        if (command.phase === 'commit' || command.phase === 'abort') return await this.prepared.finish(command, command.phase, command);
        if (command.phase === 'prepare') return await this.prepared.prepare(command, this.registry.find(command.action, 'prepare')!);
      }
      return await this.handleInTransaction(command);
    } catch (error) {
      if (error instanceof RollbackWith) return error.reply;
      this.logger.error({ ...commandFields(command), msg: `${describeCommand(command)} failed in its local transaction: ${(error as Error).message}` });
      return localTransactionFailed(error);
    }
  }

  /** The command behind the barrier, in one local transaction with the business code. */
  private async handleInTransaction(command: Command): Promise<ReplyBody> {
    const handler = this.registry.find(command.action, command.phase);
    if (!handler) {
      return {
        outcome: 'failure',
        error: { code: 'UNKNOWN_ACTION', message: `${this.options.name} has no handler for ${command.action}/${command.phase}` },
      };
    }
    const answer = await this.dataSource.transaction(async (manager) => {
      const { decision, reply } = await passBarrier(manager, command, () => runHandler(handler, command, manager, this.logger));
      this.metrics.barrierDecided(decision);
      // Business changes and barrier row only stay when the answer is final.
      if (!isFinalReply(command.phase, reply.outcome)) throw new RollbackWith(reply);
      // Failure injection: may exit here, with the work done but not committed.
      await this.faults.crashIfRequested('before-commit', command);
      return reply;
    });
    // Failure injection: may exit here, committed but not answered; the redelivery
    // after the restart finds the barrier row.
    await this.faults.crashIfRequested('after-commit', command);
    return answer;
  }

  private reply(command: Command, traceparent: string | undefined, answer: ReplyBody) {
    const reply: Reply = { txId: command.txId, stepId: command.stepId, phase: command.phase, attempt: command.attempt, ...answer };
    return this.bus.publish([
      {
        topic: this.topics.replies,
        key: command.txId,
        value: JSON.stringify(reply),
        headers: { [HEADERS.messageId]: randomUUID(), ...(traceparent ? { [HEADERS.traceparent]: traceparent } : {}) },
      },
    ]);
  }
}
