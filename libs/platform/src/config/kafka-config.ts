// Decorator metadata (the settings' types) is recorded only once reflect-metadata is loaded.
import 'reflect-metadata';
import { accessSync, constants, readFileSync } from 'fs';
import { Transform } from 'class-transformer';
import {
  ArrayNotEmpty,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  Validate,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';
import type { KafkaConfig as KafkajsConfig, SASLOptions } from 'kafkajs';
import { BooleanSetting } from './boolean-setting';
import { validateConfig } from './validate-config';

const HOST_PORT = /^[^\s,:]+:\d{1,5}$/;

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** The kinds of topic Ordo uses; each has its own retention. */
export type TopicKind = 'commands' | 'replies' | 'deadLetters';

const DAY_MS = 86_400_000;

type Settings = Record<string, unknown>;
/** A rule across settings: the problem with `value`, or undefined when there is none. */
type Check = (value: unknown, settings: Settings) => string | undefined;

/** Applies a Check; its message is the Check's own. */
@ValidatorConstraint({ name: 'kafkaSetting' })
class CheckedSetting implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    return (args.constraints[0] as Check)(value, args.object as Settings) === undefined;
  }

  defaultMessage(args: ValidationArguments): string {
    return (args.constraints[0] as Check)(args.value, args.object as Settings) ?? '';
  }
}

const rule = (check: Check) => Validate(CheckedSetting, [check]);

// Orchestrators often pass a setting they do not use as an empty string: that is "not set".
const emptyIsUnset = Transform(({ value }: { value: unknown }) => (value === '' ? undefined : value));

