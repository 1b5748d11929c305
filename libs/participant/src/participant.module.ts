import { DynamicModule, INestApplication, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AppConfig, MESSAGE_BUS, MessageBus } from '@ordo/platform';
import { consumerGroups, topicNames } from '@ordo/protocol';
import { CommandConsumer } from './command-consumer';
import { CommandTransport } from './command-transport';
import { FaultInjector } from './failure-injection';
import { HandlerRegistry } from './handler-registry';
import { CoordinatorHttp } from './coordinator-http';
import { InDoubtRecovery } from './in-doubt-recovery';
import { PreparedReporter } from './prepared-reporter';
import { ParticipantConfig } from './participant.config';
import { ParticipantMetrics } from './participant-metrics';
import { PARTICIPANT_OPTIONS, ParticipantOptions } from './participant.options';
import { PreparedTransactions } from './prepared-transactions';

/** The app's settings as ParticipantConfig, which a participant's settings class must extend. */
export function participantConfig(config: AppConfig): ParticipantConfig {
  if (!(config instanceof ParticipantConfig)) {
    throw new Error(`the settings class ${config.constructor.name} of a participant must extend ParticipantConfig`);
  }
  return config;
}

/**
 * Makes a NestJS app an Ordo participant: it consumes `<prefix><name>.commands` through a
 * NestJS custom transport (CommandTransport, connected by `connectParticipant`) and
 * replies on the reply topic.
 */
@Module({})
export class ParticipantModule {
  static forRoot(options: ParticipantOptions): DynamicModule {
    return {
      module: ParticipantModule,
      imports: [DiscoveryModule],
      providers: [
        { provide: PARTICIPANT_OPTIONS, useValue: options },
        { provide: ParticipantConfig, inject: [AppConfig], useFactory: participantConfig },
        CommandConsumer,
        HandlerRegistry,
        FaultInjector,
        PreparedTransactions,
        CoordinatorHttp,
        InDoubtRecovery,
        PreparedReporter,
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
    .ensureTopics({ commands: [commandTopic], deadLetters: [topics.deadLetter(commandTopic)], replies: [topics.replies] });
  // Init now (listen() would do it later) so the handlers are discovered, and prepared
  // transactions left from before are finished before the first command is consumed.
  await app.init();
  await app.get(InDoubtRecovery).start();
  app.get(PreparedReporter).start();
  const bus = app.get<MessageBus>(MESSAGE_BUS);
  const consumer = app.get(CommandConsumer);
  const strategy = new CommandTransport(bus, {
    groupId: consumerGroups(config.KAFKA_TOPIC_PREFIX).participant(name),
    topics: [commandTopic],
    handleBatch: (messages) => consumer.handleBatch(messages),
    // One transaction's commands share a partition (key = txId), so they stay in order.
    concurrency: config.COMMAND_CONCURRENCY,
  });
  app.connectMicroservice({ strategy }, { inheritAppConfig: true });
  await app.startAllMicroservices();
}
