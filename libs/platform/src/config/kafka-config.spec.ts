import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { AppConfig } from './app-config';
import { KafkaConfig, kafkaConnection, topicPolicy } from './kafka-config';
import { validateConfig } from './validate-config';

const dir = mkdtempSync(join(tmpdir(), 'ordo-kafka-config-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const [ca, cert, key, password] = [file('ca.pem', 'CA'), file('client.crt', 'CERT'), file('client.key', 'KEY'), file('password', 's3cret\n')];
const brokers = { KAFKA_BROKERS: 'k1:9093,k2:9093' };
const kafka = (settings: Record<string, string>) => validateConfig(KafkaConfig, { ...brokers, ...settings });
const problems = (settings: Record<string, string>) => {
  try {
    kafka(settings);
    return '';
  } catch (error) {
    return (error as Error).message;
  }
};

describe('Kafka settings', () => {
  it('connect in plaintext without SASL by default, and create topics', () => {
    expect(kafkaConnection(kafka({}))).toEqual({ brokers: ['k1:9093', 'k2:9093'] });
    expect(topicPolicy(kafka({}))).toEqual({
      create: true,
      partitions: 8,
      replicationFactor: undefined,
      retentionMs: { commands: undefined, replies: undefined, deadLetters: 14 * 86_400_000 },
    });
  });

  it('build TLS with a CA and a client certificate, and SASL with a password from a file', () => {
    const connection = kafkaConnection(
      kafka({
        KAFKA_SSL: 'on',
        KAFKA_SSL_CA_FILE: ca,
        KAFKA_SSL_CERT_FILE: cert,
        KAFKA_SSL_KEY_FILE: key,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'order',
        KAFKA_SASL_PASSWORD_FILE: password,
      }),
    );
    expect(connection.ssl).toEqual({ ca: Buffer.from('CA'), cert: Buffer.from('CERT'), key: Buffer.from('KEY'), rejectUnauthorized: true });
    // The file's final newline is not part of the password.
    expect(connection.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'order', password: 's3cret' });
  });

  it('skip only the host name check when KAFKA_SSL_VERIFY_HOSTNAME=off', () => {
    const ssl = kafkaConnection(kafka({ KAFKA_SSL: 'true', KAFKA_SSL_VERIFY_HOSTNAME: 'off' })).ssl as {
      rejectUnauthorized: boolean;
      checkServerIdentity?: () => undefined;
    };
    expect(ssl.rejectUnauthorized).toBe(true);
    expect(ssl.checkServerIdentity?.()).toBeUndefined();
  });

  it('take unset to mean unset when an orchestrator passes an empty string', () => {
    expect(kafkaConnection(kafka({ KAFKA_SSL_CA_FILE: '', KAFKA_SASL_MECHANISM: '' }))).toEqual({ brokers: ['k1:9093', 'k2:9093'] });
  });

  it('refuse bad combinations, naming each setting', () => {
    expect(problems({ KAFKA_SSL_CA_FILE: ca })).toContain('KAFKA_SSL_CA_FILE: needs KAFKA_SSL=on');
    expect(problems({ KAFKA_SSL: 'on', KAFKA_SSL_CERT_FILE: cert })).toContain('KAFKA_SSL_CERT_FILE: needs KAFKA_SSL_KEY_FILE too');
    expect(problems({ KAFKA_SSL: 'on', KAFKA_SSL_KEY_FILE: key })).toContain('KAFKA_SSL_KEY_FILE: needs KAFKA_SSL_CERT_FILE too');
    expect(problems({ KAFKA_SSL: 'on', KAFKA_SSL_CA_FILE: join(dir, 'missing.pem') })).toContain(
      `KAFKA_SSL_CA_FILE: cannot read the file (ENOENT) (got "${join(dir, 'missing.pem')}")`,
    );
    expect(problems({ KAFKA_SSL: 'maybe' })).toContain('KAFKA_SSL: must be on or off (or true / false)');
    expect(problems({ KAFKA_SASL_MECHANISM: 'gssapi' })).toContain(
      'KAFKA_SASL_MECHANISM: KAFKA_SASL_MECHANISM must be one of the following values: plain, scram-sha-256, scram-sha-512',
    );
    expect(problems({ KAFKA_SASL_MECHANISM: 'scram-sha-256' })).toMatch(
      /KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM .*KAFKA_SASL_PASSWORD: is required with KAFKA_SASL_MECHANISM \(or KAFKA_SASL_PASSWORD_FILE\)/,
    );
    expect(problems({ KAFKA_SASL_USERNAME: 'order', KAFKA_SASL_PASSWORD: 'x' })).toMatch(
      /KAFKA_SASL_USERNAME: needs KAFKA_SASL_MECHANISM .*KAFKA_SASL_PASSWORD: needs KAFKA_SASL_MECHANISM/,
    );
    expect(problems({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'order', KAFKA_SASL_PASSWORD: 'x' })).toContain(
      'KAFKA_SASL_MECHANISM: plain sends the password in clear: needs KAFKA_SSL=on',
    );
    expect(problems({ KAFKA_DEAD_LETTER_RETENTION_MS: '1000', KAFKA_TOPIC_REPLICATION_FACTOR: '0' })).toMatch(
      /KAFKA_TOPIC_REPLICATION_FACTOR: .*KAFKA_DEAD_LETTER_RETENTION_MS: must be -1 \(keep forever\) or at least 60000 \(ms\)/,
    );
  });

  it('never show a password, even when it is refused', () => {
    const message = problems({
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'order',
      KAFKA_SASL_PASSWORD: 'hunter2',
      KAFKA_SASL_PASSWORD_FILE: password,
    });
    expect(message).toContain('KAFKA_SASL_PASSWORD: set either KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both');
    expect(message).not.toContain('hunter2');
  });

  it("are part of every app's settings", () => {
    const config = validateConfig(AppConfig, {
      ...brokers,
      DATABASE_URL: 'postgres://u@db/ordo',
      DATABASE_SCHEMA: 'ordo',
      KAFKA_CREATE_TOPICS: 'off',
    });
    expect(topicPolicy(config).create).toBe(false);
  });
});
