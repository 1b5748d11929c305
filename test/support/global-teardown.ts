import { Infra, stopInfra } from '../../tools/infra/infra';
import { deleteTopicsWithPrefix } from '../../tools/infra/kafka';
import { dropDatabase } from '../../tools/infra/postgres';

/** Drops the run's database and topics, and stops what the setup started. */
export default async function globalTeardown() {
  const state = (globalThis as Record<string, unknown>).__ORDO_E2E__ as { infra: Infra; database: string } | undefined;
  if (!state) return;
  await deleteTopicsWithPrefix({ ...process.env, KAFKA_BROKERS: state.infra.kafkaBrokers }, process.env.ORDO_TEST_TOPIC_PREFIX!);
  await dropDatabase(state.infra.databaseUrl, state.database);
  await stopInfra(state.infra.started);
}