/** A file the process must be able to read at start, not only when it first connects. */
const readable: Check = (value) => {
  if (value === undefined) return undefined;
  try {
    accessSync(value as string, constants.R_OK);
    return undefined;
  } catch (error) {
    return `cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
};

const needsSsl: Check = (value, s) => (value !== undefined && s.KAFKA_SSL !== true ? 'needs KAFKA_SSL=on' : undefined);
const needsSasl: Check = (value, s) => (value !== undefined && s.KAFKA_SASL_MECHANISM === undefined ? 'needs KAFKA_SASL_MECHANISM' : undefined);
const retention: Check = (value) =>
  value === undefined || value === -1 || (typeof value === 'number' && value >= 60_000)
    ? undefined
    : 'must be -1 (keep forever) or at least 60000 (ms)';

/** The first problem of several checks. */
const all =
  (...checks: Check[]): Check =>
  (value, s) =>
    checks.map((check) => check(value, s)).find(Boolean);

// A mixin's base must take `any[]` (TypeScript's rule for mixin classes).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Constructor<T = object> = new (...args: any[]) => T;

/**
 * The Kafka settings, added to a settings class: the apps' AppConfig, and KafkaConfig for
 * tools that only talk to Kafka. A mixin because AppConfig extends DatabaseConfig already.
 */
export function WithKafkaSettings<B extends Constructor>(Base: B) {
  class KafkaSettings extends Base {
    /** Comma-separated host:port list of Kafka bootstrap brokers. */
    @Transform(({ value }: { value: unknown }) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : value,
    )
    @Matches(HOST_PORT, { each: true, message: 'must be a comma-separated list of host:port' })
    @ArrayNotEmpty({ message: 'must name at least one broker' })
    KAFKA_BROKERS: string[];

    /** Prepended to every topic name, so deployments (or test runs) can share a cluster. */
    @IsOptional()
    @IsString()
    @Matches(/^[a-zA-Z0-9._-]*$/, { message: 'may hold only letters, digits, ".", "_" and "-"' })
    KAFKA_TOPIC_PREFIX: string = '';

    // ---- TLS ----

    /** TLS to the brokers (the SSL or SASL_SSL listener). */
    @BooleanSetting()
    KAFKA_SSL: boolean = false;

    /** PEM file of the CA(s) that signed the brokers' certificates; unset: Node's built-in CAs. */
    @emptyIsUnset
    @rule(all(needsSsl, readable))
    KAFKA_SSL_CA_FILE?: string;

    /** PEM client certificate, for brokers that require one (ssl.client.auth); with KAFKA_SSL_KEY_FILE. */
    @emptyIsUnset
    @rule(all(needsSsl, readable, (v, s) => (v !== undefined && s.KAFKA_SSL_KEY_FILE === undefined ? 'needs KAFKA_SSL_KEY_FILE too' : undefined)))
    KAFKA_SSL_CERT_FILE?: string;

    /** PEM (unencrypted) private key of KAFKA_SSL_CERT_FILE. */
    @emptyIsUnset
    @rule(all(needsSsl, readable, (v, s) => (v !== undefined && s.KAFKA_SSL_CERT_FILE === undefined ? 'needs KAFKA_SSL_CERT_FILE too' : undefined)))
    KAFKA_SSL_KEY_FILE?: string;

    /** Refuse brokers whose certificate does not chain to a trusted CA. Off only to try things out. */
    @BooleanSetting()
    KAFKA_SSL_REJECT_UNAUTHORIZED: boolean = true;

    /** Check that the broker's certificate names the host connected to (its SAN). */
    @BooleanSetting()
    KAFKA_SSL_VERIFY_HOSTNAME: boolean = true;

    // ---- SASL ----

    /** SASL mechanism; unset: no SASL. PLAIN sends the password itself, so it needs TLS. */
    @emptyIsUnset
    @IsOptional()
    @IsIn(SASL_MECHANISMS)
    @rule((v, s) => (v === 'plain' && s.KAFKA_SSL !== true ? 'plain sends the password in clear: needs KAFKA_SSL=on' : undefined))
    KAFKA_SASL_MECHANISM?: SaslMechanism;

    @emptyIsUnset
    @rule((v, s) => (s.KAFKA_SASL_MECHANISM !== undefined && v === undefined ? 'is required with KAFKA_SASL_MECHANISM' : needsSasl(v, s)))
    KAFKA_SASL_USERNAME?: string;

    /** The SASL password; or, like any setting, KAFKA_SASL_PASSWORD_FILE: a file holding it (a mounted secret). */
    @emptyIsUnset
    @rule((v, s) =>
      s.KAFKA_SASL_MECHANISM !== undefined && v === undefined
        ? 'is required with KAFKA_SASL_MECHANISM (or KAFKA_SASL_PASSWORD_FILE)'
        : needsSasl(v, s),
    )
    KAFKA_SASL_PASSWORD?: string;

    // ---- consumer groups ----

    /**
     * How long a consumer that stopped heartbeating (a killed process, a lost network) keeps
     * its partitions before its group hands them to the other instances: the stall a crash
     * causes. A planned stop leaves the group at once and costs no such wait. Must lie within
     * the broker's group.min.session.timeout.ms (Kafka's default: 6000) and
     * group.max.session.timeout.ms. Heartbeats go every fifth of it, at most every second.
     */
    @IsInt()
    @Min(1000)
    @Max(300_000)
    KAFKA_SESSION_TIMEOUT_MS: number = 10_000;

    // ---- topics ----

    /**
     * Whether processes create the topics they use when missing. Off: the platform team owns
     * the topics; a process checks they exist and refuses to start naming those missing.
     */
    @BooleanSetting()
    KAFKA_CREATE_TOPICS: boolean = true;

    /** Partitions of the topics this process creates (replies, commands, dead letters). */
    @IsInt()
    @Min(1)
    @Max(1000)
    KAFKA_TOPIC_PARTITIONS: number = 8;

    /** Replication factor of the topics this process creates; unset: the broker's default.replication.factor. */
    @IsOptional()
    @IsInt()
    @Min(1)
    @Max(32)
    KAFKA_TOPIC_REPLICATION_FACTOR?: number;

    /** retention.ms of created command topics; unset: the broker's log.retention. */
    @IsOptional()
    @IsInt()
    @rule(retention)
    KAFKA_COMMAND_RETENTION_MS?: number;

    /** retention.ms of the created reply topic; unset: the broker's log.retention. */
    @IsOptional()
    @IsInt()
    @rule(retention)
    KAFKA_REPLY_RETENTION_MS?: number;

    /**
     * retention.ms of created dead-letter topics: longer than the others, since someone has
     * to read a dead letter before it goes.
     */
    @IsInt()
    @rule(retention)
    KAFKA_DEAD_LETTER_RETENTION_MS: number = 14 * DAY_MS;
  }
  return KafkaSettings;
}

/** The Kafka settings alone, for tools that talk to Kafka and nothing else. */
export class KafkaConfig extends WithKafkaSettings(class {}) {}

export type KafkaSettings = InstanceType<ReturnType<typeof WithKafkaSettings>>;

/** The Kafka settings of this process's environment, `overrides` (e.g. a tool's broker) first. */
export function kafkaConfigFromEnv(overrides: Record<string, string> = {}): KafkaSettings {
  return validateConfig(KafkaConfig, { ...process.env, ...overrides });
}

/**
 * The one place settings become a kafkajs client's connection options: brokers, TLS and
 * SASL. Files are read here, so a renewed certificate or password is picked up by the
 * next client made.
 */
export function kafkaConnection(config: KafkaSettings): Pick<KafkajsConfig, 'brokers' | 'ssl' | 'sasl'> {
  const read = (file?: string) => (file === undefined ? undefined : readFileSync(file));
  const ssl = config.KAFKA_SSL && {
    ca: read(config.KAFKA_SSL_CA_FILE),
    cert: read(config.KAFKA_SSL_CERT_FILE),
    key: read(config.KAFKA_SSL_KEY_FILE),
    rejectUnauthorized: config.KAFKA_SSL_REJECT_UNAUTHORIZED,
    // Node checks the name whenever it verifies the chain; this skips only the name.
    ...(config.KAFKA_SSL_VERIFY_HOSTNAME ? {} : { checkServerIdentity: () => undefined }),
  };
  const sasl = config.KAFKA_SASL_MECHANISM && {
    mechanism: config.KAFKA_SASL_MECHANISM,
    username: config.KAFKA_SASL_USERNAME!,
    password: config.KAFKA_SASL_PASSWORD!,
  };
  return { brokers: config.KAFKA_BROKERS, ...(ssl && { ssl }), ...(sasl && { sasl: sasl as SASLOptions }) };
}

/** What Ordo sets on a topic it creates, by kind. */
export interface TopicPolicy {
  create: boolean;
  partitions: number;
  /** Unset: the broker's default. */
  replicationFactor?: number;
  retentionMs: Record<TopicKind, number | undefined>;
}

export function topicPolicy(config: KafkaSettings): TopicPolicy {
  return {
    create: config.KAFKA_CREATE_TOPICS,
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: config.KAFKA_TOPIC_REPLICATION_FACTOR,
    retentionMs: {
      commands: config.KAFKA_COMMAND_RETENTION_MS,
      replies: config.KAFKA_REPLY_RETENTION_MS,
      deadLetters: config.KAFKA_DEAD_LETTER_RETENTION_MS,
    },
  };
}
