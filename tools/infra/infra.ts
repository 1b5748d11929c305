import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { InfraError, isAlive } from './proc';
import { KafkaOptions, kafkaBrokers, startKafka, stopKafka } from './kafka';
import { envPort, STATE_DIR } from './paths';
import { PostgresOptions, postgresUrl, startPostgres, stopPostgres } from './postgres';

/**
 * The infrastructure Ordo runs on: DATABASE_URL / KAFKA_BROKERS when set, otherwise a
 * private PostgreSQL cluster and Kafka broker under .ordo/, started on demand.
 */
export interface Infra {
  databaseUrl: string;
  kafkaBrokers: string;
  /** What this process started (and so should stop). */
  started: { postgres: boolean; kafka: boolean };
}

export function localOptions(log: (line: string) => void = () => undefined): {
  postgres: PostgresOptions;
  kafka: KafkaOptions;
} {
  return {
    postgres: { dir: join(STATE_DIR, 'postgres'), port: envPort('ORDO_PG_PORT', 54329), log },
    kafka: {
      dir: join(STATE_DIR, 'kafka'),
      port: envPort('ORDO_KAFKA_PORT', 59092),
      controllerPort: envPort('ORDO_KAFKA_CONTROLLER_PORT', 59093),
      log,
    },
  };
}

/**
 * Users of the local infrastructure (`npm start`, test runs) each hold a lease: a file named
 * by their pid. Whoever started the infrastructure stops it only when no other live
 * process holds a lease, so a test run never pulls the database from under another.
 */
const LEASES = join(STATE_DIR, 'run', 'leases');

function otherLiveLeases(): number[] {
  if (!existsSync(LEASES)) return [];
  return readdirSync(LEASES)
    .map(Number)
    .filter((pid) => pid !== process.pid && Number.isInteger(pid) && isAlive(pid));
}

export async function startInfra(log: (line: string) => void): Promise<Infra> {
  const local = localOptions(log);
  mkdirSync(LEASES, { recursive: true });
  writeFileSync(join(LEASES, String(process.pid)), '');
  const external = { db: process.env.DATABASE_URL, kafka: process.env.KAFKA_BROKERS };
  // The apps would take them to the local broker, which listens in plaintext, and fail to connect.
  if (!external.kafka && (['on', 'true'].includes(process.env.KAFKA_SSL ?? '') || process.env.KAFKA_SASL_MECHANISM)) {
    throw new InfraError(
      'KAFKA_SSL / KAFKA_SASL_MECHANISM configure the connection to the cluster KAFKA_BROKERS names; the local broker listens in plaintext: set KAFKA_BROKERS, or unset them',
    );
  }
  // Both start concurrently: the broker's JVM start dominates.
  const [postgres, kafka] = await Promise.all([
    external.db ? false : startPostgres(local.postgres),
    external.kafka ? false : startKafka(local.kafka),
  ]);
  return {
    databaseUrl: external.db || postgresUrl(local.postgres.port),
    kafkaBrokers: external.kafka || kafkaBrokers(local.kafka),
    started: { postgres, kafka },
  };
}

/** Stops what `which` names, unless another process still holds a lease; returns those pids. */
export async function stopInfra(which: { postgres: boolean; kafka: boolean }): Promise<number[]> {
  const local = localOptions();
  rmSync(join(LEASES, String(process.pid)), { force: true });
  const others = otherLiveLeases();
  if (others.length > 0) return others;
  await Promise.all([which.kafka ? stopKafka(local.kafka) : undefined, which.postgres ? stopPostgres(local.postgres) : undefined]);
  return [];
}
