import { Outbox1763700000000 } from './1763700000000-outbox';
import { Transactions1763700100000 } from './1763700100000-transactions';

/** The coordinator's migrations, oldest first. */
export const coordinatorMigrations = [Outbox1763700000000, Transactions1763700100000];
