import { ApiProperty } from '@nestjs/swagger';

export const CHARGE_STATUSES = ['charged', 'refunded'] as const;
export type ChargeStatus = (typeof CHARGE_STATUSES)[number];

/** Money taken for an order by one transaction step; refunded when that step is compensated. */
export class Charge {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  txId: string;

  @ApiProperty({ example: 'charge' })
  stepId: string;

  @ApiProperty({ example: 'acc-ada' })
  accountId: string;

  @ApiProperty({ format: 'uuid' })
  orderId: string;

  @ApiProperty({ type: 'integer', example: 3998, description: 'In cents' })
  amount: number;

  @ApiProperty({ enum: CHARGE_STATUSES })
  status: ChargeStatus;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty()
  updatedAt: Date;
}
