import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync, ValidationError } from 'class-validator';
import { readFileSync } from 'fs';

/** A configuration problem, reported as one line naming every bad setting. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

// Settings whose values must not reach a log line (a URL may embed a password); the path
// of a *_FILE setting is no secret, and an operator needs to see it.
const SECRET = /URL|PASSWORD|SECRET|KEY|TOKEN/;
const isSecret = (setting: string) => SECRET.test(setting) && !setting.endsWith('_FILE');

/** Appended to a setting's name, names a file holding its value (e.g. a mounted secret). */
const FILE_SUFFIX = '_FILE';

function describe(error: ValidationError): string {
  const value = error.value === undefined ? 'it is not set' : isSecret(error.property) ? 'value hidden' : `got "${String(error.value)}"`;
  const rules = Object.values(error.constraints ?? {});
  return `${error.property}: ${rules.join('; ')} (${value})`;
}

/**
 * The environment with every `<SETTING>_FILE=<path>` of a setting of `cls` replaced by
 * `<SETTING>=<the file's content>` (without trailing line breaks), so secrets can come from
 * files (Docker and Kubernetes secrets) instead of the environment; `problems` holds, by
 * setting, each file that cannot be read and each setting given both ways.
 */
function readSettingFiles(cls: new () => object, env: Record<string, unknown>) {
  const settings = new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(cls, '', true, false)
      .map((m) => m.propertyName),
  );
  const resolved = { ...env };
  const problems = new Map<string, string>();
  for (const [name, path] of Object.entries(env)) {
    const setting = name.slice(0, -FILE_SUFFIX.length);
    // A setting whose own name ends in _FILE (a path setting) is not this mechanism's.
    if (!name.endsWith(FILE_SUFFIX) || !settings.has(setting) || settings.has(name) || path === undefined || path === '') continue;
    delete resolved[name];
    if (env[setting] !== undefined && env[setting] !== '') {
      problems.set(setting, `${setting}: set either ${setting} or ${name}, not both`);
      continue;
    }
    try {
      resolved[setting] = readFileSync(path as string, 'utf8').replace(/[\r\n]+$/, '');
    } catch (error) {
      problems.set(setting, `${name}: cannot read ${path as string} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }
  return { env: resolved, problems };
}

/**
 * Turns the environment into a typed, validated settings object; throws ConfigError
 * naming every invalid setting. Used by ConfigModule's `validate` and by main.ts.
 */
export function validateConfig<T extends object>(cls: new () => T, env: Record<string, unknown>): T {
  const { env: resolved, problems } = readSettingFiles(cls, env);
  const config = plainToInstance(cls, resolved, { enableImplicitConversion: true, exposeDefaultValues: true });
  const errors = validateSync(config, { skipMissingProperties: false, whitelist: false });
  // A setting given both ways, or from an unreadable file, is reported once, as that.
  const all = [...problems.values(), ...errors.filter((error) => !problems.has(error.property)).map(describe)];
  if (all.length > 0) throw new ConfigError(`Invalid configuration: ${all.join(' | ')}`);
  return config;
}
