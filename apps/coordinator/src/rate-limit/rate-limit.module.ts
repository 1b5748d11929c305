import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { CoordinatorConfig } from '../config/coordinator.config';
import { CredentialThrottlerGuard } from './credential-throttler.guard';
import { SlidingWindowStorage } from './sliding-window-storage';

/**
 * RATE_LIMIT_PER_MINUTE per credential on every API route; counted in memory, per instance,
 * over a sliding minute (SlidingWindowStorage: O(1) per request).
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [CoordinatorConfig],
      useFactory: (config: CoordinatorConfig) => ({
        throttlers: [{ ttl: 60_000, limit: config.RATE_LIMIT_PER_MINUTE }],
        storage: new SlidingWindowStorage(),
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: CredentialThrottlerGuard }],
})
export class RateLimitModule {}
