import { Outbox1763700000000 } from './1763700000000-outbox';

/** The coordinator's migrations, oldest first. */
export const coordinatorMigrations = [Outbox1763700000000];
