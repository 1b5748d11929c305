import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig, MESSAGE_BUS, MessageBus } from '@ordo/platform';
import { Command, HEADERS, MalformedMessage, parseCommand, Reply, topicNames } from '@ordo/protocol';
import { isFinalReply, ReplyBody } from './barrier-rules';
import { FaultInjector } from './failure-injection';
import { BusinessFailure, TransientFailure } from './failures';
import { CommandHandler, HandlerContext } from './handler.decorators';
import { HandlerRegistry } from './handler-registry';
import { PARTICIPANT_OPTIONS, ParticipantOptions } from './participant.options';
import { passBarrier } from './sql-barrier';

/** Carries a non-final reply out of the local transaction, which it rolls back. */
class RollbackWith extends Error {
  constructor(readonly reply: ReplyBody) {
    super('rolled back');
  }
}

/**
 * Receives this participant's commands: each runs behind the barrier, in one local
 * transaction with the business code, and is answered on the reply topic once that
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
    config: AppConfig,
  ) {
    this.topics = topicNames(config.KAFKA_TOPIC_PREFIX);
  }

  get commandTopic(): string {
    return this.topics.commands(this.options.name);
  }

  /** `value` as @nestjs/microservices decoded it: parsed JSON, or the text when it is not JSON. */
  async receive(value: unknown, headers: Record<string, string>, key: string | null): Promise<void> {
    let command: Command;
    try {
      command = parseCommand(value);
    } catch (error) {
      if (!(error instanceof MalformedMessage)) throw error;
      this.logger.warn(`dead-lettering a malformed command: ${error.message}`);
      await this.bus.publish([
        {
          topic: this.topics.deadLetter(this.commandTopic),
          key: key ?? 'malformed',
          value: typeof value === 'string' ? value : JSON.stringify(value ?? null),
          headers: { ...headers, [HEADERS.deadLetterReason]: error.message },
        },
      ]);
      return;
    }
    await this.reply(command, headers, await this.handle(command));
  }

  private async handle(command: Command): Promise<ReplyBody> {
    // Failure injection (tests, demos): added latency, or a `retry` answer in place of
    // handling the command. Off unless configured or asked for in the command.
    const injected = await this.faults.beforeHandling(command);
    if (injected) return injected;
    const handler = this.registry.find(command.action, command.phase);
    if (!handler) {
      return {
        outcome: 'failure',
        error: { code: 'UNKNOWN_ACTION', message: `${this.options.name} has no handler for ${command.action}/${command.phase}` },
      };
    }
    try {
      const answer = await this.dataSource.transaction(async (manager) => {
        const { reply } = await passBarrier(manager, command, () => run(handler, command, manager, this.logger));
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
    } catch (error) {
      if (error instanceof RollbackWith) return error.reply;
      this.logger.error(`${describe(command)} failed in its local transaction: ${(error as Error).message}`);
      return { outcome: 'retry', error: { code: 'LOCAL_TRANSACTION_FAILED', message: (error as Error).message } };
    }
  }

  private reply(command: Command, headers: Record<string, string>, answer: ReplyBody) {
    const reply: Reply = { txId: command.txId, stepId: command.stepId, phase: command.phase, attempt: command.attempt, ...answer };
    const traceparent = headers[HEADERS.traceparent];
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

const describe = (c: Command) => `${c.action}/${c.phase} of ${c.txId}/${c.stepId} (attempt ${c.attempt})`;

/** Runs the business code and turns its result or error into a reply. */
async function run(handler: CommandHandler, command: Command, manager: HandlerContext['manager'], logger: Logger): Promise<ReplyBody> {
  // A refusal must change nothing, even when the handler wrote before it threw; the
  // savepoint also revives a transaction that a failed statement aborted, so the barrier
  // can still record the refusal.
  await manager.query('SAVEPOINT ordo_handler');
  try {
    const output = await handler(command.input, { command, manager });
    return output ? { outcome: 'success', output } : { outcome: 'success' };
  } catch (error) {
    await manager.query('ROLLBACK TO SAVEPOINT ordo_handler');
    if (error instanceof BusinessFailure) return { outcome: 'failure', error: { code: error.code, message: error.message } };
    if (error instanceof TransientFailure) return { outcome: 'retry', error: { code: error.code, message: error.message } };
    // An unexpected exception is transient: the coordinator retries under its policy.
    logger.error(`${describe(command)} threw: ${(error as Error).stack ?? String(error)}`);
    return { outcome: 'retry', error: { code: 'UNEXPECTED', message: (error as Error).message ?? String(error) } };
  }
}


