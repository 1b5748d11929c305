import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { NUMBER_MAP } from '@ordo/platform';
import { TX_TYPES, TxType } from '@ordo/protocol';
import { TX_STATUSES, TxStatus } from '../../engine';
import { TransactionSummaryRow } from '../persistence/insights.repository';
import { DefinitionRef } from './transaction-views.dto';

export class StatusCounts {
  @ApiProperty({ ...NUMBER_MAP, example: { running: 3, compensating: 0, completed: 120, compensated: 7, failed: 1 }, description: 'Every status, 0 when none' })
  counts: Record<TxStatus, number>;
  @ApiProperty({ example: 131 }) total: number;
}

export class TransactionSummary {
  @ApiProperty({ example: '0b6f2c4e-8f1a-4d55-9a3e-2f7c1d9e8a10' }) id: string;
  @ApiProperty({ type: DefinitionRef }) definition: DefinitionRef;
  @ApiProperty({ enum: TX_TYPES }) type: TxType;
  @ApiProperty({ enum: TX_STATUSES }) status: TxStatus;
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) createdAt: string;
  @ApiProperty({ example: '2026-11-21T10:00:01.250Z' }) updatedAt: string;

  static of(row: TransactionSummaryRow): TransactionSummary {
    return {
      id: row.id,
      definition: { name: row.definitionName, version: row.definitionVersion },
      type: row.type,
      status: row.status,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }
}

export class OverviewQuery {
  @ApiPropertyOptional({ example: 60, minimum: 1, maximum: 1440, default: 60, description: 'Minutes the rates cover' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1440)
  windowMinutes: number = 60;

  @ApiPropertyOptional({ example: 5, minimum: 1, maximum: 1440, default: 5, description: 'Minutes without progress that make an active transaction stuck' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1440)
  stuckMinutes: number = 5;
}

export class MinuteBucket {
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) minute: string;
  @ApiProperty({ ...NUMBER_MAP, example: { running: 0, compensating: 0, completed: 40, compensated: 2, failed: 0 } }) counts: Record<TxStatus, number>;
}

export class Overview {
  @ApiProperty({ example: '2026-11-21T09:00:00.000Z' }) from: string;
  @ApiProperty({ example: 60 }) windowMinutes: number;
  @ApiProperty({ description: 'Transactions started in the window, by their status now' }) started: StatusCounts;
  @ApiProperty({ example: 2.1, description: 'Transactions started per minute over the window' }) throughputPerMinute: number;
  @ApiProperty({ ...NUMBER_MAP, example: { completed: 0.93, compensated: 0.06, failed: 0.01 }, description: 'Share of the finished ones started in the window' })
  rates: { completed: number; compensated: number; failed: number };
  @ApiProperty({ type: [MinuteBucket] }) perMinute: MinuteBucket[];
  @ApiProperty({ example: 5 }) stuckMinutes: number;
  @ApiProperty({ type: [TransactionSummary], description: 'Running or compensating, with no progress for stuckMinutes (at most 50)' })
  stuck: TransactionSummary[];
}

export class TransactionChanges {
  @ApiProperty({ type: [TransactionSummary] }) changes: TransactionSummary[];
}
