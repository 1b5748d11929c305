import { BusinessFailure } from '@ordo/participant';
import { Account } from './account';

export const unknownAccount = (accountId: string) => new BusinessFailure('UNKNOWN_ACCOUNT', `no account ${accountId}`);

/** Why `amount` could not be taken from `accountId`, given the account as it is now (null: there is none). */
export function debitRefusal(accountId: string, account: Account | null, amount: number): BusinessFailure {
  if (!account) return unknownAccount(accountId);
  const available = account.balance - account.frozen;
  return new BusinessFailure('INSUFFICIENT_FUNDS', `account ${accountId} has ${available} available, ${amount} wanted`);
}
