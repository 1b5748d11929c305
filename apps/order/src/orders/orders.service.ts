import { HttpStatus, Injectable } from '@nestjs/common';
import { BusinessFailure, Compensate, Execute, HandlerContext, parseInput } from '@ordo/participant';
import { ApiError } from '@ordo/platform';
import { JsonObject } from '@ordo/protocol';
import { Order, OrderStatus } from './domain/order';
import { ConfirmOrderInput, CreateOrderInput } from './dto/order-commands.dto';
import { OrdersRepository } from './infrastructure/persistence/orders.repository';

/**
 * Orders: the place-order saga's first step creates one, its last step (the pivot)
 * confirms it, and a rollback cancels it. Each handler runs behind the participant's
 * barrier, in its local transaction, so it applies once per transaction step.
 */
@Injectable()
export class OrdersService {
  constructor(private readonly orders: OrdersRepository) {}

  @Execute('create')
  async create(input: JsonObject, { command, manager }: HandlerContext): Promise<{ orderId: string }> {
    const order = await this.orders.insertPending(manager, { txId: command.txId, ...parseInput(CreateOrderInput, input) });
    return { orderId: order.id };
  }

  /**
   * Undoes `create`. Only a pending order is cancelled; a cancelled one (or none) is
   * already undone. A confirmed order cannot be undone, so that is refused: the
   * coordinator retries and, in the end, asks an operator.
   */
  @Compensate('cancel')
  async cancel(_input: JsonObject, { command, manager }: HandlerContext): Promise<void> {
    const status = await this.orders.transition(manager, { txId: command.txId }, 'pending', 'cancelled');
    if (status === 'confirmed') throw new BusinessFailure('ORDER_CONFIRMED', `the order of ${command.txId} is confirmed`);
  }

  /** The pivot: a confirmed order is final. Refused when the order was cancelled meanwhile. */
  @Execute('confirm')
  async confirm(input: JsonObject, { manager }: HandlerContext): Promise<void> {
    const { orderId } = parseInput(ConfirmOrderInput, input);
    const status = await this.orders.transition(manager, { id: orderId }, 'pending', 'confirmed');
    if (status === null) throw new BusinessFailure('ORDER_NOT_FOUND', `no order ${orderId}`);
    if (status === 'cancelled') throw new BusinessFailure('ORDER_CANCELLED', `order ${orderId} is cancelled`);
  }

  list(filter: { status?: OrderStatus; limit: number }): Promise<Order[]> {
    return this.orders.list(filter);
  }

  async get(id: string): Promise<Order> {
    const order = await this.orders.findById(id);
    if (!order) throw new ApiError(HttpStatus.NOT_FOUND, 'ORDER_NOT_FOUND', `no order ${id}`);
    return order;
  }
}
