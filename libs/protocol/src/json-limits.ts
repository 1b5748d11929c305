/**
 * How deep JSON values may nest in messages and request bodies. Deeper values are refused
 * up front: JSON.stringify, class-transformer and PostgreSQL's jsonb parser all recurse and
 * would fail on them (a stack overflow, not a clear answer).
 */
export const MAX_JSON_DEPTH = 64;

/** What makes a parsed JSON value unfit to process or store, and where. */
export interface JsonProblem {
  /** `input.items[3].name`; '' is the value itself. */
  path: string;
  message: string;
}

const NUL = '\u0000';

export interface JsonChecks {
  maxDepth?: number;
  /** Skip the U+0000 check (for values that are not stored as they are). */
  allowNul?: boolean;
}

/**
 * The first problem of `value`: nesting deeper than `maxDepth`, or U+0000 in a string or a
 * key (valid JSON, but PostgreSQL's jsonb and text cannot hold it). Iterative, so a value
 * nested far too deep is reported rather than overflowing the stack.
 */
export function jsonProblem(value: unknown, { maxDepth = MAX_JSON_DEPTH, allowNul = false }: JsonChecks = {}): JsonProblem | undefined {
  const pending: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value: item, path, depth } = next;
    if (typeof item === 'string') {
      if (!allowNul && item.includes(NUL)) return { path, message: 'must not contain U+0000' };
      continue;
    }
    if (typeof item !== 'object' || item === null) continue;
    if (depth >= maxDepth) return { path, message: `nested deeper than ${maxDepth} levels` };
    if (Array.isArray(item)) {
      item.forEach((child, index) => pending.push({ value: child, path: `${path}[${index}]`, depth: depth + 1 }));
      continue;
    }
    for (const [key, child] of Object.entries(item)) {
      if (!allowNul && key.includes(NUL)) return { path, message: 'keys must not contain U+0000' };
      pending.push({ value: child, path: path === '' ? key : `${path}.${key}`, depth: depth + 1 });
    }
  }
  return undefined;
}
