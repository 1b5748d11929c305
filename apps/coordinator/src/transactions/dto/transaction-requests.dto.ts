import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsDate, IsIn, IsInt, IsObject, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { JSON_OBJECT, PageQuery } from '@ordo/platform';
import { JsonObject, TX_TYPES, TxType } from '@ordo/protocol';
import { WAIT_MS_CEILING } from '../../config/coordinator.config';
import { DEFINITION_NAME_PATTERN, TX_STATUSES, TxStatus } from '../../engine';
import { IsTags, MAX_TAG_VALUE_LENGTH, MAX_TAGS, TAG_FILTER_PATTERN, Tags } from '../tags';

export class StartTransactionDto {
  @ApiProperty({ example: 'place-order', description: 'Name of a registered definition' })
  @Matches(DEFINITION_NAME_PATTERN, { message: 'definition must be a definition name' })
  definition: string;

  @ApiPropertyOptional({ example: 3, description: 'Definition version to run; the latest when omitted' })
  @IsOptional()
  @IsInt()
  @Min(1)
  version?: number;

  @ApiProperty({ ...JSON_OBJECT, example: { sku: 'SKU-1', qty: 2, accountId: 'acc-1', amount: 40 }, description: 'The transaction input' })
  @IsObject()
  input: JsonObject;

  @ApiPropertyOptional({ example: 'order-7f3a', description: 'Starting twice with one key returns the first transaction' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  idempotencyKey?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { orderId: 'o-7f3a', customer: 'ada' },
    description:
      `Business keys to find the transaction by (GET /transactions?tag=key:value): at most ${MAX_TAGS}; each key a letter, then ` +
      `up to 62 letters, digits, "_", "." or "-"; each value 1–${MAX_TAG_VALUE_LENGTH} characters`,
  })
  @IsOptional()
  @IsTags()
  tags?: Tags;
}

/** `?waitMs=`: how long the answer may wait for the transaction's end. */
export class WaitQuery {
  @ApiPropertyOptional({
    type: 'integer',
    example: 5000,
    minimum: 0,
    maximum: WAIT_MS_CEILING,
    description:
      'Wait up to this many milliseconds for the transaction to end (completed, compensated or failed) before answering; ' +
      "0 or absent: answer at once. At most the deployment's WAIT_MAX_MS (default 30000): more is 400.",
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(WAIT_MS_CEILING)
  waitMs?: number;
}

/** Filters shared by the list, the counts and the bulk actions. */
export class TransactionFilterDto {
  @ApiPropertyOptional({ example: 'place-order' })
  @IsOptional()
  @Matches(DEFINITION_NAME_PATTERN, { message: 'definition must be a definition name' })
  definition?: string;

  @ApiPropertyOptional({ enum: TX_TYPES })
  @IsOptional()
  @IsIn(TX_TYPES)
  type?: TxType;

  @ApiPropertyOptional({ example: '2026-11-01T00:00:00Z', description: 'Created at or after' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'createdFrom must be an ISO-8601 instant' })
  createdFrom?: Date;

  @ApiPropertyOptional({ example: '2026-12-01T00:00:00Z', description: 'Created before' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'createdTo must be an ISO-8601 instant' })
  createdTo?: Date;

  @ApiPropertyOptional({
    type: [String],
    example: ['orderId:o-7f3a'],
    description: `Carries this tag, given as key:value; repeat for several (all must match; at most ${MAX_TAGS})`,
  })
  @IsOptional()
  // One ?tag= arrives as a string, several as an array.
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? [value] : value))
  @IsArray()
  @ArrayMaxSize(MAX_TAGS)
  @Matches(TAG_FILTER_PATTERN, { each: true, message: `each tag must be key:value (a tag's key, then 1–${MAX_TAG_VALUE_LENGTH} characters)` })
  tag?: string[];

  @ApiPropertyOptional({ type: Boolean, description: 'Only paused transactions (true) or only those not paused (false)' })
  @IsOptional()
  // A query string says "true" / "false"; a JSON body, true / false.
  @Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean()
  paused?: boolean;
}

export class ListTransactionsQuery extends IntersectionType(TransactionFilterDto, PageQuery) {
  @ApiPropertyOptional({ enum: TX_STATUSES })
  @IsOptional()
  @IsIn(TX_STATUSES)
  status?: TxStatus;
}

export class EventsQuery extends PageQuery {}

/** The answered-at-once bulk endpoints take the list's filters, and act on at most `limit` transactions, oldest first. */
export class BulkFilterDto extends TransactionFilterDto {
  @ApiPropertyOptional({ example: 100, minimum: 1, maximum: 1000, default: 100, description: 'Most transactions this call acts on' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  limit: number = 100;
}

export class BulkRetryDto extends BulkFilterDto {}

/** A note the history keeps with an operator action. */
export class NoteDto {
  @ApiPropertyOptional({ example: 'inventory maintenance, ticket OPS-51' })
  @IsOptional()
  @IsString()
  @Length(1, 2000)
  note?: string;
}

export class BulkNoteDto extends IntersectionType(BulkFilterDto, NoteDto) {}

export class SetAttemptsDto extends NoteDto {
  @ApiProperty({
    example: 10,
    minimum: 0,
    maximum: 100,
    description: 'Attempts the step may still use in its current phase (a scheduled retry counts; an attempt already out does not)',
  })
  @IsInt()
  @Min(0)
  @Max(100)
  attemptsLeft: number;
}

/** The note an action that overrides the protocol must carry. */
export class RequiredNoteDto {
  @ApiProperty({ example: 'reserved by hand in the warehouse system, ticket OPS-52' })
  @IsString()
  @Length(1, 2000)
  note: string;
}

export class SkipStepDto extends RequiredNoteDto {
  @ApiPropertyOptional({
    ...JSON_OBJECT,
    nullable: true,
    example: { reservationId: 'r-manual-1' },
    description: "The step's output, which its dependents' input mappings read (null when omitted)",
  })
  @IsOptional()
  @IsObject()
  output?: JsonObject;
}

export class EditInputDto extends RequiredNoteDto {
  @ApiProperty({
    ...JSON_OBJECT,
    example: { sku: 'SKU-2', qty: 1 },
    description: "The input the step's commands carry from its next attempt on (at most MAX_INPUT_BYTES as JSON)",
  })
  @IsObject()
  input: JsonObject;
}

export class AbortDto {
  @ApiPropertyOptional({ example: 'customer cancelled by phone' })
  @IsOptional()
  @IsString()
  @Length(1, 1000)
  reason?: string;
}

export class ResolveStepDto {
  @ApiProperty({ enum: ['compensated', 'succeeded'], description: 'What the operator made true by hand' })
  @IsIn(['compensated', 'succeeded'])
  outcome: 'compensated' | 'succeeded';

  @ApiProperty({ example: 'refunded manually in the payment console, ticket OPS-42' })
  @IsString()
  @Length(1, 2000)
  note: string;
}
