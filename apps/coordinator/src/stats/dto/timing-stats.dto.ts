import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { MinutesParam } from '@ordo/platform';
import { Percentiles } from '../timing-rollup';

export class TimingStatsQuery {
  @MinutesParam(60, 'Minutes the figures cover, in whole buckets ending with the current one: minutes up to 24, ten minutes up to 240, hours beyond')
  windowMinutes: number = 60;

  @ApiPropertyOptional({ example: 'place-order', description: 'Only this definition' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  definition?: string;
}

export class LatencyPercentiles implements Percentiles {
  @ApiProperty({ example: 42.5, description: 'Milliseconds (read from log-scale buckets: within 19 % of the exact figure)' }) p50: number;
  @ApiProperty({ example: 120.3 }) p95: number;
  @ApiProperty({ example: 480 }) p99: number;
  @ApiProperty({ example: 1210, description: 'The longest, exact' }) max: number;
}

export class TransactionTimings {
  @ApiProperty({ example: 1200, description: 'Transactions that ended in the window (a replayed one counts at each end)' }) ended: number;
  @ApiProperty({ example: 1150 }) completed: number;
  @ApiProperty({ example: 46, description: 'Rolled back (saga compensated, TCC cancelled, 2PC aborted)' }) compensated: number;
  @ApiProperty({ example: 4, description: 'Ended failed: they wait for an operator' }) failed: number;
  @ApiProperty({ example: 0.0417, description: '(compensated + failed) / ended; 0 when none ended' }) failureRate: number;
  @ApiProperty({ type: LatencyPercentiles, nullable: true, description: 'From the start to the end; null when none ended' })
  durationMs: LatencyPercentiles | null;
}

export class StepTimings {
  @ApiProperty({ example: 'charge' }) stepId: string;
  @ApiProperty({
    example: 'execute',
    description: 'The phase: the forward one (execute, try, prepare) or confirm, commit, compensate, cancel, abort',
  })
  phase: string;
  @ApiProperty({ example: 1200, description: 'Times the phase ran to an answer in the transactions that ended in the window' }) count: number;
  @ApiProperty({ example: 30, description: 'Of those, how many did not succeed (refused, or out of attempts)' }) failures: number;
  @ApiProperty({ example: 0.025 }) failureRate: number;
  @ApiProperty({ example: 12, description: 'Attempts beyond the first' }) retries: number;
  @ApiProperty({
    type: LatencyPercentiles,
    nullable: true,
    description: 'Dispatch to reply of the successful attempt; null when none succeeded',
  })
  durationMs: LatencyPercentiles | null;
  @ApiProperty({ type: LatencyPercentiles, nullable: true, description: 'First dispatch to last answer, retries and backoffs included' })
  totalMs: LatencyPercentiles | null;
}

export class DefinitionTimings {
  @ApiProperty({ example: 'place-order' }) name: string;
  @ApiProperty({ type: TransactionTimings }) transactions: TransactionTimings;
  @ApiProperty({ type: [StepTimings], description: "In the latest version's step order, forward phases first" }) steps: StepTimings[];
}

export class TimingStats {
  @ApiProperty({ example: '2026-11-21T09:01:00.000Z', description: 'Start of the oldest bucket read' }) from: string;
  @ApiProperty({ example: 60 }) windowMinutes: number;
  @ApiProperty({ example: 60, description: 'Width of the buckets read: 60, 600 or 3600' }) bucketSeconds: number;
  @ApiProperty({ type: [DefinitionTimings], description: 'Definitions with an end in the window, by name' }) definitions: DefinitionTimings[];
}
