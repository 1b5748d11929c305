import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { JsonObject, PARTICIPANT_NAME_PATTERN, TX_TYPES, TxType } from '@ordo/protocol';
import {
  ACTION_PATTERN,
  AdaptiveTimeout,
  BUILT_IN_DEFAULTS,
  DEFINITION_LIMITS,
  DEFINITION_NAME_PATTERN,
  DefinitionDefaults,
  Jitter,
  JITTERS,
  RetryPolicy,
  STEP_ID_PATTERN,
  StepDefinition,
  WorkflowDefinition,
} from '../../engine';
import placeOrderSaga from '../../../../order/place-order.saga.json';

// These classes document the definition body in OpenAPI only. The body itself is checked by
// the engine's validateDefinition (every problem at once, with paths), not by class-validator,
// so they carry no validation decorators; the limits and patterns below are the engine's own
// constants, so the docs cannot drift from what is enforced.

/** The sample place-order saga (the one file npm start registers): the example shown throughout the API reference. */
export const PLACE_ORDER_DEFINITION = placeOrderSaga as WorkflowDefinition;

export class RetryPolicyDto implements Partial<RetryPolicy> {
  @ApiPropertyOptional({
    type: 'integer',
    description: 'Commands sent per phase, the first one included (1 = no retry).',
    minimum: 1,
    maximum: DEFINITION_LIMITS.maxAttempts,
    example: 5,
  })
  maxAttempts?: number;

  @ApiPropertyOptional({
    type: 'integer',
    description: 'Delay before the first retry.',
    minimum: 0,
    maximum: DEFINITION_LIMITS.maxDelayMs,
    example: 100,
  })
  initialDelayMs?: number;

  @ApiPropertyOptional({
    description: 'Growth factor of the delay from one retry to the next.',
    minimum: 1,
    maximum: DEFINITION_LIMITS.maxMultiplier,
    example: 2,
  })
  multiplier?: number;

  @ApiPropertyOptional({
    type: 'integer',
    description: 'Cap on the delay; must be at least the effective initialDelayMs.',
    minimum: 0,
    maximum: DEFINITION_LIMITS.maxDelayMs,
    example: 10000,
  })
  maxDelayMs?: number;

  @ApiPropertyOptional({
    enum: JITTERS,
    description: 'full (default): uniform in [0, delay]; equal: uniform in [delay/2, delay]; none: exactly the delay.',
    example: 'full',
  })
  jitter?: Jitter;
}

export class AdaptiveTimeoutDto implements AdaptiveTimeout {
  @ApiProperty({
    type: 'integer',
    description: 'The shortest timeout it sets.',
    minimum: 1,
    maximum: DEFINITION_LIMITS.maxStepTimeoutMs,
    example: 200,
  })
  minMs: number;

  @ApiProperty({
    type: 'integer',
    description: 'The longest timeout it sets, and the timeout until enough reply times are known; at least minMs.',
    minimum: 1,
    maximum: DEFINITION_LIMITS.maxStepTimeoutMs,
    example: 5000,
  })
  maxMs: number;

  @ApiPropertyOptional({
    description: `Which percentile of the participant's recent reply times it follows (default ${BUILT_IN_DEFAULTS.adaptiveTimeout.percentile}).`,
    minimum: DEFINITION_LIMITS.minTimeoutPercentile,
    maximum: 100,
    example: BUILT_IN_DEFAULTS.adaptiveTimeout.percentile,
  })
  percentile?: number;

  @ApiPropertyOptional({
    description: `How many times that percentile an attempt waits; above 1 (default ${BUILT_IN_DEFAULTS.adaptiveTimeout.factor}).`,
    minimum: 1,
    exclusiveMinimum: true,
    maximum: DEFINITION_LIMITS.maxTimeoutFactor,
    example: BUILT_IN_DEFAULTS.adaptiveTimeout.factor,
  })
  factor?: number;
}

