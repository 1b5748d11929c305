import { join } from 'path';
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

export async function startInfra(log: (line: string) => void): Promise<Infra> {
  const local = localOptions(log);
  const external = { db: process.env.DATABASE_URL, kafka: process.env.KAFKA_BROKERS };
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

export async function stopInfra(which: { postgres: boolean; kafka: boolean }): Promise<void> {
  const local = localOptions();
  await Promise.all([
    which.kafka ? stopKafka(local.kafka) : undefined,
    which.postgres ? stopPostgres(local.postgres) : undefined,
  ]);
}
