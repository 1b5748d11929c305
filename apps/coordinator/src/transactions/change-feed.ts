import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { catchError, concatMap, defer, EMPTY, filter, from, map, Observable, share, Subject, takeUntil, timer } from 'rxjs';
import { InsightsRepository, TransactionSummaryRow } from './persistence/insights.repository';

/** How often the feed looks for new history entries, while anyone listens. */
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
  readonly changes: Observable<TransactionSummaryRow[]>;

  constructor(private readonly insights: InsightsRepository) {
    this.changes = defer(() => {
      let after: string | null = null;
      return timer(0, POLL_MS).pipe(
        // concatMap: one poll at a time, however slow the database.
        concatMap(() =>
          from(this.poll(after)).pipe(
            map(({ rows, lastEventId }) => {
              after = lastEventId;
              return rows;
            }),
            catchError((error: unknown) => {
              this.logger.warn(`change feed poll failed: ${error instanceof Error ? error.message : String(error)}`);
              return EMPTY;
            }),
          ),
        ),
        filter((rows) => rows.length > 0),
      );
    }).pipe(takeUntil(this.closing), share());
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
