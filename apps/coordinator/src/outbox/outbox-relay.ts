import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Counter, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import {
  byTopic,
  inSpans,
  MESSAGE_BUS,
  MessageBus,
  OutgoingMessage,
  PreparedStatement,
  runPrepared,
  SpanKind,
  traceparentOf,
  tracingEnabled,
} from '@ordo/platform';
import { deadLetter, HEADERS, topicNames } from '@ordo/protocol';
import { CoordinatorConfig } from '../config/coordinator.config';

/** An outbox row: a committed command and where it is kept until Kafka has it. */
export interface OutboxMessage extends OutgoingMessage {
  outboxId: string;
}

/** Published rows are deleted together, at most this often: one statement for many decisions. */
const DELETE_EVERY_MS = 50;

const DELETE: PreparedStatement = { name: 'ordo_outbox_delete', text: 'DELETE FROM outbox WHERE id = ANY($1::bigint[])' };

/** An outbox row as the sweeper claims it. */
interface OutboxRow {
  id: string;
  topic: string;
  key: string;
  payload: string;
  headers: Record<string, string>;
  /** Sweeps that failed to publish it so far. */
  attempts: number;
}

/** Messages Kafka acknowledged, and why the others were not. */
interface Published {
  published: OutboxMessage[];
  error?: string;
}

