import { JsonObject, TxType } from '@ordo/protocol';

export const JITTERS = ['full', 'equal', 'none'] as const;
/**
 * How a retry delay is randomised below its exponential ceiling:
 * - `full`  (default): uniform in [0, ceiling]. Spreads simultaneous retries the most, which
 *   is what a coordinator retrying many transactions against one participant needs.
 * - `equal`: uniform in [ceiling/2, ceiling]; keeps a minimum wait.
 * - `none`:  exactly the ceiling.
 */
export type Jitter = (typeof JITTERS)[number];

export interface RetryPolicy {
  /** Commands sent per phase, the first one included (1 = no retry). */
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly multiplier: number;
  readonly maxDelayMs: number;
  readonly jitter?: Jitter;
}

export type EffectiveRetryPolicy = Required<RetryPolicy>;

/**
 * Builds a step's input. Values are literal JSON, except strings starting with `$.`, which
 * are references: `$.input[.path]` or `$.steps.<id>.output[.path]`. Nested objects and
 * arrays are mapped recursively.
 */
export type InputMapping = JsonObject;

export interface StepDefinition {
  readonly id: string;
  readonly participant: string;
  readonly action: string;
  /** Saga only. A saga step without one is a pivot (see engine/saga/README.md). */
  readonly compensation?: string;
  readonly dependsOn?: readonly string[];
  readonly input?: InputMapping;
  /** How long to wait for the reply to one attempt. */
  readonly timeoutMs?: number;
  /** Overrides `defaults.retry` field by field. */
  readonly retry?: Partial<RetryPolicy>;
}

export interface DefinitionDefaults {
  readonly timeoutMs?: number;
  /** Overrides the built-in policy field by field. */
  readonly retry?: Partial<RetryPolicy>;
}

/** A workflow definition as registered over REST (validated, not yet resolved). */
export interface WorkflowDefinition {
  readonly name: string;
  readonly type: TxType;
  /** Whole-transaction deadline, counted from the start; without it there is none. */
  readonly timeoutMs?: number;
  readonly defaults?: DefinitionDefaults;
  readonly steps: readonly StepDefinition[];
}

/** A step with every default applied: what the state machines run. */
export interface ResolvedStep {
  readonly id: string;
  readonly participant: string;
  readonly action: string;
  readonly compensation: string | null;
  readonly dependsOn: readonly string[];
  readonly input: InputMapping | null;
  readonly timeoutMs: number;
  readonly retry: EffectiveRetryPolicy;
}

export interface ResolvedDefinition {
  readonly name: string;
  readonly type: TxType;
  readonly timeoutMs: number | null;
  readonly steps: readonly ResolvedStep[];
}

/** What applies where neither the step nor the definition's `defaults` say otherwise. */
export const BUILT_IN_DEFAULTS = {
  timeoutMs: 10_000,
  retry: { maxAttempts: 3, initialDelayMs: 200, multiplier: 2, maxDelayMs: 10_000, jitter: 'full' },
} as const satisfies { timeoutMs: number; retry: EffectiveRetryPolicy };

/** Layers retry overrides, later ones winning field by field, over the built-in policy. */
export function effectiveRetry(...overrides: readonly (Partial<RetryPolicy> | undefined)[]): EffectiveRetryPolicy {
  return overrides.reduce<EffectiveRetryPolicy>(
    (policy, override) => ({ ...policy, ...override }),
    BUILT_IN_DEFAULTS.retry,
  );
}

export function resolveDefinition(definition: WorkflowDefinition): ResolvedDefinition {
  const { defaults } = definition;
  return {
    name: definition.name,
    type: definition.type,
    timeoutMs: definition.timeoutMs ?? null,
    steps: definition.steps.map((step) => ({
      id: step.id,
      participant: step.participant,
      action: step.action,
      compensation: step.compensation ?? null,
      dependsOn: step.dependsOn ?? [],
      input: step.input ?? null,
      timeoutMs: step.timeoutMs ?? defaults?.timeoutMs ?? BUILT_IN_DEFAULTS.timeoutMs,
      retry: effectiveRetry(defaults?.retry, step.retry),
    })),
  };
}
