import { validateConfig } from '@ordo/platform';
import { CoordinatorConfig } from './coordinator.config';

const required = { DATABASE_URL: 'postgres://u@db:5432/ordo', KAFKA_BROKERS: 'k1:9092', ORDO_API_KEYS: 'ops:admin:config-spec-key-0123456789' };

describe('CoordinatorConfig', () => {
  it('defaults the protection of participants', () => {
    expect(validateConfig(CoordinatorConfig, required)).toMatchObject({
      MAX_IN_FLIGHT_PER_PARTICIPANT: 1000,
      BREAKER_WINDOW: 100,
      BREAKER_MIN_CALLS: 20,
      BREAKER_FAILURE_RATIO: 0.5,
      BREAKER_OPEN_MS: 10000,
      BREAKER_HALF_OPEN_PROBES: 3,
      REPLY_TIME_WINDOW: 200,
      REPLY_TIME_MIN_SAMPLES: 20,
    });
    expect(() => validateConfig(CoordinatorConfig, { ...required, REPLY_TIME_WINDOW: '10', REPLY_TIME_MIN_SAMPLES: '11' })).toThrow(
      'REPLY_TIME_MIN_SAMPLES: REPLY_TIME_MIN_SAMPLES must not be greater than REPLY_TIME_WINDOW (got "11")',
    );
  });

  it('reads fractional ratios and refuses a minimum of calls the window cannot hold', () => {
    expect(validateConfig(CoordinatorConfig, { ...required, BREAKER_FAILURE_RATIO: '0.25' }).BREAKER_FAILURE_RATIO).toBe(0.25);
    expect(() => validateConfig(CoordinatorConfig, { ...required, BREAKER_WINDOW: '10', BREAKER_MIN_CALLS: '11' })).toThrow(
      'BREAKER_MIN_CALLS: BREAKER_MIN_CALLS must not be greater than BREAKER_WINDOW (got "11")',
    );
    expect(() => validateConfig(CoordinatorConfig, { ...required, BREAKER_FAILURE_RATIO: '0' })).toThrow(/BREAKER_FAILURE_RATIO/);
  });

  it('defaults the alerts, and takes only an http(s) public URL for their links', () => {
    expect(validateConfig(CoordinatorConfig, required)).toMatchObject({
      ALERT_STUCK_AFTER_S: 600,
      ALERT_STUCK_SCAN_MS: 30_000,
      ALERT_MAX_ATTEMPTS: 12,
      ALERT_RETRY_INITIAL_MS: 1000,
      ALERT_RETRY_MAX_MS: 600_000,
      ALERTS_PER_MINUTE: 30,
    });
    expect(validateConfig(CoordinatorConfig, { ...required, ORDO_PUBLIC_URL: 'https://ordo.internal:8443' }).ORDO_PUBLIC_URL).toBe(
      'https://ordo.internal:8443',
    );
    expect(() => validateConfig(CoordinatorConfig, { ...required, ORDO_PUBLIC_URL: 'ftp://ordo.example.com' })).toThrow(/ORDO_PUBLIC_URL/);
    expect(() => validateConfig(CoordinatorConfig, { ...required, ALERT_STUCK_AFTER_S: '0' })).toThrow(/ALERT_STUCK_AFTER_S/);
    expect(() => validateConfig(CoordinatorConfig, { ...required, ALERT_RETRY_INITIAL_MS: '5000', ALERT_RETRY_MAX_MS: '1000' })).toThrow(
      'ALERT_RETRY_INITIAL_MS: ALERT_RETRY_INITIAL_MS must not be greater than ALERT_RETRY_MAX_MS (got "5000")',
    );
  });

  describe('limits', () => {
    const env = required;

    it('defaults them', () => {
      expect(validateConfig(CoordinatorConfig, env)).toMatchObject({
        MAX_BODY_BYTES: 1024 * 1024,
        MAX_MESSAGE_BYTES: 512 * 1024,
        MAX_INPUT_BYTES: 256 * 1024,
        MAX_REPLY_OUTPUT_BYTES: 64 * 1024,
        RATE_LIMIT_PER_MINUTE: 60_000,
      });
    });

    it('refuses a reply output limit above the message limit', () => {
      expect(() => validateConfig(CoordinatorConfig, { ...env, MAX_REPLY_OUTPUT_BYTES: '600000' })).toThrow(
        'MAX_REPLY_OUTPUT_BYTES: MAX_REPLY_OUTPUT_BYTES must not be greater than MAX_MESSAGE_BYTES (got "600000")',
      );
    });

    it('refuses an input limit above the message limit: the input travels in every command', () => {
      expect(() => validateConfig(CoordinatorConfig, { ...env, MAX_INPUT_BYTES: '600000' })).toThrow(
        'MAX_INPUT_BYTES: MAX_INPUT_BYTES must not be greater than MAX_MESSAGE_BYTES (got "600000")',
      );
      expect(validateConfig(CoordinatorConfig, { ...env, MAX_INPUT_BYTES: '600000', MAX_MESSAGE_BYTES: '900000' }).MAX_INPUT_BYTES).toBe(600000);
    });
  });

  it('takes FAULT_CRASH only with FAULT_INJECTION=on', () => {
    const crash = { ...required, FAULT_CRASH: 'after-commit-decision' };
    expect(() => validateConfig(CoordinatorConfig, crash)).toThrow('FAULT_CRASH: FAULT_CRASH needs FAULT_INJECTION=on (got "after-commit-decision")');
    expect(validateConfig(CoordinatorConfig, { ...crash, FAULT_INJECTION: 'on' }).FAULT_CRASH).toBe('after-commit-decision');
  });
});
