import { OrdoBarrier1763700000000, OrdoFaultCrash1763700000001, OrdoStarts1766000000000 } from '@ordo/participant';
import { Orders1763800000000 } from './1763800000000-orders';
import { OrdersPlacedHere1766000000100 } from './1766000000100-orders-placed-here';
import { OrderIdempotencyKeys1766200000000 } from './1766200000000-order-idempotency-keys';

/** The order service's migrations, oldest first: the participant SDK's tables (barrier, crash record, outbox of starts) among its own. */
export const orderMigrations = [
  OrdoBarrier1763700000000,
  OrdoFaultCrash1763700000001,
  Orders1763800000000,
  OrdoStarts1766000000000,
  OrdersPlacedHere1766000000100,
  OrderIdempotencyKeys1766200000000,
];
