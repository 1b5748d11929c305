import { HttpStatus, Injectable } from '@nestjs/common';
import { BusinessFailure, Compensate, Execute, HandlerContext, parseInput, Prepare } from '@ordo/participant';
import { ApiError } from '@ordo/platform';
import { JsonObject } from '@ordo/protocol';
import { Product } from './domain/product';
import { Reservation } from './domain/reservation';
import { ReserveStockInput } from './dto/reserve-stock.dto';
import { StockRepository } from './infrastructure/persistence/stock.repository';

/**
 * Stock reservations for the place-order saga and the buy-now 2PC. Each handler runs behind the participant's
 * barrier, in its local transaction, so it applies once per transaction step.
 */
@Injectable()
export class StockService {
  constructor(private readonly stock: StockRepository) {}

  /**
   * Holds `qty` of `sku` for the order, or refuses (changing nothing) when there is not
   * enough. The same work is buy-now's 2PC prepare, held in a prepared transaction until
   * the decision.
   */
  @Execute('reserve')
  @Prepare('reserve', { preparedTransaction: true })
  async reserve(input: JsonObject, { command, manager }: HandlerContext): Promise<{ reservationId: string }> {
    const { sku, qty, orderId } = parseInput(ReserveStockInput, input);
    const reservation = await this.stock.reserve(manager, { txId: command.txId, stepId: command.stepId, orderId, sku, qty });
    if (!reservation) {
      const product = await this.stock.findProduct(sku, manager);
      if (!product) throw new BusinessFailure('UNKNOWN_SKU', `no product ${sku}`);
      throw new BusinessFailure('OUT_OF_STOCK', `only ${product.stock} of ${sku} left, ${qty} wanted`);
    }
    return { reservationId: reservation.id };
  }

  /** Undoes `reserve`: releases the step's reservation and puts the stock back, once. */
  @Compensate('release')
  async release(_input: JsonObject, { command, manager }: HandlerContext): Promise<void> {
    await this.stock.release(manager, command.txId, command.stepId);
  }

  listProducts(limit: number): Promise<Product[]> {
    return this.stock.listProducts(limit);
  }

  async getProduct(sku: string): Promise<Product> {
    const product = await this.stock.findProduct(sku);
    if (!product) throw new ApiError(HttpStatus.NOT_FOUND, 'PRODUCT_NOT_FOUND', `no product ${sku}`);
    return product;
  }

  listReservations(filter: { orderId?: string; limit: number }): Promise<Reservation[]> {
    return this.stock.listReservations(filter);
  }
}
