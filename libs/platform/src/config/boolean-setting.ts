import { Transform } from 'class-transformer';
import { IsBoolean } from 'class-validator';

const BOOLEANS: Record<string, boolean> = { true: true, false: false, on: true, off: false };

/** A yes/no setting: `true` / `on` or `false` / `off`. */
export function BooleanSetting(): PropertyDecorator {
  // From the raw text: implicit conversion would read "false" as true.
  const parse = Transform(({ obj, key }: { obj: Record<string, unknown>; key: string }) => BOOLEANS[String(obj[key])] ?? obj[key]);
  const check = IsBoolean({ message: 'must be on or off (or true / false)' });
  return (target, key) => {
    parse(target, key);
    check(target, key);
  };
}
