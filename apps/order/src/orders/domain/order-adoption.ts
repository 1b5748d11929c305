import { Order } from './order';

/** What a customer ordered: what a place-order input must agree on with the order it takes up. */
export type OrderItems = Pick<Order, 'customer' | 'sku' | 'qty' | 'amount' | 'accountId'>;

const ITEM_FIELDS: (keyof OrderItems)[] = ['customer', 'sku', 'qty', 'amount', 'accountId'];

/**
 * Why transaction `txId` may not take up `order` (placed with POST /api/v1/orders) for the
 * items of its input, or null when it may, or already did. The other steps reserve and
 * charge what the input says, so it must be what the order says.
 */
export function adoptionRefusal(order: Order, txId: string, items: OrderItems): { code: string; message: string } | null {
  if (order.txId !== null && order.txId !== txId) {
    return { code: 'ORDER_TAKEN', message: `order ${order.id} belongs to transaction ${order.txId}` };
  }
  const differing = ITEM_FIELDS.filter((field) => order[field] !== items[field]);
  if (differing.length > 0) {
    return { code: 'ORDER_MISMATCH', message: `the input's ${differing.join(', ')} differ from order ${order.id}'s` };
  }
  return null;
}