/**
 * Moves committed commands to Kafka. The instance that decided publishes its commands
 * right after the commit (`dispatch`); published rows are deleted in batches. A row still
 * there after OUTBOX_GRACE_MS was left behind (its instance died between commit and
 * publish, or the publish failed): the sweeper of any instance claims it with
 * FOR UPDATE SKIP LOCKED, publishes it and deletes it. A command may so go out twice;
 * participants' barriers absorb that. Nothing in a decision's transaction waits for, or
 * wakes, any of this. A row the sweeper cannot publish (its topic does not exist or cannot
 * be written) is tried after the others, and after OUTBOX_MAX_ATTEMPTS sweeps goes to the
 * outbox's dead-letter topic with the reason, so it can neither stay nor hold anything up;
 * its step then times out like any unanswered command.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private sweepTimer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  private readonly dispatching = new Set<Promise<void>>();
  private published: string[] = [];
  private deleteTimer?: NodeJS.Timeout;
  private deleting?: Promise<void>;
  private stopped = false;
  readonly deadLetterTopic: string;
  private readonly deadLetters: Counter;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly config: CoordinatorConfig,
    registry: Registry,
  ) {
    this.deadLetters = new Counter({
      name: 'ordo_outbox_dead_letters_total',
      help: 'Commands that could not be published after OUTBOX_MAX_ATTEMPTS sweeps and went to the outbox dead-letter topic',
      registers: [registry],
    });
    this.deadLetterTopic = topicNames().deadLetter(`${config.KAFKA_TOPIC_PREFIX}ordo.outbox`);
  }

  async onApplicationBootstrap() {
    await this.bus.ensureTopics({ deadLetters: [this.deadLetterTopic] });
    this.sweepTimer = setInterval(() => {
      this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined));
    }, this.config.OUTBOX_POLL_MS);
  }

  /** Lets the publishes under way finish and deletes what they published. */
  async onApplicationShutdown() {
    this.stopped = true;
    clearInterval(this.sweepTimer);
    await this.sweeping;
    await Promise.all(this.dispatching);
    clearTimeout(this.deleteTimer);
    await this.deleting;
    await this.flushDeletes();
  }

  /** Publishes commands just committed; a failure leaves them to the sweeper. Never rejects. */
  dispatch(messages: OutboxMessage[]): void {
    if (messages.length === 0) return;
    const publishing: Promise<void> = this.publish(messages)
      .then(({ published, error }) => {
        if (error) this.logger.warn(`publishing commands failed; the sweeper will retry: ${error}`);
        this.deleteLater(published);
      })
      .catch((error: Error) => this.logger.warn(`publishing ${messages.length} commands failed; the sweeper will retry: ${error.message}`))
      .finally(() => this.dispatching.delete(publishing));
    this.dispatching.add(publishing);
  }

  private deleteLater(published: OutboxMessage[]): void {
    for (const message of published) this.published.push(message.outboxId);
    this.scheduleDeletes();
  }

  /** One delete per DELETE_EVERY_MS at most, for whatever was published meanwhile. */
  private scheduleDeletes(): void {
    if (this.deleteTimer || this.published.length === 0 || this.stopped) return;
    this.deleteTimer = setTimeout(() => {
      this.deleting = this.flushDeletes().finally(() => {
        this.deleteTimer = undefined;
        this.deleting = undefined;
        this.scheduleDeletes();
      });
    }, DELETE_EVERY_MS);
  }

  private async flushDeletes(): Promise<void> {
    const ids = this.published.splice(0);
    if (ids.length === 0) return;
    // A failed delete only means these rows are published again after the grace period.
    await runPrepared(this.dataSource, DELETE, [ids]).catch((error: Error) =>
      this.logger.warn(`deleting ${ids.length} published outbox rows failed: ${error.message}`),
    );
  }

  /** Publishes what was left behind, batch by batch, while whole batches go out. */
  private async sweep(): Promise<void> {
    try {
      // A batch with failures ends the sweep: each row is tried at most once per sweep.
      while (!this.stopped && (await this.sweepBatch()) === this.config.OUTBOX_BATCH_SIZE);
    } catch (error) {
      this.logger.warn(`outbox sweep failed, will retry: ${(error as Error).message}`);
    }
  }

  /**
   * One batch of rows older than the grace period, those that failed least first: the
   * published ones are deleted, the others counted, and those out of attempts dead-lettered.
   * Returns how many were published.
   */
  private sweepBatch(): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const rows: OutboxRow[] = await manager.query(
        `SELECT id, topic, key, payload, headers, attempts FROM outbox WHERE created_at < now() - $1 * interval '1 millisecond'
         ORDER BY attempts, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [this.config.OUTBOX_GRACE_MS, this.config.OUTBOX_BATCH_SIZE],
      );
      if (rows.length === 0) return 0;
      const { published, error } = await this.publish(
        rows.map((r) => ({ outboxId: r.id, topic: r.topic, key: r.key, value: r.payload, headers: r.headers })),
      );
      const sent = new Set(published.map((m) => m.outboxId));
      const failed = rows.filter((r) => !sent.has(r.id));
      if (failed.length > 0) this.logger.warn(`${failed.length} left-behind commands not published (${error}); tried again at the next sweep`);
      const spent = failed.filter((r) => r.attempts + 1 >= this.config.OUTBOX_MAX_ATTEMPTS);
      const deadLettered = spent.length > 0 ? await this.deadLetter(spent, error ?? 'not published') : [];
      const gone = [...sent, ...deadLettered];
      if (gone.length > 0) await manager.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [gone]);
      const again = failed.filter((r) => !deadLettered.includes(r.id)).map((r) => r.id);
      if (again.length > 0) {
        await manager.query('UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])', [again, error ?? null]);
      }
      return published.length;
    });
  }

  /**
   * Sends rows that could not be published to the outbox's dead-letter topic, each with its
   * original topic and the reason (cut to MAX_MESSAGE_BYTES like every dead letter); returns
   * the ids Kafka took. Those it did not take stay and are tried again.
   */
  private async deadLetter(rows: OutboxRow[], error: string): Promise<string[]> {
    const letters = rows.map((r) => {
      const reason = `not published to ${r.topic} after ${r.attempts + 1} attempts: ${error}`;
      const letter = deadLetter(r.topic, { key: r.key, value: Buffer.from(r.payload), headers: r.headers }, reason, this.config.MAX_MESSAGE_BYTES);
      return { ...letter, topic: this.deadLetterTopic, headers: { ...letter.headers, [HEADERS.originalTopic]: r.topic } };
    });
    try {
      await this.bus.publish(letters);
    } catch (failure) {
      this.logger.error(`${rows.length} commands could not be dead-lettered either: ${(failure as Error).message}`);
      return [];
    }
    this.logger.error(`dead-lettered ${rows.length} commands to ${this.deadLetterTopic} that could not be published: ${error}`);
    this.deadLetters.inc(rows.length);
    return rows.map((r) => r.id);
  }

  /**
   * With tracing on, one producer span per command, child of its transaction's trace; the
   * command then carries the span's traceparent, so the participant's work hangs under it.
   */
  private publish(messages: OutboxMessage[]): Promise<Published> {
    if (!tracingEnabled()) return this.publishByTopic(messages);
    const spans = messages.map((m) => ({
      name: `send ${m.topic}`,
      kind: SpanKind.PRODUCER,
      parent: m.headers?.[HEADERS.traceparent] ?? null,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.destination.name': m.topic,
        'messaging.message.id': m.headers?.[HEADERS.messageId] ?? '',
        'ordo.tx_id': m.key,
      },
    }));
    return inSpans(spans, (started) =>
      this.publishByTopic(
        messages.map((m, i) => {
          const traceparent = traceparentOf(started[i]);
          return traceparent ? { ...m, headers: { ...m.headers, [HEADERS.traceparent]: traceparent } } : m;
        }),
      ),
    );
  }

  /**
   * Publishes messages, all in one request when it can. When that fails, each topic is
   * tried on its own, so one unwritable topic (deleted, unauthorised) holds back only its
   * own commands; they stay in the outbox.
   */
  private async publishByTopic(messages: OutboxMessage[]): Promise<Published> {
    try {
      await this.bus.publish(messages);
      return { published: messages };
    } catch (error) {
      const groups = [...byTopic(messages).values()];
      if (groups.length === 1) return { published: [], error: (error as Error).message };
      const results = await Promise.allSettled(groups.map((group) => this.bus.publish(group)));
      const failures = groups.flatMap((group, i) => {
        const result = results[i];
        return result.status === 'rejected' ? [`${group[0].topic}: ${(result.reason as Error).message}`] : [];
      });
      return { published: groups.filter((_, i) => results[i].status === 'fulfilled').flat(), error: failures.join('; ') };
    }
  }
}
