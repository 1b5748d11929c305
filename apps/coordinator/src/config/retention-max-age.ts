/** RETENTION_MAX_AGE's syntax: a whole number with a unit, or `0` / `off`. */
export const DURATION_OR_OFF = /^(0|off|\d+(ms|s|m|h|d))$/;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** RETENTION_MAX_AGE in milliseconds; null when retention is off. */
export function maxAgeMs(setting: string): number | null {
  const match = DURATION_OR_OFF.exec(setting);
  if (!match) throw new Error(`not a retention age: ${setting}`);
  if (match[1] === '0' || match[1] === 'off') return null;
  const ms = Number.parseInt(setting, 10) * UNIT_MS[match[2]];
  return ms > 0 ? ms : null;
}
