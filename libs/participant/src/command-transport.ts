import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import { MessageBus, SubscribeOptions, Subscription } from '@ordo/platform';

/**
 * A NestJS transport strategy (`app.connectMicroservice({ strategy })`) that consumes the
 * command topic through Ordo's MessageBus in batches, one partition's at a time, and hands
 * each batch to `handleBatch`. Nest starts it with the app's other microservices and stops
 * it when the app closes; the batch in hand finishes first.
 */
export class CommandTransport extends Server implements CustomTransportStrategy {
  private subscription?: Subscription;

  constructor(
    private readonly bus: MessageBus,
    private readonly options: SubscribeOptions,
  ) {
    super();
  }

  listen(callback: (error?: unknown) => void): void {
    this.bus.subscribe(this.options).then(
      (subscription) => {
        this.subscription = subscription;
        callback();
      },
      (error) => callback(error),
    );
  }

  async close(): Promise<void> {
    await this.subscription?.close();
    this.subscription = undefined;
  }

  /** No transport events to listen to: status and errors are the MessageBus's. */
  on(): never {
    throw new Error('CommandTransport has no events');
  }

  unwrap<T>(): T {
    if (!this.subscription) throw new Error('CommandTransport is not listening');
    return this.subscription as T;
  }
}
