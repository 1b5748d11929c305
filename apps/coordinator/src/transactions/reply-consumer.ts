import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  consumerSpans,
  GroupCommit,
  IncomingMessage,
  inSpans,
  isCausedByData,
  MESSAGE_BUS,
  MessageBus,
  OutgoingMessage,
  Subscription,
} from '@ordo/platform';
import { deadLetter, MalformedMessage, parseReply, Reply, topicNames } from '@ordo/protocol';
import { AlertRecorder, DeadLetter } from '../alerts/alert-recorder';
import { CoordinatorConfig } from '../config/coordinator.config';
import { CoordinatorMetrics, DeadLetterReason } from '../metrics/coordinator-metrics';
import { replyGroupId } from './reply-group';
import { ReplyTokens } from './reply-tokens';
import { TransactionEngine } from './transaction-engine';

interface Outcome {
  unknown: Reply[];
  refused: { reply: Reply; reason: string }[];
}

/**
 * Consumes the reply topic. The batches of the partitions handled at once (one fetch's, they
 * arrive in the same turn of the event loop) are applied in one database transaction;
 * offsets are committed only after it commits, so a crash redelivers (the machines ignore
 * replies they have already applied). Malformed replies, replies to unknown transactions
 * and replies that cannot be applied (the database refuses their data) go to the
 * dead-letter topic with the reason; the rest of their batch is applied.
 */
@Injectable()
export class ReplyConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReplyConsumer.name);
  private readonly topics;
  private subscription?: Subscription;
  /** Batches of replies applied together, up to REPLY_CONCURRENCY writes at once. */
  private readonly batches: GroupCommit<Reply[], Outcome>;

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly engine: TransactionEngine,
    private readonly config: CoordinatorConfig,
    private readonly metrics: CoordinatorMetrics,
    private readonly tokens: ReplyTokens,
    private readonly alerts: AlertRecorder,
  ) {
    this.topics = topicNames(config.KAFKA_TOPIC_PREFIX);
    this.batches = new GroupCommit(
      async (groups) => {
        const { unknown, refused } = await this.applyEach(groups.flat());
        return groups.map((replies) => {
          const mine = new Set(replies);
          return { unknown: unknown.filter((r) => mine.has(r)), refused: refused.filter((r) => mine.has(r.reply)) };
        });
      },
      { concurrency: config.REPLY_CONCURRENCY, gatherTurn: true },
    );
  }

  async onApplicationBootstrap() {
    const replies = this.topics.replies;
    await this.bus.ensureTopics({ replies: [replies], deadLetters: [this.topics.deadLetter(replies)] });
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
    const letters: DeadLetter[] = [];
    const refuse = (reason: DeadLetterReason, message: IncomingMessage, why: string, txId: string | null = null) => {
      this.metrics.deadLettered(reason);
      dead.push(this.deadLetter(message, why));
      letters.push({ reason, message: why, txId });
    };
    for (const message of messages) {
      let reply: Reply;
      try {
        reply = parseReply(message.value, { maxBytes: this.config.MAX_MESSAGE_BYTES, maxOutputBytes: this.config.MAX_REPLY_OUTPUT_BYTES });
      } catch (error) {
        if (!(error instanceof MalformedMessage)) throw error;
        refuse('malformed', message, error.message);
        continue;
      }
      const forged = this.tokens.problem(reply);
      if (forged) {
        refuse('bad_token', message, forged, reply.txId);
        continue;
      }
      received.set(reply, message);
    }
    const spans = consumerSpans(this.topics.replies, [...received], ([reply, { headers }]) => ({
      headers,
      attributes: { 'ordo.tx_id': reply.txId, 'ordo.step_id': reply.stepId, 'ordo.phase': reply.phase, 'ordo.outcome': reply.outcome },
    }));
    const { unknown, refused } = await inSpans(spans, () => this.batches.submit([...received.keys()]));
    for (const reply of unknown) refuse('unknown_transaction', received.get(reply)!, `unknown transaction ${reply.txId}`, reply.txId);
    for (const { reply, reason } of refused) refuse('unapplicable', received.get(reply)!, `cannot be applied: ${reason}`, reply.txId);
    if (dead.length > 0) {
      this.logger.warn(`dead-lettered ${dead.length} replies`);
      await this.bus.publish(dead);
      this.alerts.deadLettered(letters);
    }
  }

  /**
   * Applies the replies together; when the data of one of them makes that fail, each alone,
   * so the one that cannot be applied is refused and its neighbours are not held up by it.
   * Any other failure (database unreachable …) fails the batch, which Kafka redelivers.
   */
  private async applyEach(replies: Reply[]): Promise<Outcome> {
    try {
      return { unknown: await this.engine.applyReplies(replies), refused: [] };
    } catch (error) {
      if (!isCausedByData(error)) throw error;
      if (replies.length === 1) {
        this.logger.warn(`a reply of ${replies[0].txId} cannot be applied: ${(error as Error).message}`);
        return { unknown: [], refused: [{ reply: replies[0], reason: (error as Error).message }] };
      }
    }
    const all: Outcome = { unknown: [], refused: [] };
    for (const reply of replies) {
      const one = await this.applyEach([reply]);
      all.unknown.push(...one.unknown);
      all.refused.push(...one.refused);
    }
    return all;
  }

  /** The message as received (same key, bytes and headers) with the reason. */
  private deadLetter(message: IncomingMessage, reason: string): OutgoingMessage {
    return deadLetter(this.topics.replies, message, reason, this.config.MAX_MESSAGE_BYTES);
  }
}
