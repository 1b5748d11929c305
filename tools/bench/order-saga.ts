/**
 * The four-step order saga the benchmarks and several e2e tests drive with scripted
 * participants: create, then reserve ∥ charge, then confirm (the pivot, no compensation).
 */
export interface OrderSagaOptions {
  /** The participant of create, reserve and confirm. */
  shop: string;
  /** The participant of charge (default: the shop). */
  bank?: string;
  /** Step action names: `create` / `confirm`, or the `-order` forms some scripts use. */
  orderActions?: { create: string; cancel: string; confirm: string };
  timeoutMs?: number;
  defaults: { timeoutMs: number; retry: { maxAttempts: number; initialDelayMs: number; multiplier: number; maxDelayMs: number } };
}

export function orderSaga(name: string, options: OrderSagaOptions) {
  const { shop, bank = shop, orderActions = { create: 'create', cancel: 'cancel', confirm: 'confirm' } } = options;
  return {
    name,
    type: 'saga',
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    defaults: options.defaults,
    steps: [
      { id: 'create', participant: shop, action: orderActions.create, compensation: orderActions.cancel },
      { id: 'reserve', participant: shop, action: 'reserve', compensation: 'release', dependsOn: ['create'] },
      { id: 'charge', participant: bank, action: 'charge', compensation: 'refund', dependsOn: ['create'] },
      { id: 'confirm', participant: shop, action: orderActions.confirm, dependsOn: ['reserve', 'charge'] },
    ],
  };
}
