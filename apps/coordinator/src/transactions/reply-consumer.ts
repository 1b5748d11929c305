import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { IncomingMessage, inSpans, tracingEnabled, MESSAGE_BUS, MessageBus, OutgoingMessage, SpanKind, Subscription } from '@ordo/platform';
import { deadLetter, HEADERS, MalformedMessage, parseReply, Reply, topicNames } from '@ordo/protocol';
import { CoordinatorConfig } from '../config/coordinator.config';
import { CoordinatorMetrics } from '../metrics/coordinator-metrics';
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

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly engine: TransactionEngine,
    private readonly config: CoordinatorConfig,
    private readonly metrics: CoordinatorMetrics,
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
      concurrency: this.config.REPLY_CONCURRENCY,
    });
  }

  async onApplicationShutdown() {
    await this.subscription?.close();
  }

  private async handle(messages: IncomingMessage[]): Promise<void> {
    const received = new Map<Reply, IncomingMessage>();
    const dead: OutgoingMessage[] = [];
    for (const message of messages) {
      try {
        received.set(parseReply(message.value, { maxBytes: this.config.MAX_MESSAGE_BYTES }), message);
      } catch (error) {
        if (!(error instanceof MalformedMessage)) throw error;
        this.metrics.deadLettered('malformed');
        dead.push(this.deadLetter(message, error.message));
      }
    }
    // With tracing on, one consumer span per reply, child of the participant's span that sent it.
    const spans = !tracingEnabled() ? [] : [...received].map(([reply, message]) => ({
      name: `process ${this.topics.replies}`,
      kind: SpanKind.CONSUMER,
      parent: message.headers[HEADERS.traceparent] ?? null,
      attributes: { 'ordo.tx_id': reply.txId, 'ordo.step_id': reply.stepId, 'ordo.phase': reply.phase, 'ordo.outcome': reply.outcome },
    }));
    const unknown = await inSpans(spans, () => this.engine.applyReplies([...received.keys()]));
    for (const reply of unknown) {
      this.metrics.deadLettered('unknown_transaction');
      dead.push(this.deadLetter(received.get(reply)!, `unknown transaction ${reply.txId}`));
    }
    if (dead.length > 0) {
      this.logger.warn(`dead-lettered ${dead.length} replies`);
      await this.bus.publish(dead);
    }
  }

  /** The message as received (same key, bytes and headers) with the reason. */
  private deadLetter(message: IncomingMessage, reason: string): OutgoingMessage {
    return deadLetter(this.topics.replies, message, reason, this.config.MAX_MESSAGE_BYTES);
  }
}
