import { Controller, DynamicModule, INestApplication, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Ctx, EventPattern, KafkaContext, Transport } from '@nestjs/microservices';
import { AppConfig, MESSAGE_BUS, MessageBus } from '@ordo/platform';
import { topicNames } from '@ordo/protocol';
import { CommandConsumer } from './command-consumer';
import { FaultInjector } from './failure-injection';
import { HandlerRegistry } from './handler-registry';
import { InDoubtRecovery } from './in-doubt-recovery';
import { ParticipantConfig } from './participant.config';
import { ParticipantMetrics } from './participant-metrics';
import { PARTICIPANT_OPTIONS, ParticipantOptions } from './participant.options';
import { PreparedTransactions } from './prepared-transactions';

/** Nest's Kafka parser turns keys and headers that look like JSON into objects; this undoes it. */
function text(value: unknown): string {
  return typeof value === 'string' || Buffer.isBuffer(value) ? value.toString() : JSON.stringify(value);
}

function headerStrings(context: KafkaContext): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(context.getMessage().headers ?? {})) {
    if (value !== undefined && value !== null) out[name] = text(value);
  }
  return out;
}

/** The command topic depends on configuration, so the listener is declared at runtime. */
function commandController(topic: string) {
  @Controller()
  class CommandController {
    constructor(private readonly consumer: CommandConsumer) {}

    @EventPattern(topic)
    receive(@Ctx() context: KafkaContext) {
      // The value as received (the transport keeps it binary): the consumer checks its size,
      // parses it and dead-letters it unchanged when it is refused.
      const { key, value } = context.getMessage();
      return this.consumer.receive(value ?? null, headerStrings(context), key === null || key === undefined ? null : text(key));
    }
  }
  return CommandController;
}

/** The app's settings as ParticipantConfig, which a participant's settings class must extend. */
function participantConfig(config: AppConfig): ParticipantConfig {
  if (!(config instanceof ParticipantConfig)) {
    throw new Error(`the settings class ${config.constructor.name} of a participant must extend ParticipantConfig`);
  }
  return config;
}

/**
 * Makes a NestJS app an Ordo participant: it consumes `<prefix><name>.commands` through
 * @nestjs/microservices' Kafka transport and replies on the reply topic.
 */
@Module({})
export class ParticipantModule {
  static forRoot(options: ParticipantOptions): DynamicModule {
    const prefix = process.env.KAFKA_TOPIC_PREFIX ?? '';
    return {
      module: ParticipantModule,
      controllers: [commandController(topicNames(prefix).commands(options.name))],
      imports: [DiscoveryModule],
      providers: [
        { provide: PARTICIPANT_OPTIONS, useValue: options },
        { provide: ParticipantConfig, inject: [AppConfig], useFactory: participantConfig },
        CommandConsumer,
        HandlerRegistry,
        FaultInjector,
        PreparedTransactions,
        InDoubtRecovery,
        ParticipantMetrics,
      ],
    };
  }
}

/**
 * Creates the participant's topics, finishes the prepared transactions left from before a
 * restart (when it has any), and starts consuming its commands.
 */
export async function connectParticipant(app: INestApplication, name: string): Promise<void> {
  const config = app.get(ParticipantConfig);
  const topics = topicNames(config.KAFKA_TOPIC_PREFIX);
  const commandTopic = topics.commands(name);
  await app
    .get<MessageBus>(MESSAGE_BUS)
    .ensureTopics([commandTopic, topics.deadLetter(commandTopic), topics.replies], config.KAFKA_TOPIC_PARTITIONS);
  // Init now (listen() would do it later) so the handlers are discovered, and prepared
  // transactions left from before are finished before the first command is consumed.
  await app.init();
  await app.get(InDoubtRecovery).start();
  app.connectMicroservice(
    {
      transport: Transport.KAFKA,
      options: {
        postfixId: '',
        client: { clientId: `${config.KAFKA_TOPIC_PREFIX}${name}`, brokers: config.KAFKA_BROKERS },
        consumer: {
          groupId: `${config.KAFKA_TOPIC_PREFIX}${name}`,
          allowAutoTopicCreation: false,
          // A killed instance holds its partitions until its session times out (kafkajs'
          // default: 30 s); 10 s bounds how long its commands wait for another instance.
          sessionTimeout: 10_000,
          heartbeatInterval: 1_000,
        },
        subscribe: { fromBeginning: true },
        // Values stay bytes: Nest would otherwise parse what looks like JSON itself, and a
        // dead letter could no longer carry the value exactly as it came.
        parser: { keepBinary: true },
        // One transaction's commands share a partition (key = txId), so they stay in order.
        run: { partitionsConsumedConcurrently: config.COMMAND_CONCURRENCY },
      },
    },
    { inheritAppConfig: true },
  );
  await app.startAllMicroservices();
}
