import { Outbox1763700000000 } from './1763700000000-outbox';
import { Transactions1763700100000 } from './1763700100000-transactions';
import { StepsInFlight1763700200000 } from './1763700200000-steps-in-flight';
import { TransactionDecision1763700300000 } from './1763700300000-transaction-decision';
import { FinishedTransactions1763700400000 } from './1763700400000-finished-transactions';
import { HotRow1764600000000 } from './1764600000000-hot-row';
import { IgnoredReplies1765000000000 } from './1765000000000-ignored-replies';
import { OutboxAttempts1765100000000 } from './1765100000000-outbox-attempts';
import { Actors1765200000000 } from './1765200000000-actors';
import { ReplyTokenSecret1765300000000 } from './1765300000000-reply-token-secret';
import { AuditLog1765400000000 } from './1765400000000-audit-log';
import { Alerts1765500000000 } from './1765500000000-alerts';
import { Tags1765600000000 } from './1765600000000-tags';
import { Pauses1765700000000 } from './1765700000000-pauses';
import { BulkActions1765800000000 } from './1765800000000-bulk-actions';
import { PreparedWork1766000000000 } from './1766000000000-prepared-work';
import { TimingRollup1766100000000 } from './1766100000000-timing-rollup';

/** The coordinator's migrations, oldest first. */
export const coordinatorMigrations = [
  Outbox1763700000000,
  Transactions1763700100000,
  StepsInFlight1763700200000,
  TransactionDecision1763700300000,
  FinishedTransactions1763700400000,
  HotRow1764600000000,
  IgnoredReplies1765000000000,
  OutboxAttempts1765100000000,
  Actors1765200000000,
  ReplyTokenSecret1765300000000,
  AuditLog1765400000000,
  Alerts1765500000000,
  Tags1765600000000,
  Pauses1765700000000,
  BulkActions1765800000000,
  PreparedWork1766000000000,
  TimingRollup1766100000000,
];
