import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { byTopic, inSpans, MESSAGE_BUS, MessageBus, OutgoingMessage, PreparedStatement, runPrepared, SpanKind, traceparentOf, tracingEnabled } from '@ordo/platform';
import { HEADERS } from '@ordo/protocol';
import { CoordinatorConfig } from '../config/coordinator.config';

/** An outbox row: a committed command and where it is kept until Kafka has it. */
export interface OutboxMessage extends OutgoingMessage {
  outboxId: string;
}

/** Published rows are deleted together, at most this often: one statement for many decisions. */
const DELETE_EVERY_MS = 50;

const DELETE: PreparedStatement = { name: 'ordo_outbox_delete', text: 'DELETE FROM outbox WHERE id = ANY($1::bigint[])' };

/**
 * Moves committed commands to Kafka. The instance that decided publishes its commands
 * right after the commit (`dispatch`); published rows are deleted in batches. A row still
 * there after OUTBOX_GRACE_MS was left behind (its instance died between commit and
 * publish, or the publish failed): the sweeper of any instance claims it with
 * FOR UPDATE SKIP LOCKED, publishes it and deletes it. A command may so go out twice;
 * participants' barriers absorb that. Nothing in a decision's transaction waits for, or
 * wakes, any of this.
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

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly config: CoordinatorConfig,
  ) {}

  onApplicationBootstrap() {
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
      .then((published) => this.deleteLater(published))
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

  /** Publishes what was left behind, batch by batch, until nothing old enough is left. */
  private async sweep(): Promise<void> {
    try {
      while (!this.stopped && (await this.sweepBatch()) === this.config.OUTBOX_BATCH_SIZE);
    } catch (error) {
      this.logger.warn(`outbox sweep failed, will retry: ${(error as Error).message}`);
    }
  }

  /** One batch of rows older than the grace period, deleted once Kafka has them; returns how many were claimed. */
  private sweepBatch(): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const rows: { id: string; topic: string; key: string; payload: string; headers: Record<string, string> }[] = await manager.query(
        `SELECT id, topic, key, payload, headers FROM outbox WHERE created_at < now() - $1 * interval '1 millisecond'
         ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [this.config.OUTBOX_GRACE_MS, this.config.OUTBOX_BATCH_SIZE],
      );
      if (rows.length === 0) return 0;
      const published = await this.publish(
        rows.map((r) => ({ outboxId: r.id, topic: r.topic, key: r.key, value: r.payload, headers: r.headers })),
      );
      await manager.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [published.map((m) => m.outboxId)]);
      return rows.length;
    });
  }

  /**
   * With tracing on, one producer span per command, child of its transaction's trace; the
   * command then carries the span's traceparent, so the participant's work hangs under it.
   */
  private publish(messages: OutboxMessage[]): Promise<OutboxMessage[]> {
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
   * own commands; they stay in the outbox. Returns the messages Kafka acknowledged.
   */
  private async publishByTopic(messages: OutboxMessage[]): Promise<OutboxMessage[]> {
    try {
      await this.bus.publish(messages);
      return messages;
    } catch (error) {
      const groups = [...byTopic(messages).values()];
      if (groups.length === 1) throw error;
      const results = await Promise.allSettled(groups.map((group) => this.bus.publish(group)));
      const failed = groups.filter((_, i) => results[i].status === 'rejected').map((group) => group[0].topic);
      this.logger.warn(`publishing to ${failed.join(', ')} failed; those commands stay in the outbox`);
      return groups.filter((_, i) => results[i].status === 'fulfilled').flat();
    }
  }
}
