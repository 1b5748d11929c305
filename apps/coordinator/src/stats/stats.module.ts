import { Module } from '@nestjs/common';
import { DefinitionsModule } from '../definitions/definitions.module';
import { StatsController } from './stats.controller';
import { TimingRollupJob } from './timing-rollup-job';
import { TimingRollupRepository } from './timing-rollup.repository';
import { TimingStatsService } from './timing-stats.service';

/** Timing statistics: the rollup of ended transactions and the API that reads it (see docs/operations.md, Timing statistics). */
@Module({
  imports: [DefinitionsModule],
  controllers: [StatsController],
  providers: [TimingRollupRepository, TimingRollupJob, TimingStatsService],
})
export class StatsModule {}
