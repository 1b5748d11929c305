import { registerDecorator, ValidationArguments, ValidationOptions } from 'class-validator';

/**
 * Business keys: string tags a transaction carries (`orderId`, `customer` …) so that it can
 * be found by them. Given at the start and never changed, so the GIN index over them costs
 * the hot row's updates nothing (they stay HOT: see migration 1765600000000-tags).
 */
export type Tags = Readonly<Record<string, string>>;

/** A tag's name: a letter, then letters, digits, `_`, `.`, `-`; never `:` or `=`, which separate it from its value. */
const TAG_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
export const MAX_TAG_VALUE_LENGTH = 200;
export const MAX_TAGS = 16;

/** 1–200 characters, none of them a control character (U+0000 cannot even be stored). */
const TAG_VALUE_PATTERN = new RegExp(`^[^\\u0000-\\u001f\\u007f]{1,${MAX_TAG_VALUE_LENGTH}}$`);

/** `key:value` as the list filter takes it (`?tag=orderId:o-1`); the value may hold `:`. */
export const TAG_FILTER_PATTERN = new RegExp(`^${TAG_KEY_PATTERN.source.slice(1, -1)}:${TAG_VALUE_PATTERN.source.slice(1)}`);

/** What is wrong with a tags object, or null when nothing is. */
export function tagsProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object of string values';
  const entries = Object.entries(value);
  if (entries.length > MAX_TAGS) return `must hold at most ${MAX_TAGS} tags`;
  for (const [key, tag] of entries) {
    if (!TAG_KEY_PATTERN.test(key)) return `key "${key.slice(0, 70)}" must be a letter followed by at most 62 letters, digits, "_", "." or "-"`;
    if (typeof tag !== 'string' || !TAG_VALUE_PATTERN.test(tag)) {
      return `${key} must be a string of 1 to ${MAX_TAG_VALUE_LENGTH} characters without control characters`;
    }
  }
  return null;
}

/** class-validator: a tags object (see tagsProblem). */
export function IsTags(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isTags',
      target: target.constructor,
      propertyName: String(propertyName),
      options,
      validator: {
        validate: (value: unknown) => tagsProblem(value) === null,
        defaultMessage: ({ property, value }: ValidationArguments) => `${property} ${tagsProblem(value)}`,
      },
    });
}

/** `key:value` as a one-tag object, for `tags @> …`. */
export function tagOfFilter(filter: string): Tags {
  const colon = filter.indexOf(':');
  return { [filter.slice(0, colon)]: filter.slice(colon + 1) };
}
