import { JsonObject, PARTICIPANT_NAME_PATTERN, TX_TYPES, TxType } from '@ordo/protocol';
import { ancestors, DagNode, findCycles } from '../dag/dag';
import { AdaptiveTimeout, effectiveRetry, JITTERS, RetryPolicy, StepDefinition, WorkflowDefinition } from './definition';
import { isReference, parseReference } from './input-mapping';

export const PROBLEM_CODES = [
  'required',
  'invalid_type',
  'invalid_format',
  'invalid_value',
  'out_of_range',
  'unknown_field',
  'not_applicable',
  'no_steps',
  'too_many_steps',
  'duplicate_step_id',
  'duplicate_dependency',
  'unknown_dependency',
  'self_dependency',
  'dependency_cycle',
  'invalid_retry_policy',
  'invalid_adaptive_timeout',
  'invalid_reference',
  'unknown_step_reference',
  'reference_not_ancestor',
] as const;
export type ProblemCode = (typeof PROBLEM_CODES)[number];

/** One thing wrong with a definition; `path` locates it (`steps[2].retry.maxAttempts`, '' = the body). */
export interface Problem {
  readonly path: string;
  readonly code: ProblemCode;
  readonly message: string;
}

export type ValidationResult =
  { readonly ok: true; readonly definition: WorkflowDefinition } | { readonly ok: false; readonly problems: readonly Problem[] };

const HOUR_MS = 3_600_000;
export const DEFINITION_LIMITS = {
  maxSteps: 100,
  maxTransactionTimeoutMs: 30 * 24 * HOUR_MS,
  maxStepTimeoutMs: 24 * HOUR_MS,
  maxAttempts: 100,
  maxDelayMs: 24 * HOUR_MS,
  maxMultiplier: 10,
  maxTimeoutFactor: 10,
  minTimeoutPercentile: 50,
  maxMappingDepth: 16,
} as const;

export const DEFINITION_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,99}$/;
/** No dots: `$.steps.<id>.output` must parse unambiguously. */
export const STEP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const ACTION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

const DEFINITION_FIELDS = ['name', 'type', 'timeoutMs', 'defaults', 'steps'] as const;
const DEFAULTS_FIELDS = ['timeoutMs', 'adaptiveTimeout', 'retry'] as const;
const ADAPTIVE_TIMEOUT_FIELDS = ['minMs', 'maxMs', 'percentile', 'factor'] as const;
const RETRY_FIELDS = ['maxAttempts', 'initialDelayMs', 'multiplier', 'maxDelayMs', 'jitter'] as const;
const STEP_FIELDS = ['id', 'participant', 'action', 'compensation', 'dependsOn', 'input', 'timeoutMs', 'adaptiveTimeout', 'retry'] as const;

/**
 * Checks a definition body as received over REST and reports every problem at once, so a
 * user fixes a definition in one round trip.
 */
export function validateDefinition(body: unknown): ValidationResult {
  const problems = new Problems();
  const root = asRecord(body, '', problems);
  if (!root) return problems.result();
  checkFields(root, DEFINITION_FIELDS, '', problems);
  const namePattern = matching(DEFINITION_NAME_PATTERN, 'lower-case letters, digits, ".", "_" or "-", at most 100');
  const name = field(root, 'name', '', problems, true, namePattern);
  const type = field(root, 'type', '', problems, true, oneOf(TX_TYPES));
  const { maxTransactionTimeoutMs } = DEFINITION_LIMITS;
  const timeoutMs = field(root, 'timeoutMs', '', problems, false, integerIn(1, maxTransactionTimeoutMs));
  const defaults = field(root, 'defaults', '', problems, false, readDefaults);
  const steps = field(root, 'steps', '', problems, true, (value, at) => readSteps(value, at, problems, type, defaults));
  // With no problem reported, every required field was read.
  return problems.result(compact({ name, type, timeoutMs, defaults, steps }) as WorkflowDefinition);
}

class Problems {
  private readonly list: Problem[] = [];

  get count(): number {
    return this.list.length;
  }

  /** Returns undefined so a reader can `return problems.report(…)`. */
  report(path: string, code: ProblemCode, message: string): undefined {
    this.list.push({ path, code, message });
    return undefined;
  }

  result(definition?: WorkflowDefinition): ValidationResult {
    return this.list.length === 0 && definition ? { ok: true, definition } : { ok: false, problems: this.list };
  }
}

type Reader<T> = (value: unknown, path: string, problems: Problems) => T | undefined;

