import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { JsonObject } from '@ordo/protocol';
import { BusinessFailure } from './failures';

/** class-validator's messages name the property; a nested one is prefixed with its parent's path. */
function problems(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => (parent ? `${parent}: ${message}` : message));
    return [...own, ...problems(error.children ?? [], path)];
  });
}

/**
 * A command input checked against a class-validator class: the typed input, or a
 * BusinessFailure `INVALID_INPUT` naming every problem. A refusal, not a retry: the
 * coordinator sends every attempt of a step the same input, so retrying cannot help.
 * Keys the class does not declare (such as `_fault`) are dropped; no type conversion
 * happens, so `"2"` is not a number.
 */
export function parseInput<T extends object>(cls: new () => T, input: JsonObject): T {
  const parsed = plainToInstance(cls, input);
  const errors = validateSync(parsed, { whitelist: true });
  if (errors.length > 0) throw new BusinessFailure('INVALID_INPUT', problems(errors).join('; '));
  return parsed;
}
