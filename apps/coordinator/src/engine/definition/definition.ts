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
 * A timeout that follows the participant's observed reply times: `factor` times their
 * `percentile`th, kept within [minMs, maxMs]; maxMs until enough replies are known
 * (engine/timeouts/adaptive-timeout.ts).
 */
export interface AdaptiveTimeout {
  readonly minMs: number;
  readonly maxMs: number;
  /** Which percentile of the recent reply times, 50–100 (100: the slowest kept). */
  readonly percentile?: number;
  /** How many times that percentile an attempt waits; above 1. */
  readonly factor?: number;
}

export type EffectiveAdaptiveTimeout = Required<AdaptiveTimeout>;

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
  /** Instead of `timeoutMs`: a timeout that follows the participant's reply times. */
  readonly adaptiveTimeout?: AdaptiveTimeout;
  /** Overrides `defaults.retry` field by field. */
  readonly retry?: Partial<RetryPolicy>;
}

export interface DefinitionDefaults {
  readonly timeoutMs?: number;
  readonly adaptiveTimeout?: AdaptiveTimeout;
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
  /** The fixed timeout of each attempt; with an adaptive timeout, its `maxMs` (the longest an attempt waits). */
  readonly timeoutMs: number;
  /** Null: every attempt waits `timeoutMs`. */
  readonly adaptiveTimeout: EffectiveAdaptiveTimeout | null;
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
  adaptiveTimeout: { percentile: 99, factor: 2 },
} as const satisfies {
  timeoutMs: number;
  retry: EffectiveRetryPolicy;
  adaptiveTimeout: Omit<EffectiveAdaptiveTimeout, 'minMs' | 'maxMs'>;
};

/** Layers retry overrides, later ones winning field by field, over the built-in policy. */
export function effectiveRetry(...overrides: readonly (Partial<RetryPolicy> | undefined)[]): EffectiveRetryPolicy {
  return overrides.reduce<EffectiveRetryPolicy>((policy, override) => ({ ...policy, ...override }), BUILT_IN_DEFAULTS.retry);
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
      ...(ownTimeout(step) ?? ownTimeout(defaults) ?? { timeoutMs: BUILT_IN_DEFAULTS.timeoutMs, adaptiveTimeout: null }),
      retry: effectiveRetry(defaults?.retry, step.retry),
    })),
  };
}

/** The timeout a step or the defaults set, in either form (validation allows one of them); undefined if neither. */
function ownTimeout(
  source: Pick<StepDefinition, 'timeoutMs' | 'adaptiveTimeout'> | undefined,
): Pick<ResolvedStep, 'timeoutMs' | 'adaptiveTimeout'> | undefined {
  if (source?.adaptiveTimeout) {
    const adaptiveTimeout = { ...BUILT_IN_DEFAULTS.adaptiveTimeout, ...source.adaptiveTimeout };
    return { timeoutMs: adaptiveTimeout.maxMs, adaptiveTimeout };
  }
  return source?.timeoutMs === undefined ? undefined : { timeoutMs: source.timeoutMs, adaptiveTimeout: null };
}

/** The step's definition; a step of the state missing from its pinned definition is a bug. */
export function stepSpec(definition: ResolvedDefinition, stepId: string): ResolvedStep {
  const spec = definition.steps.find((step) => step.id === stepId);
  if (!spec) throw new Error(`invariant: step ${stepId} is not in definition ${definition.name}`);
  return spec;
}
