import { WorkflowDefinition } from './definition';

/**
 * The definition as JSON text with the keys of every object in one fixed order (sorted, but
 * integer-like keys first, as JavaScript orders them; arrays keep their order). Two bodies
 * that differ only in key order give the same text, so a body identical to the latest
 * version can be recognised by comparing (or hashing) this text.
 */
export function canonicalDefinition(definition: WorkflowDefinition): string {
  return JSON.stringify(definition, (_key, value: unknown) =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : value,
  );
}
