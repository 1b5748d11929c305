import { Module } from '@nestjs/common';
import { CoordinatorMetrics } from './coordinator-metrics';

/** The coordinator's own Prometheus metrics, on the process registry (PlatformModule's GET /metrics). */
@Module({
  providers: [CoordinatorMetrics],
  exports: [CoordinatorMetrics],
})
export class CoordinatorMetricsModule {}
