import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { MESSAGE_BUS, MessageBus } from '@ordo/platform';
import { topicNames } from '@ordo/protocol';
import { CoordinatorConfig } from '../../config/coordinator.config';
import { replyGroupId } from '../reply-group';
import { PartitionProgress, repliesStalled, trackProgress } from './reply-flow';

const POLL_MS = 500;
const STALL_MS = 2000;

/**
 * Watches whether the coordinators consume the reply topic. While a dead instance still
 * holds reply partitions (until Kafka's session timeout moves them), every command whose
 * reply lands there times out: the breakers must not blame the participants for that.
 */
@Injectable()
export class ReplyFlowMonitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReplyFlowMonitor.name);
  private progress = new Map<number, PartitionProgress>();
  private timer?: NodeJS.Timeout;
  private wasStalled = false;

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    private readonly config: CoordinatorConfig,
  ) {}

  onApplicationBootstrap() {
    this.timer = setInterval(() => void this.poll(), POLL_MS);
  }

  onApplicationShutdown() {
    clearInterval(this.timer);
  }

  /** True while replies wait unconsumed: timeouts then say nothing about participants. */
  stalled(now = Date.now()): boolean {
    return repliesStalled(this.progress, now, STALL_MS);
  }

  /** Replies not yet consumed, all partitions together, at the last reading. */
  lag(): number {
    // A partition reads below 0 when the group committed between the two offset queries.
    return [...this.progress.values()].reduce((sum, p) => sum + Math.max(0, p.lag), 0);
  }

  private async poll() {
    try {
      const lags = await this.bus.consumerLag(replyGroupId(this.config), topicNames(this.config.KAFKA_TOPIC_PREFIX).replies);
      this.progress = trackProgress(this.progress, lags, Date.now());
      const stalled = this.stalled();
      if (stalled !== this.wasStalled)
        this.logger.warn(stalled ? 'replies are not being consumed; timeouts are not held against participants' : 'replies flow again');
      this.wasStalled = stalled;
    } catch {
      // Kafka unreachable: keep the last reading; health reports the broker.
    }
  }
}
