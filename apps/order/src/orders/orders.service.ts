import { HttpStatus, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { BusinessFailure, Compensate, Execute, HandlerContext, OrdoStarts, parseInput } from '@ordo/participant';
import { ApiError } from '@ordo/platform';
import { JsonObject } from '@ordo/protocol';
import { Order, OrderStatus } from './domain/order';
import { adoptionRefusal, OrderItems } from './domain/order-adoption';
import { ConfirmOrderInput, CreateOrderInput } from './dto/order-commands.dto';
import { OrdersRepository } from './infrastructure/persistence/orders.repository';

/** The saga that runs an order (apps/order/place-order.saga.json). */
const PLACE_ORDER = 'place-order';

/**
 * Orders: placed here (POST /api/v1/orders) or created by the place-order saga's first
 * step, confirmed by its last step (the pivot), cancelled by a rollback. Each handler runs
 * behind the participant's barrier, in its local transaction, so it applies once per
 * transaction step.
 */
@Injectable()
export class OrdersService {
  constructor(
    private readonly orders: OrdersRepository,
    private readonly starts: OrdoStarts,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /**
   * Places an order and starts its place-order saga in one local transaction: the order
   * exists and its saga starts (exactly once, even if this process dies right after the
   * commit), or neither happens. The saga's first step takes the order up. With an
   * `idempotencyKey`, a retried request gets the order its first try placed (and starts
   * nothing more); the same key with other items is refused.
   */
  place(items: OrderItems, idempotencyKey: string | null = null): Promise<Order> {
    return this.dataSource.transaction(async (manager) => {
      const { order, placed } = await this.orders.insertPending(manager, { txId: null, ...items }, idempotencyKey);
      if (!placed) return placedBefore(order, idempotencyKey, items);
      const { customer, sku, qty, amount, accountId } = items;
      await this.starts.startWithin(manager, {
        definition: PLACE_ORDER,
        input: { orderId: order.id, customer, sku, qty, amount, accountId },
        idempotencyKey: `${PLACE_ORDER}:${order.id}`,
      });
      return order;
    });
  }

  /**
   * Creates the order, or, when the input names one (placed with POST /api/v1/orders),
   * takes that one up: the saga runs the same whether it was started here or over REST.
   */
  @Execute('create')
  async create(input: JsonObject, { command, manager }: HandlerContext): Promise<{ orderId: string }> {
    const { orderId, ...items } = parseInput(CreateOrderInput, input);
    if (orderId === undefined) return { orderId: (await this.orders.insertPending(manager, { txId: command.txId, ...items })).order.id };
    const order = await this.orders.lockById(manager, orderId);
    if (!order) throw new BusinessFailure('ORDER_NOT_FOUND', `no order ${orderId}`);
    const refusal = adoptionRefusal(order, command.txId, items);
    if (refusal) throw new BusinessFailure(refusal.code, refusal.message);
    if (order.txId === null) await this.orders.setTxId(manager, orderId, command.txId);
    return { orderId };
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

/** The order a retried request's key placed, if it was for the same items. */
function placedBefore(order: Order, idempotencyKey: string | null, items: OrderItems): Order {
  const same = (['customer', 'sku', 'qty', 'amount', 'accountId'] as const).every((field) => order[field] === items[field]);
  if (!same)
    throw new ApiError(HttpStatus.CONFLICT, 'IDEMPOTENCY_KEY_REUSED', `idempotency key ${idempotencyKey} placed order ${order.id}, for other items`);
  return order;
}
