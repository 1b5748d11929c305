import { OrdoBarrier1763700000000, OrdoFaultCrash1763700000001 } from '@ordo/participant';
import { Orders1763800000000 } from './1763800000000-orders';

/** The order service's migrations, oldest first: the participant SDK's tables, then its own. */
export const orderMigrations = [OrdoBarrier1763700000000, OrdoFaultCrash1763700000001, Orders1763800000000];
