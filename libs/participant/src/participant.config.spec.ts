import { validateConfig } from '@ordo/platform';
import { ParticipantConfig } from './participant.config';

const required = { DATABASE_URL: 'postgres://u@db:5432/shop', DATABASE_SCHEMA: 'shop', KAFKA_BROKERS: 'k1:9092' };

describe('ParticipantConfig', () => {
  it('takes the FAULT_* settings only with FAULT_INJECTION=on', () => {
    expect(validateConfig(ParticipantConfig, { ...required, FAULT_TRANSIENT_RATE: '0', FAULT_LATENCY_MS: '0' })).toMatchObject({
      FAULT_INJECTION: 'off',
      FAULT_TRANSIENT_RATE: 0,
    });
    let message = '';
    try {
      validateConfig(ParticipantConfig, { ...required, FAULT_TRANSIENT_RATE: '0.2', FAULT_LATENCY_MS: '50' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('FAULT_TRANSIENT_RATE: FAULT_TRANSIENT_RATE needs FAULT_INJECTION=on (got "0.2")');
    expect(message).toContain('FAULT_LATENCY_MS: FAULT_LATENCY_MS needs FAULT_INJECTION=on (got "50")');
    expect(validateConfig(ParticipantConfig, { ...required, FAULT_INJECTION: 'on', FAULT_TRANSIENT_RATE: '0.2' }).FAULT_TRANSIENT_RATE).toBe(0.2);
  });
});
