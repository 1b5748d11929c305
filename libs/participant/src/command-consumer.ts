import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig, MESSAGE_BUS, MessageBus } from '@ordo/platform';
import { Command, HEADERS, MalformedMessage, parseCommand, Reply, topicNames } from '@ordo/protocol';
import { PARTICIPANT_OPTIONS, ParticipantOptions } from './participant.options';

/**
 * Receives this participant's commands and answers each on the reply topic. Malformed
 * commands go to the dead-letter topic with the reason and are skipped.
 */
@Injectable()
export class CommandConsumer {
  private readonly logger = new Logger(CommandConsumer.name);
  readonly topics;

  constructor(
    @Inject(PARTICIPANT_OPTIONS) private readonly options: ParticipantOptions,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    config: AppConfig,
  ) {
    this.topics = topicNames(config.KAFKA_TOPIC_PREFIX);
  }

  get commandTopic(): string {
    return this.topics.commands(this.options.name);
  }

  async receive(value: unknown, headers: Record<string, string>): Promise<void> {
    let command: Command;
    try {
      command = parseCommand(value);
    } catch (error) {
      if (!(error instanceof MalformedMessage)) throw error;
      this.logger.warn(`dead-lettering a malformed command: ${error.message}`);
      await this.bus.publish([
        {
          topic: this.topics.deadLetter(this.commandTopic),
          key: 'malformed',
          value: typeof value === 'string' ? value : JSON.stringify(value ?? null),
          headers: { ...headers, [HEADERS.deadLetterReason]: error.message },
        },
      ]);
      return;
    }
    await this.reply(command, headers, this.handle(command));
  }

  /** No action handlers are registered yet: every action is refused as unknown. */
  private handle(command: Command): Pick<Reply, 'outcome' | 'output' | 'error'> {
    return {
      outcome: 'failure',
      error: { code: 'UNKNOWN_ACTION', message: `${this.options.name} has no handler for ${command.action}/${command.phase}` },
    };
  }

  private reply(command: Command, headers: Record<string, string>, answer: Pick<Reply, 'outcome' | 'output' | 'error'>) {
    const reply: Reply = { txId: command.txId, stepId: command.stepId, phase: command.phase, attempt: command.attempt, ...answer };
    const traceparent = headers[HEADERS.traceparent];
    return this.bus.publish([
      {
        topic: this.topics.replies,
        key: command.txId,
        value: JSON.stringify(reply),
        headers: traceparent ? { [HEADERS.traceparent]: traceparent } : {},
      },
    ]);
  }
}
