import { Order } from './order';
import { adoptionRefusal, OrderItems } from './order-adoption';

const items: OrderItems = { customer: 'ada', sku: 'SKU-1', qty: 2, amount: 3998, accountId: 'acc-ada' };
const placed: Order = { id: 'o-1', txId: null, status: 'pending', createdAt: new Date(), updatedAt: new Date(), ...items };

describe('adoptionRefusal', () => {
  it('lets a transaction take up an order placed here with the same items', () => {
    expect(adoptionRefusal(placed, 'tx-1', items)).toBeNull();
  });

  it('lets the transaction that took it up take it again (a redelivered command)', () => {
    expect(adoptionRefusal({ ...placed, txId: 'tx-1' }, 'tx-1', items)).toBeNull();
  });

  it('refuses an order another transaction took up', () => {
    expect(adoptionRefusal({ ...placed, txId: 'tx-1' }, 'tx-2', items)).toEqual({
      code: 'ORDER_TAKEN',
      message: 'order o-1 belongs to transaction tx-1',
    });
  });

  it('refuses an input whose items differ from the order, naming them', () => {
    expect(adoptionRefusal(placed, 'tx-1', { ...items, qty: 3, amount: 1 })).toEqual({
      code: 'ORDER_MISMATCH',
      message: "the input's qty, amount differ from order o-1's",
    });
  });
});
