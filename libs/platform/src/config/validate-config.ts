import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';

/** A configuration problem, reported as one line naming every bad setting. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

// Settings whose values must not reach a log line (a URL may embed a password); the path
// of a *_FILE setting is no secret, and an operator needs to see it.
const SECRET = /URL|PASSWORD|SECRET|KEY|TOKEN/;
const isSecret = (setting: string) => SECRET.test(setting) && !setting.endsWith('_FILE');

function describe(error: ValidationError): string {
  const value =
    error.value === undefined ? 'it is not set' : isSecret(error.property) ? 'value hidden' : `got "${String(error.value)}"`;
  const rules = Object.values(error.constraints ?? {});
  return `${error.property}: ${rules.join('; ')} (${value})`;
}

/**
 * Turns the environment into a typed, validated settings object; throws ConfigError
 * naming every invalid setting. Used by ConfigModule's `validate` and by main.ts.
 */
export function validateConfig<T extends object>(cls: new () => T, env: Record<string, unknown>): T {
  const config = plainToInstance(cls, env, { enableImplicitConversion: true, exposeDefaultValues: true });
  const errors = validateSync(config, { skipMissingProperties: false, whitelist: false });
  if (errors.length > 0) {
    throw new ConfigError(`Invalid configuration: ${errors.map(describe).join(' | ')}`);
  }
  return config;
}
