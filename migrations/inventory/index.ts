import { OrdoBarrier1763700000000, OrdoFaultCrash1763700000001 } from '@ordo/participant';
import { Stock1763800000000 } from './1763800000000-stock';
import { DemoProducts1763800100000 } from './1763800100000-demo-products';

/** The inventory service's migrations, oldest first: the participant SDK's tables, then its own. */
export const inventoryMigrations = [OrdoBarrier1763700000000, OrdoFaultCrash1763700000001, Stock1763800000000, DemoProducts1763800100000];
