import { ApiProperty } from '@nestjs/swagger';
import { MinutesParam, NUMBER_MAP } from '@ordo/platform';
import { TX_TYPES, TxType } from '@ordo/protocol';
import { TX_STATUSES, TxStatus } from '../../engine';
import { TransactionSummaryRow } from '../persistence/insights.repository';
import { DefinitionRef } from './transaction-views.dto';

export class StatusCounts {
  @ApiProperty({
    ...NUMBER_MAP,
    example: { running: 3, compensating: 0, completed: 120, compensated: 7, failed: 1 },
    description: 'Every status, 0 when none; when `capped`, at least this many',
  })
  counts: Record<TxStatus, number>;
  @ApiProperty({ example: 131, description: 'When `capped`, more than this many match' }) total: number;
  @ApiProperty({
    example: false,
    description: 'More than 5,000 match: counting stopped there, so `total` is a floor and each status count a lower bound',
  })
  capped: boolean;
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
  @MinutesParam(60, 'Minutes the ended counts and rates cover (rounded up to whole buckets)')
  windowMinutes: number = 60;

  @MinutesParam(5, 'Minutes without progress that make an active transaction stuck')
  stuckMinutes: number = 5;
}

export class Outcomes {
  @ApiProperty({ example: 40 }) completed: number;
  @ApiProperty({ example: 2 }) compensated: number;
  @ApiProperty({ example: 0 }) failed: number;
}

export class EndedCounts extends Outcomes {
  @ApiProperty({ example: 42 }) total: number;
}

export class EndedBucket extends Outcomes {
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z', description: 'Start of the bucket (bucketSeconds wide)' }) start: string;
}

export class LiveCounts {
  @ApiProperty({ example: 3 }) running: number;
  @ApiProperty({ example: 0 }) compensating: number;
  @ApiProperty({ example: 3 }) total: number;
}

export class Overview {
  @ApiProperty({
    example: '2026-11-21T09:00:00.000Z',
    description: 'Start of the oldest bucket read: windowMinutes rounded up to whole buckets, the current one included',
  })
  from: string;
  @ApiProperty({ example: 60 }) windowMinutes: number;
  @ApiProperty({ example: 600, description: 'Width of the buckets: 60 for windows up to 24 minutes, 600 up to 240, 3600 beyond' })
  bucketSeconds: number;
  @ApiProperty({
    description: 'Transactions that ended since `from`, by outcome (from the timing rollup: ends of the last few seconds may not be in yet)',
  })
  ended: EndedCounts;
  @ApiProperty({ example: 2.1, description: 'Transactions ended per minute since `from`' }) throughputPerMinute: number;
  @ApiProperty({
    ...NUMBER_MAP,
    example: { completed: 0.93, compensated: 0.06, failed: 0.01 },
    description: 'Share of each outcome among those ended since `from`',
  })
  rates: { completed: number; compensated: number; failed: number };
  @ApiProperty({ type: [EndedBucket], description: 'Ended per bucket by outcome, oldest first; buckets where none ended are left out' })
  endedPerBucket: EndedBucket[];
  @ApiProperty({ description: 'Transactions running or compensating now, whenever they started' }) live: LiveCounts;
  @ApiProperty({ example: 5 }) stuckMinutes: number;
  @ApiProperty({ type: [TransactionSummary], description: 'Running or compensating, with no progress for stuckMinutes (at most 50)' })
  stuck: TransactionSummary[];
}

export class TransactionChanges {
  @ApiProperty({ type: [TransactionSummary] }) changes: TransactionSummary[];
}
