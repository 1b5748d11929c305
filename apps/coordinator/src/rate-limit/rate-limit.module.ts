import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { CoordinatorConfig } from '../config/coordinator.config';
import { CredentialThrottlerGuard } from './credential-throttler.guard';

/** RATE_LIMIT_PER_MINUTE per credential on every API route; counted in memory, per instance. */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [CoordinatorConfig],
      useFactory: (config: CoordinatorConfig) => ({ throttlers: [{ ttl: 60_000, limit: config.RATE_LIMIT_PER_MINUTE }] }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: CredentialThrottlerGuard }],
})
export class RateLimitModule {}
