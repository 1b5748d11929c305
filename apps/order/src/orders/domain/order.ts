import { ApiProperty } from '@nestjs/swagger';

export const ORDER_STATUSES = ['pending', 'confirmed', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** A customer order: pending while its place-order transaction runs, then confirmed or cancelled. */
export class Order {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The place-order transaction that runs it; null for an order placed here until that transaction takes it up',
  })
  txId: string | null;

  @ApiProperty({ example: 'ada' })
  customer: string;

  @ApiProperty({ example: 'SKU-1' })
  sku: string;

  @ApiProperty({ type: 'integer', example: 2 })
  qty: number;

  @ApiProperty({ type: 'integer', example: 3998, description: 'Total in cents' })
  amount: number;

  @ApiProperty({ example: 'acc-ada', description: 'The payment account charged' })
  accountId: string;

  @ApiProperty({ enum: ORDER_STATUSES })
  status: OrderStatus;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty()
  updatedAt: Date;
}
