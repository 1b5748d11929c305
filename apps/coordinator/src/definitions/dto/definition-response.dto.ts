import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { NULLABLE_STRING } from '@ordo/platform';
import { TX_TYPES, TxType } from '@ordo/protocol';
import { PROBLEM_CODES, ProblemCode } from '../../engine';
import { FieldChange, StepChange } from '../definition-diff';
import { DefinitionSummary, StoredDefinition, VersionUsage } from '../definition.repository';
import { DefinitionDto, PLACE_ORDER_DEFINITION } from './definition.dto';

const REGISTERED_AT = '2026-01-01T12:00:00.000Z';

export class DefinitionVersionDto implements StoredDefinition {
  @ApiProperty({ example: PLACE_ORDER_DEFINITION.name })
  name: string;

  @ApiProperty({ type: 'integer', minimum: 1, example: 1 })
  version: number;

  @ApiProperty({ enum: TX_TYPES, example: PLACE_ORDER_DEFINITION.type })
  type: TxType;

  @ApiProperty({ description: 'When this version was registered.', example: REGISTERED_AT })
  createdAt: Date;

  @ApiProperty({
    ...NULLABLE_STRING,
    description: 'Name of the API key that registered it (null: before actors were recorded).',
    example: 'ci-deploy',
  })
  registeredBy: string | null;

  @ApiProperty({ type: DefinitionDto, description: 'The body as stored: validated, in canonical form.' })
  definition: DefinitionDto;
}

export class DefinitionSummaryDto implements DefinitionSummary {
  @ApiProperty({ example: PLACE_ORDER_DEFINITION.name })
  name: string;

  @ApiProperty({ type: 'integer', minimum: 1, example: 3 })
  latestVersion: number;

  @ApiProperty({ enum: TX_TYPES, description: 'The type of the latest version.', example: PLACE_ORDER_DEFINITION.type })
  type: TxType;

  @ApiProperty({ description: 'When the latest version was registered.', example: REGISTERED_AT })
  createdAt: Date;

  @ApiProperty({ ...NULLABLE_STRING, description: 'Name of the API key that registered the latest version.', example: 'ci-deploy' })
  registeredBy: string | null;

  @ApiProperty({ type: 'integer', minimum: 1, description: 'How many versions are registered.', example: 3 })
  versions: number;
}

export class DefinitionListDto {
  @ApiProperty({ type: [DefinitionSummaryDto], description: 'Sorted by name.' })
  items: DefinitionSummaryDto[];

  @ApiProperty({ ...NULLABLE_STRING, description: 'Pass as `cursor` for the next page; null on the last page' })
  nextCursor: string | null;
}

export class DefinitionProblemDto {
  @ApiProperty({ description: "Where the problem is in the body ('' = the body itself).", example: 'steps[1].dependsOn[0]' })
  path: string;

  @ApiProperty({ enum: PROBLEM_CODES, example: 'unknown_dependency' })
  code: ProblemCode;

  @ApiProperty({ example: 'no step has id "create-ordr"' })
  message: string;
}

class InvalidDefinitionErrorBodyDto {
  @ApiProperty({ example: 'INVALID_DEFINITION' })
  code: string;

  @ApiProperty({ example: 'invalid definition: 1 problem' })
  message: string;

  @ApiProperty({ type: [DefinitionProblemDto], description: 'Every problem found, not just the first.' })
  details: DefinitionProblemDto[];
}

export class InvalidDefinitionErrorDto {
  @ApiProperty({ type: InvalidDefinitionErrorBodyDto })
  error: InvalidDefinitionErrorBodyDto;
}

const ANY_JSON = { description: 'Any JSON value' } as const;

export class FieldChangeDto implements FieldChange {
  @ApiProperty({ example: 'retry.maxAttempts', description: 'Dot-separated; an array (dependsOn) is one field' })
  path: string;
  @ApiProperty({ enum: ['added', 'removed', 'changed'] })
  kind: 'added' | 'removed' | 'changed';
  @ApiPropertyOptional({ ...ANY_JSON, example: 3, description: 'The old value; absent when added' })
  from?: unknown;
  @ApiPropertyOptional({ ...ANY_JSON, example: 5, description: 'The new value; absent when removed' })
  to?: unknown;
}

export class StepChangeDto implements StepChange {
  @ApiProperty({ example: 'reserve-stock' })
  id: string;
  @ApiProperty({ enum: ['added', 'removed', 'changed'] })
  kind: 'added' | 'removed' | 'changed';
  @ApiProperty({ type: [FieldChangeDto], description: 'Every field of an added or removed step; the differing ones of a changed step' })
  fields: readonly FieldChangeDto[];
}

export class DefinitionDiffDto {
  @ApiProperty({ example: 'place-order' })
  name: string;
  @ApiProperty({ type: 'integer', example: 1 })
  from: number;
  @ApiProperty({ type: 'integer', example: 2 })
  to: number;
  @ApiProperty({ type: [FieldChangeDto], description: 'Fields outside the steps (timeoutMs, defaults …)' })
  fields: readonly FieldChangeDto[];
  @ApiProperty({ type: [StepChangeDto], description: 'Steps matched by id, in the order of `to`, then the removed ones' })
  steps: readonly StepChangeDto[];
}

export class DefinitionVersionUsageDto implements VersionUsage {
  @ApiProperty({ type: 'integer', example: 2 })
  version: number;
  @ApiProperty({ example: REGISTERED_AT })
  createdAt: Date;
  @ApiProperty({ ...NULLABLE_STRING, example: 'ops-admin' })
  registeredBy: string | null;
  @ApiProperty({ type: 'integer', example: 12, description: 'Transactions pinned to this version that are running or compensating' })
  running: number;
}

export class DefinitionVersionsDto {
  @ApiProperty({ type: [DefinitionVersionUsageDto], description: 'Newest first' })
  items: DefinitionVersionUsageDto[];
}
