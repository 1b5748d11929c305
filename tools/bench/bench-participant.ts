import { randomBytes, randomUUID } from 'crypto';
import { kafkaConfigFromEnv, KafkajsMessageBus, Subscription } from '@ordo/platform';
import { HEADERS, parseCommand, topicNames } from '@ordo/protocol';

/**
 * A participant that answers `success` to every command, a whole Kafka batch in one
 * publish: as cheap as a participant can be, so the coordinator is what is measured.
 */
export async function startBenchParticipant(options: { name: string; brokers: string; topicPrefix: string; partitions: number }) {
  const topics = topicNames(options.topicPrefix);
  const commandTopic = topics.commands(options.name);
  const kafka = kafkaConfigFromEnv({ KAFKA_BROKERS: options.brokers, KAFKA_TOPIC_PARTITIONS: String(options.partitions) });
  const bus = new KafkajsMessageBus({ clientId: `bench-${options.name}`, kafka });
  await bus.ensureTopics({ commands: [commandTopic], replies: [topics.replies] });
  const subscription: Subscription = await bus.subscribe({
    groupId: `${commandTopic}.bench-${randomBytes(4).toString('hex')}`,
    topics: [commandTopic],
    handleBatch: async (messages) => {
      await bus.publish(
        messages.map((message) => {
          const { txId, stepId, phase, attempt, token } = parseCommand(message.value);
          return {
            topic: topics.replies,
            key: txId,
            value: JSON.stringify({ txId, stepId, phase, attempt, token, outcome: 'success', output: {} }),
            headers: { [HEADERS.messageId]: randomUUID() },
          };
        }),
      );
    },
  });
  return {
    stop: async () => {
      await subscription.close();
      await bus.close();
    },
  };
}