function readDefaults(value: unknown, path: string, problems: Problems): WorkflowDefinition['defaults'] {
  const record = asRecord(value, path, problems);
  if (!record) return undefined;
  checkFields(record, DEFAULTS_FIELDS, path, problems);
  return compact({
    ...readTimeout(record, path, problems),
    retry: field(record, 'retry', path, problems, false, (retry, retryPath) => readRetry(retry, retryPath, problems)),
  });
}

function readSteps(
  value: unknown,
  path: string,
  problems: Problems,
  type: TxType | undefined,
  defaults: WorkflowDefinition['defaults'],
): Partial<StepDefinition>[] | undefined {
  const { maxSteps } = DEFINITION_LIMITS;
  if (!Array.isArray(value)) return problems.report(path, 'invalid_type', 'must be an array of steps');
  if (value.length === 0) return problems.report(path, 'no_steps', 'a definition needs at least one step');
  if (value.length > maxSteps) {
    return problems.report(path, 'too_many_steps', `at most ${maxSteps} steps (got ${value.length})`);
  }
  const steps = value.map((step, index) => readStep(step, `${path}[${index}]`, problems, type, defaults));
  checkGraph(steps, path, problems);
  return steps;
}

function readStep(
  value: unknown,
  path: string,
  problems: Problems,
  type: TxType | undefined,
  defaults: WorkflowDefinition['defaults'],
): Partial<StepDefinition> {
  const record = asRecord(value, path, problems);
  if (!record) return {};
  checkFields(record, STEP_FIELDS, path, problems);
  if (type !== undefined && type !== 'saga' && Object.hasOwn(record, 'compensation')) {
    const message = `${type} steps have implicit undo phases; remove "compensation"`;
    problems.report(`${path}.compensation`, 'not_applicable', message);
  }
  const id = matching(STEP_ID_PATTERN, 'letters, digits, "_" or "-", at most 64');
  const participant = matching(PARTICIPANT_NAME_PATTERN, 'a lower-case letter, then lower-case letters, digits or "-"');
  const action = matching(ACTION_PATTERN, 'letters, digits, ".", "_", ":" or "-", at most 100');
  const retry: Reader<Partial<RetryPolicy>> = (value, at) => readRetry(value, at, problems, defaults?.retry);
  return compact({
    id: field(record, 'id', path, problems, true, id),
    participant: field(record, 'participant', path, problems, true, participant),
    action: field(record, 'action', path, problems, true, action),
    compensation: field(record, 'compensation', path, problems, false, action),
    dependsOn: field(record, 'dependsOn', path, problems, false, readDependsOn),
    input: field(record, 'input', path, problems, false, readMapping),
    ...readTimeout(record, path, problems),
    retry: field(record, 'retry', path, problems, false, retry),
  });
}

/**
 * A retry override. Its fields are checked one by one, then the policy it produces once
 * layered over `base` (the definition's defaults) must keep maxDelayMs ≥ initialDelayMs.
 */
function readRetry(value: unknown, path: string, problems: Problems, base?: Partial<RetryPolicy>): Partial<RetryPolicy> | undefined {
  const record = asRecord(value, path, problems);
  if (!record) return undefined;
  const before = problems.count;
  checkFields(record, RETRY_FIELDS, path, problems);
  const { maxAttempts, maxDelayMs, maxMultiplier } = DEFINITION_LIMITS;
  const retry: Partial<RetryPolicy> = compact({
    maxAttempts: field(record, 'maxAttempts', path, problems, false, integerIn(1, maxAttempts)),
    initialDelayMs: field(record, 'initialDelayMs', path, problems, false, integerIn(0, maxDelayMs)),
    multiplier: field(record, 'multiplier', path, problems, false, numberIn(1, maxMultiplier)),
    maxDelayMs: field(record, 'maxDelayMs', path, problems, false, integerIn(0, maxDelayMs)),
    jitter: field(record, 'jitter', path, problems, false, oneOf(JITTERS)),
  });
  const touchesDelays = retry.initialDelayMs !== undefined || retry.maxDelayMs !== undefined;
  const effective = effectiveRetry(base, retry);
  if (problems.count === before && touchesDelays && effective.maxDelayMs < effective.initialDelayMs) {
    problems.report(
      `${path}.maxDelayMs`,
      'invalid_retry_policy',
      `maxDelayMs (${effective.maxDelayMs}) must be at least initialDelayMs (${effective.initialDelayMs})`,
    );
  }
  return retry;
}

