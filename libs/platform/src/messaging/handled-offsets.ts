import { Consumer } from 'kafkajs';

/** How often a consumer commits the offsets of the batches it has handled. */
export const OFFSET_COMMIT_INTERVAL_MS = 1_000;

interface Offset {
  topic: string;
  partition: number;
  /** The next offset to read: one past the last handled message. */
  offset: string;
}

/**
 * A consumer's handled offsets, committed at most once per OFFSET_COMMIT_INTERVAL_MS rather
 * than after every batch (kafkajs' autoCommit): at a few messages per batch the commits were
 * a third of a participant's Kafka requests. An offset is recorded only once its batch is
 * handled (replies published), so a commit never runs ahead of the work. A crash redelivers
 * at most the last interval; the barrier (participants) and the stale-reply checks
 * (coordinator) absorb that, as after any crash. The timer also commits the tail of a
 * burst, so the lag the coordinator watches (ReplyFlowMonitor) drops to zero within an interval.
 */
export class HandledOffsets {
  private readonly pending = new Map<string, Offset>();
  private readonly timer: NodeJS.Timeout;
  private committing: Promise<void> = Promise.resolve();

  constructor(
    private readonly consumer: Consumer,
    private readonly onError: (error: Error) => void,
  ) {
    this.timer = setInterval(() => void this.commit(), OFFSET_COMMIT_INTERVAL_MS);
    this.timer.unref();
    // After a rebalance, partitions now another member's are not committed from here: their
    // new owner's offsets must not be moved back.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      for (const [key, { topic, partition }] of this.pending) {
        if (!payload.memberAssignment[topic]?.includes(partition)) this.pending.delete(key);
      }
    });
  }

  handled(topic: string, partition: number, lastOffset: string): void {
    this.pending.set(`${topic}:${partition}`, { topic, partition, offset: (BigInt(lastOffset) + 1n).toString() });
  }

  /** Commits what is pending, one commit at a time; a failed commit leaves it for the next. */
  commit(): Promise<void> {
    this.committing = this.committing.then(async () => {
      if (this.pending.size === 0) return;
      const due = [...this.pending.values()];
      this.pending.clear();
      try {
        await this.consumer.commitOffsets(due);
      } catch (error) {
        for (const offset of due) {
          const key = `${offset.topic}:${offset.partition}`;
          if (!this.pending.has(key)) this.pending.set(key, offset);
        }
        this.onError(error as Error);
      }
    });
    return this.committing;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.commit();
  }
}
