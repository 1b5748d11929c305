import { Module } from '@nestjs/common';
import { AppConfig } from '@ordo/platform';
import { participantConfig } from '../participant.module';
import { CoordinatorHttp } from '../coordinator-http';
import { ParticipantConfig } from '../participant.config';
import { OrdoStarts } from './ordo-starts';
import { StartCommitSubscriber } from './start-commit.subscriber';
import { StartMetrics } from './start-metrics';
import { StartRelay } from './start-relay';

/**
 * Lets the app start Ordo transactions from its own database transactions (OrdoStarts) and
 * delivers them to the coordinator at ORDO_COORDINATOR_URL, with ORDO_COORDINATOR_API_KEY
 * (a `starter` key). The app lists the OrdoStarts migration among its own.
 */
@Module({
  providers: [
    { provide: ParticipantConfig, inject: [AppConfig], useFactory: participantConfig },
    OrdoStarts,
    StartRelay,
    StartCommitSubscriber,
    StartMetrics,
    CoordinatorHttp,
  ],
  exports: [OrdoStarts],
})
export class OrdoStartsModule {}
