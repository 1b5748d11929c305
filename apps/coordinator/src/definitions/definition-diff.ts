import diff from 'microdiff';
import { WorkflowDefinition } from '../engine';

/** One field that differs; `path` is dot-separated (`retry.maxAttempts`, `input.sku`). */
export interface FieldChange {
  readonly path: string;
  readonly kind: 'added' | 'removed' | 'changed';
  /** Absent when added. */
  readonly from?: unknown;
  /** Absent when removed. */
  readonly to?: unknown;
}

export interface StepChange {
  readonly id: string;
  readonly kind: 'added' | 'removed' | 'changed';
  /** Every field of an added or removed step; the differing ones of a changed step. */
  readonly fields: readonly FieldChange[];
}

export interface DefinitionDiff {
  /** Fields of the definition outside its steps (`timeoutMs`, `defaults.retry.maxAttempts` …). */
  readonly fields: readonly FieldChange[];
  /** Steps matched by id, in the order of `to` (then the removed ones, in the order of `from`). */
  readonly steps: readonly StepChange[];
}

type Json = Record<string, unknown>;

/**
 * What changed from one version of a definition to another. Steps are matched by id, not by
 * position, so moving a step changes nothing and renaming one reads as removed + added. An
 * array (`dependsOn`) counts as one value: `[a, b] → [a, c]`, not its items one by one.
 */
export function diffDefinitions(from: WorkflowDefinition, to: WorkflowDefinition): DefinitionDiff {
  const { steps: fromSteps, ...fromRest } = from;
  const { steps: toSteps, ...toRest } = to;
  const before = new Map(fromSteps.map((step) => [step.id, step as unknown as Json]));
  const after = new Map(toSteps.map((step) => [step.id, step as unknown as Json]));
  const changed = [...after].flatMap(([id, step]): StepChange[] => {
    const old = before.get(id);
    if (!old) return [{ id, kind: 'added', fields: fieldChanges({}, step) }];
    const fields = fieldChanges(old, step);
    return fields.length === 0 ? [] : [{ id, kind: 'changed', fields }];
  });
  const removed = [...before]
    .filter(([id]) => !after.has(id))
    .map(([id, step]): StepChange => ({ id, kind: 'removed', fields: fieldChanges(step, {}) }));
  return { fields: fieldChanges(fromRest, toRest), steps: [...changed, ...removed] };
}

/** microdiff's changes, each array cut back to the array itself and reported once. */
function fieldChanges(from: Json, to: Json): FieldChange[] {
  const paths = new Map<string, (string | number)[]>();
  for (const { path } of diff(from, to)) {
    const inArray = path.findIndex((key) => typeof key === 'number');
    const cut = inArray === -1 ? path : path.slice(0, inArray);
    paths.set(cut.join('.'), cut);
  }
  return [...paths].map(([path, keys]) => {
    const old = valueAt(from, keys);
    const now = valueAt(to, keys);
    if (old === undefined) return { path, kind: 'added', to: now };
    if (now === undefined) return { path, kind: 'removed', from: old };
    return { path, kind: 'changed', from: old, to: now };
  });
}

function valueAt(root: Json, keys: readonly (string | number)[]): unknown {
  return keys.reduce<unknown>(
    (node, key) => (node !== null && typeof node === 'object' && Object.hasOwn(node, key) ? (node as Json)[key] : undefined),
    root,
  );
}
