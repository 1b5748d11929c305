import type { TopicKind } from '../config/kafka-config';

/**
 * Ordo's own port to the message broker. Engine and SDK code depend on this interface,
 * never on a Kafka client library, so the client (kafkajs today) can be replaced in one
 * adapter.
 */
export interface OutgoingMessage {
  topic: string;
  key: string;
  /** A Buffer passes bytes through untouched (a dead letter keeps what was received). */
  value: string | Buffer;
  headers?: Record<string, string>;
}

export interface IncomingMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export interface SubscribeOptions {
  groupId: string;
  topics: string[];
  /**
   * Handles a batch of messages from one partition. Offsets are committed only after the
   * returned promise resolves; a rejection redelivers the batch.
   */
  handleBatch: (messages: IncomingMessage[]) => Promise<void>;
  /** Partitions handled at once (default 1); one partition's batches are always handled in order. */
  concurrency?: number;
}

export interface Subscription {
  close(): Promise<void>;
}

/** Where a consumer group stands on one partition. */
export interface PartitionLag {
  partition: number;
  /** The group's committed offset (-1: nothing committed yet). */
  committed: number;
  /** Messages written to the partition and not yet committed by the group. */
  lag: number;
}

export interface MessageBus {
  /**
   * Publishes messages durably (idempotent producer, acks from all in-sync replicas), in
   * order. Rejects only for a reason of its own messages.
   */
  publish(messages: OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /**
   * Creates the topics that do not exist yet, with the settings of their kind; when topic
   * creation is off, rejects with MissingTopics naming those that do not exist.
   */
  ensureTopics(topics: Partial<Record<TopicKind, string[]>>): Promise<void>;
  /** The group's position on every partition of `topic`. */
  consumerLag(groupId: string, topic: string): Promise<PartitionLag[]>;
  /** Resolves when a broker answers within `timeoutMs`; rejects otherwise. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export const MESSAGE_BUS = Symbol('MessageBus');

/** Topics a process needs that do not exist, while it is not to create them (KAFKA_CREATE_TOPICS=off). */
export class MissingTopics extends Error {
  override name = 'MissingTopics';

  constructor(readonly topics: string[]) {
    super(
      `Kafka topics missing: ${topics.join(', ')} (KAFKA_CREATE_TOPICS=off: whoever owns the cluster's topics creates them;` +
        ' with ACLs, this principal may also lack DESCRIBE on them)',
    );
  }
}
