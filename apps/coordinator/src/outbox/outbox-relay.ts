import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { inSpans, MESSAGE_BUS, MessageBus, SpanKind, traceparentOf } from '@ordo/platform';
import { HEADERS } from '@ordo/protocol';
import { CoordinatorConfig } from '../config/coordinator.config';
import { OUTBOX_CHANNEL } from './outbox-writer';

interface OutboxRow {
  id: string;
  topic: string;
  key: string;
  payload: string;
  headers: Record<string, string>;
}

/**
 * Publishes outbox rows to Kafka in batches. Rows are claimed with FOR UPDATE SKIP LOCKED
 * inside a transaction that deletes them only after Kafka acknowledged the batch, so
 * several instances share the work and a crash before the commit republishes (at least
 * once; consumers deduplicate). LISTEN/NOTIFY wakes the relay at once; a poll covers
 * missed notifications.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private listener?: Client;
  private timer?: NodeJS.Timeout;
  private running = false;
  private wakeRequested = false;
  private stopped = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly config: CoordinatorConfig,
  ) {}

  async onApplicationBootstrap() {
    await this.listen();
    this.timer = setInterval(() => this.wake(), this.config.OUTBOX_POLL_MS);
    this.wake();
  }

  async onApplicationShutdown() {
    this.stopped = true;
    clearInterval(this.timer);
    await this.listener?.end().catch(() => undefined);
    while (this.running) await new Promise((r) => setTimeout(r, 20));
  }

  private async listen() {
    const client = new Client({ connectionString: this.config.DATABASE_URL });
    client.on('notification', () => this.wake());
    // A broken LISTEN connection is re-opened; the poll covers the gap.
    client.on('error', (error) => {
      this.logger.warn(`LISTEN connection lost: ${error.message}`);
      if (this.listener === client) this.listener = undefined;
      if (!this.stopped) setTimeout(() => this.listen().catch(() => undefined), this.config.OUTBOX_POLL_MS);
    });
    await client.connect();
    await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
    this.listener = client;
  }

  /** Drains the outbox; concurrent wake-ups coalesce into one more pass. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.wakeRequested = true;
      return;
    }
    this.running = true;
    void this.drain().finally(() => {
      this.running = false;
      if (this.wakeRequested) {
        this.wakeRequested = false;
        this.wake();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped && (await this.publishBatch()) === this.config.OUTBOX_BATCH_SIZE);
    } catch (error) {
      this.logger.warn(`outbox publish failed, will retry: ${(error as Error).message}`);
    }
  }

  /** Publishes one batch; returns how many rows it claimed. */
  private publishBatch(): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const rows: OutboxRow[] = await manager.query(
        `SELECT id, topic, key, payload, headers FROM outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.config.OUTBOX_BATCH_SIZE],
      );
      if (rows.length === 0) return 0;
      const published = await this.publishTraced(rows);
      await manager.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [published.map((r) => r.id)]);
      return rows.length;
    });
  }

  /**
   * One producer span per command, child of its transaction's trace; the command then
   * carries the span's traceparent, so the participant's work hangs under this send.
   */
  private publishTraced(rows: OutboxRow[]): Promise<OutboxRow[]> {
    const spans = rows.map((row) => ({
      name: `send ${row.topic}`,
      kind: SpanKind.PRODUCER,
      parent: row.headers[HEADERS.traceparent] ?? null,
      attributes: {
        'messaging.system': 'kafka',
        'messaging.destination.name': row.topic,
        'messaging.message.id': row.headers[HEADERS.messageId] ?? '',
        'ordo.tx_id': row.key,
      },
    }));
    return inSpans(spans, (started) =>
      this.publish(
        rows.map((row, i) => {
          const traceparent = traceparentOf(started[i]);
          return traceparent ? { ...row, headers: { ...row.headers, [HEADERS.traceparent]: traceparent } } : row;
        }),
      ),
    );
  }

  /**
   * Publishes rows, all in one request when it can. When that fails, each topic is tried
   * on its own, so one unwritable topic (deleted, unauthorised) holds back only its own
   * commands; its rows stay for the next pass. Returns the rows Kafka acknowledged.
   */
  private async publish(rows: OutboxRow[]): Promise<OutboxRow[]> {
    const message = (r: OutboxRow) => ({ topic: r.topic, key: r.key, value: r.payload, headers: r.headers });
    try {
      await this.bus.publish(rows.map(message));
      return rows;
    } catch (error) {
      const byTopic = new Map<string, OutboxRow[]>();
      for (const row of rows) byTopic.set(row.topic, [...(byTopic.get(row.topic) ?? []), row]);
      if (byTopic.size === 1) throw error;
      const results = await Promise.allSettled([...byTopic.values()].map((group) => this.bus.publish(group.map(message))));
      const failed = [...byTopic.keys()].filter((_, i) => results[i].status === 'rejected');
      this.logger.warn(`publishing to ${failed.join(', ')} failed; those commands stay in the outbox`);
      return [...byTopic.values()].filter((_, i) => results[i].status === 'fulfilled').flat();
    }
  }
}
