import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { IncomingMessage, MESSAGE_BUS, MessageBus, OutgoingMessage, Subscription } from '@ordo/platform';
import { HEADERS, MalformedMessage, parseReply, Reply, topicNames } from '@ordo/protocol';
import { CoordinatorConfig } from '../config/coordinator.config';
import { replyGroupId } from './reply-group';
import { TransactionEngine } from './transaction-engine';

/**
 * Consumes the reply topic. Each Kafka batch is applied in one database transaction;
 * offsets are committed only after it commits, so a crash redelivers (the machines ignore
 * replies they have already applied). Malformed replies and replies to unknown
 * transactions go to the dead-letter topic with the reason.
 */
@Injectable()
export class ReplyConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReplyConsumer.name);
  private readonly topics;
  private subscription?: Subscription;
  /** Dead-lettered replies since start, by reason (exported as a metric later). */
  readonly deadLettered = { malformed: 0, unknownTransaction: 0 };

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly engine: TransactionEngine,
    private readonly config: CoordinatorConfig,
  ) {
    this.topics = topicNames(config.KAFKA_TOPIC_PREFIX);
  }

  async onApplicationBootstrap() {
    const replies = this.topics.replies;
    await this.bus.ensureTopics([replies, this.topics.deadLetter(replies)], this.config.KAFKA_TOPIC_PARTITIONS);
    this.subscription = await this.bus.subscribe({
      groupId: replyGroupId(this.config),
      topics: [replies],
      handleBatch: (messages) => this.handle(messages),
    });
  }

  async onApplicationShutdown() {
    await this.subscription?.close();
  }

  private async handle(messages: IncomingMessage[]): Promise<void> {
    const replies: Reply[] = [];
    const dead: OutgoingMessage[] = [];
    for (const message of messages) {
      try {
        replies.push(parseReply(message.value));
      } catch (error) {
        if (!(error instanceof MalformedMessage)) throw error;
        this.deadLettered.malformed++;
        dead.push(this.deadLetter(message, error.message));
      }
    }
    const unknown = await this.engine.applyReplies(replies);
    for (const reply of unknown) {
      this.deadLettered.unknownTransaction++;
      dead.push({
        topic: this.topics.deadLetter(this.topics.replies),
        key: reply.txId,
        value: JSON.stringify(reply),
        headers: { [HEADERS.deadLetterReason]: `unknown transaction ${reply.txId}` },
      });
    }
    if (dead.length > 0) {
      this.logger.warn(`dead-lettered ${dead.length} replies`);
      await this.bus.publish(dead);
    }
  }

  private deadLetter(message: IncomingMessage, reason: string): OutgoingMessage {
    return {
      topic: this.topics.deadLetter(this.topics.replies),
      key: message.key ?? 'malformed',
      value: message.value?.toString() ?? '',
      headers: { ...message.headers, [HEADERS.deadLetterReason]: reason },
    };
  }
}