/** A step's (or the defaults') timeout: fixed (`timeoutMs`) or adaptive, not both. */
function readTimeout(record: Record<string, unknown>, path: string, problems: Problems): Pick<StepDefinition, 'timeoutMs' | 'adaptiveTimeout'> {
  const timeoutMs = field(record, 'timeoutMs', path, problems, false, integerIn(1, DEFINITION_LIMITS.maxStepTimeoutMs));
  const adaptiveTimeout = field(record, 'adaptiveTimeout', path, problems, false, readAdaptiveTimeout);
  if (Object.hasOwn(record, 'timeoutMs') && Object.hasOwn(record, 'adaptiveTimeout')) {
    const message = 'a timeout is either fixed (timeoutMs) or adaptive (adaptiveTimeout); remove one';
    problems.report(childPath(path, 'adaptiveTimeout'), 'not_applicable', message);
  }
  return { timeoutMs, adaptiveTimeout };
}

function readAdaptiveTimeout(value: unknown, path: string, problems: Problems): AdaptiveTimeout | undefined {
  const record = asRecord(value, path, problems);
  if (!record) return undefined;
  const before = problems.count;
  checkFields(record, ADAPTIVE_TIMEOUT_FIELDS, path, problems);
  const { maxStepTimeoutMs, minTimeoutPercentile, maxTimeoutFactor } = DEFINITION_LIMITS;
  const timeout: Partial<AdaptiveTimeout> = compact({
    minMs: field(record, 'minMs', path, problems, true, integerIn(1, maxStepTimeoutMs)),
    maxMs: field(record, 'maxMs', path, problems, true, integerIn(1, maxStepTimeoutMs)),
    percentile: field(record, 'percentile', path, problems, false, numberIn(minTimeoutPercentile, 100)),
    factor: field(record, 'factor', path, problems, false, numberIn(1, maxTimeoutFactor)),
  });
  // A factor of 1 would never grow past the timeouts it observes (a timeout counts as a reply time that long).
  if (timeout.factor === 1) problems.report(`${path}.factor`, 'out_of_range', 'must be greater than 1');
  if (problems.count > before || timeout.minMs === undefined || timeout.maxMs === undefined) return undefined;
  if (timeout.maxMs < timeout.minMs) {
    const message = `maxMs (${timeout.maxMs}) must be at least minMs (${timeout.minMs})`;
    return problems.report(`${path}.maxMs`, 'invalid_adaptive_timeout', message);
  }
  return timeout as AdaptiveTimeout;
}

function readDependsOn(value: unknown, path: string, problems: Problems): string[] | undefined {
  if (!Array.isArray(value)) return problems.report(path, 'invalid_type', 'must be an array of step ids');
  value.forEach((id: unknown, index) => {
    const at = `${path}[${index}]`;
    if (typeof id !== 'string') problems.report(at, 'invalid_type', 'must be a step id');
    else if (value.indexOf(id) !== index) problems.report(at, 'duplicate_dependency', `"${id}" is listed twice`);
  });
  // The graph checks need every id, and report positions in this very list.
  return value.every((id) => typeof id === 'string') ? value : undefined;
}

function readMapping(value: unknown, path: string, problems: Problems): JsonObject | undefined {
  const record = asRecord(value, path, problems);
  if (!record) return undefined;
  for (const leaf of leaves(record, path)) {
    if (leaf.value !== null && typeof leaf.value === 'object') {
      problems.report(leaf.path, 'out_of_range', `nested deeper than ${DEFINITION_LIMITS.maxMappingDepth} levels`);
    } else if (!isJsonScalar(leaf.value)) {
      problems.report(leaf.path, 'invalid_type', 'must be JSON');
    } else if (isReference(leaf.value) && !parseReference(leaf.value)) {
      problems.report(leaf.path, 'invalid_reference', `"${leaf.value}" is not $.input[.key…] or $.steps.<step id>.output[.key…]`);
    }
  }
  return record as JsonObject;
}

