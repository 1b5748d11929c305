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
    expect(() => validateConfig(AppConfig, { ...valid, FAULT_INJECTION: 'yes' })).toThrow(/FAULT_INJECTION: FAULT_INJECTION must be one of the following values: on, off/);
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
    expect(() => validateConfig(AppConfig, { ...valid, MIGRATE_ON_START: 'no' })).toThrow('MIGRATE_ON_START: must be on or off (or true / false) (got "no")');
    expect(() => validateConfig(AppConfig, { ...valid, DATABASE_CONNECT_TIMEOUT_MS: '50', DATABASE_KEEPALIVE_IDLE_MS: 'soon' })).toThrow(
      /DATABASE_CONNECT_TIMEOUT_MS: DATABASE_CONNECT_TIMEOUT_MS must not be less than 100 .*DATABASE_KEEPALIVE_IDLE_MS: /,
    );
  });
});
