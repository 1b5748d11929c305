import { OrdoBarrier1763700000000, OrdoFaultCrash1763700000001 } from '@ordo/participant';
import { Ledger1763800000000 } from './1763800000000-ledger';
import { DemoAccounts1763800100000 } from './1763800100000-demo-accounts';
import { TransferHolds1763800200000 } from './1763800200000-transfer-holds';

/** The payment service's migrations, oldest first: the participant SDK's tables, then its own. */
export const paymentMigrations = [
  OrdoBarrier1763700000000,
  OrdoFaultCrash1763700000001,
  Ledger1763800000000,
  DemoAccounts1763800100000,
  TransferHolds1763800200000,
];
