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

export interface JsonChecks {
  maxDepth?: number;
  /** Skip the text checks (for values that are not stored as they are). */
  anyText?: boolean;
}

// In a `u` regex a surrogate pair is one code point, so only an unpaired half is a Cs one.
const LONE_SURROGATE = /\p{Cs}/u;
const LONE_SURROGATES = /\p{Cs}/gu;

/**
 * Why PostgreSQL cannot store `text` (in jsonb or text), or nothing. JSON allows both cases,
 * and JSON.parse takes them: U+0000, and an unpaired UTF-16 surrogate ("\ud83d", what is
 * left of an emoji cut in half), which jsonb refuses and a text column turns into U+FFFD.
 */
export function unstorableText(text: string): string | undefined {
  if (text.includes('\u0000')) return 'U+0000';
  const lone = LONE_SURROGATE.exec(text);
  if (lone) return `an unpaired UTF-16 surrogate (U+${lone[0].charCodeAt(0).toString(16).toUpperCase()})`;
  return undefined;
}

/**
 * `text` made storable: U+0000 dropped and each unpaired surrogate replaced by U+FFFD. For
 * diagnostic text a sender builds (an exception's message cut in the middle of an emoji),
 * which is better delivered a little changed than refused; never for business data.
 */
export function storableText(text: string): string {
  return unstorableText(text) === undefined ? text : text.replaceAll('\u0000', '').replace(LONE_SURROGATES, '\uFFFD');
}

/**
 * The first problem that keeps `value` from being processed and stored in jsonb: nesting
 * deeper than `maxDepth`, or text PostgreSQL cannot store (unstorableText) in a string or
 * a key. Iterative, so a value nested far too deep is reported rather than overflowing the
 * stack. The one check of the protocol parser and of REST bodies.
 */
export function jsonProblem(value: unknown, { maxDepth = MAX_JSON_DEPTH, anyText = false }: JsonChecks = {}): JsonProblem | undefined {
  const pending: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value: item, path, depth } = next;
    if (typeof item === 'string') {
      const bad = anyText ? undefined : unstorableText(item);
      if (bad) return { path, message: `must not contain ${bad}` };
      continue;
    }
    if (typeof item !== 'object' || item === null) continue;
    if (depth >= maxDepth) return { path, message: `nested deeper than ${maxDepth} levels` };
    if (Array.isArray(item)) {
      item.forEach((child, index) => pending.push({ value: child, path: `${path}[${index}]`, depth: depth + 1 }));
      continue;
    }
    for (const [key, child] of Object.entries(item)) {
      const bad = anyText ? undefined : unstorableText(key);
      if (bad) return { path, message: `keys must not contain ${bad}` };
      pending.push({ value: child, path: path === '' ? key : `${path}.${key}`, depth: depth + 1 });
    }
  }
  return undefined;
}