/** Dependencies and references between steps: they need every step's id first. */
function checkGraph(steps: readonly Partial<StepDefinition>[], path: string, problems: Problems): void {
  const indexById = new Map<string, number>();
  steps.forEach(({ id }, index) => {
    if (id === undefined) return;
    const first = indexById.get(id);
    if (first === undefined) indexById.set(id, index);
    else problems.report(`${path}[${index}].id`, 'duplicate_step_id', `"${id}" is already the id of ${path}[${first}]`);
  });
  const nodes: DagNode[] = [...indexById].map(([id, index]) => ({ id, dependsOn: steps[index].dependsOn ?? [] }));

  steps.forEach((step, index) =>
    step.dependsOn?.forEach((dependency, position) => {
      const at = `${path}[${index}].dependsOn[${position}]`;
      if (dependency === step.id) problems.report(at, 'self_dependency', `step "${dependency}" depends on itself`);
      else if (!indexById.has(dependency)) problems.report(at, 'unknown_dependency', `no step has id "${dependency}"`);
    }),
  );

  for (const cycle of findCycles(nodes)) {
    problems.report(
      `${path}[${indexById.get(cycle[0])}].dependsOn`,
      'dependency_cycle',
      `steps depend on each other in a cycle: ${[...cycle, cycle[0]].join(' → ')}`,
    );
  }

  steps.forEach(({ id, input }, index) => {
    if (id === undefined || input === undefined) return;
    const reachable = ancestors(nodes, id);
    for (const leaf of leaves(input, `${path}[${index}].input`)) {
      const reference = isReference(leaf.value) ? parseReference(leaf.value) : null;
      if (reference?.source !== 'step') continue;
      if (!indexById.has(reference.stepId)) {
        problems.report(leaf.path, 'unknown_step_reference', `no step has id "${reference.stepId}"`);
      } else if (!reachable.has(reference.stepId)) {
        problems.report(
          leaf.path,
          'reference_not_ancestor',
          `"${id}" does not depend, even transitively, on "${reference.stepId}": that output may not exist yet`,
        );
      }
    }
  });
}

// ---- field readers ----

function field<T>(
  record: Record<string, unknown>,
  key: string,
  parent: string,
  problems: Problems,
  required: boolean,
  read: Reader<T>,
): T | undefined {
  const path = childPath(parent, key);
  if (Object.hasOwn(record, key) && record[key] !== undefined) return read(record[key], path, problems);
  if (required) problems.report(path, 'required', `"${key}" is required`);
  return undefined;
}

function matching(pattern: RegExp, description: string): Reader<string> {
  return (value, path, problems) => {
    if (typeof value !== 'string') return problems.report(path, 'invalid_type', 'must be a string');
    if (!pattern.test(value)) return problems.report(path, 'invalid_format', `must be ${description}`);
    return value;
  };
}

function oneOf<T extends string>(allowed: readonly T[]): Reader<T> {
  return (value, path, problems) => {
    const match = allowed.find((candidate) => candidate === value);
    if (match === undefined) problems.report(path, 'invalid_value', `must be one of ${allowed.join(', ')}`);
    return match;
  };
}

function numberIn(min: number, max: number, integer = false): Reader<number> {
  const kind = integer ? 'an integer' : 'a number';
  return (value, path, problems) => {
    if (typeof value !== 'number' || (integer ? !Number.isSafeInteger(value) : !Number.isFinite(value))) {
      return problems.report(path, 'invalid_type', `must be ${kind}`);
    }
    if (value < min || value > max) return problems.report(path, 'out_of_range', `must be between ${min} and ${max}`);
    return value;
  };
}

function integerIn(min: number, max: number): Reader<number> {
  return numberIn(min, max, true);
}

function asRecord(value: unknown, path: string, problems: Problems): Record<string, unknown> | undefined {
  return isRecord(value) ? value : problems.report(path, 'invalid_type', 'must be an object');
}

function checkFields(record: Record<string, unknown>, known: readonly string[], path: string, problems: Problems): void {
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) problems.report(childPath(path, key), 'unknown_field', `unknown field "${key}"`);
  }
}

// ---- helpers ----

interface Leaf {
  readonly path: string;
  readonly value: unknown;
}

/** The scalar values of a mapping; containers past the depth limit are returned as leaves. */
function leaves(value: unknown, path: string, depth = 0): Leaf[] {
  if (depth < DEFINITION_LIMITS.maxMappingDepth) {
    if (Array.isArray(value)) return value.flatMap((item, index) => leaves(item, `${path}[${index}]`, depth + 1));
    if (isRecord(value)) {
      return Object.entries(value).flatMap(([key, item]) => leaves(item, childPath(path, key), depth + 1));
    }
  }
  return [{ path, value }];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isJsonScalar(value: unknown): value is null | boolean | number | string {
  return value === null || typeof value === 'boolean' || typeof value === 'string' || Number.isFinite(value);
}

function childPath(parent: string, key: string): string {
  const segment = /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
  if (parent === '') return segment;
  return segment === key ? `${parent}.${key}` : `${parent}[${segment}]`;
}

/** Drops undefined fields, so a definition carries only what was given. */
function compact<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as T;
}
