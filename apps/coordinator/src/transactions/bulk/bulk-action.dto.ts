import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsInt, IsObject, IsOptional, IsString, Length, Max, Min } from 'class-validator';
import { JSON_OBJECT, NULLABLE_STRING } from '@ordo/platform';
import { JsonObject } from '@ordo/protocol';
import { TX_STATUSES, TxStatus } from '../../engine';
import { TransactionFilterDto } from '../dto/transaction-requests.dto';
import { BULK_ACTIONS, BulkAction, BulkActionKind, BulkParams } from './bulk-actions';

/** Most transactions one bulk action may act on. */
export const MAX_BULK = 100_000;

export class BulkActionRequest extends TransactionFilterDto implements BulkParams {
  @ApiProperty({ enum: BULK_ACTIONS, description: 'The operator action applied to each matching transaction' })
  @IsIn(BULK_ACTIONS)
  action: BulkActionKind;

  @ApiPropertyOptional({
    enum: TX_STATUSES,
    description:
      'Of this status; each action already keeps only the transactions it may apply to (retry: failed; abort, pause: running; resume: paused)',
  })
  @IsOptional()
  @IsIn(TX_STATUSES)
  status?: TxStatus;

  @ApiPropertyOptional({ example: 'charge', description: 'retry_now, set_attempts, skip, fail_step: the step' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  stepId?: string;

  @ApiPropertyOptional({ example: 5, minimum: 0, maximum: 100, description: 'set_attempts: the attempts left' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  attemptsLeft?: number;

  @ApiPropertyOptional({ ...JSON_OBJECT, description: "skip: the step's output" })
  @IsOptional()
  @IsObject()
  output?: JsonObject;

  @ApiPropertyOptional({ example: 'partner outage, OPS-77', description: 'Kept in each history (required by skip and fail_step)' })
  @IsOptional()
  @IsString()
  @Length(1, 2000)
  note?: string;

  @ApiPropertyOptional({ example: 1000, minimum: 1, maximum: MAX_BULK, default: 1000, description: 'Most transactions it acts on, oldest first' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_BULK)
  limit: number = 1000;

  @ApiPropertyOptional({ default: false, description: 'Only count the transactions it would act on' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}

export class BulkActionCount {
  @ApiProperty({ example: 120, description: 'Transactions matching the filter that the action may apply to (at most limit)' })
  matched: number;
}

export class BulkActionView {
  @ApiProperty({ example: '5c0e…' }) id: string;
  @ApiProperty({ enum: BULK_ACTIONS }) action: BulkActionKind;
  @ApiProperty({ ...JSON_OBJECT, example: { stepId: 'charge', note: 'OPS-77' }, description: "The action's parameters" })
  params: JsonObject;
  @ApiProperty({ ...JSON_OBJECT, example: { definition: 'place-order', status: 'running' }, description: 'The transactions it acts on' })
  filter: JsonObject;
  @ApiProperty({ example: 'ops-alice' }) actor: string;
  @ApiProperty({ enum: ['running', 'done'] }) status: 'running' | 'done';
  @ApiProperty({ example: 120, description: 'Transactions that matched when it started (at most its limit)' }) matched: number;
  @ApiProperty({ example: 100, description: 'Transactions it has gone through' }) processed: number;
  @ApiProperty({ example: 97, description: 'Of those, the ones the action applied to (the others had changed, or it did not apply)' })
  applied: number;
  @ApiProperty({ example: '2026-12-03T07:00:00.000Z' }) createdAt: string;
  @ApiProperty({ example: '2026-12-03T07:00:02.000Z' }) updatedAt: string;
  @ApiProperty({ ...NULLABLE_STRING, example: '2026-12-03T07:00:05.000Z' }) finishedAt: string | null;

  static of({
    id,
    action,
    params,
    filter,
    actor,
    status,
    matched,
    processed,
    applied,
    createdAt,
    updatedAt,
    finishedAt,
  }: BulkAction): BulkActionView {
    return {
      id,
      action,
      params,
      filter,
      actor,
      status,
      matched,
      processed,
      applied,
      createdAt: createdAt.toISOString(),
      updatedAt: updatedAt.toISOString(),
      finishedAt: finishedAt && finishedAt.toISOString(),
    };
  }
}

export class BulkActionList {
  @ApiProperty({ type: [BulkActionView] }) items: BulkActionView[];
}
