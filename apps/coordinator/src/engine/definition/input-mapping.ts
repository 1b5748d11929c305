import { Json, JsonObject } from '@ordo/protocol';
import { InputMapping } from './definition';

/** A parsed `$.…` string: where a mapped value comes from. */
export type Reference =
  | { readonly source: 'input'; readonly path: readonly string[] }
  | { readonly source: 'step'; readonly stepId: string; readonly path: readonly string[] };

export type StepOutputs = Readonly<Record<string, JsonObject | null>>;

const REFERENCE_PREFIX = '$.';
// Step ids cannot contain dots, so the first segment after `steps.` is always the id.
const REFERENCE = /^\$\.(?:input|steps\.([^.]+)\.output)((?:\.[^.]+)*)$/;
const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

/** Every string starting with `$.` is a reference; there is no escape for literal ones. */
export function isReference(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(REFERENCE_PREFIX);
}

/** Parses a reference, or returns null when it is malformed. */
export function parseReference(text: string): Reference | null {
  const match = REFERENCE.exec(text);
  if (!match) return null;
  const [, stepId, rest] = match;
  const path = rest === '' ? [] : rest.slice(1).split('.');
  return stepId === undefined ? { source: 'input', path } : { source: 'step', stepId, path };
}

/**
 * The input a step's command carries. Without a mapping it is the transaction input.
 * A reference that resolves to nothing (missing key, out-of-range index, a step with no
 * output) yields null rather than dropping the key, so a participant always sees the shape
 * the definition declares.
 */
export function resolveInput(mapping: InputMapping | null | undefined, txInput: JsonObject, stepOutputs: StepOutputs): JsonObject {
  if (!mapping) return txInput;
  return mapObject(mapping, (value) => resolveValue(value, txInput, stepOutputs));
}

function resolveValue(value: Json, txInput: JsonObject, stepOutputs: StepOutputs): Json {
  if (isReference(value)) return lookup(parseReference(value), txInput, stepOutputs);
  if (Array.isArray(value)) return value.map((item) => resolveValue(item, txInput, stepOutputs));
  if (value !== null && typeof value === 'object') {
    return mapObject(value, (item) => resolveValue(item, txInput, stepOutputs));
  }
  return value;
}

function lookup(reference: Reference | null, txInput: JsonObject, stepOutputs: StepOutputs): Json {
  if (!reference) return null;
  const root = reference.source === 'input' ? txInput : ownValue(stepOutputs, reference.stepId);
  const found = reference.path.reduce<Json | undefined>((node, key) => child(node, key), root ?? undefined);
  return found ?? null;
}

function child(node: Json | undefined, key: string): Json | undefined {
  if (Array.isArray(node)) return ARRAY_INDEX.test(key) ? node[Number(key)] : undefined;
  if (node !== null && typeof node === 'object') return ownValue(node, key);
  return undefined;
}

// Own properties only: `$.input.constructor` must not reach Object.prototype.
function ownValue<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

// fromEntries defines properties, so a `__proto__` key stays an ordinary key.
function mapObject(object: JsonObject, fn: (value: Json) => Json): JsonObject {
  return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, fn(value)]));
}
