import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntitySubscriberInterface, QueryRunner, TransactionCommitEvent, TransactionRollbackEvent } from 'typeorm';
import { StartRelay } from './start-relay';

/**
 * Wakes the relay right after a local transaction that wrote a start commits, so the start
 * reaches the coordinator in milliseconds rather than at the next sweep. TypeORM calls it
 * for every transaction of the data source; only those OrdoStarts marked wake the relay,
 * and only at the real COMMIT (a released savepoint leaves the transaction active).
 */
@Injectable()
export class StartCommitSubscriber implements EntitySubscriberInterface {
  private readonly writers = new WeakSet<QueryRunner>();

  constructor(
    @InjectDataSource() dataSource: DataSource,
    private readonly relay: StartRelay,
  ) {
    dataSource.subscribers.push(this);
  }

  /** The transaction on `runner` wrote a start. */
  wroteStart(runner: QueryRunner): void {
    this.writers.add(runner);
  }

  afterTransactionCommit({ queryRunner }: TransactionCommitEvent): void {
    if (!queryRunner.isTransactionActive && this.writers.delete(queryRunner)) this.relay.wake();
  }

  afterTransactionRollback({ queryRunner }: TransactionRollbackEvent): void {
    if (!queryRunner.isTransactionActive) this.writers.delete(queryRunner);
  }
}
