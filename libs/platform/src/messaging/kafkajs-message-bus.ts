// kafkajs 2 warns about its partitioner change on every producer; Ordo has no pre-2.0 data.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

import { Logger } from '@nestjs/common';
import { connect, isIP } from 'net';
import { setTimeout as sleep } from 'timers/promises';
import * as tls from 'tls';
import {
  Admin,
  Consumer,
  EachBatchPayload,
  IHeaders,
  ISocketFactory,
  Kafka,
  KafkaConfig as KafkajsConfig,
  logLevel,
  LogEntry,
  Producer,
} from 'kafkajs';
import { kafkaConnection, KafkaSettings, TopicKind, TopicPolicy, topicPolicy } from '../config/kafka-config';
import { GroupCommit } from '../batching/group-commit';
import { byTopic } from './by-topic';
import { HandledOffsets } from './handled-offsets';
import { fixKafkajsIdleLoop } from './kafkajs-idle-loop';
import { IncomingMessage, MessageBus, MissingTopics, OutgoingMessage, PartitionLag, SubscribeOptions, Subscription } from './message-bus';

/**
 * kafkajs' own socket factory leaves Nagle's algorithm on, so a small request written while
 * an earlier one on the same connection is still unacknowledged waits for the broker's
 * delayed ACK (up to 40 ms on Linux): the idle round trips of a saga paid that wait.
 */
const noDelaySockets: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tls.connect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
    : connect({ host, port }, onConnect);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

export interface KafkaBusOptions {
  clientId: string;
  /** Brokers, TLS, SASL and what topics it creates. */
  kafka: KafkaSettings;
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) out[name] = Array.isArray(value) ? String(value[0]) : String(value);
  }
  return out;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** How long after a consumer stopped for good a new one is started (and between tries). */
const RESUBSCRIBE_DELAY_MS = 1_000;

/** Below the broker's default message.max.bytes (1 MB), which bounds one partition's record batch. */
const MAX_REQUEST_BYTES = 768 * 1024;

const sizeOf = (m: OutgoingMessage) =>
  Buffer.byteLength(m.value) + Buffer.byteLength(m.key) + Object.entries(m.headers ?? {}).reduce((n, [k, v]) => n + k.length + v.length, 0);

/** Consecutive runs of messages of at most `maxBytes` together; a larger message goes alone. */
function bySize(messages: OutgoingMessage[], maxBytes: number): OutgoingMessage[][] {
  const chunks: OutgoingMessage[][] = [];
  let bytes = Infinity;
  for (const message of messages) {
    const size = sizeOf(message);
    if (bytes + size > maxBytes) {
      chunks.push([]);
      bytes = 0;
    }
    chunks[chunks.length - 1].push(message);
    bytes += size;
  }
  return chunks;
}

/** A consumer of a subscription, running. */
interface Running {
  consumer: Consumer;
  close(): Promise<void>;
}

/** The MessageBus port over kafkajs 2.2. */
export class KafkajsMessageBus implements MessageBus {
  private readonly logger = new Logger('Kafka');
  private readonly kafka: Kafka;
  private readonly connection: Pick<KafkajsConfig, 'brokers' | 'ssl' | 'sasl'>;
  private readonly topicPolicy: TopicPolicy;
  private producer?: Promise<Producer>;
  private pingAdmin?: Admin;
  private lagAdmin?: Promise<Admin>;
  private readonly subscriptions = new Set<Subscription>();
  /**
   * Publishes that arrive while a request is in flight go out together in the next one (the
   * idempotent producer sends one at a time): many concurrent handlers' replies cost one
   * request, not one each; one caller's messages (a topic that cannot be written) do not
   * fail the others'.
   */
  private readonly publishes = new GroupCommit<OutgoingMessage[], void>(async (groups) => {
    await this.send(groups.flat());
    return groups.map(() => undefined);
  });
  /**
   * A fifth of the session (at most a second): a member misses four beats before it counts as
   * gone, and the others, told of the rebalance at their next beat, take over soon after.
   */
  private readonly heartbeatMs: number;

  constructor(private readonly options: KafkaBusOptions) {
    this.heartbeatMs = Math.min(1000, Math.floor(options.kafka.KAFKA_SESSION_TIMEOUT_MS / 5));
    if (!fixKafkajsIdleLoop()) this.logger.warn('this kafkajs is not 2.2.4: its idle request-queue timer is left as it is');
    this.connection = kafkaConnection(options.kafka);
    this.topicPolicy = topicPolicy(options.kafka);
    this.kafka = new Kafka({
      clientId: options.clientId,
      ...this.connection,
      socketFactory: noDelaySockets,
      logLevel: logLevel.WARN,
      logCreator: () => (entry: LogEntry) => {
        // Said at every producer's start because its retries are bounded (on purpose, see
        // connectedProducer); Ordo uses no Kafka transactions, so it is only noise.
        if (entry.log.message.startsWith('Limiting retries for the idempotent producer')) return;
        const text = `${entry.log.message}${entry.log.error ? `: ${String(entry.log.error)}` : ''} (${entry.namespace})`;
        // kafkajs logs each error answer of a broker before handing the error to its caller,
        // which retries what can be retried (a leader election, a group coordinator still
        // loading at start) and throws the rest, where Ordo logs it: at warn level these
        // lines were start-up noise, and without their error, noise that said nothing.
        if (entry.namespace === 'Connection' && entry.log.message.startsWith('Response ')) this.logger.debug(text);
        else this.logger.warn(text);
      },
    });
  }

