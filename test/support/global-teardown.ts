import { Kafka, logLevel } from 'kafkajs';
import { Infra, stopInfra } from '../../tools/infra/infra';
import { dropDatabase } from '../../tools/infra/postgres';

/** Drops the run's database and topics, and stops what the setup started. */
export default async function globalTeardown() {
  const state = (globalThis as Record<string, unknown>).__ORDO_E2E__ as { infra: Infra; database: string } | undefined;
  if (!state) return;
  const prefix = process.env.ORDO_TEST_TOPIC_PREFIX!;
  const admin = new Kafka({ brokers: [state.infra.kafkaBrokers], logLevel: logLevel.NOTHING }).admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
  await dropDatabase(state.infra.databaseUrl, state.database);
  await stopInfra(state.infra.started);
}
