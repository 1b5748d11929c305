import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { catchError, defer, EMPTY, filter, finalize, map, Observable, repeat, share, Subject, takeUntil, timer } from 'rxjs';
import { CoordinatorConfig } from '../config/coordinator.config';
import { InsightsRepository, TransactionSummaryRow } from './persistence/insights.repository';

/** How often the feed looks for new history entries, while anyone listens and nobody hurries it. */
const POLL_MS = 1000;
const MOST_PER_POLL = 500;

/**
 * Transactions that changed, as they change: one poller per instance, shared by every
 * listener and running only while there is one. It reads the history table by primary key,
 * so any instance sees the changes every instance made.
 */
@Injectable()
export class ChangeFeed implements OnModuleDestroy {
  private readonly logger = new Logger(ChangeFeed.name);
  private readonly closing = new Subject<void>();
  private hurried = 0;
  private started = false;
  /** Every poll's changes, none included: the first emission says the feed has its starting point. */
  readonly polls: Observable<TransactionSummaryRow[]>;
  /** The polls that found changes. */
  readonly changes: Observable<TransactionSummaryRow[]>;

  constructor(
    private readonly insights: InsightsRepository,
    private readonly config: CoordinatorConfig,
  ) {
    this.polls = defer(() => {
      let after: string | null = null;
      // One poll at a time, however slow the database; the pause is decided after each.
      return defer(() => this.poll(after)).pipe(
        map(({ rows, lastEventId }) => {
          after = lastEventId;
          this.started = true;
          return rows;
        }),
        catchError((error: unknown) => {
          this.logger.warn(`change feed poll failed: ${error instanceof Error ? error.message : String(error)}`);
          return EMPTY;
        }),
        repeat({ delay: () => timer(this.hurried > 0 ? this.config.WAIT_POLL_MS : POLL_MS) }),
        finalize(() => (this.started = false)),
      );
    }).pipe(takeUntil(this.closing), share());
    this.changes = this.polls.pipe(filter((rows) => rows.length > 0));
  }

  /**
   * Whether the feed runs from a starting point already read: a listener subscribing now
   * hears of every change committed from now on. The starting point is the newest history
   * entry when the first listener came; until its poll returns, changes may be missed.
   */
  get reading(): boolean {
    return this.started;
  }

  /** Polls every WAIT_POLL_MS until the function returned is called (waiters need to hear of ends sooner). */
  hurry(): () => void {
    this.hurried++;
    let done = false;
    return () => {
      if (!done) this.hurried--;
      done = true;
    };
  }

  private async poll(after: string | null) {
    if (after === null) return { rows: [], lastEventId: await this.insights.lastEventId() };
    return this.insights.changedSince(after, MOST_PER_POLL);
  }

  /** Ends every open stream, so that open dashboards do not hold the HTTP server's shutdown. */
  onModuleDestroy(): void {
    this.closing.next();
    this.closing.complete();
  }
}