const ADAPTIVE_TIMEOUT_DESCRIPTION =
  "Instead of timeoutMs: each attempt waits factor × the percentile of the participant's recent reply times, " +
  'within [minMs, maxMs] (maxMs until enough replies are known).';

export class DefinitionDefaultsDto implements DefinitionDefaults {
  @ApiPropertyOptional({
    type: 'integer',
    description: 'How long to wait for the reply to one attempt, unless a step says otherwise.',
    minimum: 1,
    maximum: DEFINITION_LIMITS.maxStepTimeoutMs,
    example: 5000,
  })
  timeoutMs?: number;

  @ApiPropertyOptional({ type: AdaptiveTimeoutDto, description: ADAPTIVE_TIMEOUT_DESCRIPTION })
  adaptiveTimeout?: AdaptiveTimeoutDto;

  @ApiPropertyOptional({ type: RetryPolicyDto, description: 'Overrides the built-in retry policy field by field.' })
  retry?: RetryPolicyDto;
}

export class StepDto implements StepDefinition {
  @ApiProperty({ description: 'Unique within the definition.', pattern: STEP_ID_PATTERN.source, example: 'reserve-stock' })
  id: string;

  @ApiProperty({
    description: 'The service that runs the step; it consumes `<participant>.commands`.',
    pattern: PARTICIPANT_NAME_PATTERN.source,
    example: 'inventory',
  })
  participant: string;

  @ApiProperty({
    description: 'What the participant does in the forward phase.',
    pattern: ACTION_PATTERN.source,
    example: 'reserve',
  })
  action: string;

  @ApiPropertyOptional({
    description: 'Saga only: the action that undoes this step. A saga step without one cannot be undone.',
    pattern: ACTION_PATTERN.source,
    example: 'release',
  })
  compensation?: string;

  @ApiPropertyOptional({
    type: [String],
    description: 'Ids of the steps that must succeed first; the steps form a DAG.',
    example: ['create-order'],
  })
  dependsOn?: string[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description:
      'Builds the step input. Values are literal JSON, except strings `$.input[.path]` and `$.steps.<id>.output[.path]` ' +
      '(the step must depend on `<id>`). Without it the step receives the transaction input.',
    example: PLACE_ORDER_DEFINITION.steps[1].input,
  })
  input?: JsonObject;

  @ApiPropertyOptional({
    type: 'integer',
    description: "How long to wait for the reply to one attempt; overrides the defaults' timeout (either form).",
    minimum: 1,
    maximum: DEFINITION_LIMITS.maxStepTimeoutMs,
    example: 5000,
  })
  timeoutMs?: number;

  @ApiPropertyOptional({ type: AdaptiveTimeoutDto, description: `${ADAPTIVE_TIMEOUT_DESCRIPTION} Overrides the defaults' timeout (either form).` })
  adaptiveTimeout?: AdaptiveTimeoutDto;

  @ApiPropertyOptional({ type: RetryPolicyDto, description: 'Overrides defaults.retry field by field.' })
  retry?: RetryPolicyDto;
}

export class DefinitionDto implements WorkflowDefinition {
  @ApiProperty({
    description: 'Identifies the definition across its versions.',
    pattern: DEFINITION_NAME_PATTERN.source,
    example: PLACE_ORDER_DEFINITION.name,
  })
  name: string;

  @ApiProperty({ enum: TX_TYPES, example: PLACE_ORDER_DEFINITION.type })
  type: TxType;

  @ApiPropertyOptional({
    type: 'integer',
    description: 'Deadline of the whole transaction from its start; when it passes, the transaction rolls back.',
    minimum: 1,
    maximum: DEFINITION_LIMITS.maxTransactionTimeoutMs,
    example: PLACE_ORDER_DEFINITION.timeoutMs,
  })
  timeoutMs?: number;

  @ApiPropertyOptional({ type: DefinitionDefaultsDto })
  defaults?: DefinitionDefaultsDto;

  @ApiProperty({ type: [StepDto], minItems: 1, maxItems: DEFINITION_LIMITS.maxSteps })
  steps: StepDto[];
}
