import { ApiProperty, IntersectionType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsDate, IsInt, IsString, IsUUID, Length, Matches, Min, ValidateNested } from 'class-validator';
import { NULLABLE_STRING } from '@ordo/platform';
import { STEP_ID_PATTERN } from '../engine';
import { ParticipantParams } from '../transactions/protection/participant-views.dto';
import { Verdict } from './in-doubt';

/** More than a participant could hold: max_prepared_transactions is rarely above a few hundred. */
export const MAX_REPORTED = 1000;

const VERDICTS: readonly Verdict[] = ['commit', 'abort', 'pending', 'missing'];

/** A step of a transaction. */
export class StepRefDto {
  @ApiProperty({ example: '0b6f2c4e-8f1a-4d55-9a3e-2f7c1d9e8a10' })
  @IsUUID()
  txId: string;

  @ApiProperty({ example: 'reserve' })
  @Matches(STEP_ID_PATTERN, { message: 'stepId must be a step id' })
  stepId: string;
}

/** One prepared transaction, as the participant's database shows it (pg_prepared_xacts, pg_locks). */
export class PreparedItemDto extends StepRefDto {
  @ApiProperty({ example: 'ordo:shop.inventory:0b6f2c4e-8f1a-4d55-9a3e-2f7c1d9e8a10:reserve' })
  @IsString()
  @Length(1, 200)
  gid: string;

  @ApiProperty({ example: '48213', description: 'Its PostgreSQL transaction id' })
  @Matches(/^\d{1,20}$/, { message: 'xid must be a transaction id' })
  xid: string;

  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' })
  @Type(() => Date)
  @IsDate()
  preparedAt: Date;

  @ApiProperty({ type: [String], example: ['inventory.stock'], description: 'The tables it holds locks on' })
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @Length(1, 200, { each: true })
  relations: string[];

  @ApiProperty({ example: 0, description: 'Sessions waiting for it (for rows it locked)' })
  @IsInt()
  @Min(0)
  waiters: number;
}

export class PreparedReportDto {
  @ApiProperty({ example: 'inventory-7f9c4-1', description: 'The reporting instance (a participant with several reports the same list)' })
  @IsString()
  @Length(1, 200)
  instance: string;

  @ApiProperty({ type: [PreparedItemDto], description: `Every prepared transaction it holds now (at most ${MAX_REPORTED})` })
  @IsArray()
  @ArrayMaxSize(MAX_REPORTED)
  @ValidateNested({ each: true })
  @Type(() => PreparedItemDto)
  items: PreparedItemDto[];
}

export class PreparedReportAnswer {
  @ApiProperty({ type: [StepRefDto], description: 'Prepared transactions an operator asked to finish now: ask for their decision and apply it' })
  finish: StepRefDto[];
}

export class PreparedWorkParams extends IntersectionType(ParticipantParams, StepRefDto) {}

export class InDoubtView {
  @ApiProperty({ example: 'inventory' }) participant: string;
  @ApiProperty({ example: '0b6f2c4e-8f1a-4d55-9a3e-2f7c1d9e8a10' }) txId: string;
  @ApiProperty({ example: 'reserve' }) stepId: string;
  @ApiProperty({ example: 'ordo:shop.inventory:0b6f2c4e-8f1a-4d55-9a3e-2f7c1d9e8a10:reserve' }) gid: string;
  @ApiProperty({ example: '48213' }) xid: string;
  @ApiProperty({ example: '2026-11-21T10:00:00.000Z' }) preparedAt: string;
  @ApiProperty({ example: 42_000, description: 'How long it has held its locks, as of the answer' }) heldMs: number;
  @ApiProperty({ type: [String], example: ['inventory.stock'] }) relations: string[];
  @ApiProperty({ example: 0 }) waiters: number;
  @ApiProperty({
    enum: VERDICTS,
    description:
      "The coordinator's decision for it: `pending` while undecided, `missing` when the coordinator has no such transaction (presumed abort)",
  })
  verdict: Verdict;
  @ApiProperty({ description: 'Its verdict is settled, so it should have been finished: it holds its locks for nothing' })
  shouldBeFinished: boolean;
  @ApiProperty({ example: 'inventory-7f9c4-1' }) reportedBy: string;
  @ApiProperty({ example: '2026-11-21T10:00:40.000Z' }) reportedAt: string;
  @ApiProperty({ ...NULLABLE_STRING, example: 'ops-alice', description: 'Who asked to finish it now, until it is gone' })
  finishRequestedBy: string | null;
  @ApiProperty({ ...NULLABLE_STRING, example: '2026-11-21T10:00:41.000Z' }) finishRequestedAt: string | null;
}

export class InDoubtList {
  @ApiProperty({ type: [InDoubtView], description: 'Those that should have been finished first, then the oldest first' }) items: InDoubtView[];
}
