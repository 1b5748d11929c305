import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { finalize, Subscription } from 'rxjs';
import { CoordinatorConfig } from '../config/coordinator.config';
import { hasEnded } from '../engine';
import { ChangeFeed } from './change-feed';
import { TransactionRecord } from './persistence/transaction-record';
import { Waiter, WaiterRegistry } from './waiter-registry';

/** What woke a waiter: the record as this instance wrote it, or null when another instance ended it (read it). */
export type EndedRecord = TransactionRecord | null;

/**
 * Callers waiting for transactions to end, woken from what this instance already learns:
 * its own decisions, right after their commit (`ended`), and, while anyone waits, the change
 * feed's one poll per instance for the ends other instances decided. No waiter reads the
 * database while it waits.
 */
@Injectable()
export class TransactionWaiters implements OnModuleDestroy {
  private readonly registry: WaiterRegistry<EndedRecord>;
  private subscription?: Subscription;
  private arrived: Promise<void> = Promise.resolve();

  constructor(
    private readonly feed: ChangeFeed,
    config: CoordinatorConfig,
  ) {
    this.registry = new WaiterRegistry(config.MAX_WAITERS, (busy) => (busy ? this.listen() : this.stopListening()));
  }

  /** Callers waiting now. */
  get size(): number {
    return this.registry.size;
  }

  /** A wait of at most `ms` (see WaiterRegistry.take); undefined when MAX_WAITERS wait already. */
  take(ms: number, signal?: AbortSignal): Waiter<EndedRecord> | undefined {
    return this.registry.take(ms, signal);
  }

  /**
   * Whether every end committed from now on reaches the waiters (asked by a caller that holds
   * a waiter, so the feed runs): else an end may need a read of the caller's own.
   */
  get listening(): boolean {
    return this.feed.reading;
  }

  /** Resolves once the waiters are `listening` (at once when nobody waits). */
  get ready(): Promise<void> {
    return this.arrived;
  }

  /** This instance just committed these transactions' new states: their waiters learn of the ends at once. */
  committed(records: Iterable<TransactionRecord>): void {
    if (this.registry.size === 0) return;
    for (const record of records) if (hasEnded(record.state.status)) this.registry.wake(record.id, record);
  }

  private listen(): void {
    const stopHurrying = this.feed.hurry();
    let arrive: () => void = () => undefined;
    // A feed already running (live-update streams) is read from a point already passed.
    this.arrived = this.feed.reading ? Promise.resolve() : new Promise((resolve) => (arrive = resolve));
    this.subscription = this.feed.polls.pipe(finalize(stopHurrying)).subscribe((rows) => {
      arrive();
      for (const row of rows) if (hasEnded(row.status)) this.registry.wake(row.id, null);
    });
  }

  private stopListening(): void {
    this.arrived = Promise.resolve();
    this.subscription?.unsubscribe();
  }

  /** Answers every waiter now, and every later one at once, so that they do not hold the HTTP server's shutdown. */
  onModuleDestroy(): void {
    this.registry.close();
  }
}
