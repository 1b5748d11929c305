import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AppConfig } from '../config/app-config';
import { KafkajsMessageBus } from './kafkajs-message-bus';
import { MESSAGE_BUS, MessageBus } from './message-bus';

@Injectable()
class MessageBusCloser implements OnApplicationShutdown {
  constructor(@Inject(MESSAGE_BUS) private readonly bus: MessageBus) {}
  onApplicationShutdown() {
    return this.bus.close();
  }
}

/** Provides the MessageBus port (kafkajs adapter) to the whole application. */
@Global()
@Module({})
export class MessagingModule {
  static forApp(clientId: string): DynamicModule {
    return {
      module: MessagingModule,
      providers: [
        {
          provide: MESSAGE_BUS,
          inject: [ConfigService],
          useFactory: (config: ConfigService) => new KafkajsMessageBus({ clientId, kafka: config.get<AppConfig>('app')! }),
        },
        MessageBusCloser,
      ],
      exports: [MESSAGE_BUS],
    };
  }
}