  publish(messages: OutgoingMessage[]): Promise<void> {
    return messages.length === 0 ? Promise.resolve() : this.publishes.submit(messages);
  }

  private send(messages: OutgoingMessage[]): Promise<void> {
    return this.connectedProducer().then(async (producer) => {
      // In order, one request per chunk: a request over the broker's batch size limit would
      // fail whole, and fail again on every retry.
      for (const chunk of bySize(messages, MAX_REQUEST_BYTES)) {
        await producer.sendBatch({
          acks: -1,
          topicMessages: [...byTopic(chunk)].map(([topic, batch]) => ({
            topic,
            messages: batch.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
          })),
        });
      }
    });
  }

  private connectedProducer(): Promise<Producer> {
    if (!this.producer) {
      // An idempotent kafkajs producer retries forever by default; a bounded retry lets a
      // publish fail (the outbox keeps the rows and tries again), so one unwritable topic
      // cannot stall the caller.
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
      });
      this.producer = producer.connect().then(() => producer);
      // A failed connect must not poison later publishes.
      this.producer.catch(() => (this.producer = undefined));
    }
    return this.producer;
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const closing = new AbortController();
    const start = (): Promise<Running> => this.consume(options, (stopped, error) => void replace(stopped, error));
    // kafkajs restarts a crashed consumer only after errors it knows to be retriable; after
    // any other (a plain "Broker not connected" while a broker restarts) the consumer stays
    // stopped for good while the process lives on, consuming nothing. Such a consumer is
    // replaced by a new one, which joins the group and resumes from the committed offsets.
    const replace = async (stopped: Running, error: Error) => {
      if (closing.signal.aborted) return;
      // Its offset timer goes; what it handled and could not commit is delivered again.
      void stopped.close().catch(() => undefined);
      this.logger.warn(`consumer of ${options.topics.join(', ')} stopped (${error.message}); starting a new one`);
      for (;;) {
        try {
          await sleep(RESUBSCRIBE_DELAY_MS, undefined, { signal: closing.signal });
        } catch {
          return; // closed meanwhile
        }
        try {
          const next = await start();
          if (closing.signal.aborted) await next.close();
          else current = next;
          return;
        } catch (failure) {
          this.logger.warn(`new consumer of ${options.topics.join(', ')} not started (${(failure as Error).message}); trying again`);
        }
      }
    };
    let current = await start();
    const subscription: Subscription = {
      close: async () => {
        closing.abort();
        this.subscriptions.delete(subscription);
        await current.close();
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  /**
   * One consumer of the group, running; `onStopped` when it stopped for good. Its close
   * commits what it handled and leaves the group.
   */
  private async consume(options: SubscribeOptions, onStopped: (running: Running, error: Error) => void): Promise<Running> {
    // A member that dies (SIGKILL) holds its partitions until its session times out: that
    // bounds how long its share of messages waits for another instance.
    let closed = false;
    const consumer = this.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: this.options.kafka.KAFKA_SESSION_TIMEOUT_MS,
      heartbeatInterval: this.heartbeatMs,
      maxWaitTimeInMs: 100,
      // kafkajs' default (5 retries), and no restart once closed: a crash racing the close
      // would otherwise schedule a restart that outlives it.
      retry: { retries: 5, restartOnFailure: () => Promise.resolve(!closed) },
    });
    const offsets = new HandledOffsets(consumer, (error) => this.logger.warn(`offsets not committed: ${error.message}`));
    /** Batches being handled. */
    const inHand = new Set<Promise<void>>();
    // A planned stop takes no new batch, lets those in hand finish and commits all it handled
    // before it leaves the group, so whoever takes the partitions over runs none of it again.
    const close = async () => {
      closed = true;
      try {
        consumer.pause(options.topics.map((topic) => ({ topic })));
      } catch {
        // never ran (a failed start): nothing in hand
      }
      await Promise.allSettled(inHand);
      await offsets.stop();
      await consumer.disconnect();
    };
    // kafkajs' disconnect does not stop a (re)start that is still joining the group: the join
    // completes afterwards and the consumer runs on, closed, for the life of the process
    // (retrying forever once its broker is gone). Such a consumer is stopped when it joins,
    // on the next turn: kafkajs marks it running only after announcing the join, and stopping
    // one not yet marked running does nothing.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (closed) setImmediate(() => void consumer.disconnect().catch(() => undefined));
    });
    const handleBatch = async (payload: EachBatchPayload): Promise<void> => {
      const { batch } = payload;
      const heartbeat = () => payload.heartbeat();
      const messages: IncomingMessage[] = batch.messages.map((m) => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        key: m.key ? m.key.toString() : null,
        value: m.value,
        headers: headersToStrings(m.headers),
      }));
      if (messages.length === 0) return;
      // kafkajs heartbeats only between batches: a handler slower than the session timeout
      // (a lock wait, a slow downstream call) would cost the member its partitions, and the
      // batch, redelivered elsewhere, would do the same there. So it beats while handling;
      // a rebalance meanwhile is joined once the batch is done (within the group's
      // rebalance timeout, 60 s by default).
      const beating = setInterval(() => void heartbeat().catch(() => undefined), this.heartbeatMs);
      try {
        await options.handleBatch(messages);
      } finally {
        clearInterval(beating);
      }
      payload.resolveOffset(batch.lastOffset());
      offsets.handled(batch.topic, batch.partition, batch.lastOffset());
      await heartbeat();
    };
    const running = { consumer, close };
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) onStopped(running, payload.error);
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: options.topics, fromBeginning: true });
      await consumer.run({
        partitionsConsumedConcurrently: options.concurrency ?? 1,
        // HandledOffsets commits, on a timer, not kafkajs after every batch.
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: (payload) => {
          const handling = handleBatch(payload);
          inHand.add(handling);
          return handling.finally(() => inHand.delete(handling));
        },
      });
    } catch (error) {
      await close().catch(() => undefined);
      throw error;
    }
    return running;
  }

  async ensureTopics(topics: Partial<Record<TopicKind, string[]>>): Promise<void> {
    const kinds = Object.entries(topics).flatMap(([kind, names]) => names.map((name) => ({ name, kind: kind as TopicKind })));
    const names = kinds.map((t) => t.name);
    const policy = this.topicPolicy;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = kinds.filter((t) => !existing.has(t.name));
      if (missing.length > 0 && !policy.create) throw new MissingTopics(missing.map((t) => t.name));
      if (missing.length > 0) {
        // Several processes may create the same topic at once; the loser's "already
        // exists" is success.
        await admin
          .createTopics({
            waitForLeaders: false,
            topics: missing.map(({ name, kind }) => ({
              topic: name,
              numPartitions: policy.partitions,
              ...(policy.replicationFactor !== undefined && { replicationFactor: policy.replicationFactor }),
              configEntries: policy.retentionMs[kind] === undefined ? [] : [{ name: 'retention.ms', value: String(policy.retentionMs[kind]) }],
            })),
          })
          .catch((error: Error & { type?: string }) => {
            if (error.type !== 'TOPIC_ALREADY_EXISTS' && !/already exists/i.test(error.message)) throw error;
          });
      }
      await this.awaitLeaders(admin, names);
    } finally {
      await admin.disconnect();
    }
  }

  /** A new topic serves requests only once every partition has a leader. */
  private async awaitLeaders(admin: Admin, topics: string[]): Promise<void> {
    const until = Date.now() + 30_000;
    for (;;) {
      const ready = await admin
        .fetchTopicMetadata({ topics })
        .then((m) => m.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)))
        .catch(() => false);
      if (ready) return;
      if (Date.now() > until) throw new Error(`topics ${topics.join(', ')} have no leaders after 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async consumerLag(groupId: string, topic: string): Promise<PartitionLag[]> {
    // One admin connection kept for these readings (they come every few hundred ms), made
    // again after a failure.
    if (!this.lagAdmin) {
      const admin = this.kafka.admin();
      this.lagAdmin = admin.connect().then(() => admin);
    }
    const connecting = this.lagAdmin;
    try {
      const admin = await connecting;
      const [ends, [group]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
      const committed = new Map(group.partitions.map((p) => [p.partition, Number(p.offset)]));
      return ends.map(({ partition, high, low }) => {
        const at = committed.get(partition) ?? -1;
        // Nothing committed yet: the group would start from the oldest message kept.
        return { partition, committed: at, lag: Number(high) - (at < 0 ? Number(low) : at) };
      });
    } catch (error) {
      if (this.lagAdmin === connecting) this.lagAdmin = undefined;
      await connecting.then((admin) => admin.disconnect()).catch(() => undefined);
      throw error;
    }
  }

  async ping(timeoutMs: number): Promise<void> {
    // A dedicated admin that fails fast: health must report a dead broker within seconds,
    // not after kafkajs' default retry schedule.
    this.pingAdmin ??= new Kafka({
      clientId: `${this.options.clientId}-health`,
      ...this.connection,
      logLevel: logLevel.NOTHING,
      connectionTimeout: Math.min(timeoutMs, 1000),
      requestTimeout: timeoutMs,
      retry: { retries: 0 },
    }).admin();
    const admin = this.pingAdmin;
    try {
      await withTimeout(
        admin.connect().then(() => admin.describeCluster()),
        timeoutMs,
        'Kafka ping',
      );
    } catch (error) {
      // Start from a fresh connection next time, so a restarted broker is found again.
      this.pingAdmin = undefined;
      await admin.disconnect().catch(() => undefined);
      throw error;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.close().catch(() => undefined)));
    const producer = await this.producer?.catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await this.pingAdmin?.disconnect().catch(() => undefined);
    await this.lagAdmin?.then((admin) => admin.disconnect()).catch(() => undefined);
  }
}
