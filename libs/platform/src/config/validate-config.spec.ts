import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { AppConfig } from './app-config';
import { ConfigError, validateConfig } from './validate-config';

const valid = { DATABASE_URL: 'postgres://u:secret@db:5432/ordo', DATABASE_SCHEMA: 'ordo', KAFKA_BROKERS: 'k1:9092, k2:9092' };

describe('validateConfig', () => {
  it('converts and defaults settings', () => {
    const config = validateConfig(AppConfig, { ...valid, PORT: '8080' });
    expect(config.PORT).toBe(8080);
    expect(config.KAFKA_BROKERS).toEqual(['k1:9092', 'k2:9092']);
    expect(config.KAFKA_TOPIC_PREFIX).toBe('');
    expect(config.DATABASE_POOL_SIZE).toBe(20);
  });

  it('names every bad setting in one line and hides secret values', () => {
    let error: unknown;
    try {
      validateConfig(AppConfig, { ...valid, DATABASE_URL: 'mysql://u:secret@db', KAFKA_BROKERS: 'nohostport', PORT: '-1' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).not.toContain('secret');
    expect(message).toContain('PORT: PORT must not be less than 0 (got "-1")');
    expect(message).toContain('DATABASE_URL: must be a postgres:// connection URL (value hidden)');
    expect(message).toContain('KAFKA_BROKERS: must be a comma-separated list of host:port');
  });

  it('reports settings that are not set', () => {
    expect(() => validateConfig(AppConfig, {})).toThrow(/DATABASE_URL: .*\(it is not set\)/);
  });

  it('keeps failure injection off by default, and refuses it in production', () => {
    expect(validateConfig(AppConfig, valid).FAULT_INJECTION).toBe('off');
    expect(validateConfig(AppConfig, { ...valid, FAULT_INJECTION: 'on', NODE_ENV: 'test' }).FAULT_INJECTION).toBe('on');
    expect(() => validateConfig(AppConfig, { ...valid, FAULT_INJECTION: 'on', NODE_ENV: 'production' })).toThrow(
      'FAULT_INJECTION: FAULT_INJECTION=on is refused with NODE_ENV=production (failure injection is for tests and demos) (got "on")',
    );
    expect(validateConfig(AppConfig, { ...valid, FAULT_INJECTION: 'off', NODE_ENV: 'production' }).FAULT_INJECTION).toBe('off');
    expect(() => validateConfig(AppConfig, { ...valid, FAULT_INJECTION: 'yes' })).toThrow(
      /FAULT_INJECTION: FAULT_INJECTION must be one of the following values: on, off/,
    );
  });

  it('defaults the database timeouts and reads MIGRATE_ON_START as a boolean', () => {
    expect(validateConfig(AppConfig, valid)).toMatchObject({
      DATABASE_CONNECT_TIMEOUT_MS: 10_000,
      DATABASE_KEEPALIVE_IDLE_MS: 10_000,
      DATABASE_STATEMENT_TIMEOUT_MS: 60_000,
      DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: 60_000,
      MIGRATE_ON_START: true,
    });
    expect(validateConfig(AppConfig, { ...valid, MIGRATE_ON_START: 'false' }).MIGRATE_ON_START).toBe(false);
    expect(validateConfig(AppConfig, { ...valid, MIGRATE_ON_START: 'true' }).MIGRATE_ON_START).toBe(true);
    expect(validateConfig(AppConfig, { ...valid, DATABASE_STATEMENT_TIMEOUT_MS: '0' }).DATABASE_STATEMENT_TIMEOUT_MS).toBe(0);
    expect(() => validateConfig(AppConfig, { ...valid, MIGRATE_ON_START: 'no' })).toThrow(
      'MIGRATE_ON_START: must be on or off (or true / false) (got "no")',
    );
    expect(() => validateConfig(AppConfig, { ...valid, DATABASE_CONNECT_TIMEOUT_MS: '50', DATABASE_KEEPALIVE_IDLE_MS: 'soon' })).toThrow(
      /DATABASE_CONNECT_TIMEOUT_MS: DATABASE_CONNECT_TIMEOUT_MS must not be less than 100 .*DATABASE_KEEPALIVE_IDLE_MS: /,
    );
  });
});

describe('settings from files (<SETTING>_FILE)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ordo-config-'));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads any setting from the file its _FILE names, without the trailing line break', () => {
    const { DATABASE_URL: _, ...rest } = valid;
    const config = validateConfig(AppConfig, {
      ...rest,
      DATABASE_URL_FILE: file('url', 'postgres://u:pw@db:5432/ordo\n'),
      PORT_FILE: file('port', '8081'),
    });
    expect(config.DATABASE_URL).toBe('postgres://u:pw@db:5432/ordo');
    expect(config.PORT).toBe(8081);
    expect(config).not.toHaveProperty('DATABASE_URL_FILE');
  });

  it('refuses a setting given both ways and a file it cannot read, naming neither value', () => {
    const both = () => validateConfig(AppConfig, { ...valid, DATABASE_URL_FILE: file('url2', 'postgres://u:other@db/ordo') });
    expect(both).toThrow('DATABASE_URL: set either DATABASE_URL or DATABASE_URL_FILE, not both');
    expect(both).not.toThrow(/secret|other/);
    const { DATABASE_URL: _, ...rest } = valid;
    expect(() => validateConfig(AppConfig, { ...rest, DATABASE_URL_FILE: join(dir, 'missing') })).toThrow(
      /^Invalid configuration: DATABASE_URL_FILE: cannot read .*missing \(ENOENT\)$/,
    );
  });

  it('validates what the file holds like any value, and ignores _FILE of names that are no setting', () => {
    const { DATABASE_URL: _, ...rest } = valid;
    expect(() => validateConfig(AppConfig, { ...rest, DATABASE_URL_FILE: file('bad', 'mysql://u:secret@db') })).toThrow(
      'DATABASE_URL: must be a postgres:// connection URL (value hidden)',
    );
    expect(validateConfig(AppConfig, { ...valid, SOMETHING_ELSE_FILE: join(dir, 'missing') }).PORT).toBe(3000);
  });
});
