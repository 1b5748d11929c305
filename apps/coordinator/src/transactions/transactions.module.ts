import { Module } from '@nestjs/common';
import { AlertsModule } from '../alerts/alerts.module';
import { DefinitionsModule } from '../definitions/definitions.module';
import { CoordinatorMetrics } from '../metrics/coordinator-metrics';
import { CoordinatorMetricsModule } from '../metrics/metrics.module';
import { OutboxModule } from '../outbox/outbox.module';
import { BulkActionRepository } from './bulk/bulk-action.repository';
import { BulkActionService } from './bulk/bulk-action.service';
import { BulkActionsController } from './bulk/bulk-actions.controller';
import { ChangeFeed } from './change-feed';
import { DefinitionCatalog } from './definition-catalog';
import { InsightsService } from './insights.service';
import { InsightsRepository } from './persistence/insights.repository';
import { TransactionRepository } from './persistence/transaction.repository';
import { ParticipantGate } from './protection/participant-gate';
import { ParticipantPausing } from './protection/participant-pausing';
import { PausedParticipants } from './protection/paused-participants';
import { ReplyFlowMonitor } from './protection/reply-flow-monitor';
import { ReplyTimeTracker } from './protection/reply-time-tracker';
import { ParticipantsController } from './protection/participants.controller';
import { ReplyConsumer } from './reply-consumer';
import { ReplyTokens } from './reply-tokens';
import { TimerPoller } from './timer-poller';
import { TransactionEngine } from './transaction-engine';
import { TransactionsController } from './transactions.controller';
import { TransactionsService } from './transactions.service';
import { TransactionWaiters } from './transaction-waiters';

@Module({
  imports: [DefinitionsModule, OutboxModule, AlertsModule, CoordinatorMetricsModule],
  controllers: [TransactionsController, ParticipantsController, BulkActionsController],
  providers: [
    DefinitionCatalog,
    TransactionRepository,
    ParticipantGate,
    PausedParticipants,
    ParticipantPausing,
    ReplyFlowMonitor,
    ReplyTimeTracker,
    TransactionEngine,
    TransactionsService,
    InsightsRepository,
    InsightsService,
    ChangeFeed,
    TransactionWaiters,
    ReplyConsumer,
    ReplyTokens,
    TimerPoller,
    BulkActionRepository,
    BulkActionService,
  ],
})
export class TransactionsModule {
  constructor(
    metrics: CoordinatorMetrics,
    gate: ParticipantGate,
    replyFlow: ReplyFlowMonitor,
    waiters: TransactionWaiters,
    replyTimes: ReplyTimeTracker,
  ) {
    // The metrics module cannot reach into this one (that would be a cycle): this one shows it what to read.
    metrics.readGaugesFrom({
      replyLag: () => replyFlow.lag(),
      waiters: () => waiters.size,
      circuits: () => gate.participants(),
      adaptiveTimeouts: () => replyTimes.inForce(),
    });
  }
}
