import { Controller, DynamicModule, INestApplication, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Ctx, EventPattern, KafkaContext, Payload, Transport } from '@nestjs/microservices';
import { AppConfig, MESSAGE_BUS, MessageBus } from '@ordo/platform';
import { topicNames } from '@ordo/protocol';
import { CommandConsumer } from './command-consumer';
import { HandlerRegistry } from './handler-registry';
import { PARTICIPANT_OPTIONS, ParticipantOptions } from './participant.options';

function headerStrings(context: KafkaContext): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(context.getMessage().headers ?? {})) {
    if (value !== undefined) out[name] = String(value);
  }
  return out;
}

/** The command topic depends on configuration, so the listener is declared at runtime. */
function commandController(topic: string) {
  @Controller()
  class CommandController {
    constructor(private readonly consumer: CommandConsumer) {}

    @EventPattern(topic)
    receive(@Payload() value: unknown, @Ctx() context: KafkaContext) {
      return this.consumer.receive(value, headerStrings(context));
    }
  }
  return CommandController;
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
      providers: [{ provide: PARTICIPANT_OPTIONS, useValue: options }, CommandConsumer, HandlerRegistry],
    };
  }
}

/** Creates the participant's topics and starts consuming its commands. */
export async function connectParticipant(app: INestApplication, name: string): Promise<void> {
  const config = app.get(AppConfig);
  const topics = topicNames(config.KAFKA_TOPIC_PREFIX);
  const commandTopic = topics.commands(name);
  await app
    .get<MessageBus>(MESSAGE_BUS)
    .ensureTopics([commandTopic, topics.deadLetter(commandTopic), topics.replies], config.KAFKA_TOPIC_PARTITIONS);
  app.connectMicroservice(
    {
      transport: Transport.KAFKA,
      options: {
        postfixId: '',
        client: { clientId: `${config.KAFKA_TOPIC_PREFIX}${name}`, brokers: config.KAFKA_BROKERS },
        consumer: { groupId: `${config.KAFKA_TOPIC_PREFIX}${name}`, allowAutoTopicCreation: false },
        subscribe: { fromBeginning: true },
      },
    },
    { inheritAppConfig: true },
  );
  await app.startAllMicroservices();
}
