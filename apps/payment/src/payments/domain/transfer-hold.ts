import { ApiProperty } from '@nestjs/swagger';

export const HOLD_DIRECTIONS = ['debit', 'credit'] as const;
export type HoldDirection = (typeof HOLD_DIRECTIONS)[number];

export const HOLD_STATUSES = ['tried', 'confirmed', 'cancelled'] as const;
export type HoldStatus = (typeof HOLD_STATUSES)[number];
export type SettledStatus = Exclude<HoldStatus, 'tried'>;

/**
 * What one step of a TCC transfer did to one account: its try records the hold, its
 * confirm or cancel settles it, once.
 */
export class TransferHold {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  txId: string;

  @ApiProperty({ example: 'withdraw' })
  stepId: string;

  @ApiProperty({ example: 'acc-ada' })
  accountId: string;

  @ApiProperty({ type: 'integer', example: 2500, description: 'In cents' })
  amount: number;

  @ApiProperty({ enum: HOLD_DIRECTIONS, description: 'debit: money leaving the account (frozen while tried); credit: money arriving at confirm' })
  direction: HoldDirection;

  @ApiProperty({ enum: HOLD_STATUSES })
  status: HoldStatus;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty()
  updatedAt: Date;
}

/** What settling a tried hold does to its account's balance and frozen money, in multiples of its amount. */
export const SETTLEMENTS: Record<HoldDirection, Record<SettledStatus, { balance: number; frozen: number }>> = {
  // The try froze the amount: a confirm takes it out of the account, a cancel releases it.
  debit: { confirmed: { balance: -1, frozen: -1 }, cancelled: { balance: 0, frozen: -1 } },
  // The try changed nothing (the money is not there yet): only a confirm adds it.
  credit: { confirmed: { balance: 1, frozen: 0 }, cancelled: { balance: 0, frozen: 0 } },
};
