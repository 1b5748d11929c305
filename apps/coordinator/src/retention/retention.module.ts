import { Module } from '@nestjs/common';
import { RetentionJob } from './retention-job';

/** Purges old finished transactions (see docs/operations.md, Retention). */
@Module({ providers: [RetentionJob] })
export class RetentionModule {}
